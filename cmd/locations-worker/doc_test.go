package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
)

func TestDocCommands(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := keepsync.Open(ctx, keepsync.Options{SyncURL: srv.URL, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	doc := map[string]any{"places": map[string]any{
		"k1": map[string]any{"title": "Zoo", "address": "1 Zoo Rd", "lat": 1.5, "lng": 2.5, "lists": []any{"Fun"}},
		"k2": map[string]any{"title": "Bakery", "address": "2 Bread St", "lat": 3.0, "lng": 4.0, "lists": []any{"Food", "Fun"}},
	}}
	if err := c.WriteDoc(ctx, "/google-maps/places", doc); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSynced(ctx, "/google-maps/places"); err != nil {
		t.Fatal(err)
	}

	runDoc := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		getenv := func(k string) string {
			return map[string]string{"SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": t.TempDir()}[k]
		}
		if err := run(ctx, append([]string{"doc"}, args...), getenv, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Fatalf("doc %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.String()
	}
	if out := runDoc("ls", "/google-maps"); !strings.Contains(out, "doc") || !strings.Contains(out, "places") {
		t.Fatalf("doc ls:\n%s", out)
	}
	if out := runDoc("cat", "/google-maps/places"); !strings.Contains(out, `"title": "Bakery"`) {
		t.Fatalf("doc cat:\n%s", out)
	}
	out := runDoc("cat", "/google-maps/places", "--table")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[1], "Bakery") || !strings.Contains(lines[1], "Food, Fun") || !strings.HasPrefix(lines[2], "Zoo") || !strings.Contains(out, "2 places") {
		t.Fatalf("doc cat --table:\n%s", out)
	}
}

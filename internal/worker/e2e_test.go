package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
	"github.com/tonk-labs/locations-worker/internal/worker"
)

const docPath = "/google-maps/places"

// importModel renders m as a Takeout zip and imports it, as `import` does.
func importModel(t *testing.T, m *archivegen.Model, mutate func([]archivegen.File) []archivegen.File) *export.Snapshot {
	t.Helper()
	files := m.Files(archivegen.Takeout)
	if mutate != nil {
		files = mutate(files)
	}
	zip := filepath.Join(t.TempDir(), "takeout.zip")
	if err := archivegen.WriteZipFile(zip, files); err != nil {
		t.Fatal(err)
	}
	snap, err := export.Import(context.Background(), []string{zip}, export.ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return snap
}

func openClient(t *testing.T, srv *synctest.Server, dir string) *keepsync.Client {
	t.Helper()
	c, err := keepsync.Open(context.Background(), keepsync.Options{SyncURL: srv.URL, WSURL: srv.WSURL, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c *keepsync.Client, snap *export.Snapshot, day int) worker.Changes {
	t.Helper()
	start := time.Date(2025, 3, day, 3, 0, 0, 0, time.UTC)
	ch, err := worker.Write(context.Background(), c, docPath, snap, worker.WriteOptions{
		StartedAt: start, FinishedAt: start.Add(time.Second), WorkerName: "locations-worker", WorkerVersion: "test"})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitSynced(ctx, docPath); err != nil {
		t.Fatalf("WaitSynced: %v", err)
	}
	return ch
}

func heads(t *testing.T, c *keepsync.Client) []string {
	t.Helper()
	hs, err := c.Heads(context.Background(), docPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hs {
		out = append(out, h.String())
	}
	return out
}

// jsPlaces reads the document from a JavaScript automerge-repo client.
func jsDoc(t *testing.T, js *synctest.JSClient) map[string]any {
	t.Helper()
	v, err := js.ReadPath(docPath)
	if err != nil {
		t.Fatalf("JS read: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("JS read: %T", v)
	}
	return m
}

// normalise turns the JS client's JSON (json.Number) into what
// json.Unmarshal gives, so documents compare with reflect.DeepEqual.
func normalise(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEndToEndWithTonkServer(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	c := openClient(t, srv, t.TempDir())
	js := srv.JSClient(t)

	// 1. Import the sample archive; JS sees exactly the expected document.
	base := archivegen.Sample()
	ch := write(t, c, importModel(t, base, nil), 1)
	if ch.Added != 9 || !ch.Changed {
		t.Fatalf("first write: %+v", ch)
	}
	got := normalise(t, jsDoc(t, js))
	golden := filepath.Join("testdata", "sample-document.json")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("document read by JS differs from %s:\n%s", golden, gb)
	}
	if strings.Contains(string(b), "$notAString") {
		t.Fatal("JS sees a string that is not a JS string")
	}

	// 2. Re-import unchanged: same heads, nothing sent.
	h1 := heads(t, c)
	ch = write(t, c, importModel(t, base, nil), 2)
	if ch.Changed || ch.Unchanged != 9 || !reflect.DeepEqual(h1, heads(t, c)) {
		t.Fatalf("unchanged re-import: %+v, heads %v → %v", ch, h1, heads(t, c))
	}

	// 3. An app adds its own fields from JavaScript.
	doc := jsDoc(t, js)
	places := doc["places"].(map[string]any)
	var sperl, art string
	for k, p := range places {
		switch p.(map[string]any)["title"] {
		case "Café Sperl":
			sperl = k
		case "Art Institute of Chicago":
			art = k
		}
	}
	if sperl == "" || art == "" {
		t.Fatalf("sample places not found: %v", places)
	}
	places[sperl].(map[string]any)["rating"] = 5
	places[art].(map[string]any)["visited"] = true
	if err := js.EditField(docPath, "places", places); err != nil {
		t.Fatal(err)
	}
	if err := js.EditField(docPath, "appSettings", map[string]any{"sort": "rating"}); err != nil {
		t.Fatal(err)
	}

	// 4. One place added, one removed, one renamed: exactly those changes.
	next := base.Clone()
	next.Places = append(next.Places, archivegen.Place{Name: "Albertina", Address: "Albertinaplatz 1, 1010 Wien, Austria", CountryCode: "AT",
		Lat: 48.2046, Lng: 16.3687, KnownCoords: true, FeatureHi: 0x476d079b2b0b7c5d, CID: 0x1a2b3c4d5e6f7081})
	next.Lists[0].Items = append(next.Lists[0].Items, archivegen.Item{Place: len(next.Places) - 1})
	next.Lists[1].Items = append(next.Lists[1].Items[:1], next.Lists[1].Items[2:]...) // Art Institute gone
	next.Places[2].Name = "Café Sperl Wien"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Our client must have the app's edit before writing over it.
	for {
		d, err := c.ReadDoc(ctx, docPath)
		if err == nil {
			if _, ok := d.(map[string]any)["appSettings"]; ok {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("the app's edit never reached the Go client")
		case <-time.After(100 * time.Millisecond):
		}
	}
	ch = write(t, c, importModel(t, next, nil), 3)
	if ch.Added != 1 || ch.Removed != 1 || ch.Updated != 1 || ch.Unchanged != 7 || ch.Restored != 0 {
		t.Fatalf("changes = %+v, want 1 added, 1 removed, 1 updated, 7 unchanged", ch)
	}
	after := jsDoc(t, js)
	ap := after["places"].(map[string]any)
	if p := ap[sperl].(map[string]any); p["title"] != "Café Sperl Wien" || p["rating"] != json.Number("5") {
		t.Errorf("renamed place = %v", p)
	}
	if p := ap[art].(map[string]any); p["removedAt"] == nil || p["visited"] != true || p["title"] != "Art Institute of Chicago" {
		t.Errorf("removed place = %v", p)
	}
	if _, ok := after["appSettings"]; !ok {
		t.Error("the app's top-level key is gone")
	}
	for k, p := range ap {
		if k == sperl || k == art {
			continue
		}
		before, ok := places[k]
		if !ok {
			continue // the new one
		}
		if !reflect.DeepEqual(normalise(t, p), normalise(t, before)) {
			t.Errorf("place %s changed: %v → %v", k, before, p)
		}
	}

	// 5. An incomplete archive (the starred file is corrupt, a list is
	// missing) removes nothing.
	ch = write(t, c, importModel(t, next, func(files []archivegen.File) []archivegen.File {
		var out []archivegen.File
		for _, f := range files {
			switch {
			case strings.HasSuffix(f.Path, ".json"):
				f.Data = []byte(`{"type": "FeatureCollection", "features": [`)
			case strings.Contains(f.Path, "Krak"):
				continue
			}
			out = append(out, f)
		}
		return out
	}), 4)
	if ch.Complete || ch.Removed != 0 {
		t.Fatalf("incomplete archive: %+v", ch)
	}
	final := jsDoc(t, js)
	for k, p := range final["places"].(map[string]any) {
		if k != art && p.(map[string]any)["removedAt"] != nil {
			t.Errorf("incomplete export marked %s removed", k)
		}
	}
	le := final["metadata"].(map[string]any)["lastExport"].(map[string]any)
	if le["complete"] != false {
		t.Errorf("lastExport does not say incomplete: %v", le)
	}
}

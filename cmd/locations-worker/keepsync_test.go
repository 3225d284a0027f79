package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/fakegoogle"
	"github.com/tonk-labs/locations-worker/internal/synctest"
)

// jsPlaces reads the places map of the document at path through the real
// JS client.
func jsPlaces(t *testing.T, js *synctest.JSClient, path string) map[string]any {
	t.Helper()
	v, err := js.ReadPath(path)
	if err != nil {
		t.Fatalf("JS read %s: %v", path, err)
	}
	doc, _ := v.(map[string]any)
	places, _ := doc["places"].(map[string]any)
	return places
}

func TestImportWritesToSyncServer(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	js := srv.JSClient(t)
	env := map[string]string{"SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": t.TempDir()}
	sample := filepath.Join("..", "..", "examples", "sample-takeout.zip")

	out, _, err := runCmd(t, env, "import", sample)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "keepsync /google-maps/places: 9 added, 0 updated, 0 removed, 0 unchanged\n") ||
		!strings.HasSuffix(out, "synced with the sync server at "+srv.URL+"\n") {
		t.Fatalf("import output:\n%s", out)
	}
	places := jsPlaces(t, js, "/google-maps/places")
	if len(places) != 9 {
		t.Fatalf("JS sees %d places, want 9", len(places))
	}
	eiffel, _ := places["cid:10222232094831998944"].(map[string]any)
	if eiffel["title"] != "Tour Eiffel" {
		t.Errorf("Tour Eiffel as JS reads it: %v", eiffel)
	}

	// An app's field survives a re-import, which changes nothing.
	if err := js.EditField("/google-maps/places", "appNote", "kept"); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, env, "import", sample, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Keepsync syncReport }
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}
	if k := sum.Keepsync; k.Sync != syncSynced || k.Changes.Changed || k.Changes.Unchanged != 9 || k.Changes.Added != 0 {
		t.Errorf("re-import: %+v", k)
	}
	v, err := js.ReadPath("/google-maps/places")
	if err != nil {
		t.Fatal(err)
	}
	if v.(map[string]any)["appNote"] != "kept" {
		t.Errorf("the app's field is gone: %v", v.(map[string]any)["appNote"])
	}

	// --layout legacy and another --doc-path: the TypeScript worker's shape.
	out, _, err = runCmd(t, env, "import", sample, "--layout", "legacy", "--doc-path", "/legacy/locations")
	if err != nil || !strings.Contains(out, "keepsync /legacy/locations: ") || !strings.Contains(out, "synced with the sync server") {
		t.Fatalf("legacy import: %v\n%s", err, out)
	}
	v, err = js.ReadPath("/legacy/locations")
	if err != nil {
		t.Fatal(err)
	}
	if locs, _ := v.(map[string]any)["locations"].([]any); len(locs) < 9 {
		t.Errorf("legacy document as JS reads it: %v", v)
	}
}

func TestImportOfflineThenOnlineReachesServer(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	srv.Stop()
	data := t.TempDir()
	sample := filepath.Join("..", "..", "examples", "sample-takeout.zip")
	env := map[string]string{"SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": data}
	out, _, err := runCmd(t, env, "import", sample)
	if err != nil || !strings.HasSuffix(out, "sync server not reachable at "+srv.URL+": stored locally, will sync when it is\n") {
		t.Fatalf("offline import: %v\n%s", err, out)
	}
	srv.Restart()
	out, _, err = runCmd(t, env, "import", sample)
	if err != nil || !strings.Contains(out, ": 0 added, 0 updated, 0 removed, 9 unchanged\n") || !strings.HasSuffix(out, "synced with the sync server at "+srv.URL+"\n") {
		t.Fatalf("online import: %v\n%s", err, out)
	}
	if places := jsPlaces(t, srv.JSClient(t), "/google-maps/places"); len(places) != 9 {
		t.Fatalf("JS sees %d places after the offline import synced, want 9", len(places))
	}
}

func TestExportWritesToSyncServer(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	fake := fakegoogle.New(t, fakegoogle.WithToken("test-token"),
		fakegoogle.WithArchives(archivegen.ZipBytes(archivegen.Sample().Files(archivegen.Portability))))
	env := map[string]string{"GOOGLE_DATAPORTABILITY_URL": fake.URL, "SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": t.TempDir()}
	var out, errb bytes.Buffer
	a := &app{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	cmd := newExportCmdWith(a, testExportDeps(nil)) // nil sink: the keepsync document
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(nil)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "keepsync /google-maps/places: 9 added") || !strings.Contains(out.String(), "synced with the sync server") {
		t.Errorf("stdout:\n%s", out.String())
	}
	for _, want := range []string{"asking Google for an export...", "is IN_PROGRESS (", "downloading archive 1 of 1: ", "reading the archives..."} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, errb.String())
		}
	}
	places := jsPlaces(t, srv.JSClient(t), "/google-maps/places")
	if len(places) != 9 {
		t.Fatalf("JS sees %d places, want 9", len(places))
	}
	v, _ := srv.JSClient(t).ReadPath("/google-maps/places")
	meta, _ := v.(map[string]any)["metadata"].(map[string]any)
	if meta["source"] != "api" {
		t.Errorf("metadata as JS reads it: %v", meta)
	}
}

func TestWaitServerGivesUpWhenNothingListens(t *testing.T) {
	cfg := &config.Config{SyncURL: deadURL(t), DocPath: "/t/doc", DataDir: t.TempDir()}
	ctx := context.Background()
	c, err := openKeepsync(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	snap, err := export.Import(ctx, []string{filepath.Join("..", "..", "examples", "sample-takeout.zip")}, export.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A timeout far beyond any test: the wait must end because the server
	// is unreachable, not because the time is up.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	rep, err := writeAndSync(rctx, c, cfg, snap, writeOptions(cfg, time.Now()), syncOptions{Timeout: time.Hour, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sync != syncLocal || rctx.Err() != nil || !strings.Contains(rep.Reason, "not reachable") || rep.Changes.Added != 9 {
		t.Errorf("report %+v (ctx %v)", rep, rctx.Err())
	}
	if _, err := c.ReadDoc(ctx, "/t/doc"); err != nil {
		t.Errorf("the document is not in the local store: %v", err)
	}
}

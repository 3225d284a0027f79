package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/bench/internal/jsclient"
	"github.com/tonk-labs/locations-worker/bench/internal/repo"
	"github.com/tonk-labs/locations-worker/bench/internal/syncserver"
)

// TestReferencePipeline runs the reproduced TypeScript pipeline against the
// real sync server through the runner, and checks what a JS app reads back:
// one row per saved-list CSV row, keepsync's metadata, and a document that
// grows on a re-export of the same data (the reference rewrites everything).
func TestReferencePipeline(t *testing.T) {
	ctx := context.Background()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	js := jsclient.Client{Root: root}
	if err := js.EnsureInstalled(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := options{runs: 1, seriesRuns: 1, days: 1, churn: 0.05, seed: 3, refPath: "/user/google_maps_locations", timeout: 5 * time.Minute}
	arch, err := makeArchives(filepath.Join(dir, "archives"), o.seed, 120, o.days, o.churn)
	if err != nil {
		t.Fatal(err)
	}
	b := bench{root: root, js: js, opts: o, pipeline: "reference", arch: arch, dir: filepath.Join(dir, "run"),
		log: slog.New(slog.DiscardHandler)}
	m, err := b.run(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.First.SentBytes <= 0 || m.First.PeakRSSKiB <= 0 || m.First.Wall <= 0 {
		t.Errorf("first import not measured: %+v", m.First)
	}
	if !(m.DocFirst > 0 && m.DocNoChange > m.DocFirst && m.DocChurn > m.DocNoChange) {
		t.Errorf("document sizes %d → %d → %d: the reference must grow on every re-export", m.DocFirst, m.DocNoChange, m.DocChurn)
	}

	// Content, on a fresh server: the last archive once.
	srv, err := syncserver.Start(ctx, syncserver.Options{Root: root, Dir: filepath.Join(dir, "server2")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	var out bytes.Buffer
	cmd := []string{"node", "pipeline.mjs", "--archive", arch.churn[0], "--sync-url", srv.URL(), "--path", o.refPath}
	if err := runIn(ctx, filepath.Join(root, "bench", "reference"), &out, cmd...); err != nil {
		t.Fatal(err)
	}
	d, err := js.ReadDoc(ctx, srv.URL(), o.refPath, true)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Locations []map[string]string `json:"locations"`
		Metadata  struct {
			Count int      `json:"count"`
			Files []string `json:"files"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(d.Doc, &doc); err != nil {
		t.Fatal(err)
	}
	rows, files := csvRows(t, arch.churn[0])
	if len(doc.Locations) != rows || doc.Metadata.Count != rows || len(doc.Metadata.Files) != files {
		t.Fatalf("read back %d locations, count %d, %d files; the archive has %d rows in %d CSVs",
			len(doc.Locations), doc.Metadata.Count, len(doc.Metadata.Files), rows, files)
	}
	for _, l := range doc.Locations {
		for _, k := range []string{"Title", "Note", "URL", "Comment", "source_file", "exported_at"} {
			if _, ok := l[k]; !ok {
				t.Fatalf("location without %s: %v", k, l)
			}
		}
		if !strings.HasSuffix(l["source_file"], ".csv") {
			t.Fatalf("source_file %q", l["source_file"])
		}
	}
}

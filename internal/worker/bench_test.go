package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
	"github.com/tonk-labs/locations-worker/internal/synctest/proxy"
	"github.com/tonk-labs/locations-worker/internal/worker"
)

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func importZip(tb testing.TB, m *archivegen.Model) *export.Snapshot {
	zip := filepath.Join(tb.TempDir(), "t.zip")
	if err := archivegen.WriteZipFile(zip, m.Files(archivegen.Takeout)); err != nil {
		tb.Fatal(err)
	}
	snap, err := export.Import(context.Background(), []string{zip}, export.ImportOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// BenchmarkImport20000Places writes an export of 20,000 places into keepsync
// through Tonk's real sync server and waits until the server has it; then a
// re-export without upstream change; then a re-export with 1% churn. Sync
// bytes are measured by a TCP proxy between the client and the server; the
// document size is automerge's saved size of the same writes applied to a
// document in memory.
//
//	go test -run='^$' -bench=Import20000 -benchtime=1x ./internal/worker/
//	BENCH_HARNESS=v2 go test ... # against the automerge-repo 2.x server
func BenchmarkImport20000Places(b *testing.B) {
	base := archivegen.Generate(archivegen.Options{Seed: 7, Items: 20000, Lists: 20})
	churned := base.NextDay(8, archivegen.Churn{Added: 50, Removed: 50, Renamed: 50, NotesEdited: 50})
	snap1, snap2 := importZip(b, base), importZip(b, churned)
	b.Logf("places: %d, after churn: %d", len(snap1.Places), len(snap2.Places))

	for i := 0; i < b.N; i++ {
		srv := synctest.StartServer(b, harness(b))
		px, err := proxy.Start(context.Background(), srv.URL[len("http://"):])
		if err != nil {
			b.Fatal(err)
		}
		url := "http://" + px.Addr()
		dir := b.TempDir()
		c, err := keepsync.Open(context.Background(), keepsync.Options{SyncURL: url, DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		mem := automerge.New()
		step := func(name string, snap *export.Snapshot, day int) (time.Duration, int64, worker.Changes) {
			now := time.Date(2025, 4, day, 3, 0, 0, 0, time.UTC)
			o := worker.WriteOptions{StartedAt: now, FinishedAt: now}
			sent := px.Up() + px.Down()
			start := time.Now()
			ch, err := worker.Write(context.Background(), c, docPath, snap, o)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			if err := c.WaitSynced(ctx, docPath); err != nil {
				b.Fatal(err)
			}
			cancel()
			d := time.Since(start)
			if _, err := worker.Apply(mem, snap, o); err != nil {
				b.Fatal(err)
			}
			mem.Commit(name)
			return d, px.Up() + px.Down() - sent, ch
		}
		d1, sync1, ch1 := step("import", snap1, 1)
		size1 := len(mem.Save())
		h1, _ := c.Heads(context.Background(), docPath)
		d2, sync2, ch2 := step("no change", snap1, 2)
		h2, _ := c.Heads(context.Background(), docPath)
		size2 := len(mem.Save())
		d3, sync3, ch3 := step("churn", snap2, 3)
		size3 := len(mem.Save())
		c.Close()
		px.Close()
		b.ReportMetric(d1.Seconds(), "import-s")
		b.ReportMetric(float64(size1)/1e6, "doc-MB")
		b.ReportMetric(float64(sync1)/1e6, "import-sync-MB")
		b.ReportMetric(d2.Seconds()*1000, "nochange-ms")
		b.ReportMetric(float64(size2-size1), "nochange-doc-growth-B")
		b.ReportMetric(float64(sync2), "nochange-sync-B")
		b.ReportMetric(100*float64(size3-size2)/float64(size2), "churn-doc-growth-%")
		b.ReportMetric(float64(sync3)/1e3, "churn-sync-kB")
		b.ReportMetric(float64(dirSize(dir))/1e6, "local-store-MB")
		b.Logf("import: %+v in %v; no change: %+v in %v (heads equal: %v); churn: %+v in %v",
			ch1, d1, ch2, d2, len(h1) == len(h2) && (len(h1) == 0 || h1[0] == h2[0]), ch3, d3)
		srv.Stop()
	}
}

// harness is the sync server the benchmark runs against: Tonk's
// @tonk/server 0.3.2 by default; BENCH_HARNESS=v2 for automerge-repo 2.x.
func harness(b *testing.B) synctest.Harness {
	if os.Getenv("BENCH_HARNESS") == "v2" {
		return synctest.V2
	}
	return synctest.V1
}

// BenchmarkApply20000 is the writer alone: 20,000 places into an empty
// in-memory document (first), and the same snapshot again (no change).
//
//	go test -run='^$' -bench=Apply20000 -benchtime=1x ./internal/worker/
func BenchmarkApply20000(b *testing.B) {
	snap := importZip(b, archivegen.Generate(archivegen.Options{Seed: 7, Items: 20000, Lists: 20}))
	now := time.Date(2025, 4, 1, 3, 0, 0, 0, time.UTC)
	var first, again time.Duration
	for i := 0; i < b.N; i++ {
		doc := automerge.New()
		start := time.Now()
		if _, err := worker.Apply(doc, snap, worker.WriteOptions{StartedAt: now, FinishedAt: now}); err != nil {
			b.Fatal(err)
		}
		doc.Commit("import")
		first += time.Since(start)
		start = time.Now()
		if _, err := worker.Apply(doc, snap, worker.WriteOptions{StartedAt: now, FinishedAt: now}); err != nil {
			b.Fatal(err)
		}
		again += time.Since(start)
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "first-s")
	b.ReportMetric(again.Seconds()/float64(b.N), "nochange-s")
}

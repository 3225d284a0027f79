package export

import (
	"context"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
)

// benchFiles is the benchmark archive: 50,000 saved items in 200 lists and
// 10,000 starred places (2,000 of them also in lists).
func benchFiles() ([]archivegen.File, int64) {
	m := archivegen.Generate(archivegen.Options{Seed: 42, Items: 50_000, Lists: 200, Starred: 10_000, StarredFromLists: 2_000,
		UnknownCoords: 100, NonPlacePercent: 5, SharedPercent: 10})
	files := m.Files(archivegen.Takeout)
	var size int64
	for _, f := range files {
		size += int64(len(f.Data))
	}
	return files, size
}

// peakHeap samples the live heap objects while a benchmark runs.
type peakHeap struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  uint64
}

func startPeakHeap() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			p.max = max(p.max, sample[0].Value.Uint64())
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakHeap) done() uint64 {
	close(p.stop)
	p.wg.Wait()
	return p.max
}

func benchImport(b *testing.B, path string, input int64) {
	b.ReportAllocs()
	b.SetBytes(input)
	var items int
	var last *Snapshot
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	peak := startPeakHeap()
	b.ResetTimer()
	for b.Loop() {
		last = nil // the previous result is garbage: it must not count in this run's peak
		s, err := Import(context.Background(), []string{path}, ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		items, last = s.Counts.ItemsRead, s
	}
	b.StopTimer()
	p := peak.done()
	// The live heap is what the result itself holds once garbage is collected.
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(last)
	b.ReportMetric(float64(after.HeapAlloc-min(base.HeapAlloc, after.HeapAlloc))/float64(input), "snapshot-heap/input")
	b.ReportMetric(float64(items)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(p)/float64(input), "peak-heap/input")
}

// BenchmarkImportZip reads the archive as a zip: inflate, parse, normalise.
func BenchmarkImportZip(b *testing.B) {
	files, size := benchFiles()
	p := filepath.Join(b.TempDir(), "bench.zip")
	if err := archivegen.WriteZipFile(p, files); err != nil {
		b.Fatal(err)
	}
	benchImport(b, p, size)
}

// BenchmarkImportFolder reads the same archive extracted: parse, normalise.
func BenchmarkImportFolder(b *testing.B) {
	files, size := benchFiles()
	dir := b.TempDir()
	if err := archivegen.WriteDir(dir, files); err != nil {
		b.Fatal(err)
	}
	benchImport(b, dir, size)
}

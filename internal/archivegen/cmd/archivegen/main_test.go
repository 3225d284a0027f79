package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
)

// -days writes the archive of later days, the same as the benchmarks make.
func TestNextDayArchive(t *testing.T) {
	dir := t.TempDir()
	base, later := filepath.Join(dir, "base.zip"), filepath.Join(dir, "later.zip")
	if err := run([]string{"-items", "300", "-seed", "3", "-out", base}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-items", "300", "-seed", "3", "-days", "2", "-churn", "0.05", "-out", later}, io.Discard); err != nil {
		t.Fatal(err)
	}
	o := archivegen.Options{Seed: 3, Items: 300, Lists: 10, Starred: 200, StarredFromLists: 50, UnknownCoords: 5, NonPlacePercent: 5, SharedPercent: 10}
	m := archivegen.Generate(o)
	for d := int64(1); d <= 2; d++ {
		m = m.NextDay(3000+d, archivegen.ChurnOf(300, 0.05))
	}
	want := filepath.Join(dir, "want.zip")
	if err := archivegen.WriteZipFile(want, m.Files(archivegen.Takeout)); err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if bytes.Equal(read(base), read(later)) {
		t.Error("-days 2 wrote the same archive as day 0")
	}
	if !bytes.Equal(read(later), read(want)) {
		t.Error("-days 2 is not day 0 changed twice by ChurnOf")
	}
	if err := run([]string{"-items", "10", "-days", "-1", "-out", later}, io.Discard); err == nil {
		t.Error("-days -1 accepted")
	}
}

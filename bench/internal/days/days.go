// Package days makes the day-by-day archives of the benchmark and the soak
// test with internal/archivegen: a first export of a given size, then daily
// re-exports with a given churn.
package days

import (
	"fmt"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
)

// Options returns realistic archivegen options for items saved-list rows:
// one list per 500 rows (at least 10), a tenth as many starred places (half
// of them also in lists), 5 % non-place rows, 10 % rows shared between lists.
func Options(seed int64, items int) archivegen.Options {
	return archivegen.Options{
		Seed:             seed,
		Items:            items,
		Lists:            max(10, items/500),
		Starred:          items / 10,
		StarredFromLists: items / 20,
		UnknownCoords:    items / 200,
		NonPlacePercent:  5,
		SharedPercent:    10,
	}
}

// Churn spreads a fraction of items over every kind of change: 30 % added,
// 30 % removed, 15 % renamed, 10 % moved, 15 % notes edited (at least one
// change when fraction > 0).
func Churn(items int, fraction float64) archivegen.Churn {
	n := int(float64(items)*fraction + 0.5)
	if fraction > 0 && n == 0 {
		n = 1
	}
	c := archivegen.Churn{
		Added:   n * 30 / 100,
		Removed: n * 30 / 100,
		Renamed: n * 15 / 100,
		Moved:   n * 10 / 100,
	}
	c.NotesEdited = n - c.Added - c.Removed - c.Renamed - c.Moved
	return c
}

// Write writes m as a Data Portability archive (zip) at path.
func Write(m *archivegen.Model, path string) error {
	if err := archivegen.WriteZipFile(path, m.Files(archivegen.Portability)); err != nil {
		return fmt.Errorf("write archive %s: %w", path, err)
	}
	return nil
}

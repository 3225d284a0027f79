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

// Churn is archivegen.ChurnOf: a fraction of items spread over every kind
// of change.
func Churn(items int, fraction float64) archivegen.Churn { return archivegen.ChurnOf(items, fraction) }

// Write writes m as a Data Portability archive (zip) at path.
func Write(m *archivegen.Model, path string) error {
	if err := archivegen.WriteZipFile(path, m.Files(archivegen.Portability)); err != nil {
		return fmt.Errorf("write archive %s: %w", path, err)
	}
	return nil
}

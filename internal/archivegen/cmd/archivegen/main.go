// Command archivegen writes generated exports of saved Google Maps places:
// the committed sample archive, or large seeded archives for tests and
// benchmarks.
//
//	go run ./internal/archivegen/cmd/archivegen -sample examples/sample-takeout.zip
//	go run ./internal/archivegen/cmd/archivegen -items 50000 -lists 200 -starred 10000 -out big.zip
//	go run ./internal/archivegen/cmd/archivegen -items 50000 -days 7 -churn 0.01 -out day.zip
//
// With -days N the archive is that of N days later: each day changes
// -churn of the rows (30 % added, 30 % removed, 15 % renamed, 10 % moved,
// 15 % notes edited, as in the benchmarks), deterministically from the seed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("archivegen", flag.ContinueOnError)
	sample := fs.String("sample", "", "write the sample archive (examples/sample-takeout.zip) to this path")
	out := fs.String("out", "", "write a generated archive to this path (.zip, else a folder)")
	var o archivegen.Options
	fs.Int64Var(&o.Seed, "seed", 1, "random seed")
	fs.IntVar(&o.Items, "items", 1000, "saved-list rows over all lists")
	fs.IntVar(&o.Lists, "lists", 10, "saved lists")
	fs.IntVar(&o.Starred, "starred", 200, "starred places")
	fs.IntVar(&o.StarredFromLists, "starred-from-lists", 50, "starred places that are also in lists")
	fs.IntVar(&o.UnknownCoords, "unknown-coords", 5, "starred places with unknown coordinates")
	fs.IntVar(&o.NonPlacePercent, "non-place-percent", 5, "percentage of rows that are not places")
	fs.IntVar(&o.SharedPercent, "shared-percent", 10, "percentage of place rows reusing a place of another list")
	days := fs.Int("days", 0, "write the archive of this many days later, with -churn")
	churn := fs.Float64("churn", 0.01, "fraction of the rows changed each day (with -days)")
	layout := fs.String("layout", "takeout", "takeout, portability or takeout-de")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var m *archivegen.Model
	var dst string
	switch {
	case *sample != "":
		m, dst = archivegen.Sample(), *sample
	case *out != "":
		m, dst = archivegen.Generate(o), *out
	default:
		return fmt.Errorf("give -sample PATH or -out PATH")
	}
	if *days < 0 || *churn < 0 || *churn > 1 {
		return fmt.Errorf("-days must be ≥ 0 and -churn between 0 and 1")
	}
	for d := 1; d <= *days; d++ {
		m = m.NextDay(o.Seed*1000+int64(d), archivegen.ChurnOf(o.Items, *churn))
	}
	var l archivegen.Layout
	switch *layout {
	case "takeout":
		l = archivegen.Takeout
	case "portability":
		l = archivegen.Portability
	case "takeout-de":
		l = archivegen.TakeoutGerman
	default:
		return fmt.Errorf("unknown -layout %q: use takeout, portability or takeout-de", *layout)
	}
	files := m.Files(l)
	var err error
	if strings.HasSuffix(strings.ToLower(dst), ".zip") {
		err = archivegen.WriteZipFile(dst, files)
	} else {
		err = archivegen.WriteDir(dst, files)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	fmt.Fprintf(stdout, "wrote %s (%d files)\n", dst, len(files))
	return nil
}

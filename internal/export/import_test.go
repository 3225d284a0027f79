package export

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// writeZip writes files as a zip in a temporary folder and returns its path.
func writeZip(t *testing.T, name string, files []archivegen.File) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := archivegen.WriteZipFile(p, files); err != nil {
		t.Fatal(err)
	}
	return p
}

func importOK(t *testing.T, paths ...string) *Snapshot {
	t.Helper()
	s, err := Import(context.Background(), paths, ImportOptions{})
	if err != nil {
		t.Fatalf("Import(%v): %v", paths, err)
	}
	return s
}

func render(t *testing.T, s *Snapshot, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, s, format); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", name, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + gl + "\n want " + wl
		}
	}
	return ""
}

// checkCounts verifies that every item read is accounted for.
func checkCounts(t *testing.T, s *Snapshot) {
	t.Helper()
	c := s.Counts
	sum := c.Places + c.Skipped[SkipNotAPlace] + c.Skipped[SkipNoURL] + c.Skipped[SkipDuplicate]
	if sum != c.ItemsRead {
		t.Errorf("items read %d, but places+not_a_place+no_url+duplicate_merged = %d (%+v)", c.ItemsRead, sum, c)
	}
}

func TestImportSampleGolden(t *testing.T) {
	p := writeZip(t, "sample-takeout.zip", archivegen.Sample().Files(archivegen.Takeout))
	s := importOK(t, p)
	checkCounts(t, s)
	golden(t, "sample.snapshot.json", render(t, s, FormatJSON))
	golden(t, "sample.geojson", render(t, s, FormatGeoJSON))
	golden(t, "sample.csv", render(t, s, FormatCSV))

	// The committed example is the same archive.
	committed := importOK(t, filepath.Join("..", "..", "examples", "sample-takeout.zip"))
	if !bytes.Equal(render(t, committed, FormatJSON), render(t, s, FormatJSON)) {
		t.Error("examples/sample-takeout.zip is stale: run go generate ./internal/archivegen")
	}

	byKey := map[string]Place{}
	for _, pl := range s.Places {
		byKey[pl.Key] = pl
	}
	// Wrigley Field: a feature id in two lists, a CID in starred: one place.
	w, ok := byKey["cid:2083546915695089222"]
	if !ok || !w.Starred || len(w.Lists) != 2 || w.Lat == nil || w.Address == "" || w.FeatureID != "0x880fd3b2e59adf21:0x1cea3ee176ddd646" {
		t.Errorf("Wrigley Field not merged into one starred place in two lists: %+v", w)
	}
	if got := s.Counts; got.Places != 9 || got.Lists != 4 || got.Starred != 4 || got.Skipped[SkipNotAPlace] != 3 || !s.Complete {
		t.Errorf("counts %+v complete %v", got, s.Complete)
	}
	var unknown int
	for _, pl := range s.Places {
		if pl.Starred && pl.Lat == nil {
			unknown++
		}
	}
	if unknown != 1 {
		t.Errorf("want 1 starred place with unknown coordinates, got %d", unknown)
	}
}

func generated() *archivegen.Model {
	return archivegen.Generate(archivegen.Options{Seed: 7, Items: 120, Lists: 6, Starred: 30, StarredFromLists: 10,
		UnknownCoords: 3, NonPlacePercent: 8, SharedPercent: 15})
}

func TestImportGeneratedGolden(t *testing.T) {
	parts := archivegen.Split(generated().Files(archivegen.Portability), 2)
	a := writeZip(t, "export-1.zip", parts[0])
	b := writeZip(t, "export-2.zip", parts[1])
	s := importOK(t, a, b)
	checkCounts(t, s)
	golden(t, "generated.snapshot.json", render(t, s, FormatJSON))
	golden(t, "generated.geojson", render(t, s, FormatGeoJSON))

	// Byte-identical whatever the order of the zips, and run after run.
	again := importOK(t, b, a)
	if !bytes.Equal(render(t, s, FormatJSON), render(t, again, FormatJSON)) {
		t.Error("result depends on the order of the archives")
	}
}

func TestImportLayoutsAgree(t *testing.T) {
	m := generated()
	zipped := importOK(t, writeZip(t, "takeout.zip", m.Files(archivegen.Takeout)))
	dir := t.TempDir()
	if err := archivegen.WriteDir(dir, m.Files(archivegen.TakeoutGerman)); err != nil {
		t.Fatal(err)
	}
	folder := importOK(t, dir)
	if !bytes.Equal(render(t, zipped, FormatGeoJSON), render(t, folder, FormatGeoJSON)) {
		t.Error("a German-named extracted folder does not give the same places as the English zip")
	}
	// The Data Portability shape gives the same places (its dates differ).
	dp := importOK(t, writeZip(t, "dp.zip", m.Files(archivegen.Portability)))
	if len(dp.Places) != len(zipped.Places) || dp.Counts.Starred != zipped.Counts.Starred || dp.Counts.WithCoordinates != zipped.Counts.WithCoordinates {
		t.Errorf("portability %+v vs takeout %+v", dp.Counts, zipped.Counts)
	}
}

func TestImportNextDay(t *testing.T) {
	m := generated()
	next := m.NextDay(2, archivegen.Churn{Added: 5, Removed: 4, Renamed: 3, Moved: 2, NotesEdited: 3})
	a := importOK(t, writeZip(t, "a.zip", m.Files(archivegen.Takeout)))
	b := importOK(t, writeZip(t, "b.zip", next.Files(archivegen.Takeout)))
	keys := func(s *Snapshot) map[string]Place {
		out := map[string]Place{}
		for _, p := range s.Places {
			out[p.Key] = p
		}
		return out
	}
	ka, kb := keys(a), keys(b)
	var added, renamed int
	for k, p := range kb {
		old, ok := ka[k]
		if !ok {
			added++
		} else if old.Title != p.Title {
			renamed++
		}
	}
	if added < 5 || renamed == 0 {
		t.Errorf("next day: %d new keys (want ≥5), %d renamed (want >0): keys must survive renames", added, renamed)
	}
}

// zipOf builds a zip in memory from name → content pairs.
func zipOf(t *testing.T, entries ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(entries[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodList = "Title,Note,URL,Comment\nWrigley Field,,https://www.google.com/maps/place/W/data=!4m2!3m1!1s0x880fd3b2e59adf21:0x1cea3ee176ddd646,\n"

func TestImportBadInput(t *testing.T) {
	deep := `{"type":"FeatureCollection","features":[` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + "]}"
	hugeLine := "Title,URL\nA," + strings.Repeat("x", 50<<20) + "\n"
	bigEntry := strings.Repeat("Title,URL\n", 1) + strings.Repeat("B,https://maps.google.com/?cid=1\n", 40_000)
	full := zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Saved/Other.csv", goodList)
	tests := []struct {
		name    string
		data    []byte
		limits  Limits
		wantErr bool   // no saved places at all: an error
		file    string // else: an incomplete snapshot with a problem naming this file
		msg     string
	}{
		{name: "empty archive", data: zipOf(t), wantErr: true},
		{name: "no saved places", data: zipOf(t, "Takeout/Chrome/History.json", `{"a":1}`, "Takeout/Fit/data.csv", "a,b\n1,2\n"), wantErr: true},
		{name: "truncated zip", data: full[:len(full)/2], wantErr: true},
		{name: "not a zip", data: []byte("PK\x03\x04 garbage"), wantErr: true},
		{name: "zip slip", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "../../etc/Evil.csv", goodList), file: "../../etc/Evil.csv", msg: "unsafe path"},
		{name: "deep JSON", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Maps (your places)/Saved Places.json", deep), file: "Saved Places.json", msg: "depth"},
		{name: "50 MB CSV line", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Saved/Huge.csv", hugeLine), file: "Huge.csv", msg: "longer than"},
		{name: "entry over cap", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Saved/Big.csv", bigEntry), limits: Limits{MaxEntryBytes: 100_000}, file: "Big.csv", msg: "cap"},
		{name: "total over cap", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Saved/Big.csv", bigEntry), limits: Limits{MaxTotalBytes: int64(len(goodList)) + 100_000}, wantErr: true, msg: "ARCHIVE_MAX_TOTAL_BYTES"},
		{name: "too many entries", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "a.txt", "", "b.txt", ""), limits: Limits{MaxEntries: 2}, wantErr: true, msg: "ARCHIVE_MAX_ENTRIES"},
		{name: "broken starred file", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Maps (your places)/Saved Places.json", `{"type":"FeatureCollection","features":[{"type":"Feature",`), file: "Saved Places.json", msg: "starred places"},
		{name: "headerless file in Saved", data: zipOf(t, "Takeout/Saved/Good.csv", goodList, "Takeout/Saved/Odd.csv", "just,some\ncsv,data\n"), file: "Odd.csv", msg: "not a saved-list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "in.zip", tt.data)
			s, err := Import(context.Background(), []string{p}, ImportOptions{Limits: tt.limits})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", s)
				}
				if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error does not name the file and %q: %v", tt.msg, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Complete {
				t.Errorf("snapshot says complete despite %s", tt.name)
			}
			found := false
			for _, pr := range s.Problems {
				if pr.Fatal && strings.Contains(pr.File, tt.file) && strings.Contains(pr.Message, tt.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no fatal problem naming %q with %q: %+v", tt.file, tt.msg, s.Problems)
			}
			if len(s.Places) == 0 || s.Places[0].Key != "cid:2083546915695089222" {
				t.Errorf("the good list was lost: %+v", s.Places)
			}
		})
	}
}

func TestImportNonUTF8(t *testing.T) {
	p := writeFile(t, "in.zip", zipOf(t, "Takeout/Saved/Latin.csv", "Title,URL\nCaf\xe9 de Flore,https://maps.google.com/?cid=42\n"))
	s := importOK(t, p)
	if !s.Complete || len(s.Problems) != 1 || s.Problems[0].Fatal || !strings.Contains(s.Problems[0].File, "Latin.csv") {
		t.Errorf("want one warning naming Latin.csv, got %+v", s.Problems)
	}
	if s.Places[0].Title != "Caf\uFFFD de Flore" {
		t.Errorf("title %q", s.Places[0].Title)
	}
}

func TestImportMissingPathAndCancel(t *testing.T) {
	if _, err := Import(context.Background(), []string{filepath.Join(t.TempDir(), "nope.zip")}, ImportOptions{}); err == nil {
		t.Error("a missing path must be an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := writeZip(t, "s.zip", archivegen.Sample().Files(archivegen.Takeout))
	if _, err := Import(ctx, []string{p}, ImportOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	s := importOK(t, writeZip(t, "s.zip", archivegen.Sample().Files(archivegen.Takeout)))
	dir := t.TempDir()
	for _, f := range []string{FormatGeoJSON, FormatCSV, FormatJSON} {
		p := filepath.Join(dir, "places."+f)
		if err := WriteFile(p, s, f); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if !bytes.Equal(got, render(t, s, f)) {
			t.Errorf("%s: file differs from Write", f)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.json"), s, FormatJSON); err == nil {
		t.Error("writing into a missing folder must fail")
	}
}

// A zip entry damaged inside (its checksum fails only at its end) must add
// none of its rows: a row read before the checksum fails may be garbage, and
// a garbled URL would be a place that does not exist.
func TestImportDamagedEntryAddsNothing(t *testing.T) {
	damaged := "Title,URL\n" + strings.Repeat("Real,https://maps.google.com/?cid=77\n", 3) + "Also real,https://maps.google.com/?cid=123456789\n"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	starred := `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"google_maps_url":"https://maps.google.com/?cid=555555","location":{"name":"Starred"}}}]}` + "\n"
	for _, e := range []struct{ name, body string }{{"Takeout/Saved/Good.csv", goodList}, {"Takeout/Saved/Damaged.csv", damaged},
		{"Takeout/Maps (your places)/Saved Places.json", starred}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	i := bytes.Index(data, []byte("cid=123456789"))
	if i < 0 {
		t.Fatal("stored entry not found in the zip")
	}
	data[i+len("cid=1234")] = '0' // cid=123406789: a place the user never saved
	j := bytes.Index(data, []byte("cid=555555"))
	data[j+len("cid=5")] = '6' // cid=565555
	s, err := Import(context.Background(), []string{writeFile(t, "in.zip", data)}, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Complete {
		t.Error("snapshot says complete despite a damaged entry")
	}
	for _, p := range s.Places {
		if p.Key != "cid:2083546915695089222" {
			t.Errorf("place %s came from the damaged entry", p.Key)
		}
	}
	for _, file := range []string{"Damaged.csv", "Saved Places.json"} {
		found := false
		for _, pr := range s.Problems {
			found = found || (pr.Fatal && strings.Contains(pr.File, file) && strings.Contains(pr.Message, "checksum"))
		}
		if !found {
			t.Errorf("no fatal problem naming %s and its checksum: %+v", file, s.Problems)
		}
	}
}

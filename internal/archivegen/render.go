package archivegen

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// File is one file of an archive.
type File struct {
	Path string // slash-separated, relative
	Data []byte
}

// Layout is how files are named and shaped.
type Layout int

// The archive layouts Google produces.
const (
	// Takeout: Takeout/Saved/<list>.csv (Title,Note,URL,Comment) and
	// Takeout/Maps (your places)/Saved Places.json in the older shape.
	Takeout Layout = iota
	// Portability: a Data Portability API archive: Saved/<list>.csv with a
	// Tags column and Maps/Starred places.json in the newer shape.
	Portability
	// TakeoutGerman: Takeout with German folder and file names.
	TakeoutGerman
)

// Files renders m in layout. The output is byte-identical for equal inputs.
func (m *Model) Files(layout Layout) []File {
	var listDir, starredPath string
	switch layout {
	case Portability:
		listDir, starredPath = "Saved", "Maps/Starred places.json"
	case TakeoutGerman:
		listDir, starredPath = "Takeout/Gespeichert", "Takeout/Maps (meine Orte)/Gespeicherte Orte.json"
	default:
		listDir, starredPath = "Takeout/Saved", "Takeout/Maps (your places)/Saved Places.json"
	}
	var files []File
	if layout != Portability {
		files = append(files, File{Path: "Takeout/archive_browser.html", Data: []byte("<!doctype html><title>Archive</title><p>Your Google data.</p>\n")})
	}
	for _, l := range m.Lists {
		files = append(files, File{Path: path.Join(listDir, fileName(l.Name)+".csv"), Data: m.listCSV(l, layout == Portability)})
	}
	if len(m.Starred) > 0 {
		files = append(files, File{Path: starredPath, Data: m.starredJSON(layout == Portability)})
	}
	return files
}

// fileName makes a list name safe as a file name, like Google does.
func fileName(s string) string {
	return strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(s)
}

func (m *Model) listCSV(l List, withTags bool) []byte {
	var buf bytes.Buffer
	if l.Description != "" {
		buf.WriteString(l.Description)
		buf.WriteString("\n\n")
	}
	w := csv.NewWriter(&buf)
	header := []string{"Title", "Note", "URL", "Comment"}
	if withTags {
		header = append(header, "Tags")
	}
	_ = w.Write(header)
	for _, it := range l.Items {
		title, u := it.Title, it.URL
		if it.Place >= 0 {
			p := m.Places[it.Place]
			title, u = p.Name, p.ListURL()
		}
		rec := []string{title, it.Note, u, it.Comment}
		if withTags {
			rec = append(rec, strings.Join(it.Tags, ", "))
		}
		_ = w.Write(rec)
	}
	w.Flush()
	return buf.Bytes()
}

type fc struct {
	Type     string `json:"type"`
	Features []any  `json:"features"`
}

type point struct {
	Type        string    `json:"type"`
	Coordinates []float64 `json:"coordinates"`
}

type newFeature struct {
	Type       string   `json:"type"`
	Geometry   point    `json:"geometry"`
	Properties newProps `json:"properties"`
}

type newProps struct {
	Date     string `json:"date"`
	URL      string `json:"google_maps_url"`
	Location struct {
		Address     string `json:"address,omitempty"`
		CountryCode string `json:"country_code,omitempty"`
		Name        string `json:"name"`
	} `json:"location"`
}

type oldFeature struct {
	Geometry   point    `json:"geometry"`
	Properties oldProps `json:"properties"`
	Type       string   `json:"type"`
}

type oldProps struct {
	URL       string      `json:"Google Maps URL"`
	Location  oldLocation `json:"Location"`
	Published string      `json:"Published"`
	Title     string      `json:"Title"`
	Updated   string      `json:"Updated"`
}

type oldLocation struct {
	Address      string     `json:"Address,omitempty"`
	BusinessName string     `json:"Business Name,omitempty"`
	CountryCode  string     `json:"Country Code,omitempty"`
	Geo          *oldCoords `json:"Geo Coordinates,omitempty"`
}

type oldCoords struct {
	Latitude  string `json:"Latitude"`
	Longitude string `json:"Longitude"`
}

func (m *Model) starredJSON(newShape bool) []byte {
	out := fc{Type: "FeatureCollection", Features: []any{}}
	for _, s := range m.Starred {
		p := m.Places[s.Place]
		coords := []float64{0, 0}
		if p.KnownCoords {
			coords = []float64{p.Lng, p.Lat}
		}
		if newShape {
			f := newFeature{Type: "Feature", Geometry: point{"Point", coords}}
			f.Properties.Date = s.SavedAt.Format(time.RFC3339)
			f.Properties.URL = p.StarredURL()
			f.Properties.Location.Name = p.Name
			f.Properties.Location.Address = p.Address
			f.Properties.Location.CountryCode = p.CountryCode
			out.Features = append(out.Features, f)
			continue
		}
		f := oldFeature{Type: "Feature", Geometry: point{"Point", coords}, Properties: oldProps{
			URL: p.StarredURL(), Title: p.Name,
			Published: s.SavedAt.Format(time.RFC3339), Updated: s.SavedAt.Add(24 * time.Hour).Format(time.RFC3339),
			Location: oldLocation{Address: p.Address, BusinessName: p.Name, CountryCode: p.CountryCode},
		}}
		if p.KnownCoords {
			f.Properties.Location.Geo = &oldCoords{strconv.FormatFloat(p.Lat, 'f', -1, 64), strconv.FormatFloat(p.Lng, 'f', -1, 64)}
		}
		out.Features = append(out.Features, f)
	}
	b, _ := json.MarshalIndent(out, "", "  ") // plain structs: cannot fail
	return append(b, '\n')
}

// zipTime is the modification time of every entry, so zips are reproducible.
var zipTime = time.Date(2024, 6, 1, 3, 0, 0, 0, time.UTC)

// WriteZip writes files as a zip archive to w.
func WriteZip(w io.Writer, files []File) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: zipTime})
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.Path, err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("zip %s: %w", f.Path, err)
		}
	}
	return zw.Close()
}

// ZipBytes returns files as a zip archive.
func ZipBytes(files []File) []byte {
	var buf bytes.Buffer
	_ = WriteZip(&buf, files) // writes to memory cannot fail
	return buf.Bytes()
}

// WriteZipFile writes files as a zip archive at name.
func WriteZipFile(name string, files []File) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".archivegen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := WriteZip(tmp, files); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// WriteDir writes files under dir, as an extracted archive.
func WriteDir(dir string, files []File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Split deals files over n archives, as the Data Portability API does for a
// big export: the first archive gets files 0, n, 2n…
func Split(files []File, n int) [][]File {
	if n < 1 {
		n = 1
	}
	out := make([][]File, n)
	for i, f := range files {
		out[i%n] = append(out[i%n], f)
	}
	return out
}

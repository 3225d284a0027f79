package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Formats accepted by WriteFile and Write.
const (
	FormatGeoJSON = "geojson"
	FormatCSV     = "csv"
	FormatJSON    = "json"
)

// FormatFromName guesses the output format from a file name's extension;
// "" when it cannot tell.
func FormatFromName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".geojson":
		return FormatGeoJSON
	case ".csv":
		return FormatCSV
	case ".json":
		return FormatJSON
	}
	return ""
}

// Write writes s to w in format (geojson, csv or json).
func Write(w io.Writer, s *Snapshot, format string) error {
	switch format {
	case FormatGeoJSON:
		return WriteGeoJSON(w, s)
	case FormatCSV:
		return WriteCSV(w, s)
	case FormatJSON:
		return WriteJSON(w, s)
	}
	return fmt.Errorf("unknown format %q: use geojson, csv or json", format)
}

// WriteFile writes s to path in format atomically: a temporary file in the
// same folder, synced, then renamed over path, so readers never see half a
// file.
func WriteFile(path string, s *Snapshot, format string) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err = Write(bw, s, format); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteJSON writes the snapshot as indented JSON.
func WriteJSON(w io.Writer, s *Snapshot) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(s)
}

type geoFeature struct {
	Type       string       `json:"type"`
	ID         string       `json:"id"`
	Geometry   *geoPoint    `json:"geometry"` // null when the place has no coordinates
	Properties geoPlaceProp `json:"properties"`
}

type geoPoint struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"` // [lng, lat]
}

type geoPlaceProp struct {
	Title       string     `json:"title"`
	Address     string     `json:"address,omitempty"`
	CountryCode string     `json:"countryCode,omitempty"`
	MapsURL     string     `json:"mapsUrl"`
	CID         string     `json:"cid,omitempty"`
	FeatureID   string     `json:"featureId,omitempty"`
	PlaceID     string     `json:"placeId,omitempty"`
	Starred     bool       `json:"starred"`
	Lists       Entries    `json:"lists,omitempty"`
	SavedAt     *time.Time `json:"savedAt,omitempty"`
	UpdatedAt   *time.Time `json:"updatedAt,omitempty"`
}

// WriteGeoJSON writes the places as an RFC 7946 FeatureCollection: one
// Feature per place, id = Key, geometry a [lng, lat] Point, or null for a
// place whose coordinates are unknown (so that no place is left out).
func WriteGeoJSON(w io.Writer, s *Snapshot) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(`{"type":"FeatureCollection","features":[`); err != nil {
		return err
	}
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	for i, p := range s.Places {
		f := geoFeature{Type: "Feature", ID: p.Key, Properties: geoPlaceProp{
			Title: p.Title, Address: p.Address, CountryCode: p.CountryCode, MapsURL: p.MapsURL,
			CID: p.CID, FeatureID: p.FeatureID, PlaceID: p.PlaceID, Starred: p.Starred,
			Lists: p.Lists, SavedAt: p.SavedAt, UpdatedAt: p.UpdatedAt,
		}}
		if p.Lat != nil && p.Lng != nil {
			f.Geometry = &geoPoint{Type: "Point", Coordinates: [2]float64{*p.Lng, *p.Lat}}
		}
		line.Reset()
		if err := enc.Encode(f); err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n")
		bw.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// csvHeader is the header row of WriteCSV.
func csvHeader() []string {
	return []string{"key", "title", "address", "country_code", "lat", "lng", "maps_url", "cid", "feature_id", "place_id", "starred", "lists", "notes", "comments", "tags", "saved_at", "updated_at"}
}

// WriteCSV writes one row per place. lists joins the list names with "; ";
// notes, comments and tags are "list: value" joined with "; " (tags of one
// list joined with ", ").
func WriteCSV(w io.Writer, s *Snapshot) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader()); err != nil {
		return err
	}
	for _, p := range s.Places {
		names := p.Lists.Names()
		var notes, comments, tags []string
		for _, e := range p.Lists {
			n := e.List
			if e.Note != "" {
				notes = append(notes, n+": "+e.Note)
			}
			if e.Comment != "" {
				comments = append(comments, n+": "+e.Comment)
			}
			if len(e.Tags) > 0 {
				tags = append(tags, n+": "+strings.Join(e.Tags, ", "))
			}
		}
		rec := []string{p.Key, p.Title, p.Address, p.CountryCode, fmtCoord(p.Lat), fmtCoord(p.Lng), p.MapsURL, p.CID, p.FeatureID, p.PlaceID,
			strconv.FormatBool(p.Starred), strings.Join(names, "; "), strings.Join(notes, "; "), strings.Join(comments, "; "), strings.Join(tags, "; "),
			fmtTime(p.SavedAt), fmtTime(p.UpdatedAt)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func fmtCoord(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

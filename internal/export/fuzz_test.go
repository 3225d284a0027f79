package export

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds live in testdata/fuzz/<target>/ (go test's corpus format); these
// f.Add calls cover the basic shapes too.

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(goodList))
	f.Add([]byte("\uFEFFMy list, described\n\nTitle,Note,URL,Comment,Tags\n\"A, b\",\"x\ny\",https://maps.google.com/?cid=1,,\"t1, t2\"\n"))
	f.Add([]byte("Title,URL\n\"unterminated,https://x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 10
		l, err := ParseSavedListCSV(bytes.NewReader(data), "L", max)
		if err != nil {
			return
		}
		for _, r := range l.Rows {
			for _, s := range []string{r.Title, r.Note, r.URL, r.Comment} {
				if !utf8.ValidString(s) || len(s) > max {
					t.Fatalf("bad field %q", s)
				}
			}
		}
		if !utf8.ValidString(l.Description) {
			t.Fatalf("bad description %q", l.Description)
		}
	})
}

func FuzzParseGeoJSON(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[-87.6,41.9]},"properties":{"google_maps_url":"http://maps.google.com/?cid=1","location":{"name":"X"}}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"geometry":{"coordinates":["2.29","48.85"]},"properties":{"Google Maps URL":"u","Location":{"Geo Coordinates":{"Latitude":"1","Longitude":"2"}}}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[[[[[]]]]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := ParseStarredGeoJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range sf.Places {
			if p.HasCoords && !validLatLng(p.Lat, p.Lng) {
				t.Fatalf("invalid coordinates kept: %+v", p)
			}
			if !utf8.ValidString(p.Name) || !utf8.ValidString(p.MapsURL) {
				t.Fatalf("invalid UTF-8 kept: %+v", p)
			}
		}
	})
}

func FuzzParseMapsURL(f *testing.F) {
	f.Add("https://www.google.com/maps/place/W/data=!4m2!3m1!1s0x880fd3b2e59adf21:0x1cea3ee176ddd646!8m2!3d41.9!4d-87.6")
	f.Add("http://maps.google.com/?cid=2083546915695089222&q=41.9,-87.6")
	f.Add("https://www.google.com/maps/search/?api=1&query=x&query_place_id=ChIJLU7jZClu5kcR4PcOOO6p3I0")
	f.Add("https://www.google.com/maps/@48.85,2.29,17z")
	f.Add("https://maps.app.goo.gl/abc")
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseMapsURL(s)
		if r != ParseMapsURL(s) {
			t.Fatal("not deterministic")
		}
		if r.CID != "" {
			n, err := strconv.ParseUint(r.CID, 10, 64)
			if err != nil || n == 0 || strconv.FormatUint(n, 10) != r.CID {
				t.Fatalf("bad CID %q", r.CID)
			}
		}
		if r.FeatureID != "" && normFeatureID(r.FeatureID) != r.FeatureID {
			t.Fatalf("bad feature id %q", r.FeatureID)
		}
		if r.HasCoords && !validLatLng(r.Lat, r.Lng) {
			t.Fatalf("bad coordinates %+v", r)
		}
		if !r.IsMaps && (r.CID != "" || r.FeatureID != "" || r.PlaceID != "" || r.HasCoords) {
			t.Fatalf("ids from a non-Maps URL: %+v", r)
		}
		k := PlaceKey(r, s)
		if !strings.HasPrefix(k, "cid:") && !strings.HasPrefix(k, "place:") && !strings.HasPrefix(k, "url:") {
			t.Fatalf("bad key %q", k)
		}
	})
}

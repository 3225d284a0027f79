package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StarredPlace is one feature of a starred-places GeoJSON file.
type StarredPlace struct {
	Name, Address, CountryCode, MapsURL string
	// Lat and Lng are valid only when HasCoords ([0,0] means unknown).
	Lat, Lng  float64
	HasCoords bool
	SavedAt   *time.Time
	UpdatedAt *time.Time
	// Index is the feature's position in the file, for messages.
	Index int
}

// StarredFile is a parsed starred-places GeoJSON file.
type StarredFile struct {
	Places []StarredPlace
	// FeatureErrors are features that could not be read; each loses an item.
	FeatureErrors []string
	// Warnings lost nothing.
	Warnings []string
}

// ParseStarredGeoJSON reads starred places from a GeoJSON FeatureCollection
// in the Data Portability shape (properties.google_maps_url, .location.name…)
// or the older Takeout shape ("Google Maps URL", "Location":{"Business
// Name", "Geo Coordinates"…}, "Published", "Updated"). Coordinates may be
// numbers or strings; [0,0] means unknown. A feature that cannot be read is
// reported in FeatureErrors and the others are kept.
func ParseStarredGeoJSON(r io.Reader) (*StarredFile, error) {
	// Stream the features one by one: the file is never held twice.
	dec := json.NewDecoder(r)
	notFC := func(err error) (*StarredFile, error) {
		return nil, fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
	}
	if tok, err := dec.Token(); err != nil {
		return notFC(err)
	} else if tok != json.Delim('{') {
		return notFC(fmt.Errorf("starts with %v, not an object", tok))
	}
	out := &StarredFile{}
	var typ string
	sawFeatures, invalid := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return notFC(err)
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			if err := dec.Decode(&typ); err != nil {
				return notFC(fmt.Errorf("type: %w", err))
			}
			if typ != "FeatureCollection" {
				return nil, fmt.Errorf("GeoJSON type is %q, want FeatureCollection", typ)
			}
		case "features":
			if tok, err := dec.Token(); err != nil {
				return notFC(err)
			} else if tok != json.Delim('[') {
				return notFC(fmt.Errorf("features is %v, not an array", tok))
			}
			sawFeatures = true
			for i := 0; dec.More(); i++ {
				var f rawFeature
				if err := dec.Decode(&f); err != nil {
					var se *json.SyntaxError
					if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || !isValueError(err) {
						return nil, fmt.Errorf("feature %d: %w", i, err)
					}
					out.FeatureErrors = append(out.FeatureErrors, fmt.Sprintf("feature %d: %v", i, err))
					continue
				}
				p := f.place()
				p.Index = i
				for _, s := range []*string{&p.Name, &p.Address, &p.CountryCode, &p.MapsURL} {
					if !utf8.ValidString(*s) {
						invalid = true
						*s = strings.ToValidUTF8(*s, "\uFFFD")
					}
				}
				out.Places = append(out.Places, p)
			}
			if _, err := dec.Token(); err != nil { // ]
				return notFC(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return notFC(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return notFC(err)
	}
	if !sawFeatures {
		return nil, errors.New("not a GeoJSON FeatureCollection: no features")
	}
	if invalid {
		out.Warnings = append(out.Warnings, "text is not valid UTF-8; invalid bytes were replaced with U+FFFD")
	}
	return out, nil
}

// isValueError tells a feature whose values have unexpected types (the
// decoder has read past it: the next feature can be read) from a broken file.
func isValueError(err error) bool {
	var te *json.UnmarshalTypeError
	var fe *flexError
	return errors.As(err, &te) || errors.As(err, &fe)
}

// flexError is a value that flexFloat or flexString cannot accept.
type flexError struct{ msg string }

func (e *flexError) Error() string { return e.msg }

// rawFeature accepts both shapes: encoding/json matches keys without regard
// to case, so "location" and "Location", "address" and "Address" share a field.
type rawFeature struct {
	Geometry *struct {
		Type        string      `json:"type"`
		Coordinates []flexFloat `json:"coordinates"`
	} `json:"geometry"`
	Properties *struct {
		Date          flexString `json:"date"`
		Published     flexString `json:"Published"`
		Updated       flexString `json:"Updated"`
		Title         flexString `json:"Title"`
		Name          flexString `json:"name"`
		Address       flexString `json:"address"`
		GoogleMapsURL flexString `json:"google_maps_url"`
		OldMapsURL    flexString `json:"Google Maps URL"`
		Location      *struct {
			Address      flexString `json:"address"`
			CountryCode  flexString `json:"country_code"`
			CountryCode2 flexString `json:"Country Code"`
			Name         flexString `json:"name"`
			BusinessName flexString `json:"Business Name"`
			GeoCoords    *struct {
				Latitude  flexFloat `json:"Latitude"`
				Longitude flexFloat `json:"Longitude"`
			} `json:"Geo Coordinates"`
		} `json:"location"`
	} `json:"properties"`
}

func (f *rawFeature) place() StarredPlace {
	var p StarredPlace
	if f.Geometry != nil && len(f.Geometry.Coordinates) >= 2 {
		c := f.Geometry.Coordinates
		if c[0].ok && c[1].ok && validLatLng(c[1].v, c[0].v) {
			p.Lng, p.Lat, p.HasCoords = c[0].v, c[1].v, true
		}
	}
	pr := f.Properties
	if pr == nil {
		return p
	}
	p.MapsURL = firstNonEmpty(string(pr.GoogleMapsURL), string(pr.OldMapsURL))
	p.Name = string(pr.Title)
	p.Address = string(pr.Address)
	if pr.Name != "" && p.Name == "" {
		p.Name = string(pr.Name)
	}
	if l := pr.Location; l != nil {
		p.Name = firstNonEmpty(string(l.Name), string(l.BusinessName), p.Name)
		p.Address = firstNonEmpty(string(l.Address), p.Address)
		p.CountryCode = firstNonEmpty(string(l.CountryCode), string(l.CountryCode2))
		if g := l.GeoCoords; g != nil && !p.HasCoords && g.Latitude.ok && g.Longitude.ok && validLatLng(g.Latitude.v, g.Longitude.v) {
			p.Lat, p.Lng, p.HasCoords = g.Latitude.v, g.Longitude.v, true
		}
	}
	p.SavedAt = parseTime(firstNonEmpty(string(pr.Date), string(pr.Published)))
	p.UpdatedAt = parseTime(string(pr.Updated))
	return p
}

// flexFloat is a number that may be written as a JSON number or string.
type flexFloat struct {
	v  float64
	ok bool
}

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &flexError{fmt.Sprintf("coordinate %q is not a number", truncate(s, 40))}
	}
	f.v, f.ok = v, true
	return nil
}

// flexString is a string that tolerates numbers, booleans and null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 1 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0:
		*f = flexString(strings.TrimSpace(string(b[1 : len(b)-1])))
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(strings.TrimSpace(s))
	case bytes.Equal(b, []byte("null")):
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return &flexError{"expected a string, got an object or array"}
	default:
		*f = flexString(b)
	}
	return nil
}

// parseTime reads the timestamps found in exports; unknown forms give nil.
func parseTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

package export

import (
	"strings"
	"testing"
	"time"
)

func TestParseStarredGeoJSON(t *testing.T) {
	portability := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","geometry":{"type":"Point","coordinates":[-87.6553,41.9484]},
	  "properties":{"date":"2023-05-01T12:00:00Z","google_maps_url":"http://maps.google.com/?cid=2084485530566727238",
	   "location":{"address":"1060 W Addison St, Chicago, IL 60613","country_code":"US","name":"Wrigley Field"}}},
	 {"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},
	  "properties":{"google_maps_url":"http://maps.google.com/?cid=5","location":{"name":"Nowhere known"}}},
	 {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}},
	 {"type":"Feature","geometry":{"type":"Point","coordinates":[{"x":1},2]}}
	]}`
	got, err := ParseStarredGeoJSON(strings.NewReader(portability))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Places) != 3 || len(got.FeatureErrors) != 1 {
		t.Fatalf("places %+v errors %q", got.Places, got.FeatureErrors)
	}
	w := got.Places[0]
	saved := time.Date(2023, 5, 1, 12, 0, 0, 0, time.UTC)
	if w.Name != "Wrigley Field" || w.Address != "1060 W Addison St, Chicago, IL 60613" || w.CountryCode != "US" ||
		!w.HasCoords || w.Lat != 41.9484 || w.Lng != -87.6553 || w.SavedAt == nil || !w.SavedAt.Equal(saved) ||
		w.MapsURL != "http://maps.google.com/?cid=2084485530566727238" {
		t.Errorf("portability shape: %+v", w)
	}
	if got.Places[1].HasCoords {
		t.Errorf("[0,0] must mean unknown: %+v", got.Places[1])
	}

	takeout := `{"type":"FeatureCollection","features":[{"geometry":{"coordinates":["2.2945","48.8584"],"type":"Point"},
	 "properties":{"Google Maps URL":"http://maps.google.com/?cid=10222232094831998944","Published":"2019-04-02T10:11:12Z",
	  "Updated":"2020-01-01T00:00:00Z","Title":"Tour Eiffel",
	  "Location":{"Address":"Champ de Mars, Paris","Business Name":"Tour Eiffel","Country Code":"FR",
	   "Geo Coordinates":{"Latitude":"48.8584","Longitude":"2.2945"}}},"type":"Feature"},
	 {"geometry":{"coordinates":[0,0],"type":"Point"},"properties":{"Google Maps URL":"http://maps.google.com/?cid=9",
	  "Location":{"Geo Coordinates":{"Latitude":"51.5","Longitude":"-0.12"}}}}]}`
	got, err = ParseStarredGeoJSON(strings.NewReader(takeout))
	if err != nil {
		t.Fatal(err)
	}
	e := got.Places[0]
	if e.Name != "Tour Eiffel" || e.CountryCode != "FR" || e.Lat != 48.8584 || e.Lng != 2.2945 || e.UpdatedAt == nil || e.SavedAt == nil {
		t.Errorf("takeout shape: %+v", e)
	}
	if p := got.Places[1]; !p.HasCoords || p.Lat != 51.5 || p.Lng != -0.12 {
		t.Errorf("Geo Coordinates fallback: %+v", p)
	}
}

func TestParseStarredGeoJSONBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"array":         "[1,2]",
		"wrong type":    `{"type":"Feature"}`,
		"deep nesting":  `{"type":"FeatureCollection","features":[` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + "]}",
		"truncated":     `{"type":"FeatureCollection","features":[{"type":"Feat`,
		"features type": `{"type":"FeatureCollection","features":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseStarredGeoJSON(strings.NewReader(in)); err == nil {
				t.Errorf("want an error, got %+v", got)
			}
		})
	}
}

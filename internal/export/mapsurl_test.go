package export

import "testing"

func TestParseMapsURL(t *testing.T) {
	tests := []struct {
		name, url string
		want      MapsRef
	}{
		{"feature id", "https://www.google.com/maps/place/Wrigley+Field/data=!4m2!3m1!1s0x880fd3b2e59adf21:0x1cea3ee176ddd646",
			MapsRef{IsMaps: true, FeatureID: "0x880fd3b2e59adf21:0x1cea3ee176ddd646", CID: "2083546915695089222"}},
		{"cid", "http://maps.google.com/?cid=2083546915695089222",
			MapsRef{IsMaps: true, CID: "2083546915695089222"}},
		{"cid leading zeros", "https://maps.google.co.uk/maps?cid=002083546915695089222",
			MapsRef{IsMaps: true, CID: "2083546915695089222"}},
		{"feature id wins over cid param", "https://www.google.com/maps/place/X/data=!4m2!3m1!1s0x1:0xff?cid=7",
			MapsRef{IsMaps: true, FeatureID: "0x1:0xff", CID: "255"}},
		{"upper-case hex and escaped colon", "https://www.google.de/maps/place/X/data=!4m2!3m1!1s0xABC%3A0x10",
			MapsRef{IsMaps: true, FeatureID: "0xabc:0x10", CID: "16"}},
		{"ftid", "https://www.google.com/maps?ftid=0x47e66e2964e34e2d:0x8ddca9ee380ef7e0",
			MapsRef{IsMaps: true, FeatureID: "0x47e66e2964e34e2d:0x8ddca9ee380ef7e0", CID: "10222232094831998944"}},
		{"place id", "https://www.google.com/maps/search/?api=1&query=Eiffel%20Tower&query_place_id=ChIJLU7jZClu5kcR4PcOOO6p3I0",
			MapsRef{IsMaps: true, PlaceID: "ChIJLU7jZClu5kcR4PcOOO6p3I0"}},
		{"place_id: in q", "https://maps.google.com/?q=place_id:ChIJLU7jZClu5kcR4PcOOO6p3I0",
			MapsRef{IsMaps: true, PlaceID: "ChIJLU7jZClu5kcR4PcOOO6p3I0"}},
		{"pin beats viewport", "https://www.google.com/maps/place/Wrigley+Field/@41.9,-87.6,17z/data=!3m1!4b1!4m5!3m4!1s0x880fd3b2e59adf21:0x1cea3ee176ddd646!8m2!3d41.9484384!4d-87.6553327",
			MapsRef{IsMaps: true, FeatureID: "0x880fd3b2e59adf21:0x1cea3ee176ddd646", CID: "2083546915695089222", Lat: 41.9484384, Lng: -87.6553327, HasCoords: true}},
		{"viewport", "https://www.google.com/maps/@48.8583701,2.2944813,17z",
			MapsRef{IsMaps: true, Lat: 48.8583701, Lng: 2.2944813, HasCoords: true}},
		{"q coords", "https://maps.google.com/?q=41.94,-87.65",
			MapsRef{IsMaps: true, Lat: 41.94, Lng: -87.65, HasCoords: true}},
		{"zero coords are unknown", "https://maps.google.com/?q=0,0", MapsRef{IsMaps: true}},
		{"out of range coords", "https://maps.google.com/?q=91,10", MapsRef{IsMaps: true}},
		{"short link", "https://maps.app.goo.gl/AbCdEf123", MapsRef{IsMaps: true, Short: true}},
		{"goo.gl maps", "https://goo.gl/maps/xyz", MapsRef{IsMaps: true, Short: true}},
		{"shopping", "https://www.google.com/shopping/product/1234567890?q=x", MapsRef{}},
		{"imgres", "https://www.google.com/imgres?imgurl=https://x/y.jpg", MapsRef{}},
		{"web page", "https://example.com/maps/place/X", MapsRef{}},
		{"web search", "https://www.google.com/search?q=pizza", MapsRef{}},
		{"lookalike host", "https://maps.google.evil.example/maps?cid=1", MapsRef{}},
		{"empty", "", MapsRef{}},
		{"garbage", "::not a url", MapsRef{}},
		{"overflowing cid", "https://maps.google.com/?cid=99999999999999999999999", MapsRef{IsMaps: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseMapsURL(tt.url); got != tt.want {
				t.Errorf("ParseMapsURL(%q)\n got  %+v\n want %+v", tt.url, got, tt.want)
			}
		})
	}
}

//go:generate go run ./cmd/archivegen -sample ../../examples/sample-takeout.zip

package archivegen

import "time"

// Sample is the small, hand-written export behind examples/sample-takeout.zip:
// four lists (two with a description, Unicode names), a place in several
// lists that is also starred (a feature id in the CSVs, a CID in the
// GeoJSON), web pages, a shopping product and an image among the rows, a
// Places API link, a short link, and a starred place whose coordinates
// Google does not know.
func Sample() *Model {
	places := []Place{
		{Name: "Wrigley Field", Address: "1060 W Addison St, Chicago, IL 60613, USA", CountryCode: "US", Lat: 41.9484384, Lng: -87.6553327, KnownCoords: true,
			FeatureHi: 0x880fd3b2e59adf21, CID: 0x1cea3ee176ddd646},
		{Name: "Art Institute of Chicago", Address: "111 S Michigan Ave, Chicago, IL 60603, USA", CountryCode: "US", Lat: 41.8795845, Lng: -87.6237133, KnownCoords: true,
			FeatureHi: 0x880e2ca3e2d94695, CID: 0x4829f3cc9ca2d0de},
		{Name: "Café Sperl", Address: "Gumpendorfer Str. 11, 1060 Wien, Austria", CountryCode: "AT", Lat: 48.1989424, Lng: 16.3589016, KnownCoords: true,
			FeatureHi: 0x476d07f5a0f9f7e1, CID: 0x2a1b5f1c3e2d4c5b},
		{Name: "Ichiran Shibuya", Address: "1-22-7 Jinnan, Shibuya City, Tokyo 150-0041, Japan", CountryCode: "JP", Lat: 35.6614, Lng: 139.7005, KnownCoords: true,
			FeatureHi: 0x60188ca8b1a07cd5, CID: 0x8a2f0c4d1e3b5a79},
		{Name: "浅草寺 (Sensō-ji)", Address: "2 Chome-3-1 Asakusa, Taito City, Tokyo 111-0032, Japan", CountryCode: "JP", Lat: 35.7147651, Lng: 139.7966553, KnownCoords: true,
			FeatureHi: 0x60188ec1a1b8c1a9, CID: 0x3b6e8f0d2c4a1e57,
			URLForm: URLPlaceID, PlaceID: "ChIJ8T1GpMGOGGARDYGSgpooDWw"},
		{Name: "Pierogarnia Krakowiacy", Address: "Szewska 23, 31-009 Kraków, Poland", CountryCode: "PL", Lat: 50.0624, Lng: 19.9357, KnownCoords: true,
			FeatureHi: 0x47165b0f0c5b7e4d, CID: 0x5d3c2b1a09f8e7d6},
		{Name: "Zapiekanki at Plac Nowy", Address: "Plac Nowy, 31-056 Kraków, Poland", CountryCode: "PL", KnownCoords: false,
			FeatureHi: 0x47165b6ba2d1c3e5, CID: 0x6e5d4c3b2a190817},
		{Name: "Tour Eiffel", Address: "Champ de Mars, 5 Av. Anatole France, 75007 Paris, France", CountryCode: "FR", Lat: 48.8583701, Lng: 2.2944813, KnownCoords: true,
			FeatureHi: 0x47e66e2964e34e2d, CID: 0x8ddca9ee380ef7e0},
		{Name: "Tsukiji Outer Market", CountryCode: "JP", KnownCoords: true, Lat: 35.6654, Lng: 139.7707,
			FeatureHi: 0x60188be6b0a1c2d3, CID: 0x7a6b5c4d3e2f1a0b, URLForm: URLShort},
	}
	lists := []List{
		{Name: "Favorites", Description: "The places I keep going back to", Items: []Item{
			{Place: 0, Note: "Nice to tour even without a game"},
			{Place: 2, Note: "Melange and a slice of Sperl-Torte", Comment: "Open since 1880"},
			{Place: 7},
			{Place: -1, Title: "How to spend 48 hours in Chicago", URL: "https://example.org/travel/chicago-48-hours"},
		}},
		{Name: "Chicago 2024", Items: []Item{
			{Place: 0, Note: "Day game on Saturday, bleachers"},
			{Place: 1, Note: "Book tickets online, free on Thursdays for Illinois residents"},
			{Place: -1, Title: "Deep-dish pizza pan, 12 inch", URL: "https://www.google.com/shopping/product/4821993471622431290?q=deep+dish+pan"},
		}},
		{Name: "Tokyo 2024 🍣", Description: "Ramen, sushi, and a few temples, in that order", Items: []Item{
			{Place: 3, Note: "Solo booths, go after 22:00"},
			{Place: 4, Note: "Early morning, before the crowds"},
			{Place: 8, Note: "Tamagoyaki, \"the\" breakfast"},
			{Place: -1, Title: "Ramen map of Shibuya", URL: "https://www.google.com/imgres?imgurl=https://example.org/shibuya-ramen.png&imgrefurl=https://example.org/ramen"},
		}},
		{Name: "Kraków — pierogi & zapiekanki", Items: []Item{
			{Place: 5, Note: "Ruskie, with fried onions"},
			{Place: 6, Note: "Late night, cash only"},
		}},
	}
	t := func(s string) time.Time {
		v, _ := time.Parse(time.RFC3339, s) // constants below parse
		return v
	}
	return &Model{
		Places: places,
		Lists:  lists,
		Starred: []Star{
			{Place: 0, SavedAt: t("2023-05-01T12:00:00Z")},
			{Place: 7, SavedAt: t("2019-04-02T10:11:12Z")},
			{Place: 3, SavedAt: t("2024-02-14T08:30:00Z")},
			{Place: 6, SavedAt: t("2022-08-20T21:05:00Z")},
		},
	}
}

// Package gen makes deterministic synthetic Google exports of saved places
// for the benchmark and the soak test: N saved-list items over M lists
// (descriptions, Unicode names, non-place items, places shared between
// lists), K starred places, and "next day" variants with a given churn.
// The same seed gives the same archives, byte for byte.
package gen

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Item is one row of a saved list.
type Item struct {
	Title, Note, URL, Comment string
	// CID is the place's CID (decimal) when the item is a place, else "".
	CID string
}

// List is one saved list.
type List struct {
	Name, Description string
	Items             []Item
}

// Starred is one starred place.
type Starred struct {
	Title, Address, CID string
	Lat, Lng            float64
	Date                time.Time // when it was starred
}

// Archive is one day's export.
type Archive struct {
	Lists   []List
	Starred []Starred
	// Date is the export day (starred places' dates are before it).
	Date time.Time
	next uint64 // next fresh place number
	rng  *rand.Rand
}

var words = []string{"Café", "Bar", "Park", "Museum", "Ramen", "Bakery", "Trattoria", "Library", "Market", "Garden",
	"Kiosk", "Brasserie", "Izakaya", "Teahouse", "Pier", "Gallery", "Theatre", "Bistro", "Diner", "Hostel"}
var qualifiers = []string{"Zürich", "東京", "São Paulo", "Kraków", "Île", "Ñuñoa", "Αθήνα", "Москва", "Chicago", "Reykjavík",
	"Dakar", "Mumbai", "Oslo", "Lima", "Hà Nội", "Cairo", "Québec", "Seoul", "Perth", "Tromsø"}

// Config says what to generate.
type Config struct {
	Seed  uint64
	Items int // saved-list rows in total
	Lists int // number of lists (default: 1 per 500 items, at least 3)
	// Starred places (default Items/10).
	Starred int
}

// New generates day 0.
func New(c Config) *Archive {
	if c.Lists <= 0 {
		c.Lists = max(3, c.Items/500)
	}
	if c.Starred < 0 {
		c.Starred = 0
	} else if c.Starred == 0 {
		c.Starred = c.Items / 10
	}
	a := &Archive{rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)), Date: time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC)}
	names := []string{"Favorites", "Want to go"}
	for i := len(names); i < c.Lists; i++ {
		names = append(names, fmt.Sprintf("%s %s %d", qualifiers[i%len(qualifiers)], words[i%len(words)], i))
	}
	for i := 0; i < c.Lists; i++ {
		l := List{Name: names[i]}
		if i%2 == 1 {
			l.Description = fmt.Sprintf("Places for %s, \"curated\"", names[i])
		}
		a.Lists = append(a.Lists, l)
	}
	var places []Item
	for n := 0; n < c.Items; n++ {
		li := a.rng.IntN(len(a.Lists))
		var it Item
		switch r := a.rng.IntN(100); {
		case r < 2: // not a place: a web page or a product
			it = Item{Title: fmt.Sprintf("Product %d", n), URL: fmt.Sprintf("https://www.google.com/shopping/product/%d", 1000000+n)}
		case r < 7 && len(places) > 0: // a place already in another list
			it = places[a.rng.IntN(len(places))]
			it.Note = ""
		default:
			it = a.newPlace()
			places = append(places, it)
		}
		a.Lists[li].Items = append(a.Lists[li].Items, it)
	}
	for i := 0; i < c.Starred && len(places) > 0; i++ {
		p := places[a.rng.IntN(len(places))]
		if a.isStarred(p.CID) {
			continue
		}
		a.Starred = append(a.Starred, a.starredOf(p))
	}
	return a
}

func (a *Archive) newPlace() Item {
	a.next++
	n := a.next
	hi := 0x89c259a000000000 + n*7919
	lo := 0x1000000000000000 + n*104729 + uint64(a.rng.IntN(1000))
	title := fmt.Sprintf("%s %s %d", words[a.rng.IntN(len(words))], qualifiers[a.rng.IntN(len(qualifiers))], n)
	it := Item{
		Title: title,
		URL:   fmt.Sprintf("https://www.google.com/maps/place/%s/data=!4m2!3m1!1s0x%x:0x%x", url.QueryEscape(title), hi, lo),
		CID:   strconv.FormatUint(lo, 10),
	}
	if a.rng.IntN(4) == 0 {
		it.Note = "Go back, try the \"special\",\nwith friends"
	}
	if a.rng.IntN(8) == 0 {
		it.Comment = "Open late, " + qualifiers[a.rng.IntN(len(qualifiers))]
	}
	return it
}

func (a *Archive) isStarred(cid string) bool {
	for _, s := range a.Starred {
		if s.CID == cid {
			return true
		}
	}
	return false
}

func (a *Archive) starredOf(p Item) Starred {
	return Starred{Title: p.Title, CID: p.CID, Address: fmt.Sprintf("%d Main St, %s", a.rng.IntN(999)+1, qualifiers[a.rng.IntN(len(qualifiers))]),
		Lat: float64(a.rng.IntN(180000)-90000) / 1000, Lng: float64(a.rng.IntN(360000)-180000) / 1000,
		Date: a.Date.Add(-time.Duration(a.rng.IntN(1000*24)) * time.Hour)}
}

// Clone returns a deep copy that draws its randomness from seed.
func (a *Archive) clone(seed uint64) *Archive {
	b := &Archive{Date: a.Date, next: a.next, rng: rand.New(rand.NewPCG(seed, a.next))}
	for _, l := range a.Lists {
		l.Items = append([]Item(nil), l.Items...)
		b.Lists = append(b.Lists, l)
	}
	b.Starred = append([]Starred(nil), a.Starred...)
	return b
}

// NextDay returns the next day's export with churn (a fraction of the items,
// e.g. 0.01) changed: added, removed, renamed, moved to another list, note
// edited. churn 0 gives the same data a day later.
func (a *Archive) NextDay(seed uint64, churn float64) *Archive {
	b := a.clone(seed)
	b.Date = a.Date.AddDate(0, 0, 1)
	total := 0
	for _, l := range b.Lists {
		total += len(l.Items)
	}
	n := int(float64(total)*churn + 0.5)
	for i := 0; i < n; i++ {
		li := b.rng.IntN(len(b.Lists))
		l := &b.Lists[li]
		if len(l.Items) == 0 {
			l.Items = append(l.Items, b.newPlace())
			continue
		}
		j := b.rng.IntN(len(l.Items))
		switch r := b.rng.IntN(10); {
		case r < 3: // removed
			l.Items = append(l.Items[:j], l.Items[j+1:]...)
		case r < 6: // added
			l.Items = append(l.Items, b.newPlace())
		case r < 7: // renamed
			l.Items[j].Title += " (renamed)"
		case r < 8: // moved to another list
			it := l.Items[j]
			l.Items = append(l.Items[:j], l.Items[j+1:]...)
			o := &b.Lists[(li+1)%len(b.Lists)]
			o.Items = append(o.Items, it)
		default: // note edited
			l.Items[j].Note = fmt.Sprintf("edited on %s", b.Date.Format("2006-01-02"))
		}
	}
	return b
}

// Places returns the CIDs of every place of the archive (lists and starred).
func (a *Archive) Places() map[string]bool {
	out := map[string]bool{}
	for _, l := range a.Lists {
		for _, it := range l.Items {
			if it.CID != "" {
				out[it.CID] = true
			}
		}
	}
	for _, s := range a.Starred {
		out[s.CID] = true
	}
	return out
}

// Items returns the number of saved-list rows.
func (a *Archive) Items() int {
	n := 0
	for _, l := range a.Lists {
		n += len(l.Items)
	}
	return n
}

// CSV returns one list as Google writes it (description line and blank line
// first when the list has a description).
func (l List) CSV() []byte {
	var b bytes.Buffer
	if l.Description != "" {
		b.WriteString(l.Description + "\n\n")
	}
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"Title", "Note", "URL", "Comment"})
	for _, it := range l.Items {
		_ = w.Write([]string{it.Title, it.Note, it.URL, it.Comment})
	}
	w.Flush()
	return b.Bytes()
}

// StarredJSON returns the starred places as a Data Portability GeoJSON
// FeatureCollection.
func (a *Archive) StarredJSON() []byte {
	type loc struct {
		Address     string `json:"address"`
		CountryCode string `json:"country_code"`
		Name        string `json:"name"`
	}
	type props struct {
		Date          string `json:"date"`
		GoogleMapsURL string `json:"google_maps_url"`
		Location      loc    `json:"location"`
	}
	type geom struct {
		Type        string     `json:"type"`
		Coordinates [2]float64 `json:"coordinates"`
	}
	type feature struct {
		Type       string `json:"type"`
		Geometry   geom   `json:"geometry"`
		Properties props  `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: []feature{}}
	stars := append([]Starred(nil), a.Starred...)
	sort.Slice(stars, func(i, j int) bool { return stars[i].CID < stars[j].CID })
	for _, s := range stars {
		fc.Features = append(fc.Features, feature{Type: "Feature",
			Geometry: geom{Type: "Point", Coordinates: [2]float64{s.Lng, s.Lat}},
			Properties: props{Date: s.Date.Format(time.RFC3339),
				GoogleMapsURL: "http://maps.google.com/?cid=" + s.CID,
				Location:      loc{Address: s.Address, CountryCode: "US", Name: s.Title}}})
	}
	b, _ := json.MarshalIndent(fc, "", "  ")
	return b
}

// Files returns the archive's files by path inside the zip, in Takeout's
// layout: Takeout/Saved/<list>.csv and Takeout/Maps (your places)/Saved Places.json.
func (a *Archive) Files() map[string][]byte {
	out := map[string][]byte{}
	for _, l := range a.Lists {
		out["Takeout/Saved/"+strings.ReplaceAll(l.Name, "/", "_")+".csv"] = l.CSV()
	}
	out["Takeout/Maps (your places)/Saved Places.json"] = a.StarredJSON()
	return out
}

// WriteZip writes the archive as a zip file at path, deterministically.
func (a *Archive) WriteZip(path string) error {
	files := a.Files()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: a.Date})
		if err != nil {
			return fmt.Errorf("zip %s: %w", n, err)
		}
		if _, err := w.Write(files[n]); err != nil {
			return fmt.Errorf("zip %s: %w", n, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}

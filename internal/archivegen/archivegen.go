// Package archivegen generates realistic, deterministic exports of saved
// Google Maps places in the exact formats of Google Takeout and of the Data
// Portability API: one CSV per saved list and a starred-places GeoJSON file,
// as a zip or a folder. Tests, benchmarks and the sample archive use it; it
// is not a parser and knows nothing of the export package.
package archivegen

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Model is the content of an export: places, the lists that hold them and
// the starred ones. Files renders it; NextDay changes it.
type Model struct {
	Places  []Place
	Lists   []List
	Starred []Star
}

// Place is a real place.
type Place struct {
	Name, Address, CountryCode string
	Lat, Lng                   float64
	// KnownCoords false writes [0,0] in starred GeoJSON, as Google does.
	KnownCoords bool
	// FeatureHi and CID make the feature id 0x<FeatureHi>:0x<CID hex>.
	FeatureHi, CID uint64
	// URLForm is how list CSVs link to it.
	URLForm URLForm
	// PlaceID is used by URLPlaceID.
	PlaceID string
}

// URLForm is the shape of the Maps URL a list row carries.
type URLForm int

// The Maps URL forms found in saved-list CSVs.
const (
	URLFeatureID URLForm = iota // /maps/place/NAME/data=!4m2!3m1!1s0x…:0x…
	URLPlaceID                  // /maps/search/?api=1&query=…&query_place_id=…
	URLShort                    // https://maps.app.goo.gl/…
)

// List is a saved list.
type List struct {
	Name, Description string
	Items             []Item
}

// Item is a row of a saved list: a place (Place ≥ 0) or another kind of
// item (Place < 0, with its own Title and URL: a web page, a shopping
// product, an image).
type Item struct {
	Place         int
	Title, URL    string
	Note, Comment string
	Tags          []string
}

// Star is a starred place.
type Star struct {
	Place   int
	SavedAt time.Time
}

// Options sizes a generated Model.
type Options struct {
	Seed int64
	// Items is the number of rows over all lists, Lists the number of lists.
	Items, Lists int
	// Starred places; StarredFromLists of them are also in lists.
	Starred, StarredFromLists int
	// UnknownCoords starred places have [0,0] coordinates.
	UnknownCoords int
	// NonPlacePercent of the rows are web pages, products or images.
	NonPlacePercent int
	// SharedPercent of the place rows point at a place already in another list.
	SharedPercent int
}

var (
	adjectives = []string{"Little", "Grand", "Old", "Blue", "Golden", "Café", "Green", "Royal", "Hidden", "Sunny", "Kleine", "Vieux", "Nuevo", "Grüne", "Stary"}
	nouns      = []string{"Bakery", "Museum", "Park", "Ramen", "Bistro", "Tower", "Market", "Library", "Bar", "Garden", "Bäckerei", "Brasserie", "Taquería", "Kawiarnia", "食堂", "Кафе", "Ὀλυμπία", "Pâtisserie"}
	cities     = []struct {
		name, cc string
		lat, lng float64
	}{
		{"Paris", "FR", 48.8566, 2.3522}, {"Tokyo", "JP", 35.6762, 139.6503}, {"Chicago", "US", 41.8781, -87.6298},
		{"Kraków", "PL", 50.0647, 19.9450}, {"São Paulo", "BR", -23.5505, -46.6333}, {"Zürich", "CH", 47.3769, 8.5417},
		{"Москва", "RU", 55.7558, 37.6173}, {"Auckland", "NZ", -36.8485, 174.7633},
	}
	listNames = []string{"Favorites", "Want to go", "Travel plans", "Tokyo 2024 🍣", "Kraków — pierogi", "Cafés de Paris", "Starred places in Zürich", "Бары", "東京ラーメン", "Weekend hikes"}
	notes     = []string{"", "", "", "Go early, it gets busy", "Try the pierogi ruskie", "Closed on Mondays", "Ask for the \"secret\" menu, really", "Great view\nfrom the top floor", "Cash only, 5€ minimum", "Bring a jacket, it's cold"}
	tags      = []string{"food", "coffee", "kids", "date night", "rainy day"}
)

// Generate builds a Model from o; the same Options give the same Model.
func Generate(o Options) *Model {
	r := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed))
	if o.Lists <= 0 {
		o.Lists = 1
	}
	m := &Model{}
	for i := 0; i < o.Lists; i++ {
		name := listNames[i%len(listNames)]
		if i >= len(listNames) {
			name = fmt.Sprintf("%s %d", name, i/len(listNames)+1)
		}
		l := List{Name: name}
		if i%3 == 0 {
			l.Description = fmt.Sprintf("Places for %s, collected over the years", strings.ToLower(name))
		}
		m.Lists = append(m.Lists, l)
	}
	for i := 0; i < o.Items; i++ {
		li := i % o.Lists
		var it Item
		switch {
		case o.NonPlacePercent > 0 && r.IntN(100) < o.NonPlacePercent:
			it = nonPlace(r, i)
		case o.SharedPercent > 0 && len(m.Places) > 0 && r.IntN(100) < o.SharedPercent:
			it = Item{Place: r.IntN(len(m.Places))}
		default:
			m.Places = append(m.Places, newPlace(r, len(m.Places)))
			it = Item{Place: len(m.Places) - 1}
		}
		if it.Place >= 0 {
			it.Note = notes[r.IntN(len(notes))]
			if r.IntN(10) == 0 {
				it.Comment = "Recommended by a friend, 2023"
			}
			if r.IntN(4) == 0 {
				it.Tags = []string{tags[r.IntN(len(tags))]}
			}
		}
		m.Lists[li].Items = append(m.Lists[li].Items, it)
	}
	// Starred: some from the lists, the rest new, some with unknown coordinates.
	listed := m.listedPlaces()
	base := time.Date(2021, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < o.Starred; i++ {
		var pi int
		if i < o.StarredFromLists && i < len(listed) {
			pi = listed[i*len(listed)/max(o.StarredFromLists, 1)]
		} else {
			p := newPlace(r, len(m.Places))
			p.URLForm = URLFeatureID
			m.Places = append(m.Places, p)
			pi = len(m.Places) - 1
		}
		if i >= o.Starred-o.UnknownCoords {
			m.Places[pi].KnownCoords = false
		}
		m.Starred = append(m.Starred, Star{Place: pi, SavedAt: base.Add(time.Duration(i) * 37 * time.Hour)})
	}
	return m
}

func (m *Model) listedPlaces() []int {
	seen := map[int]bool{}
	var out []int
	for _, l := range m.Lists {
		for _, it := range l.Items {
			if it.Place >= 0 && !seen[it.Place] && m.Places[it.Place].URLForm == URLFeatureID {
				seen[it.Place] = true
				out = append(out, it.Place)
			}
		}
	}
	slices.Sort(out)
	return out
}

func newPlace(r *rand.Rand, n int) Place {
	c := cities[r.IntN(len(cities))]
	p := Place{
		Name:        fmt.Sprintf("%s %s %d", adjectives[r.IntN(len(adjectives))], nouns[r.IntN(len(nouns))], n),
		Address:     fmt.Sprintf("%d Rue %d, %s", 1+r.IntN(200), n, c.name),
		CountryCode: c.cc,
		Lat:         round6(c.lat + (r.Float64()-0.5)*0.2),
		Lng:         round6(c.lng + (r.Float64()-0.5)*0.2),
		KnownCoords: true,
		FeatureHi:   0x47e6000000000000 | r.Uint64()>>16,
		CID:         r.Uint64(),
	}
	switch k := r.IntN(50); {
	case k == 0:
		p.URLForm = URLShort
	case k < 3:
		p.URLForm = URLPlaceID
		p.PlaceID = fmt.Sprintf("ChIJ%016x%07d", r.Uint64(), n)
	}
	return p
}

func nonPlace(r *rand.Rand, i int) Item {
	switch r.IntN(3) {
	case 0:
		return Item{Place: -1, Title: fmt.Sprintf("Article %d — how to travel light", i), URL: fmt.Sprintf("https://example.org/blog/%d", i)}
	case 1:
		return Item{Place: -1, Title: fmt.Sprintf("Rain jacket, size M (%d)", i), URL: fmt.Sprintf("https://www.google.com/shopping/product/%d?q=rain+jacket", 1000000+i)}
	default:
		return Item{Place: -1, Title: "Photo of the bay", URL: fmt.Sprintf("https://www.google.com/imgres?imgurl=https://example.org/%d.jpg&imgrefurl=https://example.org/", i)}
	}
}

func round6(f float64) float64 {
	return float64(int64(f*1e6)) / 1e6
}

// FeatureID is the place's feature id, "0x…:0x…".
func (p Place) FeatureID() string { return fmt.Sprintf("0x%x:0x%x", p.FeatureHi, p.CID) }

// ListURL is the URL a saved-list row carries for the place.
func (p Place) ListURL() string {
	switch p.URLForm {
	case URLPlaceID:
		return "https://www.google.com/maps/search/?api=1&query=" + url.QueryEscape(p.Name) + "&query_place_id=" + p.PlaceID
	case URLShort:
		return fmt.Sprintf("https://maps.app.goo.gl/%x", p.CID%(1<<40))
	}
	return "https://www.google.com/maps/place/" + url.PathEscape(strings.ReplaceAll(p.Name, " ", "+")) + "/data=!4m2!3m1!1s" + p.FeatureID()
}

// StarredURL is the URL starred places GeoJSON carries: the CID form.
func (p Place) StarredURL() string { return fmt.Sprintf("http://maps.google.com/?cid=%d", p.CID) }

// Clone returns a deep copy.
func (m *Model) Clone() *Model {
	c := &Model{Places: slices.Clone(m.Places), Starred: slices.Clone(m.Starred)}
	for _, l := range m.Lists {
		l.Items = slices.Clone(l.Items)
		for i := range l.Items {
			l.Items[i].Tags = slices.Clone(l.Items[i].Tags)
		}
		c.Lists = append(c.Lists, l)
	}
	return c
}

// Churn is what changes between two daily exports.
type Churn struct {
	Added       int // new places saved to lists
	Removed     int // list rows removed
	Renamed     int // places whose name changed
	Moved       int // rows moved from one list to another
	NotesEdited int // rows whose note changed
}

// ChurnOf spreads a fraction of items over every kind of change: 30 %
// added, 30 % removed, 15 % renamed, 10 % moved, 15 % notes edited (at
// least one change when fraction > 0).
func ChurnOf(items int, fraction float64) Churn {
	n := int(float64(items)*fraction + 0.5)
	if fraction > 0 && n == 0 {
		n = 1
	}
	c := Churn{
		Added:   n * 30 / 100,
		Removed: n * 30 / 100,
		Renamed: n * 15 / 100,
		Moved:   n * 10 / 100,
	}
	c.NotesEdited = n - c.Added - c.Removed - c.Renamed - c.Moved
	return c
}

// NextDay returns a copy of m changed by c, deterministically from seed.
func (m *Model) NextDay(seed int64, c Churn) *Model {
	r := rand.New(rand.NewPCG(uint64(seed), 0xda7))
	n := m.Clone()
	if len(n.Lists) == 0 {
		n.Lists = []List{{Name: "Favorites"}}
	}
	pick := func() (int, int, bool) {
		for tries := 0; tries < 100; tries++ {
			li := r.IntN(len(n.Lists))
			if len(n.Lists[li].Items) > 0 {
				ii := r.IntN(len(n.Lists[li].Items))
				if n.Lists[li].Items[ii].Place >= 0 {
					return li, ii, true
				}
			}
		}
		return 0, 0, false
	}
	for i := 0; i < c.Removed; i++ {
		if li, ii, ok := pick(); ok {
			n.Lists[li].Items = slices.Delete(n.Lists[li].Items, ii, ii+1)
		}
	}
	for i := 0; i < c.Moved && len(n.Lists) > 1; i++ {
		if li, ii, ok := pick(); ok {
			it := n.Lists[li].Items[ii]
			n.Lists[li].Items = slices.Delete(n.Lists[li].Items, ii, ii+1)
			to := (li + 1 + r.IntN(len(n.Lists)-1)) % len(n.Lists)
			n.Lists[to].Items = append(n.Lists[to].Items, it)
		}
	}
	for i := 0; i < c.Renamed; i++ {
		if li, ii, ok := pick(); ok {
			p := &n.Places[n.Lists[li].Items[ii].Place]
			p.Name += " (renamed)"
		}
	}
	for i := 0; i < c.NotesEdited; i++ {
		if li, ii, ok := pick(); ok {
			n.Lists[li].Items[ii].Note = fmt.Sprintf("Edited note %d", i)
		}
	}
	for i := 0; i < c.Added; i++ {
		n.Places = append(n.Places, newPlace(r, len(n.Places)))
		li := r.IntN(len(n.Lists))
		n.Lists[li].Items = append(n.Lists[li].Items, Item{Place: len(n.Places) - 1, Note: "New this week"})
	}
	return n
}

package export

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Reasons an item is not a place of its own, as counted in Counts.Skipped.
const (
	SkipNotAPlace      = "not_a_place"      // a web page, shopping item, image…
	SkipNoURL          = "no_url"           // a row or feature without a URL
	SkipDuplicate      = "duplicate_merged" // merged into a place already seen
	SkipUnreadableRow  = "unreadable_row"   // a row or feature that could not be read
	SkipUnreadableFile = "unreadable_file"  // a file that could not be read
)

// maxMessagesPerFile bounds the Problems listed for one file; the rest are
// summed up in one more Problem.
const maxMessagesPerFile = 20

// PlaceKey is the stable key of a place seen through ref and rawURL:
// "cid:<decimal CID>" when the CID is known (from ?cid= or from the second
// half of a feature id), else "place:<Places API id>", else
// "url:<first 16 hex digits of the SHA-256 of the normalised URL>". The URL
// is normalised by trimming spaces, lower-casing scheme and host and
// dropping the fragment, so the key of a short link or an id-less URL is the
// same on every run and machine as long as Google writes the same URL.
func PlaceKey(ref MapsRef, rawURL string) string {
	switch {
	case ref.CID != "":
		return "cid:" + ref.CID
	case ref.PlaceID != "":
		return "place:" + ref.PlaceID
	}
	sum := sha256.Sum256([]byte(normaliseURL(rawURL)))
	return "url:" + hex.EncodeToString(sum[:8])
}

func normaliseURL(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// builder merges list rows and starred features into places. Feed it
// starred files first, then lists in name order: the first value seen for a
// field wins, so a fixed order gives a fixed result.
type builder struct {
	places   []Place        // in order of first sight
	index    map[string]int // key → position in places
	lists    map[string]*List
	problems []Problem
	counts   Counts
	found    int // saved-places files read (lists and starred files)
}

func newBuilder() *builder {
	return &builder{
		index:  map[string]int{},
		lists:  map[string]*List{},
		counts: Counts{Skipped: map[string]int{}},
	}
}

func (b *builder) problem(file, msg string, fatal bool) {
	b.problems = append(b.problems, Problem{File: file, Message: msg, Fatal: fatal})
}

// itemErrors records items lost in file: each is counted, the first few named.
func (b *builder) itemErrors(file string, msgs []string) {
	if len(msgs) == 0 {
		return
	}
	b.counts.Skipped[SkipUnreadableRow] += len(msgs)
	for i, m := range msgs {
		if i == maxMessagesPerFile {
			b.problem(file, fmt.Sprintf("%d more unreadable items", len(msgs)-i), true)
			break
		}
		b.problem(file, m, true)
	}
}

// place returns the place of key, created if new. The pointer is valid
// until the next call.
func (b *builder) place(key string) (*Place, bool) {
	if i, ok := b.index[key]; ok {
		b.counts.Skipped[SkipDuplicate]++
		return &b.places[i], false
	}
	b.index[key] = len(b.places)
	b.places = append(b.places, Place{Key: key})
	return &b.places[len(b.places)-1], true
}

func (b *builder) addStarred(sp StarredPlace) {
	b.counts.ItemsRead++
	if sp.MapsURL == "" {
		b.counts.Skipped[SkipNoURL]++
		return
	}
	ref := ParseMapsURL(sp.MapsURL)
	p, _ := b.place(PlaceKey(ref, sp.MapsURL))
	p.Starred = true
	fill(&p.Title, sp.Name)
	fill(&p.Address, sp.Address)
	fill(&p.CountryCode, sp.CountryCode)
	fill(&p.MapsURL, sp.MapsURL)
	b.fillRef(p, ref)
	if p.Lat == nil && sp.HasCoords {
		p.Lat, p.Lng = ptr(sp.Lat), ptr(sp.Lng)
	}
	if p.Lat == nil && ref.HasCoords {
		p.Lat, p.Lng = ptr(ref.Lat), ptr(ref.Lng)
	}
	if p.SavedAt == nil && sp.SavedAt != nil {
		p.SavedAt = sp.SavedAt
	}
	if p.UpdatedAt == nil && sp.UpdatedAt != nil {
		p.UpdatedAt = sp.UpdatedAt
	}
}

func (b *builder) addList(name, description string) {
	l, ok := b.lists[name]
	if !ok {
		l = &List{Name: name}
		b.lists[name] = l
	}
	fill(&l.Description, description)
}

func (b *builder) addRow(list string, row ListRow) {
	b.counts.ItemsRead++
	if row.URL == "" {
		b.counts.Skipped[SkipNoURL]++
		return
	}
	ref := ParseMapsURL(row.URL)
	if !ref.IsMaps {
		b.counts.Skipped[SkipNotAPlace]++
		return
	}
	key := PlaceKey(ref, row.URL)
	p, _ := b.place(key)
	fill(&p.Title, row.Title)
	fill(&p.MapsURL, row.URL)
	b.fillRef(p, ref)
	if p.Lat == nil && ref.HasCoords {
		p.Lat, p.Lng = ptr(ref.Lat), ptr(ref.Lng)
	}
	e := p.Lists.upsert(list)
	fill(&e.Note, row.Note)
	fill(&e.Comment, row.Comment)
	for _, t := range row.Tags {
		if !slices.Contains(e.Tags, t) {
			e.Tags = append(e.Tags, t)
		}
	}
}

func (b *builder) fillRef(p *Place, ref MapsRef) {
	fill(&p.CID, ref.CID)
	fill(&p.FeatureID, ref.FeatureID)
	fill(&p.PlaceID, ref.PlaceID)
}

// snapshot sorts everything into the final, deterministic Snapshot.
func (b *builder) snapshot(source string) *Snapshot {
	s := &Snapshot{Source: source, Places: b.places, Lists: make([]List, 0, len(b.lists))}
	b.places, b.index = nil, nil
	for _, p := range s.Places {
		for i := range p.Lists {
			e := &p.Lists[i]
			slices.Sort(e.Tags)
			if l := b.lists[e.List]; l != nil {
				l.Count++
			}
		}
	}
	sortPlaces(s.Places)
	for _, l := range b.lists {
		s.Lists = append(s.Lists, *l)
	}
	slices.SortFunc(s.Lists, func(a, b List) int { return strings.Compare(a.Name, b.Name) })
	s.Problems = slices.Clone(b.problems)
	slices.SortStableFunc(s.Problems, func(a, b Problem) int { return strings.Compare(a.File, b.File) })
	s.Complete = true
	for _, p := range s.Problems {
		if p.Fatal {
			s.Complete = false
		}
	}
	c := b.counts
	c.Places, c.Lists = len(s.Places), len(s.Lists)
	for _, p := range s.Places {
		if p.Starred {
			c.Starred++
		}
		if p.Lat != nil {
			c.WithCoordinates++
		}
	}
	for k, v := range c.Skipped {
		if v == 0 {
			delete(c.Skipped, k)
		}
	}
	if len(c.Skipped) == 0 {
		c.Skipped = nil
	}
	s.Counts = c
	return s
}

// sortPlaces sorts by Key in place: it sorts positions, then moves each
// place once, following the permutation's cycles, so no second copy of the
// places is ever held.
func sortPlaces(ps []Place) {
	idx := make([]int32, len(ps))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, c int32) int { return strings.Compare(ps[a].Key, ps[c].Key) })
	done := make([]bool, len(ps))
	for i := range idx {
		if done[i] {
			continue
		}
		tmp := ps[i]
		j := i
		for {
			done[j] = true
			k := int(idx[j])
			if k == i {
				ps[j] = tmp
				break
			}
			ps[j] = ps[k]
			j = k
		}
	}
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func ptr(f float64) *float64 { return &f }

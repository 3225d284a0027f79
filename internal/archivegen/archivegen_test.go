package archivegen

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerateDeterministic(t *testing.T) {
	o := Options{Seed: 3, Items: 200, Lists: 5, Starred: 40, StarredFromLists: 10, UnknownCoords: 4, NonPlacePercent: 10, SharedPercent: 20}
	a, b := ZipBytes(Generate(o).Files(Takeout)), ZipBytes(Generate(o).Files(Takeout))
	if !bytes.Equal(a, b) {
		t.Fatal("same options, different archives")
	}
	o.Seed = 4
	if bytes.Equal(a, ZipBytes(Generate(o).Files(Takeout))) {
		t.Fatal("the seed changes nothing")
	}
}

func TestGenerateShapes(t *testing.T) {
	m := Generate(Options{Seed: 1, Items: 100, Lists: 4, Starred: 10, StarredFromLists: 3, UnknownCoords: 2, NonPlacePercent: 20})
	var rows, nonPlace int
	for _, l := range m.Lists {
		rows += len(l.Items)
		for _, it := range l.Items {
			if it.Place < 0 {
				nonPlace++
			}
		}
	}
	if rows != 100 || nonPlace == 0 || len(m.Starred) != 10 {
		t.Errorf("rows %d nonPlace %d starred %d", rows, nonPlace, len(m.Starred))
	}
	files := m.Files(Portability)
	var sawTags, sawNew bool
	for _, f := range files {
		sawTags = sawTags || strings.Contains(string(f.Data), "Title,Note,URL,Comment,Tags")
		sawNew = sawNew || strings.Contains(string(f.Data), `"google_maps_url"`)
	}
	if !sawTags || !sawNew {
		t.Errorf("portability layout: tags %v new shape %v", sawTags, sawNew)
	}
	old := string(m.Files(Takeout)[len(m.Files(Takeout))-1].Data)
	if !strings.Contains(old, `"Google Maps URL"`) || !strings.Contains(old, `"coordinates": [`) {
		t.Error("takeout layout lacks the older starred shape")
	}
}

func TestNextDay(t *testing.T) {
	m := Generate(Options{Seed: 1, Items: 100, Lists: 4})
	n := m.NextDay(9, Churn{Added: 3, Removed: 2, Renamed: 1, NotesEdited: 2, Moved: 1})
	count := func(m *Model) (c int) {
		for _, l := range m.Lists {
			c += len(l.Items)
		}
		return c
	}
	if count(n) != count(m)+1 || len(n.Places) != len(m.Places)+3 {
		t.Errorf("rows %d→%d, places %d→%d", count(m), count(n), len(m.Places), len(n.Places))
	}
	if count(m) != 100 {
		t.Error("NextDay changed the original model")
	}
}

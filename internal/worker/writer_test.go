package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/export"
)

func fptr(f float64) *float64 { return &f }

func tptr(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// sample is a small snapshot: two places in a list, one starred only.
func sample() *export.Snapshot {
	return &export.Snapshot{
		Places: []export.Place{
			{Key: "cid:1", Title: "Café Central", Address: "Herrengasse 14, Wien", CountryCode: "AT",
				Lat: fptr(48.2104), Lng: fptr(16.3655), MapsURL: "https://maps.google.com/?cid=1", CID: "1",
				Lists:   export.Entries{{List: "Vienna", Note: "cake", Tags: []string{"coffee", "cake"}}},
				SavedAt: tptr("2024-05-01T10:00:00Z")},
			{Key: "cid:2", Title: "Prater", MapsURL: "https://maps.google.com/?cid=2", CID: "2",
				Lists: export.Entries{{List: "Vienna", Comment: "ferris wheel"}}},
			{Key: "place:ChIJx", Title: "Louvre", MapsURL: "https://maps.google.com/?q=place_id:ChIJx", PlaceID: "ChIJx", Starred: true},
		},
		Lists:    []export.List{{Name: "Vienna", Description: "trip", Count: 2}},
		Complete: true,
		Counts:   export.Counts{Places: 3, Lists: 1, Starred: 1, WithCoordinates: 1, ItemsRead: 3},
		Source:   "archive",
	}
}

func opts(day int) WriteOptions {
	start := time.Date(2025, 1, day, 3, 0, 0, 0, time.UTC)
	return WriteOptions{StartedAt: start, FinishedAt: start.Add(2 * time.Second), WorkerName: "locations-worker", WorkerVersion: "test"}
}

// apply applies snap and commits; it returns the changes and whether a
// commit was made.
func apply(t *testing.T, doc *automerge.Doc, snap *export.Snapshot, o WriteOptions) (Changes, bool) {
	t.Helper()
	before := doc.Heads()
	ch, err := Apply(doc, snap, o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	commit(t, doc)
	return ch, !reflect.DeepEqual(before, doc.Heads())
}

// commit commits pending edits. (doc.Heads also commits them, so heads
// must be read before editing to tell whether anything changed.)
func commit(t *testing.T, doc *automerge.Doc) {
	t.Helper()
	if _, err := doc.Commit("test"); err != nil && err.Error() != "Commit is empty" {
		t.Fatalf("Commit: %v", err)
	}
}

// toGo reads a document value, tagging strings with their Automerge kind so
// that tests see scalar strings where text was expected.
func toGo(v *automerge.Value) any {
	switch v.Kind() {
	case automerge.KindMap:
		vals, _ := v.Map().Values()
		out := map[string]any{}
		for k, x := range vals {
			out[k] = toGo(x)
		}
		return out
	case automerge.KindList:
		vals, _ := v.List().Values()
		out := []any{}
		for _, x := range vals {
			out = append(out, toGo(x))
		}
		return out
	case automerge.KindText:
		s, _ := v.Text().Get()
		return s
	case automerge.KindStr:
		return "SCALAR:" + v.Str()
	case automerge.KindInt64:
		return v.Int64()
	case automerge.KindFloat64:
		return v.Float64()
	case automerge.KindBool:
		return v.Bool()
	}
	return v.Interface()
}

func docJSON(t *testing.T, doc *automerge.Doc) map[string]any {
	t.Helper()
	return toGo(doc.Root()).(map[string]any)
}

func place(t *testing.T, doc *automerge.Doc, key string) map[string]any {
	t.Helper()
	p, ok := docJSON(t, doc)["places"].(map[string]any)[key].(map[string]any)
	if !ok {
		t.Fatalf("no place %s", key)
	}
	return p
}

func TestApplyFreshDocument(t *testing.T) {
	doc := automerge.New()
	ch, committed := apply(t, doc, sample(), opts(1))
	if !committed {
		t.Fatal("first write made no change")
	}
	if want := (Changes{Added: 3, Active: 3, Complete: true}); ch != want {
		t.Fatalf("changes = %+v, want %+v", ch, want)
	}
	got := docJSON(t, doc)
	want := map[string]any{
		"places": map[string]any{
			"cid:1": map[string]any{"key": "cid:1", "title": "Café Central", "address": "Herrengasse 14, Wien", "countryCode": "AT",
				"lat": 48.2104, "lng": 16.3655, "mapsUrl": "https://maps.google.com/?cid=1", "cid": "1", "starred": false,
				"lists":   map[string]any{"Vienna": map[string]any{"note": "cake", "tags": []any{"coffee", "cake"}}},
				"savedAt": int64(1714557600000)},
			"cid:2": map[string]any{"key": "cid:2", "title": "Prater", "mapsUrl": "https://maps.google.com/?cid=2", "cid": "2", "starred": false,
				"lists": map[string]any{"Vienna": map[string]any{"comment": "ferris wheel"}}},
			"place:ChIJx": map[string]any{"key": "place:ChIJx", "title": "Louvre", "mapsUrl": "https://maps.google.com/?q=place_id:ChIJx", "placeId": "ChIJx", "starred": true},
		},
		"lists": map[string]any{"Vienna": map[string]any{"name": "Vienna", "description": "trip", "count": int64(2)}},
		"metadata": map[string]any{
			"schemaVersion": int64(1), "source": "archive",
			"worker": map[string]any{"name": "locations-worker", "version": "test"},
			"lastExport": map[string]any{"complete": true, "source": "archive",
				"startedAt": int64(1735700400000), "finishedAt": int64(1735700402000),
				"counts": map[string]any{"places": int64(3), "lists": int64(1), "starred": int64(1), "withCoordinates": int64(1), "itemsRead": int64(3)}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("document:\n%s\nwant:\n%s", g, w)
	}
}

func TestApplySameSnapshotMakesNoChange(t *testing.T) {
	for _, layout := range []string{LayoutKeyed, LayoutLegacy} {
		t.Run(layout, func(t *testing.T) {
			doc := automerge.New()
			o := opts(1)
			o.Layout = layout
			apply(t, doc, sample(), o)
			heads := doc.Heads()
			o2 := opts(2) // a later run: other times
			o2.Layout = layout
			ch, committed := apply(t, doc, sample(), o2)
			if committed || !reflect.DeepEqual(heads, doc.Heads()) {
				t.Fatalf("re-export of the same snapshot changed the document (heads %v → %v)", heads, doc.Heads())
			}
			if ch.Added+ch.Updated+ch.Removed+ch.Restored != 0 || ch.Unchanged != 3 && layout == LayoutKeyed {
				t.Fatalf("changes = %+v, want all unchanged", ch)
			}
		})
	}
}

func TestApplyAddRemoveRename(t *testing.T) {
	doc := automerge.New()
	apply(t, doc, sample(), opts(1))
	before := docJSON(t, doc)

	snap := sample()
	snap.Places[0].Title = "Café Central Wien" // renamed
	snap.Places = append(snap.Places[:1], snap.Places[2:]...)
	snap.Places = append(snap.Places, export.Place{Key: "cid:9", Title: "Albertina", MapsURL: "https://maps.google.com/?cid=9", CID: "9"})
	ch, committed := apply(t, doc, snap, opts(2))
	if !committed {
		t.Fatal("no change committed")
	}
	if want := (Changes{Added: 1, Updated: 1, Removed: 1, Unchanged: 1, Active: 3, Gone: 1, Complete: true}); ch != want {
		t.Fatalf("changes = %+v, want %+v", ch, want)
	}
	after := docJSON(t, doc)
	bp, ap := before["places"].(map[string]any), after["places"].(map[string]any)

	if ap["cid:1"].(map[string]any)["title"] != "Café Central Wien" {
		t.Errorf("rename not applied: %v", ap["cid:1"])
	}
	renamed := ap["cid:1"].(map[string]any)
	renamed["title"] = "Café Central"
	if !reflect.DeepEqual(renamed, bp["cid:1"]) {
		t.Errorf("rename changed other fields: %v vs %v", renamed, bp["cid:1"])
	}
	gone := ap["cid:2"].(map[string]any)
	if gone["removedAt"] != opts(2).StartedAt.UnixMilli() {
		t.Errorf("removed place: removedAt = %v", gone["removedAt"])
	}
	delete(gone, "removedAt")
	if !reflect.DeepEqual(gone, bp["cid:2"]) {
		t.Errorf("removed place lost data: %v vs %v", gone, bp["cid:2"])
	}
	if !reflect.DeepEqual(ap["place:ChIJx"], bp["place:ChIJx"]) {
		t.Errorf("untouched place changed")
	}
	if ap["cid:9"].(map[string]any)["title"] != "Albertina" {
		t.Errorf("added place missing")
	}

	// It comes back: removedAt goes, nothing else changes.
	ch, _ = apply(t, doc, sample(), opts(3))
	if ch.Restored != 1 || ch.Removed != 1 {
		t.Fatalf("changes = %+v, want 1 restored (cid:2) and 1 removed (cid:9)", ch)
	}
	if _, ok := place(t, doc, "cid:2")["removedAt"]; ok {
		t.Error("restored place still has removedAt")
	}
}

func TestApplyKeepsAppKeys(t *testing.T) {
	doc := automerge.New()
	apply(t, doc, sample(), opts(1))
	// An app adds its own fields to two places.
	places, _ := doc.RootMap().Get("places")
	for _, k := range []string{"cid:1", "cid:2"} {
		pv, _ := places.Map().Get(k)
		pm := pv.Map()
		if err := pm.Set("rating", int64(5)); err != nil {
			t.Fatal(err)
		}
		if err := pm.Set("visited", true); err != nil {
			t.Fatal(err)
		}
		if err := pm.Set("myNote", automerge.NewText("go early")); err != nil {
			t.Fatal(err)
		}
	}
	if err := doc.RootMap().Set("appSettings", map[string]any{"sort": "name"}); err != nil {
		t.Fatal(err)
	}
	commit(t, doc)

	snap := sample()
	snap.Places[0].Title = "Renamed"
	snap.Places = append(snap.Places[:1], snap.Places[2:]...) // cid:2 removed
	apply(t, doc, snap, opts(2))
	for _, k := range []string{"cid:1", "cid:2"} {
		p := place(t, doc, k)
		if p["rating"] != int64(5) || p["visited"] != true || p["myNote"] != "go early" {
			t.Errorf("%s: app keys lost: %v", k, p)
		}
	}
	if _, ok := docJSON(t, doc)["appSettings"]; !ok {
		t.Error("app's top-level key lost")
	}
}

func TestApplyIncompleteRemovesNothing(t *testing.T) {
	tests := []struct {
		name string
		snap func() *export.Snapshot
	}{
		{"incomplete", func() *export.Snapshot {
			s := sample()
			s.Complete = false
			s.Problems = []export.Problem{{File: "Saved/Vienna.csv", Message: "unreadable", Fatal: true}}
			s.Places = s.Places[2:] // only the Louvre was read
			s.Places[0].Title = "Musée du Louvre"
			s.Places[0].Starred = false // unread starred file: must not clear
			s.Lists = nil
			return s
		}},
		{"empty", func() *export.Snapshot {
			s := sample()
			s.Places, s.Lists, s.Counts = nil, nil, export.Counts{}
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := automerge.New()
			apply(t, doc, sample(), opts(1))
			before := docJSON(t, doc)["places"].(map[string]any)
			ch, _ := apply(t, doc, tt.snap(), opts(2))
			if ch.Complete || ch.Removed != 0 || ch.Reason == "" {
				t.Fatalf("changes = %+v, want incomplete with a reason and nothing removed", ch)
			}
			after := docJSON(t, doc)
			for k, p := range after["places"].(map[string]any) {
				pm := p.(map[string]any)
				if _, ok := pm["removedAt"]; ok {
					t.Errorf("%s marked removed", k)
				}
				for f := range before[k].(map[string]any) {
					if _, ok := pm[f]; !ok {
						t.Errorf("%s lost field %s", k, f)
					}
				}
			}
			if _, ok := after["lists"].(map[string]any)["Vienna"].(map[string]any)["removedAt"]; ok {
				t.Error("list marked removed")
			}
			le := after["metadata"].(map[string]any)["lastExport"].(map[string]any)
			if le["complete"] != false || !strings.Contains(le["reason"].(string), "nothing was marked removed") {
				t.Errorf("lastExport does not say the export was incomplete: %v", le)
			}
			// The same incomplete export again changes nothing.
			heads := doc.Heads()
			if _, committed := apply(t, doc, tt.snap(), opts(3)); committed || !reflect.DeepEqual(heads, doc.Heads()) {
				t.Error("repeating the same incomplete export changed the document")
			}
		})
	}
	t.Run("updates what it read", func(t *testing.T) {
		doc := automerge.New()
		apply(t, doc, sample(), opts(1))
		apply(t, doc, tests[0].snap(), opts(2))
		p := place(t, doc, "place:ChIJx")
		if p["title"] != "Musée du Louvre" || p["starred"] != true {
			t.Errorf("incomplete export: place = %v, want new title and starred kept", p)
		}
	})
}

func TestApplyLastExportOutcome(t *testing.T) {
	doc := automerge.New()
	apply(t, doc, sample(), opts(1))
	// Same data, but now one file could not be read: the outcome differs,
	// so lastExport is rewritten with the new times.
	s := sample()
	s.Complete = false
	s.Problems = []export.Problem{{File: "x.json", Message: "bad", Fatal: true}}
	if _, committed := apply(t, doc, s, opts(2)); !committed {
		t.Fatal("an incomplete run after a complete one did not update lastExport")
	}
	le := docJSON(t, doc)["metadata"].(map[string]any)["lastExport"].(map[string]any)
	if le["startedAt"] != opts(2).StartedAt.UnixMilli() || le["problems"].([]any)[0] != "x.json: bad" {
		t.Errorf("lastExport = %v", le)
	}
}

func TestWriteFailureRecordsError(t *testing.T) {
	doc := automerge.New()
	apply(t, doc, sample(), opts(1))
	heads := doc.Heads()
	if err := applyFailure(doc, "no token: run `locations-worker auth login`", opts(2)); err != nil {
		t.Fatal(err)
	}
	if commit(t, doc); reflect.DeepEqual(heads, doc.Heads()) {
		t.Fatal("failure not recorded")
	}
	le := docJSON(t, doc)["metadata"].(map[string]any)["lastExport"].(map[string]any)
	if le["complete"] != false || !strings.HasPrefix(le["error"].(string), "no token") {
		t.Errorf("lastExport = %v", le)
	}
	if len(docJSON(t, doc)["places"].(map[string]any)) != 3 {
		t.Error("failure touched places")
	}
	heads = doc.Heads()
	if err := applyFailure(doc, "no token: run `locations-worker auth login`", opts(3)); err != nil {
		t.Fatal(err)
	}
	if commit(t, doc); !reflect.DeepEqual(heads, doc.Heads()) {
		t.Error("the same failure twice changed the document")
	}
	// The next good run clears the error.
	apply(t, doc, sample(), opts(4))
	le = docJSON(t, doc)["metadata"].(map[string]any)["lastExport"].(map[string]any)
	if _, ok := le["error"]; ok || le["complete"] != true {
		t.Errorf("lastExport after a good run = %v", le)
	}
}

func TestApplyRefusesForeignShapes(t *testing.T) {
	doc := automerge.New()
	if err := doc.RootMap().Set("places", automerge.NewText("not a map")); err != nil {
		t.Fatal(err)
	}
	commit(t, doc)
	if _, err := Apply(doc, sample(), opts(1)); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("Apply over a foreign places value: err = %v", err)
	}
}

func TestApplyInvalidUTF8(t *testing.T) {
	doc := automerge.New()
	s := sample()
	s.Places[0].Title = "bad \xff byte"
	if _, err := Apply(doc, s, opts(1)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	commit(t, doc)
	if got := place(t, doc, "cid:1")["title"]; got != "bad \uFFFD byte" {
		t.Errorf("title = %q", got)
	}
}

func TestApplyStringsAreText(t *testing.T) {
	doc := automerge.New()
	// A field written earlier as a scalar string is turned into text.
	if err := doc.RootMap().Set("places", map[string]any{"cid:1": map[string]any{"title": "Café Central"}}); err != nil {
		t.Fatal(err)
	}
	commit(t, doc)
	apply(t, doc, sample(), opts(1))
	var scalars []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				walk(path+"/"+k, y)
			}
		case []any:
			for _, y := range x {
				walk(path+"[]", y)
			}
		case string:
			if strings.HasPrefix(x, "SCALAR:") {
				scalars = append(scalars, path)
			}
		}
	}
	walk("", docJSON(t, doc))
	if len(scalars) > 0 {
		t.Errorf("scalar strings (JS apps would not see strings): %v", scalars)
	}
}

func TestLegacyLayout(t *testing.T) {
	doc := automerge.New()
	o := opts(1)
	o.Layout = LayoutLegacy
	ch, _ := apply(t, doc, sample(), o)
	if ch.Added != 3 {
		t.Fatalf("changes = %+v", ch)
	}
	got := docJSON(t, doc)
	locs := got["locations"].([]any)
	first := locs[0].(map[string]any)
	want := map[string]any{"Title": "Café Central", "Note": "cake", "URL": "https://maps.google.com/?cid=1", "Comment": "",
		"source_file": "Vienna.csv", "exported_at": "2025-01-01T03:00:00Z"}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("locations[0] = %v, want %v", first, want)
	}
	md := got["metadata"].(map[string]any)
	if md["count"] != int64(3) || !reflect.DeepEqual(md["files"], []any{"Starred places", "Vienna.csv"}) || md["lastUpdated"] != "2025-01-01T03:00:02Z" {
		t.Errorf("metadata = %v", md)
	}

	// Incomplete: rows not read are kept.
	s := sample()
	s.Complete = false
	s.Places = s.Places[:1]
	o = opts(2)
	o.Layout = LayoutLegacy
	ch, _ = apply(t, doc, s, o)
	if ch.Removed != 0 || len(docJSON(t, doc)["locations"].([]any)) != 3 {
		t.Errorf("incomplete legacy export removed rows: %+v", ch)
	}
	// Complete with one place gone: its row goes.
	s = sample()
	s.Places = s.Places[1:]
	ch, _ = apply(t, doc, s, o)
	if ch.Removed != 1 || len(docJSON(t, doc)["locations"].([]any)) != 2 {
		t.Errorf("complete legacy export: %+v", ch)
	}
}

func TestSpliceDiff(t *testing.T) {
	for _, tt := range []struct{ a, b string }{
		{"", ""}, {"", "abc"}, {"abc", ""}, {"abc", "abc"}, {"Café", "Café Central"},
		{"aXc", "aYc"}, {"aaa", "aa"}, {"😀🙃", "😀🧟🙃"}, {"abab", "ab"},
	} {
		pos, del, ins := spliceDiff(tt.a, tt.b)
		r := []rune(tt.a)
		got := string(r[:pos]) + ins + string(r[pos+del:])
		if got != tt.b {
			t.Errorf("spliceDiff(%q, %q) = %d,%d,%q → %q", tt.a, tt.b, pos, del, ins, got)
		}
	}
}

func FuzzSetText(f *testing.F) {
	f.Add("Café", "Café Central")
	f.Add("", "x")
	f.Add("😀🙃", "🙃")
	f.Fuzz(func(t *testing.T, a, b string) {
		a, b = validUTF8(a), validUTF8(b)
		doc := automerge.New()
		m := doc.RootMap()
		if _, err := setText(m, "k", a); err != nil {
			t.Fatal(err)
		}
		if _, err := setText(m, "k", b); err != nil {
			t.Fatal(err)
		}
		v, _ := m.Get("k")
		got, _ := v.Text().Get()
		if got != b {
			t.Fatalf("text = %q, want %q", got, b)
		}
	})
}

// memStore is an Updater over one in-memory document that keeps every
// change it commits.
type memStore struct {
	doc     *automerge.Doc
	commits int
	places  []int // places in the document after each change
}

func (m *memStore) Update(_ context.Context, _ string, fn func(*automerge.Doc) error) (bool, error) {
	before := m.doc.Heads()
	if err := fn(m.doc); err != nil {
		return false, err
	}
	_, err := m.doc.Commit("test")
	if reflect.DeepEqual(before, m.doc.Heads()) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	m.commits++
	n := 0
	if v, err := m.doc.RootMap().Get("places"); err == nil && v.Kind() == automerge.KindMap {
		n = v.Map().Len()
	}
	m.places = append(m.places, n)
	return true, nil
}

func manyPlaces(n int) *export.Snapshot {
	s := &export.Snapshot{Complete: true, Source: "archive", Lists: []export.List{{Name: "All", Count: n}}}
	for i := range n {
		s.Places = append(s.Places, export.Place{Key: fmt.Sprintf("cid:%d", 1000+i), Title: fmt.Sprintf("Place %d", i),
			CID: fmt.Sprint(1000 + i), Lists: export.Entries{{List: "All", Note: "n"}}, Starred: i%2 == 0})
	}
	s.Counts.Places = n
	return s
}

// A first import of many places goes out as several changes of a bounded
// size (Tonk's 0.3.2 server dies on one huge change), and ends exactly as
// one Apply would leave it.
func TestWriteAddsManyPlacesInBoundedChanges(t *testing.T) {
	snap := manyPlaces(23)
	o := opts(1)
	o.MaxNewPerChange = 5

	st := &memStore{doc: automerge.New()}
	ch, err := Write(context.Background(), st, "/p", snap, o)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Added != 23 || ch.Unchanged != 0 || !ch.Changed || ch.Active != 23 {
		t.Errorf("changes = %+v, want 23 added, none unchanged", ch)
	}
	// 5+5+5+5 ahead, then the last 3 with lists and metadata.
	if st.commits != 5 {
		t.Errorf("%d changes, want 5", st.commits)
	}
	prev := 0
	for i, n := range st.places {
		if n-prev > o.MaxNewPerChange {
			t.Errorf("change %d added %d places, want at most %d", i, n-prev, o.MaxNewPerChange)
		}
		prev = n
	}

	one := automerge.New()
	apply(t, one, snap, o)
	if got, want := docJSON(t, st.doc), docJSON(t, one); !reflect.DeepEqual(got, want) {
		t.Errorf("batched write differs from one Apply:\n got %v\nwant %v", got, want)
	}

	// The next run over the same places changes nothing.
	heads := st.doc.Heads()
	o2 := opts(2)
	o2.MaxNewPerChange = 5
	ch, err = Write(context.Background(), st, "/p", snap, o2)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Changed || ch.Unchanged != 23 || ch.Added != 0 || !reflect.DeepEqual(heads, st.doc.Heads()) {
		t.Errorf("re-run changes = %+v, heads moved: %v", ch, !reflect.DeepEqual(heads, st.doc.Heads()))
	}
}

package keepsync

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/automerge/automerge-go"
)

func TestStoreSurvivesTornAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := NewDocumentID()
	doc := automerge.New()
	must(t, doc.RootMap().Set("a", int64(1)))
	commit(t, doc)
	if err := st.writeSnapshot(id, doc.Save(), 0); err != nil {
		t.Fatal(err)
	}
	must(t, doc.RootMap().Set("b", int64(2)))
	commit(t, doc)
	if err := st.writeChunk(id, 0, doc.SaveIncremental()); err != nil {
		t.Fatal(err)
	}
	// A crash in the middle of a write leaves a temp file; a disk error
	// leaves a chunk that does not parse. Neither may lose a or b.
	docDir := st.docDir(id)
	os.WriteFile(filepath.Join(docDir, "snapshot.123.tmp"), []byte{0x85, 0x6f}, 0o600)
	os.WriteFile(filepath.Join(docDir, chunkName(1)), []byte("torn"), 0o600)

	s, err := st.load(id)
	if err != nil {
		t.Fatal(err)
	}
	got := ToGo(s.doc.Root()).(map[string]any)
	if got["a"] != int64(1) || got["b"] != int64(2) {
		t.Fatalf("loaded %v", got)
	}
	ents, _ := os.ReadDir(docDir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Contains(strings.Join(names, " "), ".tmp") {
		t.Fatalf("store files after load: %v", names)
	}

	// An unreadable snapshot is moved aside for inspection, not deleted,
	// and loading goes on.
	os.WriteFile(filepath.Join(docDir, snapshotName), []byte("not automerge"), 0o600)
	s, err = st.load(id)
	if err != nil {
		t.Fatal(err)
	}
	_ = s
	ents, _ = os.ReadDir(docDir)
	names = names[:0]
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !strings.Contains(strings.Join(names, " "), "snapshot.corrupt-") {
		t.Fatalf("store files after a corrupt snapshot: %v", names)
	}
}

func TestMetaRejectsBadIDs(t *testing.T) {
	dir := t.TempDir()
	st, _ := openStore(dir, slog.New(slog.DiscardHandler))
	os.WriteFile(filepath.Join(dir, "meta.json"), []byte(`{"rootId":"../x"}`), 0o600)
	if _, err := st.loadMeta(); err == nil {
		t.Fatal("a bad root id in meta.json was accepted")
	}
}

func TestSetValue(t *testing.T) {
	doc := automerge.New()
	m := doc.RootMap()
	for _, tc := range []struct {
		key     string
		v       any
		changed bool
	}{
		{"s", "x", true}, {"s", "x", false}, {"s", "y", true},
		{"i", 3, true}, {"i", int64(3), false}, {"i", 3.0, false},
		{"f", 1.5, true}, {"f", 1.5, false},
		{"b", true, true}, {"b", true, false},
		{"n", nil, true}, {"n", nil, false},
		{"l", []string{"a", "b"}, true}, {"l", []any{"a", "b"}, false}, {"l", []any{"a"}, true},
		{"m", map[string]any{"x": "1", "y": 2}, true}, {"m", map[string]any{"x": "1", "y": 2}, false}, {"m", map[string]any{"x": "1"}, true},
	} {
		changed, err := SetValue(m, tc.key, tc.v)
		if err != nil {
			t.Fatalf("SetValue(%s, %v): %v", tc.key, tc.v, err)
		}
		if changed != tc.changed {
			t.Fatalf("SetValue(%s, %v) changed = %v, want %v", tc.key, tc.v, changed, tc.changed)
		}
	}
	for key, kind := range map[string]automerge.Kind{"s": automerge.KindText, "i": automerge.KindInt64, "f": automerge.KindFloat64} {
		v, _ := m.Get(key)
		if v.Kind() != kind {
			t.Errorf("%s stored as %v, want %v", key, v.Kind(), kind)
		}
	}
	got := ToGo(doc.Root()).(map[string]any)
	if got["s"] != "y" || got["i"] != int64(3) || len(got["l"].([]any)) != 1 || len(got["m"].(map[string]any)) != 1 {
		t.Fatalf("doc = %v", got)
	}
	// A scalar string (as other Go writers store it) reads as a string and
	// is upgraded to text when written.
	must(t, m.Set("scalar", "old"))
	if s, ok := GetString(m, "scalar"); !ok || s != "old" {
		t.Fatalf("GetString(scalar) = %q, %v", s, ok)
	}
	if changed, _ := SetValue(m, "scalar", "old"); !changed {
		t.Fatal("a scalar string was not upgraded to text")
	}
	if _, err := SetValue(m, "bad", make(chan int)); err == nil {
		t.Fatal("SetValue accepted a channel")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, doc *automerge.Doc) {
	t.Helper()
	if _, err := doc.Commit("test"); err != nil {
		t.Fatal(err)
	}
}

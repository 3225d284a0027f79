package keepsync

import (
	"fmt"
	"strings"
	"time"

	"github.com/automerge/automerge-go"
)

// keepsync's directory tree, as JS keepsync writes it:
//
//	root:      {type:"dir", timestamps:{create, modified}, children:[RefNode...]}
//	directory: {type:"dir", name, timestamps:{create, modified}, children:[RefNode...]}
//	RefNode:   {name, type:"doc"|"dir", pointer:<documentId>, timestamps:{create, modified}}
//
// Strings are Automerge text (JS reads scalar strings as objects, and
// keepsync compares child.name === segment), timestamps int64 milliseconds.

// Entry types.
const (
	TypeDir = "dir"
	TypeDoc = "doc"
)

// Entry is one child of a directory.
type Entry struct {
	Name     string     `json:"name"`
	Type     string     `json:"type"` // TypeDir or TypeDoc
	Pointer  DocumentID `json:"pointer"`
	Created  time.Time  `json:"created"`
	Modified time.Time  `json:"modified"`
}

// splitPath turns "/a/b" (leading slash optional) into ["a","b"]; the root is
// an empty slice.
func splitPath(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("%w: %q has an empty segment", ErrInvalidPath, p)
		}
	}
	return segs, nil
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// newDirDoc returns a directory document; name "" makes a root.
func newDirDoc(name string) (*automerge.Doc, error) {
	doc := automerge.New()
	root := doc.RootMap()
	now := nowMillis()
	if err := root.Set("type", automerge.NewText(TypeDir)); err != nil {
		return nil, err
	}
	if name != "" {
		if err := root.Set("name", automerge.NewText(name)); err != nil {
			return nil, err
		}
	}
	ts := automerge.NewMap()
	if err := root.Set("timestamps", ts); err != nil {
		return nil, err
	}
	if err := ts.Set("create", now); err != nil {
		return nil, err
	}
	if err := ts.Set("modified", now); err != nil {
		return nil, err
	}
	if err := root.Set("children", automerge.NewList()); err != nil {
		return nil, err
	}
	if _, err := doc.Commit("keepsync: create directory"); err != nil {
		return nil, err
	}
	return doc, nil
}

// isDir reports whether doc is a directory document: type "dir", or no
// type and nothing but a directory's fields, which reads as an empty
// directory. The second case is a directory whose content never reached
// the server's storage: automerge-repo 1.x stores a new document's first,
// empty change at once and its content a little later, so a sync server
// stopped in between keeps an empty root for good (JS lookups read its
// missing children as none).
func isDir(doc *automerge.Doc) bool {
	root := doc.RootMap()
	if t, ok := GetString(root, "type"); ok {
		return t == TypeDir
	}
	keys, err := root.Keys()
	if err != nil {
		return false
	}
	for _, k := range keys {
		switch k {
		case "children", "timestamps", "name":
		default:
			return false // "type" of another kind, or content
		}
	}
	return true
}

// dirEntries reads the children of a directory document. Malformed children
// (no name, bad pointer) are skipped: they come from other writers.
func dirEntries(doc *automerge.Doc) ([]Entry, error) {
	if !isDir(doc) {
		return nil, ErrNotADirectory
	}
	v, err := doc.RootMap().Get("children")
	if err != nil {
		return nil, err
	}
	if v.Kind() != automerge.KindList {
		return nil, nil
	}
	vals, err := v.List().Values()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(vals))
	for _, cv := range vals {
		e, ok := refNode(cv)
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

func refNode(v *automerge.Value) (Entry, bool) {
	if v.Kind() != automerge.KindMap {
		return Entry{}, false
	}
	m, _ := ToGo(v).(map[string]any)
	name, _ := m["name"].(string)
	typ, _ := m["type"].(string)
	ptr, _ := m["pointer"].(string)
	id, err := ParseDocumentID(ptr)
	if name == "" || (typ != TypeDir && typ != TypeDoc) || err != nil {
		return Entry{}, false
	}
	e := Entry{Name: name, Type: typ, Pointer: id}
	if ts, ok := m["timestamps"].(map[string]any); ok {
		e.Created = millisTime(ts["create"])
		e.Modified = millisTime(ts["modified"])
	}
	return e, true
}

func millisTime(v any) time.Time {
	switch n := v.(type) {
	case int64:
		return time.UnixMilli(n)
	case float64:
		return time.UnixMilli(int64(n))
	}
	return time.Time{}
}

// findChild returns the first child called name (keepsync takes the first
// match when concurrent writers made duplicates).
func findChild(doc *automerge.Doc, name string) (Entry, bool, error) {
	ents, err := dirEntries(doc)
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range ents {
		if e.Name == name {
			return e, true, nil
		}
	}
	return Entry{}, false, nil
}

// putChild adds a RefNode for e to the directory doc, replacing the first
// child of the same name, and updates the directory's modified time. The
// caller commits.
func putChild(doc *automerge.Doc, e Entry) error {
	root := doc.RootMap()
	if tv, err := root.Get("type"); err != nil {
		return err
	} else if tv.IsVoid() {
		// An empty directory (see isDir) becomes a proper one.
		if err := root.Set("type", automerge.NewText(TypeDir)); err != nil {
			return err
		}
	}
	cv, err := root.Get("children")
	if err != nil {
		return err
	}
	var list *automerge.List
	if cv.Kind() == automerge.KindList {
		list = cv.List()
	} else {
		list = automerge.NewList()
		if err := root.Set("children", list); err != nil {
			return err
		}
	}
	vals, err := list.Values()
	if err != nil {
		return err
	}
	idx := -1
	for i, v := range vals {
		if old, ok := refNode(v); ok && old.Name == e.Name {
			idx = i
			break
		}
	}
	node := automerge.NewMap()
	if idx >= 0 {
		if err := list.Set(idx, node); err != nil {
			return err
		}
	} else if err := list.Append(node); err != nil {
		return err
	}
	created, modified := e.Created.UnixMilli(), e.Modified.UnixMilli()
	if e.Created.IsZero() {
		created = nowMillis()
	}
	if e.Modified.IsZero() {
		modified = created
	}
	for _, kv := range []struct {
		k string
		v any
	}{{"name", automerge.NewText(e.Name)}, {"type", automerge.NewText(e.Type)}, {"pointer", automerge.NewText(string(e.Pointer))}} {
		if err := node.Set(kv.k, kv.v); err != nil {
			return err
		}
	}
	ts := automerge.NewMap()
	if err := node.Set("timestamps", ts); err != nil {
		return err
	}
	if err := ts.Set("create", created); err != nil {
		return err
	}
	if err := ts.Set("modified", modified); err != nil {
		return err
	}
	return touchDir(doc)
}

// removeChild splices every child called name out of the directory doc.
func removeChild(doc *automerge.Doc, name string) (bool, error) {
	cv, err := doc.RootMap().Get("children")
	if err != nil || cv.Kind() != automerge.KindList {
		return false, err
	}
	list := cv.List()
	vals, err := list.Values()
	if err != nil {
		return false, err
	}
	removed := false
	for i := len(vals) - 1; i >= 0; i-- {
		if e, ok := refNode(vals[i]); ok && e.Name == name {
			if err := list.Delete(i); err != nil {
				return removed, err
			}
			removed = true
		}
	}
	if removed {
		return true, touchDir(doc)
	}
	return false, nil
}

func touchDir(doc *automerge.Doc) error {
	root := doc.RootMap()
	tv, err := root.Get("timestamps")
	if err != nil {
		return err
	}
	if tv.Kind() != automerge.KindMap {
		ts := automerge.NewMap()
		if err := root.Set("timestamps", ts); err != nil {
			return err
		}
		now := nowMillis()
		if err := ts.Set("create", now); err != nil {
			return err
		}
		return ts.Set("modified", now)
	}
	return tv.Map().Set("modified", nowMillis())
}

package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Entries is a place's entries in saved lists, sorted by list name, one per
// list. A place is in one or two lists most of the time, so a sorted slice
// costs a fraction of a map's memory. In JSON it is an object keyed by list
// name, like a map.
type Entries []ListEntry

// Get returns the entry for list.
func (es Entries) Get(list string) (ListEntry, bool) {
	i, ok := es.find(list)
	if !ok {
		return ListEntry{}, false
	}
	return es[i], true
}

// Has reports whether the place is in list.
func (es Entries) Has(list string) bool {
	_, ok := es.find(list)
	return ok
}

// Names returns the list names in order.
func (es Entries) Names() []string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.List
	}
	return names
}

func (es Entries) find(list string) (int, bool) {
	return slices.BinarySearchFunc(es, list, func(e ListEntry, name string) int { return strings.Compare(e.List, name) })
}

// upsert returns the entry for list, inserted in order if new. The pointer
// is valid until the next upsert.
func (es *Entries) upsert(list string) *ListEntry {
	i, ok := es.find(list)
	if !ok {
		*es = slices.Insert(*es, i, ListEntry{List: list})
	}
	return &(*es)[i]
}

// MarshalJSON writes {"<list>": {note, comment, tags}, ...} in list order.
func (es Entries) MarshalJSON() ([]byte, error) {
	if es == nil {
		return []byte("null"), nil
	}
	// HTML escaping is left to the caller's encoder, which applies it to
	// what a Marshaler returns.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteByte('{')
	for i, e := range es {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(e.List); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteByte(':')
		if err := enc.Encode(e); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the object form written by MarshalJSON.
func (es *Entries) UnmarshalJSON(data []byte) error {
	var m map[string]ListEntry
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("place lists: %w", err)
	}
	if m == nil {
		*es = nil
		return nil
	}
	out := make(Entries, 0, len(m))
	for name, e := range m {
		e.List = name
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b ListEntry) int { return strings.Compare(a.List, b.List) })
	*es = out
	return nil
}

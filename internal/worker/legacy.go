package worker

import (
	"fmt"
	"sort"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/export"
)

// The legacy layout is the TypeScript worker's document:
//
//	{locations: [{Title, Note, URL, Comment, source_file, exported_at}],
//	 metadata: {count, lastUpdated, files}}
//
// one row per place and list (a starred place in no list gets one row with
// source_file "Starred places"). Rows are edited in place, only where they
// differ, so a re-export without upstream changes changes nothing; rows of
// places gone upstream are removed, but only after a complete export.

type legacyRow struct {
	Title, Note, URL, Comment, SourceFile string
}

func (r legacyRow) id() string { return r.URL + "\x00" + r.SourceFile }

const starredSourceFile = "Starred places"

func legacyRows(snap *export.Snapshot) []legacyRow {
	var rows []legacyRow
	for _, p := range snap.Places {
		for _, e := range p.Lists {
			rows = append(rows, legacyRow{Title: p.Title, Note: e.Note, URL: p.MapsURL, Comment: e.Comment, SourceFile: e.List + ".csv"})
		}
		if len(p.Lists) == 0 && p.Starred {
			rows = append(rows, legacyRow{Title: p.Title, URL: p.MapsURL, SourceFile: starredSourceFile})
		}
	}
	return rows
}

func readLegacyRow(v *automerge.Value) (legacyRow, bool) {
	if v.Kind() != automerge.KindMap {
		return legacyRow{}, false
	}
	vals, err := v.Map().Values()
	if err != nil {
		return legacyRow{}, false
	}
	get := func(k string) string {
		if x, ok := vals[k]; ok {
			s, _ := stringOf(x)
			return s
		}
		return ""
	}
	return legacyRow{Title: get("Title"), Note: get("Note"), URL: get("URL"), Comment: get("Comment"), SourceFile: get("source_file")}, true
}

func applyLegacy(doc *automerge.Doc, snap *export.Snapshot, opts WriteOptions) (Changes, error) {
	root := doc.RootMap()
	want := legacyRows(snap)
	ch := Changes{Complete: snap.Complete}
	if !snap.Complete {
		ch.Reason = fmt.Sprintf("incomplete export (%d problem(s)); nothing was removed", fatalProblems(snap))
	}

	v, err := root.Get("locations")
	if err != nil {
		return Changes{}, fmt.Errorf("read locations: %w", err)
	}
	var list *automerge.List
	switch v.Kind() {
	case automerge.KindList:
		list = v.List()
	case automerge.KindVoid, automerge.KindNull:
		list = automerge.NewList()
		if err := root.Set("locations", list); err != nil {
			return Changes{}, fmt.Errorf("create locations: %w", err)
		}
	default:
		return Changes{}, fmt.Errorf("locations holds a %v, expected a list; refusing to overwrite it", v.Kind())
	}
	items, err := list.Values()
	if err != nil {
		return Changes{}, fmt.Errorf("read locations: %w", err)
	}
	var have []legacyRow
	for _, it := range items {
		r, _ := readLegacyRow(it)
		have = append(have, r)
	}
	if ch.Complete && len(want) == 0 && len(have) > 0 {
		ch.Complete = false
		ch.Reason = fmt.Sprintf("export returned no places while the document has %d rows; nothing was removed", len(have))
	}
	if !ch.Complete {
		// Keep every row the export did not read.
		inWant := map[string]bool{}
		for _, r := range want {
			inWant[r.id()] = true
		}
		var kept []legacyRow
		for _, r := range have {
			if !inWant[r.id()] {
				kept = append(kept, r)
			}
		}
		want = append(kept, want...)
	}

	haveIDs := map[string]bool{}
	for _, r := range have {
		haveIDs[r.id()] = true
	}
	wantIDs := map[string]bool{}
	for _, r := range want {
		wantIDs[r.id()] = true
	}
	for _, r := range have {
		if !wantIDs[r.id()] {
			ch.Removed++
		}
	}

	exportedAt := opts.StartedAt.UTC().Format(time.RFC3339Nano)
	changed := false
	for i, r := range want {
		if i < len(items) && items[i].Kind() == automerge.KindMap {
			if have[i] == r {
				ch.Unchanged++
				continue
			}
			m := items[i].Map()
			for _, f := range [][2]string{{"Title", r.Title}, {"Note", r.Note}, {"URL", r.URL}, {"Comment", r.Comment}, {"source_file", r.SourceFile}, {"exported_at", exportedAt}} {
				if _, err := setText(m, f[0], validUTF8(f[1])); err != nil {
					return Changes{}, fmt.Errorf("locations[%d]: %w", i, err)
				}
			}
			if haveIDs[r.id()] {
				ch.Updated++
			} else {
				ch.Added++
			}
			changed = true
			continue
		}
		m := automerge.NewMap()
		if i < len(items) {
			if err := list.Set(i, m); err != nil {
				return Changes{}, fmt.Errorf("locations[%d]: %w", i, err)
			}
		} else if err := list.Append(m); err != nil {
			return Changes{}, fmt.Errorf("locations[%d]: %w", i, err)
		}
		for _, f := range [][2]string{{"Title", r.Title}, {"Note", r.Note}, {"URL", r.URL}, {"Comment", r.Comment}, {"source_file", r.SourceFile}, {"exported_at", exportedAt}} {
			if err := m.Set(f[0], automerge.NewText(validUTF8(f[1]))); err != nil {
				return Changes{}, fmt.Errorf("locations[%d]: %w", i, err)
			}
		}
		if haveIDs[r.id()] {
			ch.Updated++
		} else {
			ch.Added++
		}
		changed = true
	}
	for i := len(items) - 1; i >= len(want); i-- {
		if err := list.Delete(i); err != nil {
			return Changes{}, fmt.Errorf("locations[%d]: %w", i, err)
		}
		changed = true
	}
	ch.Active = len(want)

	md, _, err := ensureMap(root, "metadata")
	if err != nil {
		return Changes{}, err
	}
	c1, err := setInt(md, "count", int64(len(want)))
	if err != nil {
		return Changes{}, fmt.Errorf("metadata: %w", err)
	}
	files := map[string]bool{}
	for _, r := range want {
		files[r.SourceFile] = true
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	c2, err := setTextList(md, "files", names)
	if err != nil {
		return Changes{}, fmt.Errorf("metadata: %w", err)
	}
	if changed || c1 || c2 {
		if _, err := setText(md, "lastUpdated", opts.FinishedAt.UTC().Format(time.RFC3339Nano)); err != nil {
			return Changes{}, fmt.Errorf("metadata: %w", err)
		}
	}
	return ch, nil
}

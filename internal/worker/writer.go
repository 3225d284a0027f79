package worker

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/export"
)

// SchemaVersion is the version of the keyed document layout, written to
// metadata.schemaVersion. It changes only with an incompatible layout change.
const SchemaVersion = 1

// Layouts of the document.
const (
	// LayoutKeyed is the default: places keyed by their stable key.
	LayoutKeyed = "keyed"
	// LayoutLegacy is the TypeScript worker's {locations: [...], metadata}.
	LayoutLegacy = "legacy"
)

// Updater edits the document at a keepsync path. fn edits the document in
// place; Update commits only if fn changed something and reports whether it
// did. The keepsync client implements it.
type Updater interface {
	Update(ctx context.Context, path string, fn func(doc *automerge.Doc) error) (changed bool, err error)
}

// WriteOptions says how to write a snapshot.
type WriteOptions struct {
	// Layout is LayoutKeyed (default when empty) or LayoutLegacy.
	Layout string
	// StartedAt and FinishedAt are the times of the export run. StartedAt is
	// also the removedAt of places that disappeared in this run.
	StartedAt, FinishedAt time.Time
	// WorkerName and WorkerVersion go to metadata.worker.
	WorkerName, WorkerVersion string
	// MaxNewPerChange bounds the places one Automerge change adds
	// (default DefaultMaxNewPerChange): a first import of many places is
	// written as several changes.
	MaxNewPerChange int
}

// Changes says what a write did to the document.
type Changes struct {
	Added     int `json:"added"`     // places new to the document
	Updated   int `json:"updated"`   // places with at least one field changed
	Removed   int `json:"removed"`   // places that got removedAt in this write
	Restored  int `json:"restored"`  // places that lost removedAt in this write
	Unchanged int `json:"unchanged"` // places of the snapshot left as they were
	// Active and Gone count the document's places after the write: without
	// and with removedAt.
	Active int `json:"active"`
	Gone   int `json:"gone"`
	// Complete is false when the write treated the export as incomplete and
	// therefore marked nothing removed; Reason says why.
	Complete bool   `json:"complete"`
	Reason   string `json:"reason,omitempty"`
	// Changed reports whether the document changed at all (metadata included).
	Changed bool `json:"changed"`
}

// Write writes snap to the document at path through store, changing only
// what changed, and reports what it did. It is what `start`, `import` and
// `export` all use. A nil error with Changes.Changed false means the
// document already held exactly this data.
func Write(ctx context.Context, store Updater, path string, snap *export.Snapshot, opts WriteOptions) (Changes, error) {
	if snap == nil {
		return Changes{}, fmt.Errorf("write %s: no snapshot", path)
	}
	if opts.MaxNewPerChange <= 0 {
		opts.MaxNewPerChange = DefaultMaxNewPerChange
	}
	added := 0
	if opts.Layout != LayoutLegacy && len(snap.Places) > opts.MaxNewPerChange {
		for {
			n := 0
			_, err := store.Update(ctx, path, func(doc *automerge.Doc) error {
				var err error
				n, err = addMissing(doc, snap, opts)
				return err
			})
			if err != nil {
				return Changes{}, fmt.Errorf("write %s: %w", path, err)
			}
			added += n
			if n == 0 {
				break
			}
		}
	}
	var ch Changes
	changed, err := store.Update(ctx, path, func(doc *automerge.Doc) error {
		var err error
		ch, err = Apply(doc, snap, opts)
		return err
	})
	if err != nil {
		return Changes{}, fmt.Errorf("write %s: %w", path, err)
	}
	// The places added ahead are unchanged to the last pass (unless an app
	// edited one of them in between).
	ch.Added += added
	ch.Unchanged -= min(added, ch.Unchanged)
	ch.Changed = changed || added > 0
	return ch, nil
}

// DefaultMaxNewPerChange is the default of WriteOptions.MaxNewPerChange.
// Tonk's sync server 0.3.2 (Automerge 2.2 in WebAssembly) dies with
// "RuntimeError: unreachable" applying a single change that adds 25,000
// places; in changes of 5,000 it takes them all.
const DefaultMaxNewPerChange = 5000

// addMissing adds, in the snapshot's order, opts.MaxNewPerChange of the
// places doc lacks, exactly as Apply would add them, and reports how many it
// added. When that many or fewer are missing it adds none: Apply adds those
// with the rest of the run's changes.
func addMissing(doc *automerge.Doc, snap *export.Snapshot, opts WriteOptions) (int, error) {
	places, _, err := ensureMap(doc.RootMap(), "places")
	if err != nil {
		return 0, err
	}
	keys, err := places.Keys()
	if err != nil {
		return 0, fmt.Errorf("read places: %w", err)
	}
	have := make(map[string]bool, len(keys))
	for _, k := range keys {
		have[k] = true
	}
	var missing []*export.Place
	for i := range snap.Places {
		p := &snap.Places[i]
		if p.Key != "" && !have[p.Key] {
			have[p.Key] = true
			missing = append(missing, p)
		}
	}
	limit := opts.MaxNewPerChange
	if len(missing) <= limit {
		return 0, nil
	}
	// Apply clears no field of a new place, so the places written here are
	// the ones it would write; only starred:false depends on completeness.
	w := &keyedWriter{root: doc.RootMap(), snap: snap, opts: opts}
	w.ch.Complete = snap.Complete
	for _, p := range missing[:limit] {
		if err := w.place(places, nil, p); err != nil {
			return 0, fmt.Errorf("place %s: %w", p.Key, err)
		}
	}
	return limit, nil
}

// WriteFailure records in the document's metadata.lastExport that a run
// failed before it read anything (msg says why). Places are not touched.
func WriteFailure(ctx context.Context, store Updater, path string, msg string, opts WriteOptions) (bool, error) {
	if opts.Layout == LayoutLegacy {
		return false, nil // the legacy shape has nowhere to say it
	}
	changed, err := store.Update(ctx, path, func(doc *automerge.Doc) error {
		return applyFailure(doc, msg, opts)
	})
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return changed, nil
}

// Apply edits doc (uncommitted) so that it holds snap, and reports what it
// changed. It never touches keys it does not own (see docs/keepsync-schema.md):
// an app's own fields on a place survive every run. When the snapshot is
// incomplete, or empty while the document has places, nothing is marked
// removed and nothing is deleted.
func Apply(doc *automerge.Doc, snap *export.Snapshot, opts WriteOptions) (Changes, error) {
	if opts.Layout == LayoutLegacy {
		return applyLegacy(doc, snap, opts)
	}
	w := &keyedWriter{root: doc.RootMap(), snap: snap, opts: opts}
	return w.apply()
}

type keyedWriter struct {
	root *automerge.Map
	snap *export.Snapshot
	opts WriteOptions
	ch   Changes
	// dataChanged is set when a place or list changed.
	dataChanged bool
}

// The worker owns these fields of a place, and writes no other: key, title,
// address, countryCode, lat, lng, mapsUrl, cid, featureId, placeId, starred,
// lists, savedAt, updatedAt, removedAt. Everything else on a place belongs
// to apps (docs/keepsync-schema.md).

func (w *keyedWriter) apply() (Changes, error) {
	places, _, err := ensureMap(w.root, "places")
	if err != nil {
		return Changes{}, err
	}
	existing, err := places.Values()
	if err != nil {
		return Changes{}, fmt.Errorf("read places: %w", err)
	}
	activeBefore := 0
	for _, v := range existing {
		if v.Kind() == automerge.KindMap && !hasKey(v.Map(), "removedAt") {
			activeBefore++
		}
	}

	w.ch.Complete = true
	switch {
	case !w.snap.Complete:
		w.ch.Complete = false
		w.ch.Reason = fmt.Sprintf("incomplete export (%d problem(s)); nothing was marked removed", fatalProblems(w.snap))
	case len(w.snap.Places) == 0 && activeBefore > 0:
		w.ch.Complete = false
		w.ch.Reason = fmt.Sprintf("export returned no places while the document has %d; nothing was marked removed", activeBefore)
	}

	seen := make(map[string]bool, len(w.snap.Places))
	for i := range w.snap.Places {
		p := &w.snap.Places[i]
		if p.Key == "" || seen[p.Key] {
			continue // unaddressable or repeated; the pipeline emits neither
		}
		seen[p.Key] = true
		if err := w.place(places, existing[p.Key], p); err != nil {
			return Changes{}, fmt.Errorf("place %s: %w", p.Key, err)
		}
	}

	// Places gone upstream: mark removed (complete exports only).
	keys := make([]string, 0, len(existing))
	for k := range existing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := existing[k]
		if seen[k] || v.Kind() != automerge.KindMap {
			continue
		}
		pm := v.Map()
		if hasKey(pm, "removedAt") {
			w.ch.Gone++
			continue
		}
		if !w.ch.Complete {
			w.ch.Active++
			continue
		}
		if _, err := setInt(pm, "removedAt", w.opts.StartedAt.UnixMilli()); err != nil {
			return Changes{}, fmt.Errorf("place %s: %w", k, err)
		}
		w.ch.Removed++
		w.ch.Gone++
		w.dataChanged = true
	}

	if err := w.lists(); err != nil {
		return Changes{}, err
	}
	if err := w.metadata(); err != nil {
		return Changes{}, err
	}
	return w.ch, nil
}

func hasKey(m *automerge.Map, key string) bool {
	v, err := m.Get(key)
	return err == nil && !v.IsVoid()
}

func fatalProblems(s *export.Snapshot) int {
	n := 0
	for _, p := range s.Problems {
		if p.Fatal {
			n++
		}
	}
	return n
}

// place writes one place. cur is its current value (void when absent).
func (w *keyedWriter) place(places *automerge.Map, cur *automerge.Value, p *export.Place) error {
	var pm *automerge.Map
	added := false
	switch {
	case cur == nil || cur.IsVoid() || cur.IsNull():
		pm = automerge.NewMap()
		if err := places.Set(p.Key, pm); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		added = true
	case cur.Kind() == automerge.KindMap:
		pm = cur.Map()
	default:
		return fmt.Errorf("holds a %v, expected a map; refusing to overwrite it", cur.Kind())
	}

	// In an incomplete export a missing value may just be unread: only
	// a complete export clears a field.
	clear := w.ch.Complete
	changed := false
	track := func(c bool, err error) error {
		changed = changed || c
		return err
	}
	// A new place has nothing to compare with: write without reading.
	put := func(key string, v any) error {
		if err := pm.Set(key, v); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		return nil
	}
	text := func(key, s string) error {
		if s == "" {
			if !clear || added {
				return nil
			}
			return track(deleteKey(pm, key))
		}
		if added {
			return put(key, automerge.NewText(validUTF8(s)))
		}
		return track(setText(pm, key, validUTF8(s)))
	}
	float := func(key string, f *float64) error {
		if f == nil {
			if !clear || added {
				return nil
			}
			return track(deleteKey(pm, key))
		}
		if added {
			return put(key, *f)
		}
		return track(setFloat(pm, key, *f))
	}
	ms := func(key string, t *time.Time) error {
		if t == nil {
			if !clear || added {
				return nil
			}
			return track(deleteKey(pm, key))
		}
		if added {
			return put(key, t.UnixMilli())
		}
		return track(setInt(pm, key, t.UnixMilli()))
	}
	steps := []func() error{
		func() error { return text("key", p.Key) },
		func() error { return text("title", p.Title) },
		func() error { return text("address", p.Address) },
		func() error { return text("countryCode", p.CountryCode) },
		func() error { return float("lat", p.Lat) },
		func() error { return float("lng", p.Lng) },
		func() error { return text("mapsUrl", p.MapsURL) },
		func() error { return text("cid", p.CID) },
		func() error { return text("featureId", p.FeatureID) },
		func() error { return text("placeId", p.PlaceID) },
		func() error {
			if !p.Starred && !clear {
				return nil
			}
			return track(setBool(pm, "starred", p.Starred))
		},
		func() error { return w.placeLists(pm, p, clear, track) },
		func() error { return ms("savedAt", p.SavedAt) },
		func() error { return ms("updatedAt", p.UpdatedAt) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	restored := false
	if !added {
		var err error
		if restored, err = deleteKey(pm, "removedAt"); err != nil {
			return err
		}
	}

	w.ch.Active++
	switch {
	case added:
		w.ch.Added++
	case restored:
		w.ch.Restored++
	case changed:
		w.ch.Updated++
	default:
		w.ch.Unchanged++
	}
	if added || restored || changed {
		w.dataChanged = true
	}
	return nil
}

// placeLists writes place.lists: {<list name>: {note, comment, tags}}.
func (w *keyedWriter) placeLists(pm *automerge.Map, p *export.Place, clear bool, track func(bool, error) error) error {
	if len(p.Lists) == 0 && !hasKey(pm, "lists") {
		return nil
	}
	lm, created, err := ensureMap(pm, "lists")
	if err != nil {
		return err
	}
	if err := track(created, nil); err != nil {
		return err
	}
	for _, e := range p.Lists {
		em, created, err := ensureMap(lm, validUTF8(e.List))
		if err != nil {
			return fmt.Errorf("lists: %w", err)
		}
		if err := track(created, nil); err != nil {
			return err
		}
		for _, f := range []struct{ key, val string }{{"note", e.Note}, {"comment", e.Comment}} {
			if f.val == "" {
				if clear {
					if err := track(deleteKey(em, f.key)); err != nil {
						return err
					}
				}
				continue
			}
			if err := track(setText(em, f.key, validUTF8(f.val))); err != nil {
				return err
			}
		}
		if len(e.Tags) == 0 {
			if clear {
				if err := track(deleteKey(em, "tags")); err != nil {
					return err
				}
			}
		} else {
			tags := make([]string, len(e.Tags))
			for i, t := range e.Tags {
				tags[i] = validUTF8(t)
			}
			if err := track(setTextList(em, "tags", tags)); err != nil {
				return err
			}
		}
	}
	if clear {
		have, err := lm.Keys()
		if err != nil {
			return fmt.Errorf("read lists: %w", err)
		}
		sort.Strings(have)
		for _, name := range have {
			if p.Lists.Has(name) {
				continue
			}
			if err := track(deleteKey(lm, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// lists writes the top-level lists map: {<name>: {name, description, count}}.
// A list gone upstream gets removedAt, like a place.
func (w *keyedWriter) lists() error {
	lm, _, err := ensureMap(w.root, "lists")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range w.snap.Lists {
		name := validUTF8(l.Name)
		seen[name] = true
		m, created, err := ensureMap(lm, name)
		if err != nil {
			return fmt.Errorf("list %q: %w", name, err)
		}
		changed := created
		for _, step := range []func() (bool, error){
			func() (bool, error) { return setText(m, "name", name) },
			func() (bool, error) {
				if l.Description == "" {
					return deleteKey(m, "description")
				}
				return setText(m, "description", validUTF8(l.Description))
			},
			func() (bool, error) { return setInt(m, "count", int64(l.Count)) },
			func() (bool, error) { return deleteKey(m, "removedAt") },
		} {
			c, err := step()
			if err != nil {
				return fmt.Errorf("list %q: %w", name, err)
			}
			changed = changed || c
		}
		w.dataChanged = w.dataChanged || changed
	}
	if !w.ch.Complete {
		return nil
	}
	vals, err := lm.Values()
	if err != nil {
		return fmt.Errorf("read lists: %w", err)
	}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := vals[name]
		if seen[name] || v.Kind() != automerge.KindMap || hasKey(v.Map(), "removedAt") {
			continue
		}
		if _, err := setInt(v.Map(), "removedAt", w.opts.StartedAt.UnixMilli()); err != nil {
			return fmt.Errorf("list %q: %w", name, err)
		}
		w.dataChanged = true
	}
	return nil
}

// metadata writes metadata. lastExport describes the last export that changed
// the document: its times are rewritten only when the data changed or the
// outcome (complete, source, counts, problems) differs from what is recorded,
// so an export that finds nothing new leaves the document, and its heads,
// exactly as they were. Every run's own times are in /status.
func (w *keyedWriter) metadata() error {
	md, _, err := ensureMap(w.root, "metadata")
	if err != nil {
		return err
	}
	if err := w.common(md); err != nil {
		return err
	}
	if w.dataChanged {
		if _, err := setText(md, "source", validUTF8(w.snap.Source)); err != nil {
			return err
		}
	}
	le, _, err := ensureMap(md, "lastExport")
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	outcome := false
	track := func(c bool, err error) error {
		outcome = outcome || c
		return err
	}
	if err := track(setBool(le, "complete", w.ch.Complete)); err != nil {
		return err
	}
	if err := track(setText(le, "source", validUTF8(w.snap.Source))); err != nil {
		return err
	}
	if w.ch.Reason == "" {
		err = track(deleteKey(le, "reason"))
	} else {
		err = track(setText(le, "reason", w.ch.Reason))
	}
	if err != nil {
		return err
	}
	if err := track(deleteKey(le, "error")); err != nil {
		return err
	}
	cm, created, err := ensureMap(le, "counts")
	if err != nil {
		return fmt.Errorf("lastExport: %w", err)
	}
	outcome = outcome || created
	c := w.snap.Counts
	for _, f := range []struct {
		key string
		n   int
	}{{"places", c.Places}, {"lists", c.Lists}, {"starred", c.Starred}, {"withCoordinates", c.WithCoordinates}, {"itemsRead", c.ItemsRead}} {
		if err := track(setInt(cm, f.key, int64(f.n))); err != nil {
			return err
		}
	}
	problems := make([]string, 0, len(w.snap.Problems))
	for _, p := range w.snap.Problems {
		problems = append(problems, validUTF8(p.File+": "+p.Message))
	}
	if len(problems) == 0 {
		err = track(deleteKey(le, "problems"))
	} else {
		err = track(setTextList(le, "problems", problems))
	}
	if err != nil {
		return err
	}
	if w.dataChanged || outcome {
		if _, err := setInt(le, "startedAt", w.opts.StartedAt.UnixMilli()); err != nil {
			return err
		}
		if _, err := setInt(le, "finishedAt", w.opts.FinishedAt.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// common writes the metadata every write keeps current: schema version and
// the worker's name and version.
func (w *keyedWriter) common(md *automerge.Map) error {
	if _, err := setInt(md, "schemaVersion", SchemaVersion); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	wm, _, err := ensureMap(md, "worker")
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if w.opts.WorkerName != "" {
		if _, err := setText(wm, "name", validUTF8(w.opts.WorkerName)); err != nil {
			return err
		}
	}
	if w.opts.WorkerVersion != "" {
		if _, err := setText(wm, "version", validUTF8(w.opts.WorkerVersion)); err != nil {
			return err
		}
	}
	return nil
}

func applyFailure(doc *automerge.Doc, msg string, opts WriteOptions) error {
	w := &keyedWriter{root: doc.RootMap(), opts: opts}
	md, _, err := ensureMap(w.root, "metadata")
	if err != nil {
		return err
	}
	if err := w.common(md); err != nil {
		return err
	}
	le, _, err := ensureMap(md, "lastExport")
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	c1, err := setBool(le, "complete", false)
	if err != nil {
		return err
	}
	c2, err := setText(le, "error", validUTF8(msg))
	if err != nil {
		return err
	}
	if c1 || c2 {
		if _, err := setInt(le, "startedAt", opts.StartedAt.UnixMilli()); err != nil {
			return err
		}
		if _, err := setInt(le, "finishedAt", opts.FinishedAt.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

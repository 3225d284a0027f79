package keepsync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/automerge/automerge-go"
)

// The root directory.
//
// The root's id comes from the server's root.json and is remembered in the
// local store. When it was never discovered (first run ever, server down),
// the client works under a provisional root of its own. When the server is
// reachable again, the provisional tree is grafted into the server's root:
// names absent there are added as RefNodes pointing to our documents;
// directories present on both sides are grafted recursively; for a document
// present on both sides, our top-level values are written into theirs
// (their other keys stay). automerge's Merge is not used for that case: two
// documents created independently set the same keys concurrently, and Merge
// would let one side win each key at random while hiding the other.
// The same happens if root.json ever names a different root (a reset
// server): the old tree is grafted into the new root.
//
// The graft only starts once the server's copy of its root has arrived
// (openDoc waits for the server's answer), and the provisional root is only
// let go once the server holds every document the graft changed and a
// last pass over the tree, made after that, finds nothing left to add: a
// concurrent writer that hid some of our entries (two writers giving an
// empty root its children list at once) gets them added again. Until then
// reads and writes stay on the provisional tree and WaitSynced waits.

const (
	// graftPasses bounds the passes of one graft attempt; each pass after
	// the first runs only when the server changed the tree meanwhile.
	graftPasses = 8
	// graftAttemptTimeout bounds one attempt (it holds the tree lock only
	// while editing, never while waiting for the server).
	graftAttemptTimeout = 30 * time.Second
)

// rootState returns the root directory document.
func (c *Client) rootState(ctx context.Context) (*docState, error) {
	if d, known, err := c.knownRoot(ctx); known {
		return d, err
	}
	id, err := c.discoverRoot(ctx)
	if err == nil {
		if err := c.adoptRoot(ctx, id); err != nil {
			return nil, err
		}
		return c.openDoc(ctx, id)
	}
	if !errors.Is(err, ErrUnavailable) {
		return nil, err // a bad root.json
	}
	// Offline since the very first run: a provisional root of our own.
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	c.mu.Lock()
	m := c.meta
	c.mu.Unlock()
	if m.ProvisionalRootID == "" && m.RootID == "" {
		doc, derr := newDirDoc("")
		if derr != nil {
			return nil, derr
		}
		d, derr := c.newDoc(doc)
		if derr != nil {
			return nil, derr
		}
		m.ProvisionalRootID = d.id
		if err := c.setMeta(m); err != nil {
			return nil, err
		}
		c.log.Warn("keepsync: server unreachable and root unknown; working under a provisional root", "err", err)
		return d, nil
	}
	d, _, err := c.knownRoot(ctx)
	return d, err
}

// knownRoot opens the root the store names, the provisional one first;
// known is false when it names none.
func (c *Client) knownRoot(ctx context.Context) (d *docState, known bool, err error) {
	c.mu.Lock()
	m := c.meta
	c.mu.Unlock()
	id := m.ProvisionalRootID
	if id == "" {
		id = m.RootID
	}
	if id == "" {
		return nil, false, nil
	}
	d, err = c.openDoc(ctx, id)
	return d, true, err
}

// rootLocked is rootState for callers holding treeMu.
func (c *Client) rootLocked(ctx context.Context) (*docState, error) {
	if d, known, err := c.knownRoot(ctx); known {
		return d, err
	}
	c.treeMu.Unlock()
	d, err := c.rootState(ctx)
	c.treeMu.Lock()
	return d, err
}

// setMeta stores m and wakes whoever waits for the root to settle.
func (c *Client) setMeta(m meta) error {
	if err := c.store.saveMeta(m); err != nil {
		return err
	}
	c.mu.Lock()
	c.meta = m
	c.notifyLocked()
	c.mu.Unlock()
	return nil
}

// graftSources lists the roots to graft into the server root id.
func graftSources(m meta, id DocumentID) []DocumentID {
	var olds []DocumentID
	if m.ProvisionalRootID != "" {
		olds = append(olds, m.ProvisionalRootID)
	}
	if m.RootID != "" && m.RootID != id {
		olds = append(olds, m.RootID)
	}
	return olds
}

// rootPendingLocked reports whether a graft into the server's root is still
// to be done. c.mu must be held.
func (c *Client) rootPendingLocked() bool {
	m := c.meta
	return m.ProvisionalRootID != "" || (m.RootID != "" && c.discovered != "" && m.RootID != c.discovered)
}

// adoptRoot makes id the root, grafting a provisional or former root into
// it. It returns nil once the server holds the grafted tree.
func (c *Client) adoptRoot(ctx context.Context, id DocumentID) error {
	for pass := 0; ; pass++ {
		c.mu.Lock()
		m := c.meta
		c.mu.Unlock()
		if len(graftSources(m, id)) == 0 {
			if m.RootID == id {
				return nil
			}
			c.treeMu.Lock()
			c.mu.Lock()
			m = c.meta
			c.mu.Unlock()
			var err error
			if len(graftSources(m, id)) == 0 && m.RootID != id {
				m.RootID = id
				err = c.setMeta(m)
			}
			c.treeMu.Unlock()
			if err != nil || len(graftSources(m, id)) == 0 {
				return err
			}
			continue
		}
		if pass >= graftPasses {
			return fmt.Errorf("keepsync: the server root %s kept changing under the graft; trying again later", id)
		}
		// The server's copy of its root, fetched without the tree lock:
		// the wait may be long, and path creation waits on that lock.
		// openDoc returns only once the server answered with its content
		// (or said it does not have the document).
		dst, err := c.openDoc(ctx, id)
		if err != nil {
			return fmt.Errorf("fetch the server root %s: %w", id, err)
		}
		done, touched, err := c.graftOnce(ctx, id, dst)
		if err != nil || done {
			return err
		}
		// Let the server take what the graft changed (and send what others
		// changed meanwhile), then look again.
		for _, d := range touched {
			if err := c.waitSynced(ctx, d); err != nil {
				return err
			}
		}
	}
}

// graftOnce makes one pass of grafting every old root into dst under the
// tree lock. done means nothing was left to change and the server holds
// every document involved, and the root is switched to id; otherwise
// touched lists the documents to wait for.
func (c *Client) graftOnce(ctx context.Context, id DocumentID, dst *docState) (done bool, touched []*docState, err error) {
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	c.mu.Lock()
	m := c.meta
	c.mu.Unlock()
	olds := graftSources(m, id)
	if len(olds) == 0 {
		return false, nil, nil // someone else finished; the caller sees it
	}
	if m.RootID != "" && m.RootID != id {
		c.log.Warn("keepsync: the server names a different root; grafting the old tree into it", "old", m.RootID, "new", id)
	}
	g := grafter{c: c, seen: map[DocumentID]bool{}}
	g.touch(dst)
	for _, old := range olds {
		src, err := c.openDoc(ctx, old)
		if err != nil {
			return false, nil, fmt.Errorf("open the local root %s: %w", old, err)
		}
		if err := g.graft(ctx, dst, src); err != nil {
			if errors.Is(err, ErrNotADirectory) {
				return false, nil, fmt.Errorf("the server root %s: %w", id, err)
			}
			return false, nil, err
		}
	}
	if !g.changed && c.allSynced(g.touched) {
		if err := c.setMeta(meta{RootID: id}); err != nil {
			return false, nil, err
		}
		c.log.Info("keepsync: attached the local tree to the server root", "root", id)
		return true, nil, nil
	}
	return false, g.touched, nil
}

// allSynced reports whether the server holds our heads of every document
// on the current connection.
func (c *Client) allSynced(docs []*docState) bool {
	c.mu.Lock()
	gen, connected := c.gen, c.connected
	c.mu.Unlock()
	if !connected {
		return false
	}
	for _, d := range docs {
		d.mu.Lock()
		ok := d.syncedLocked(gen)
		d.mu.Unlock()
		if !ok {
			return false
		}
	}
	return true
}

// grafter is one pass of a graft: the server-side documents it visited and
// whether it changed any.
type grafter struct {
	c       *Client
	seen    map[DocumentID]bool
	touched []*docState
	changed bool
}

func (g *grafter) touch(d *docState) {
	if !g.seen[d.id] {
		g.seen[d.id] = true
		g.touched = append(g.touched, d)
	}
}

func (g *grafter) put(dst *docState, e Entry) error {
	ch, err := g.c.change(dst, "keepsync: graft "+e.Name, func(doc *automerge.Doc) error { return putChild(doc, e) })
	g.changed = g.changed || ch
	return err
}

// graft adds src's entries to dst, recursing into directories present on
// both sides. Nothing in dst is removed or replaced.
func (g *grafter) graft(ctx context.Context, dst, src *docState) error {
	c := g.c
	src.mu.Lock()
	ents, err := dirEntries(src.doc)
	src.mu.Unlock()
	if err != nil {
		return fmt.Errorf("local directory %s: %w", src.id, err)
	}
	for _, e := range ents {
		dst.mu.Lock()
		m, ok, err := findChild(dst.doc, e.Name)
		dst.mu.Unlock()
		if err != nil {
			return err
		}
		switch {
		case !ok:
			if err := g.put(dst, e); err != nil {
				return err
			}
		case m.Pointer == e.Pointer:
		case m.Type == e.Type:
			theirs, err := c.openDoc(ctx, m.Pointer)
			if err != nil {
				return err
			}
			ours, err := c.openDoc(ctx, e.Pointer)
			if err != nil {
				return err
			}
			g.touch(theirs)
			if e.Type == TypeDir {
				err = g.graft(ctx, theirs, ours)
			} else {
				err = g.mergeDoc(theirs, ours)
			}
			if err != nil {
				return err
			}
		default:
			// A directory on one side and a document on the other: ours
			// goes next to theirs under another name.
			e.Name += " (offline copy)"
			dst.mu.Lock()
			cp, ok, err := findChild(dst.doc, e.Name)
			dst.mu.Unlock()
			if err != nil {
				return err
			}
			if ok && cp.Pointer == e.Pointer {
				continue
			}
			if err := g.put(dst, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeDoc writes ours' top-level values into theirs, once per state of
// ours: a later pass must not undo edits others made to theirs since.
func (g *grafter) mergeDoc(theirs, ours *docState) error {
	c := g.c
	ours.mu.Lock()
	val, _ := ToGo(ours.doc.Root()).(map[string]any)
	mark := headsKey(ours.doc.Heads())
	ours.mu.Unlock()
	key := string(theirs.id) + "<" + string(ours.id)
	c.mu.Lock()
	if c.merged == nil {
		c.merged = map[string]string{}
	}
	already := c.merged[key] == mark
	c.mu.Unlock()
	if already {
		return nil
	}
	ch, err := c.change(theirs, "keepsync: merge offline copy", func(doc *automerge.Doc) error {
		for k, v := range val {
			if _, err := SetValue(doc.RootMap(), k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	g.changed = g.changed || ch
	c.mu.Lock()
	c.merged[key] = mark
	c.mu.Unlock()
	return nil
}

func headsKey(hs []automerge.ChangeHash) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.String()
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// waitRooted returns once no graft into the server's root is pending.
func (c *Client) waitRooted(ctx context.Context) error {
	for {
		c.mu.Lock()
		pending, connected, ch, gerr := c.rootPendingLocked(), c.connected, c.changed, c.graftErr
		c.mu.Unlock()
		if !pending {
			return nil
		}
		select {
		case <-ctx.Done():
			why := "not connected"
			switch {
			case gerr != nil:
				why = gerr.Error()
			case connected:
				why = "attaching it"
			}
			return fmt.Errorf("%w: the local tree is not attached to the server root yet (%s): %w", ErrUnavailable, why, ctx.Err())
		case <-c.closing:
			return ErrClosed
		case <-ch:
		}
	}
}

// attachRoot grafts the local tree into the server root after connection
// gen came up, trying again with backoff until it succeeds, the client
// closes or the connection is replaced (the next one starts over).
func (c *Client) attachRoot(ctx context.Context, gen uint64, rootID DocumentID) {
	backoff := c.opts.MinBackoff
	var said string
	for {
		actx, cancel := context.WithTimeout(ctx, graftAttemptTimeout)
		err := c.adoptRoot(actx, rootID)
		cancel()
		c.mu.Lock()
		current := c.gen == gen
		if current {
			c.graftErr = err
			c.notifyLocked()
		}
		c.mu.Unlock()
		if err == nil || ctx.Err() != nil || !current {
			if err == nil && said != "" {
				c.log.Info("keepsync: the local tree is attached to the server root now", "root", rootID)
			}
			return
		}
		// The same failure over and over is said once.
		if msg := err.Error(); msg != said {
			c.log.Warn("keepsync: cannot attach the offline tree to the server root yet; trying again", "err", err, "in", backoff)
			said = msg
		} else {
			c.log.Debug("keepsync: still cannot attach the offline tree to the server root", "err", err)
		}
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, c.opts.MaxBackoff)
		// A server that lost its root makes a new one and says so in
		// root.json, possibly after it started answering.
		if id, err := c.discoverRoot(ctx); err == nil && id != rootID {
			c.mu.Lock()
			if c.gen == gen {
				c.discovered = id
				c.notifyLocked()
			}
			c.mu.Unlock()
			rootID = id
		}
	}
}

package keepsync

import (
	"context"
	"fmt"
	"strings"

	"github.com/automerge/automerge-go"
)

// resolve walks the tree to path. With create, missing directories and the
// final entry (of type want) are created.
func (c *Client) resolve(ctx context.Context, path string, want string, create bool) (*docState, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	segs, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	if create {
		c.treeMu.Lock()
		defer c.treeMu.Unlock()
	}
	var dir *docState
	if create {
		// rootState may take treeMu itself only when no root is known; do
		// the lookup of a known root without it.
		dir, err = c.rootLocked(ctx)
	} else {
		dir, err = c.rootState(ctx)
	}
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		if want == TypeDoc {
			return nil, fmt.Errorf("%w: / is a directory", ErrInvalidPath)
		}
		return dir, nil
	}
	for i, seg := range segs {
		last := i == len(segs)-1
		here := "/" + strings.Join(segs[:i+1], "/")
		dir.mu.Lock()
		e, ok, err := findChild(dir.doc, seg)
		dir.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("%w: /%s", err, strings.Join(segs[:i], "/"))
		}
		if ok {
			if !last && e.Type != TypeDir {
				return nil, fmt.Errorf("%w: %s", ErrNotADirectory, here)
			}
			if last && e.Type != want {
				if want == TypeDir {
					return nil, fmt.Errorf("%w: %s", ErrNotADirectory, here)
				}
				return nil, fmt.Errorf("%w: %s is a directory", ErrInvalidPath, here)
			}
			if dir, err = c.openDoc(ctx, e.Pointer); err != nil {
				return nil, fmt.Errorf("%s: %w", here, err)
			}
			continue
		}
		if !create {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, here)
		}
		typ := TypeDir
		var doc *automerge.Doc
		if last && want == TypeDoc {
			typ = TypeDoc
			doc = automerge.New()
			// An empty change, so the document exists for the server and
			// for JS even if the caller writes nothing.
			if _, err := doc.Commit("keepsync: create document", automerge.CommitOptions{AllowEmpty: true}); err != nil {
				return nil, err
			}
		} else if doc, err = newDirDoc(seg); err != nil {
			return nil, err
		}
		child, err := c.newDoc(doc)
		if err != nil {
			return nil, err
		}
		ent := Entry{Name: seg, Type: typ, Pointer: child.id}
		if _, err := c.change(dir, "keepsync: add "+seg, func(doc *automerge.Doc) error { return putChild(doc, ent) }); err != nil {
			return nil, fmt.Errorf("keepsync: link %s: %w", here, err)
		}
		dir = child
	}
	return dir, nil
}

// Update applies fn to the document at path, creating the document and its
// directories if missing. It commits only if fn changed something: a fn
// that changes nothing makes no change and sends nothing. The change is on
// disk when Update returns and is sent to the server when connected. If fn
// returns an error, its partial edits are dropped.
func (c *Client) Update(ctx context.Context, path string, fn func(doc *automerge.Doc) error) (changed bool, err error) {
	d, err := c.resolve(ctx, path, TypeDoc, true)
	if err != nil {
		return false, err
	}
	return c.change(d, "keepsync: update "+path, fn)
}

// ReadDoc returns the document at path as plain Go values (map[string]any,
// []any, string, int64, float64, bool, nil).
func (c *Client) ReadDoc(ctx context.Context, path string) (any, error) {
	d, err := c.resolve(ctx, path, TypeDoc, false)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return ToGo(d.doc.Root()), nil
}

// WriteDoc makes the document at path hold value, with keepsync's writeDoc
// semantics: every key of value is set (recursing into maps present on
// both sides, replacing lists whole) and keys value lacks are deleted.
// value must be a JSON object: a map with string keys or a struct.
func (c *Client) WriteDoc(ctx context.Context, path string, value any) error {
	v, err := normalizeJSON(value)
	if err != nil {
		return fmt.Errorf("keepsync: write %s: %w", path, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("keepsync: write %s: the value must be a JSON object, not %T", path, value)
	}
	_, err = c.Update(ctx, path, func(doc *automerge.Doc) error {
		_, err := setMap(doc.RootMap(), obj)
		return err
	})
	return err
}

// Ls lists the directory at path ("/" for the root).
func (c *Client) Ls(ctx context.Context, path string) ([]Entry, error) {
	d, err := c.resolve(ctx, path, TypeDir, false)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ents, err := dirEntries(d.doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, path)
	}
	return ents, nil
}

// Rm removes the entry at path; a directory's children are removed
// recursively first. Documents themselves cannot be deleted from the server;
// they become unreachable.
func (c *Client) Rm(ctx context.Context, path string) error {
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("%w: cannot remove the root", ErrInvalidPath)
	}
	parentPath := "/" + strings.Join(segs[:len(segs)-1], "/")
	parent, err := c.resolve(ctx, parentPath, TypeDir, false)
	if err != nil {
		return err
	}
	c.treeMu.Lock()
	defer c.treeMu.Unlock()
	name := segs[len(segs)-1]
	parent.mu.Lock()
	e, ok, err := findChild(parent.doc, name)
	parent.mu.Unlock()
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if e.Type == TypeDir {
		if err := c.clearDir(ctx, e.Pointer); err != nil {
			return err
		}
	}
	_, err = c.change(parent, "keepsync: remove "+name, func(doc *automerge.Doc) error {
		_, err := removeChild(doc, name)
		return err
	})
	return err
}

func (c *Client) clearDir(ctx context.Context, id DocumentID) error {
	d, err := c.openDoc(ctx, id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	ents, err := dirEntries(d.doc)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type == TypeDir {
			if err := c.clearDir(ctx, e.Pointer); err != nil {
				return err
			}
		}
		name := e.Name
		if _, err := c.change(d, "keepsync: remove "+name, func(doc *automerge.Doc) error {
			_, err := removeChild(doc, name)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// Heads returns the current heads of the document at path.
func (c *Client) Heads(ctx context.Context, path string) ([]automerge.ChangeHash, error) {
	d, err := c.resolve(ctx, path, TypeDoc, false)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.doc.Heads(), nil
}

// DocumentID returns the id of the document at path.
func (c *Client) DocumentID(ctx context.Context, path string) (DocumentID, error) {
	d, err := c.resolve(ctx, path, TypeDoc, false)
	if err != nil {
		return "", err
	}
	return d.id, nil
}

// WaitSynced returns when the server holds our heads of the document at
// path (and of every directory on the way, from the server's root), or when
// ctx ends. After working under a provisional root it also waits for the
// local tree to be attached to the server's root.
func (c *Client) WaitSynced(ctx context.Context, path string) error {
	segs, err := splitPath(path)
	if err != nil {
		return err
	}
	if err := c.waitRooted(ctx); err != nil {
		return err
	}
	// The directories first, so that a JS app can find the document once
	// this returns.
	root, err := c.rootState(ctx)
	if err != nil {
		return err
	}
	if err := c.waitSynced(ctx, root); err != nil {
		return err
	}
	for i := 1; i < len(segs); i++ {
		dir, err := c.resolve(ctx, "/"+strings.Join(segs[:i], "/"), TypeDir, false)
		if err != nil {
			return err
		}
		if err := c.waitSynced(ctx, dir); err != nil {
			return err
		}
	}
	d, err := c.resolve(ctx, path, TypeDoc, false)
	if err != nil {
		return err
	}
	return c.waitSynced(ctx, d)
}

func (c *Client) waitSynced(ctx context.Context, d *docState) error {
	return c.waitDoc(ctx, d, "sync document "+string(d.id), func(gen uint64, connected bool) (bool, error) {
		if d.err != nil && d.gen == gen {
			return false, d.err
		}
		return connected && d.syncedLocked(gen), nil
	})
}

// Flush waits until the server holds our heads of every open document.
func (c *Client) Flush(ctx context.Context) error {
	for _, d := range c.openDocs() {
		if err := c.waitSynced(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// Package keepsync is a Go client for Tonk's keepsync: Automerge documents
// synced by automerge-repo over WebSocket with a sync server, addressed by
// paths through a tree of directory documents.
//
// It speaks the automerge-repo network protocol (CBOR frames, sync message
// v1) with one server, keeps every document it touches in a local store, and
// works offline: reads and writes go to the local store, and changes reach
// the server when it is reachable again, also after a restart. It matches
// JS keepsync's directory tree exactly, so JS apps see our documents as
// their own.
//
// It is not a general automerge-repo peer: it talks to one server, never
// announces documents on its own and ignores ephemeral messages.
package keepsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/automerge/automerge-go"
	"github.com/gorilla/websocket"
)

// Options configures a Client. SyncURL, WSURL and DataDir are required.
type Options struct {
	SyncURL string // http(s)://host:port, for /.well-known/root.json
	WSURL   string // ws(s)://host:port/sync
	DataDir string // local store root
	Logger  *slog.Logger

	DialTimeout  time.Duration // root.json fetch, dial and handshake; default 5s
	ReadTimeout  time.Duration // silence after which the connection is dropped; default 20s (the server pings every 5s)
	WriteTimeout time.Duration // default 30s
	MinBackoff   time.Duration // first reconnect delay; default 250ms
	MaxBackoff   time.Duration // longest reconnect delay; default 15s
	ReadLimit    int64         // largest frame accepted; default 100 MiB, like the JS server
	// FreshWait bounds how long a read of a stored document waits for its
	// first sync on a new connection before answering from the local store;
	// default 2s. Reads never wait while the server is unreachable.
	FreshWait  time.Duration
	HTTPClient *http.Client
}

func (o *Options) defaults() error {
	if o.SyncURL == "" {
		return errors.New("keepsync: Options.SyncURL is empty")
	}
	o.SyncURL = strings.TrimRight(o.SyncURL, "/")
	if o.WSURL == "" {
		switch {
		case strings.HasPrefix(o.SyncURL, "https://"):
			o.WSURL = "wss://" + strings.TrimPrefix(o.SyncURL, "https://") + "/sync"
		case strings.HasPrefix(o.SyncURL, "http://"):
			o.WSURL = "ws://" + strings.TrimPrefix(o.SyncURL, "http://") + "/sync"
		default:
			return fmt.Errorf("keepsync: SyncURL %q is not an http(s) URL", o.SyncURL)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, 5*time.Second)
	def(&o.ReadTimeout, 20*time.Second)
	def(&o.WriteTimeout, 30*time.Second)
	def(&o.MinBackoff, 250*time.Millisecond)
	def(&o.MaxBackoff, 15*time.Second)
	def(&o.FreshWait, 2*time.Second)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 100 << 20
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	return nil
}

// Client is a keepsync client. It is safe for concurrent use.
type Client struct {
	opts  Options
	log   *slog.Logger
	codec frameCodec
	http  *http.Client
	store *store

	cancel    context.CancelFunc
	done      chan struct{}
	closing   chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex // guards the fields below
	docs       map[DocumentID]*docState
	ws         *websocket.Conn
	self       string // our peer id on ws
	rd         *readDeadline
	gen        uint64
	server     string
	connected  bool
	lastErr    error
	errSeq     uint64
	discovered DocumentID
	meta       meta
	changed    chan struct{}
	graftErr   error             // why the last graft into the server root failed
	merged     map[string]string // offline copies merged into server documents, by state

	wmu    sync.Mutex // serialises WebSocket writes
	treeMu sync.Mutex // serialises changes to the directory tree

	sentFrames atomic.Int64
}

// Status is a snapshot of the client's connection.
type Status struct {
	Connected   bool   `json:"connected"`
	ServerURL   string `json:"serverUrl"`
	PendingDocs int    `json:"pendingDocs"` // documents whose latest changes the server is not known to hold
	LastError   string `json:"lastError,omitempty"`
	SentFrames  int64  `json:"sentFrames"`  // frames written since Open
	Connections uint64 `json:"connections"` // connections made since Open
	// RootError says why the local tree, made while the server's root was
	// unknown, is not attached to the server's root yet.
	RootError string `json:"rootError,omitempty"`
}

// Open loads the local store and starts connecting in the background. It
// does not fail because the server is down.
func Open(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	st, err := openStore(opts.DataDir, opts.Logger)
	if err != nil {
		return nil, err
	}
	m, err := st.loadMeta()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:    opts,
		log:     opts.Logger,
		codec:   newFrameCodec(),
		http:    opts.HTTPClient,
		store:   st,
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		docs:    map[DocumentID]*docState{},
		meta:    m,
		changed: make(chan struct{}),
	}
	ids, err := st.listDocs()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := st.load(id)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		d := newDocState(id, s.doc)
		d.nextSeq, d.chunks, d.chunkBytes, d.snapBytes = s.nextSeq, s.chunks, s.chunkBytes, s.snapBytes
		d.needFull = s.chunks > 0 // fold the chunks into one snapshot on the next write
		c.docs[id] = d
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(runCtx)
	return c, nil
}

// Close stops the connection. Every change is already on disk when the call
// that made it returned, so Close has nothing to flush and returns quickly.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
		select {
		case <-c.done:
		case <-time.After(time.Second):
			c.log.Warn("keepsync: connection did not stop within 1s")
		}
	})
	return nil
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// Status reports the connection state.
func (c *Client) Status() Status {
	c.mu.Lock()
	st := Status{Connected: c.connected, ServerURL: c.opts.WSURL, Connections: c.gen}
	if c.lastErr != nil {
		st.LastError = c.lastErr.Error()
	}
	if c.graftErr != nil && c.rootPendingLocked() {
		st.RootError = c.graftErr.Error()
	}
	docs := make([]*docState, 0, len(c.docs))
	for _, d := range c.docs {
		docs = append(docs, d)
	}
	c.mu.Unlock()
	for _, d := range docs {
		d.mu.Lock()
		if !d.heardBack || !sameHeads(d.theirHeads, d.doc.Heads()) {
			st.PendingDocs++
		}
		d.mu.Unlock()
	}
	st.SentFrames = c.sentFrames.Load()
	return st
}

func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) openDocs() []*docState {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*docState, 0, len(c.docs))
	for _, d := range c.docs {
		out = append(out, d)
	}
	return out
}

func automergeSyncState(d *docState) *automerge.SyncState { return automerge.NewSyncState(d.doc) }

// register adds a document and starts syncing it if connected.
func (c *Client) register(d *docState) *docState {
	c.mu.Lock()
	if old := c.docs[d.id]; old != nil {
		c.mu.Unlock()
		return old
	}
	c.docs[d.id] = d
	gen, connected := c.gen, c.connected
	c.mu.Unlock()
	if connected {
		d.mu.Lock()
		c.startSyncLocked(d, gen)
		d.mu.Unlock()
	}
	return d
}

func (c *Client) forget(d *docState) {
	c.mu.Lock()
	if c.docs[d.id] == d {
		delete(c.docs, d.id)
	}
	c.mu.Unlock()
}

// waitDoc waits until cond holds for d. It returns early with a protocol
// error seen on the connection since the wait began, and with ErrUnavailable
// (carrying the last connection error) and ctx's error when ctx ends, so
// that errors.Is(err, context.DeadlineExceeded) tells a timeout.
func (c *Client) waitDoc(ctx context.Context, d *docState, what string, cond func(gen uint64, connected bool) (bool, error)) error {
	c.mu.Lock()
	startSeq := c.errSeq
	c.mu.Unlock()
	for {
		c.mu.Lock()
		gen, connected, cch, seq, lastErr := c.gen, c.connected, c.changed, c.errSeq, c.lastErr
		c.mu.Unlock()
		if seq != startSeq && errors.Is(lastErr, ErrProtocol) {
			return fmt.Errorf("%s: %w", what, lastErr)
		}
		d.mu.Lock()
		ok, err := cond(gen, connected)
		dch := d.changed
		d.mu.Unlock()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%w: %s: %w (last connection error: %v)", ErrUnavailable, what, ctx.Err(), lastErr)
			}
			if !connected {
				return fmt.Errorf("%w: %s: %w (not connected)", ErrUnavailable, what, ctx.Err())
			}
			return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, ctx.Err())
		case <-c.closing:
			return ErrClosed
		case <-dch:
		case <-cch:
		}
	}
}

// openDoc returns the document id, from memory, the local store, or the
// server (waiting for it). A stored document is answered at once when the
// server is unreachable.
func (c *Client) openDoc(ctx context.Context, id DocumentID) (*docState, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	c.mu.Lock()
	d := c.docs[id]
	c.mu.Unlock()
	if d == nil {
		d = c.register(newDocState(id, automerge.New()))
	}
	d.mu.Lock()
	empty := len(d.doc.Heads()) == 0
	d.mu.Unlock()
	if empty {
		err := c.waitDoc(ctx, d, "fetch document "+string(id), func(gen uint64, connected bool) (bool, error) {
			if d.err != nil && d.gen == gen {
				return false, d.err
			}
			if d.unavail && d.gen == gen {
				return false, fmt.Errorf("%w: the server does not have document %s", ErrNotFound, id)
			}
			return connected && d.syncedLocked(gen) && len(d.doc.Heads()) > 0, nil
		})
		if err != nil {
			d.mu.Lock()
			stillEmpty := len(d.doc.Heads()) == 0
			d.mu.Unlock()
			if stillEmpty {
				c.forget(d)
			}
			return nil, err
		}
		return d, nil
	}
	c.ensureFresh(ctx, d)
	return d, nil
}

// ensureFresh gives a stored document a short chance to catch up with the
// server on a new connection. It never fails: the local copy is the answer.
func (c *Client) ensureFresh(ctx context.Context, d *docState) {
	c.mu.Lock()
	connected := c.connected
	c.mu.Unlock()
	if !connected {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, c.opts.FreshWait)
	defer cancel()
	_ = c.waitDoc(wctx, d, "refresh", func(gen uint64, connected bool) (bool, error) {
		return !connected || (d.gen == gen && (d.heardBack || d.unavail || d.err != nil)), nil
	})
}

// persistLocked writes what changed in d since the last write: an
// incremental chunk, or a new snapshot when chunks piled up.
func (c *Client) persistLocked(d *docState) error {
	if d.needFull || d.chunks >= maxChunks || d.chunkBytes > max(d.snapBytes, minCompactBytes) {
		data := d.doc.Save()
		if err := c.store.writeSnapshot(d.id, data, d.nextSeq); err != nil {
			d.needFull = true
			return err
		}
		d.needFull, d.chunks, d.chunkBytes, d.snapBytes = false, 0, 0, len(data)
		return nil
	}
	inc := d.doc.SaveIncremental()
	if len(inc) == 0 {
		return nil
	}
	if err := c.store.writeChunk(d.id, d.nextSeq, inc); err != nil {
		d.needFull = true // the chunk's changes are only in memory now
		return err
	}
	d.nextSeq++
	d.chunks++
	d.chunkBytes += len(inc)
	return nil
}

// change applies fn to d and, when it changed something, commits, stores
// and sends the change. When fn fails the document goes back to its stored
// state.
func (c *Client) change(d *docState, msg string, fn func(*automerge.Doc) error) (changed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	before := d.doc.Heads()
	ok := false
	defer func() {
		if !ok {
			c.rollbackLocked(d)
		}
	}()
	if err := fn(d.doc); err != nil {
		return false, err
	}
	_, cerr := d.doc.Commit(msg)
	if sameHeads(before, d.doc.Heads()) {
		ok = true
		return false, nil
	}
	if cerr != nil {
		return false, fmt.Errorf("keepsync: commit %s: %w", d.id, cerr)
	}
	ok = true
	if err := c.persistLocked(d); err != nil {
		return true, err
	}
	c.sendSyncLocked(d)
	d.notifyLocked()
	return true, nil
}

// rollbackLocked replaces d's document by its stored state, dropping
// uncommitted operations of a failed change.
func (c *Client) rollbackLocked(d *docState) {
	doc := automerge.New()
	if s, err := c.store.load(d.id); err == nil && s != nil {
		doc = s.doc
		d.nextSeq, d.chunks, d.chunkBytes, d.snapBytes = s.nextSeq, s.chunks, s.chunkBytes, s.snapBytes
	}
	d.doc = doc
	d.needFull = true
	if d.ss != nil {
		c.startSyncLocked(d, d.gen)
	}
}

// newDoc stores a new document and starts syncing it.
func (c *Client) newDoc(doc *automerge.Doc) (*docState, error) {
	id, err := NewDocumentID()
	if err != nil {
		return nil, err
	}
	d := newDocState(id, doc)
	d.needFull = true
	d.mu.Lock()
	err = c.persistLocked(d)
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c.register(d), nil
}

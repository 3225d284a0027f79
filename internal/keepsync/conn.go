package keepsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// rootInfo is the body of /.well-known/root.json.
type rootInfo struct {
	RootID    string `json:"rootId"`
	Timestamp any    `json:"timestamp"`
}

// discoverRoot fetches the root document id from the sync server.
func (c *Client) discoverRoot(ctx context.Context) (DocumentID, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	u := c.opts.SyncURL + "/.well-known/root.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("keepsync: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: GET %s: %v", ErrUnavailable, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("%w: GET %s: %v", ErrUnavailable, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", protoErr("GET %s: HTTP %d", u, resp.StatusCode)
	}
	var ri rootInfo
	if err := json.Unmarshal(body, &ri); err != nil {
		return "", protoErr("GET %s: bad root.json: %v", u, err)
	}
	id, err := ParseDocumentID(ri.RootID)
	if err != nil {
		return "", protoErr("GET %s: bad rootId: %v", u, err)
	}
	return id, nil
}

// run keeps a connection to the server until the client closes, reconnecting
// with exponential backoff and jitter.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	backoff := c.opts.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		err := c.connectOnce(ctx)
		c.setDisconnected(err)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 2*c.opts.MaxBackoff {
			backoff = c.opts.MinBackoff
		}
		// Full jitter between backoff/2 and backoff.
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
		c.log.Debug("keepsync: reconnecting", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, c.opts.MaxBackoff)
	}
}

// connectOnce discovers the root, dials, handshakes and reads until the
// connection fails.
func (c *Client) connectOnce(ctx context.Context) error {
	rootID, err := c.discoverRoot(ctx)
	if err != nil {
		return err
	}
	dialer := websocket.Dialer{HandshakeTimeout: c.opts.DialTimeout, ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	dctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	ws, resp, err := dialer.DialContext(dctx, c.opts.WSURL, nil)
	cancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("%w: dial %s: %v", ErrUnavailable, c.opts.WSURL, err)
	}
	defer ws.Close()
	ws.SetReadLimit(c.opts.ReadLimit)

	// Close the socket when the client closes, to unblock the read.
	stop := context.AfterFunc(ctx, func() { ws.Close() })
	defer stop()

	// A new peer id for every connection: a server that still holds our
	// previous connection's sync state would think we already have what it
	// sent there, and answer nothing (both 1.x and 2.x servers do).
	self := newPeerID()
	join := Frame{Type: msgJoin, SenderID: self, PeerMetadata: &PeerMetadata{IsEphemeral: false}, SupportedProtocolVersions: []string{"1"}}
	b, err := c.codec.encode(join)
	if err != nil {
		return err
	}
	_ = ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return fmt.Errorf("%w: send join: %v", ErrUnavailable, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(c.opts.DialTimeout))
	peer, err := c.readFrame(ws)
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	switch peer.Type {
	case msgPeer:
	case msgError:
		return protoErr("server refused the connection: %s", peer.Message)
	default:
		return protoErr("handshake: expected a peer message, got %q", peer.Type)
	}
	if peer.SelectedProtocolVersion != "" && peer.SelectedProtocolVersion != "1" {
		return protoErr("server selected protocol version %q; only 1 is spoken", peer.SelectedProtocolVersion)
	}

	// The server pings every 5 s; every message or ping pushes the deadline.
	rd := &readDeadline{ws: ws, timeout: c.opts.ReadTimeout}
	extend := rd.alive
	extend()
	ws.SetPingHandler(func(data string) error {
		extend()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.opts.WriteTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})

	gen := c.setConnected(ws, rd, self, peer.SenderID, rootID)
	c.log.Info("keepsync: connected", "url", c.opts.WSURL, "server", peer.SenderID)
	go c.afterConnect(ctx, gen, rootID)

	// Frames are handled on a goroutine of their own: handling one waits for
	// its document's lock, which a long local change (thousands of places)
	// holds for seconds, and the read loop must go on reading meanwhile, or
	// the server's pings go unanswered and it drops the connection.
	frames := make(chan Frame, maxQueuedFrames)
	failed := make(chan error, 1)
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		for f := range frames {
			if err := c.handleFrame(gen, f); err != nil {
				failed <- err
				ws.Close() // ends the read loop
				for range frames {
				}
				return
			}
		}
	}()
	defer func() {
		close(frames)
		<-handled
	}()
	for {
		f, err := c.readFrame(ws)
		if err != nil {
			select {
			case herr := <-failed:
				return herr
			default:
			}
			if ctx.Err() != nil {
				return ErrClosed
			}
			return err
		}
		extend()
		frames <- f
	}
}

// maxQueuedFrames bounds the frames read but not handled yet. The server
// sends a few frames per document and round; when the queue is full the
// read loop waits.
const maxQueuedFrames = 1024

func (c *Client) readFrame(ws *websocket.Conn) (Frame, error) {
	mt, data, err := ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return Frame{}, fmt.Errorf("%w: server closed the connection: %v", ErrUnavailable, ce)
		}
		if errors.Is(err, websocket.ErrReadLimit) {
			return Frame{}, protoErr("frame larger than the read limit (%d bytes)", c.opts.ReadLimit)
		}
		return Frame{}, fmt.Errorf("%w: read: %v", ErrUnavailable, err)
	}
	if mt != websocket.BinaryMessage {
		return Frame{}, protoErr("unexpected non-binary WebSocket message")
	}
	return c.codec.decode(data)
}

// handleFrame processes one frame from the server. An error return ends the
// connection.
func (c *Client) handleFrame(gen uint64, f Frame) error {
	switch f.Type {
	case msgSync, msgRequest:
		d := c.lookup(f.DocumentID)
		if d == nil {
			c.log.Debug("keepsync: message for a document not open", "type", f.Type, "doc", f.DocumentID)
			return nil
		}
		c.receiveSync(gen, d, f.Data)
	case msgUnavailable:
		if d := c.lookup(f.DocumentID); d != nil {
			d.mu.Lock()
			if d.gen == gen {
				d.unavail = true
				d.notifyLocked()
			}
			d.mu.Unlock()
		}
	case msgError:
		return protoErr("server sent an error: %s", f.Message)
	case msgPeer:
	default:
		if ignoredTypes[f.Type] {
			return nil
		}
		// A v1 server has no other messages. Fail the document it names, if
		// we wait on it; otherwise note it and go on.
		if d := c.lookup(f.DocumentID); d != nil {
			d.mu.Lock()
			d.err = protoErr("unexpected %q message for document %s", f.Type, d.id)
			d.notifyLocked()
			d.mu.Unlock()
			return nil
		}
		c.log.Warn("keepsync: ignoring unknown message", "type", f.Type)
	}
	return nil
}

func (c *Client) lookup(docID string) *docState {
	id, err := ParseDocumentID(docID)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs[id]
}

// receiveSync applies a sync message from the server and answers it.
func (c *Client) receiveSync(gen uint64, d *docState, data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gen != gen || d.ss == nil {
		return
	}
	before := d.doc.Heads()
	heads, err := receive(d.ss, data)
	if err != nil {
		d.err = protoErr("document %s: %v", d.id, err)
		c.log.Warn("keepsync: bad sync message", "doc", d.id, "err", err)
		d.notifyLocked()
		return
	}
	d.err = nil
	d.theirHeads = heads
	d.heardBack = true
	if !sameHeads(before, d.doc.Heads()) {
		if err := c.persistLocked(d); err != nil {
			c.log.Error("keepsync: cannot store received changes", "doc", d.id, "err", err)
		}
	}
	c.sendSyncLocked(d)
	d.notifyLocked()
}

// startSyncLocked gives d a fresh sync state on connection gen and sends the
// first message: request when we have nothing, sync otherwise.
func (c *Client) startSyncLocked(d *docState, gen uint64) {
	d.ss = automergeSyncState(d)
	d.gen = gen
	d.theirHeads = nil
	d.heardBack = false
	d.unavail = false
	d.err = nil
	c.sendSyncLocked(d)
	d.notifyLocked()
}

// sendSyncLocked sends whatever the sync state has to say, if connected.
func (c *Client) sendSyncLocked(d *docState) {
	if d.ss == nil {
		return
	}
	typ := msgSync
	if len(d.doc.Heads()) == 0 {
		typ = msgRequest
	}
	msg, err := generate(d.ss)
	if err != nil {
		d.err = fmt.Errorf("keepsync: document %s: %w", d.id, err)
		return
	}
	if msg == nil {
		return
	}
	c.send(d.gen, Frame{Type: typ, TargetID: c.serverPeer(), DocumentID: string(d.id), Data: msg})
}

// send writes a frame on connection gen, as our peer on it; frames for an
// older connection are dropped (the next connection re-syncs everything).
func (c *Client) send(gen uint64, f Frame) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	ws, rd, cur := c.ws, c.rd, c.gen
	f.SenderID = c.self
	c.mu.Unlock()
	if ws == nil || cur != gen {
		return
	}
	b, err := c.codec.encode(f)
	if err != nil {
		c.log.Error("keepsync: encode frame", "err", err)
		return
	}
	_ = ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.log.Warn("keepsync: write failed; reconnecting", "err", err)
		ws.Close() // ends the read loop, which reconnects
		return
	}
	rd.sent(len(b))
	c.sentFrames.Add(1)
}

// Applying a large sync message can keep the server busy for long: the JS
// server (automerge-repo 1.x on Automerge 2.2) applies the changes of 11 MB
// of sync message, 20,000 places in four changes, in about 30 s, without a
// word and without pinging (its event loop is busy). Dropping the
// connection then only makes it start over with the same message, forever.
const (
	applyTimePerMB = 10 * time.Second // silence allowed per MB sent
	maxApplyGrace  = 10 * time.Minute
)

// readDeadline is a connection's read deadline: ReadTimeout after the last
// sign of life from the server, and never before the time the server may
// need to apply what we last sent.
type readDeadline struct {
	ws      interface{ SetReadDeadline(time.Time) error }
	timeout time.Duration

	mu    sync.Mutex
	quiet time.Time
}

// alive pushes the deadline after a message or ping from the server.
func (r *readDeadline) alive() {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := time.Now().Add(r.timeout)
	if t.Before(r.quiet) {
		t = r.quiet
	}
	_ = r.ws.SetReadDeadline(t)
}

// sent allows the server time to apply n bytes we just sent.
func (r *readDeadline) sent(n int) {
	if r == nil {
		return
	}
	grace := min(time.Duration(float64(applyTimePerMB)*float64(n)/(1<<20)), maxApplyGrace)
	r.mu.Lock()
	defer r.mu.Unlock()
	if q := time.Now().Add(r.timeout + grace); q.After(r.quiet) {
		r.quiet = q
		_ = r.ws.SetReadDeadline(q)
	}
}

func (c *Client) setConnected(ws *websocket.Conn, rd *readDeadline, self, server string, rootID DocumentID) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.ws = ws
	c.self = self
	c.rd = rd
	c.server = server
	c.connected = true
	c.lastErr = nil
	c.discovered = rootID
	c.notifyLocked()
	return c.gen
}

func (c *Client) setDisconnected(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws = nil
	c.rd = nil
	c.connected = false
	if err != nil && !errors.Is(err, ErrClosed) {
		c.lastErr = err
		c.errSeq++
		c.log.Warn("keepsync: disconnected", "err", err)
	}
	c.notifyLocked()
}

func (c *Client) serverPeer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// afterConnect re-syncs every open document with a fresh sync state (the
// server resumes nothing) and adopts the server's root.
func (c *Client) afterConnect(ctx context.Context, gen uint64, rootID DocumentID) {
	for _, d := range c.openDocs() {
		d.mu.Lock()
		c.startSyncLocked(d, gen)
		d.mu.Unlock()
	}
	c.attachRoot(ctx, gen, rootID)
}

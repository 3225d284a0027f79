package keepsync

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	"github.com/automerge/automerge-go"
)

// docState is one document: its Automerge doc, its sync state with the
// server on the current connection and what the server last told us. One
// mutex guards it all, shared by the read loop and local edits, because
// automerge-go's Doc and SyncState are not safe for concurrent use as a pair.
type docState struct {
	id DocumentID

	mu         sync.Mutex
	doc        *automerge.Doc
	ss         *automerge.SyncState // nil while not connected
	gen        uint64               // connection generation ss belongs to
	theirHeads []automerge.ChangeHash
	heardBack  bool // the server answered on this connection
	unavail    bool // the server said doc-unavailable on this connection
	err        error
	changed    chan struct{} // closed and replaced on every change of state

	// store bookkeeping
	nextSeq    int
	chunks     int
	chunkBytes int
	snapBytes  int
	needFull   bool
}

func newDocState(id DocumentID, doc *automerge.Doc) *docState {
	return &docState{id: id, doc: doc, changed: make(chan struct{})}
}

// notifyLocked wakes every waiter. d.mu must be held.
func (d *docState) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// syncedLocked reports whether the server holds exactly our heads on
// connection gen.
func (d *docState) syncedLocked(gen uint64) bool {
	if d.ss == nil || d.gen != gen || !d.heardBack {
		return false
	}
	return sameHeads(d.theirHeads, d.doc.Heads())
}

func sameHeads(a, b []automerge.ChangeHash) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]automerge.ChangeHash(nil), a...)
	y := append([]automerge.ChangeHash(nil), b...)
	less := func(s []automerge.ChangeHash) func(i, j int) bool {
		return func(i, j int) bool { return bytes.Compare(s[i][:], s[j][:]) < 0 }
	}
	sort.Slice(x, less(x))
	sort.Slice(y, less(y))
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// generate wraps SyncState.GenerateMessage, whose wrapper panics on an
// internal error, and returns the bytes to send (nil when in sync).
func generate(ss *automerge.SyncState) (msg []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("generate sync message: %v", r)
		}
	}()
	sm, ok := ss.GenerateMessage()
	if !ok {
		return nil, nil
	}
	return sm.Bytes(), nil
}

// receive wraps SyncState.ReceiveMessage and returns the heads the peer
// reported.
func receive(ss *automerge.SyncState, data []byte) (heads []automerge.ChangeHash, err error) {
	defer func() {
		if r := recover(); r != nil {
			heads, err = nil, fmt.Errorf("receive sync message: %v", r)
		}
	}()
	if len(data) > 0 && data[0] != 0x42 {
		return nil, fmt.Errorf("unsupported sync message version 0x%02x (only v1, 0x42, is spoken)", data[0])
	}
	sm, err := ss.ReceiveMessage(data)
	if err != nil {
		return nil, err
	}
	return sm.Heads(), nil
}

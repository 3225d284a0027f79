package keepsync_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/gorilla/websocket"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
)

// brokenServer is a fake of a *broken* sync server, for error paths only:
// it serves root.json and a WebSocket that misbehaves in one chosen way.
// Every positive-path test runs against the real servers.
type brokenServer struct {
	rootJSON  string
	handshake func(ws *websocket.Conn) // replaces the peer answer when set
	onDoc     func(ws *websocket.Conn, f keepsync.Frame)
}

func (b *brokenServer) start(t *testing.T) string {
	t.Helper()
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/root.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(b.rootJSON))
	})
	mux.HandleFunc("/sync", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		join, err := keepsync.DecodeFrame(data)
		if err != nil || join.Type != "join" {
			return
		}
		if b.handshake != nil {
			b.handshake(ws)
			return
		}
		send(ws, keepsync.Frame{Type: "peer", SenderID: "sync-server-fake", TargetID: join.SenderID, PeerMetadata: &keepsync.PeerMetadata{StorageID: "x"}, SelectedProtocolVersion: "1"})
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			f, err := keepsync.DecodeFrame(data)
			if err != nil {
				return
			}
			if b.onDoc != nil {
				b.onDoc(ws, f)
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func send(ws *websocket.Conn, f keepsync.Frame) {
	b, err := keepsync.EncodeFrame(f)
	if err != nil {
		panic(err)
	}
	ws.WriteMessage(websocket.BinaryMessage, b)
}

func sendRaw(ws *websocket.Conn, v any) {
	b, _ := cbor.Marshal(v)
	ws.WriteMessage(websocket.BinaryMessage, b)
}

func TestBrokenServers(t *testing.T) {
	rootID, err := keepsync.NewDocumentID()
	if err != nil {
		t.Fatal(err)
	}
	goodRoot := `{"rootId":"` + string(rootID) + `","timestamp":1}`
	cases := []struct {
		name    string
		srv     brokenServer
		wantErr error
		wantMsg string
	}{
		{
			name: "malformed CBOR",
			srv: brokenServer{rootJSON: goodRoot, onDoc: func(ws *websocket.Conn, f keepsync.Frame) {
				ws.WriteMessage(websocket.BinaryMessage, []byte{0xbf, 0x61, 0x74, 0xff, 0x00})
			}},
			wantErr: keepsync.ErrProtocol, wantMsg: "malformed",
		},
		{
			name: "unknown message type",
			srv: brokenServer{rootJSON: goodRoot, onDoc: func(ws *websocket.Conn, f keepsync.Frame) {
				sendRaw(ws, map[string]any{"type": "teleport", "documentId": f.DocumentID, "senderId": "s"})
			}},
			wantErr: keepsync.ErrProtocol, wantMsg: "teleport",
		},
		{
			name: "v2 sync message",
			srv: brokenServer{rootJSON: goodRoot, onDoc: func(ws *websocket.Conn, f keepsync.Frame) {
				send(ws, keepsync.Frame{Type: "sync", SenderID: "s", DocumentID: f.DocumentID, Data: []byte{0x43, 0, 0, 0, 0}})
			}},
			wantErr: keepsync.ErrProtocol, wantMsg: "version 0x43",
		},
		{
			name: "garbage v1 sync message",
			srv: brokenServer{rootJSON: goodRoot, onDoc: func(ws *websocket.Conn, f keepsync.Frame) {
				send(ws, keepsync.Frame{Type: "sync", SenderID: "s", DocumentID: f.DocumentID, Data: []byte{0x42, 0xff, 0xff, 0xff}})
			}},
			wantErr: keepsync.ErrProtocol,
		},
		{
			name: "error frame",
			srv: brokenServer{rootJSON: goodRoot, onDoc: func(ws *websocket.Conn, f keepsync.Frame) {
				send(ws, keepsync.Frame{Type: "error", SenderID: "s", Message: "something broke"})
				ws.Close()
			}},
			wantErr: keepsync.ErrProtocol, wantMsg: "something broke",
		},
		{
			name: "error instead of peer",
			srv: brokenServer{rootJSON: goodRoot, handshake: func(ws *websocket.Conn) {
				send(ws, keepsync.Frame{Type: "error", SenderID: "s", Message: "unsupported protocol version"})
			}},
			wantErr: keepsync.ErrProtocol, wantMsg: "unsupported protocol version",
		},
		{
			name:    "close mid-sync",
			srv:     brokenServer{rootJSON: goodRoot, onDoc: func(ws *websocket.Conn, f keepsync.Frame) { ws.Close() }},
			wantErr: keepsync.ErrUnavailable, wantMsg: "deadline",
		},
		{
			name:    "bad root.json",
			srv:     brokenServer{rootJSON: `{"rootId": 12`},
			wantErr: keepsync.ErrProtocol, wantMsg: "root.json",
		},
		{
			name:    "root.json with a bad id",
			srv:     brokenServer{rootJSON: `{"rootId":"../../etc"}`},
			wantErr: keepsync.ErrProtocol, wantMsg: "rootId",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.srv.start(t)
			c, err := keepsync.Open(context.Background(), keepsync.Options{SyncURL: url, DataDir: t.TempDir(), Logger: testLogger(t), MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			_, err = c.ReadDoc(ctx, "/anything")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ReadDoc error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

func TestServerDownWritesLocally(t *testing.T) {
	// Nothing listens on this address: every write goes to the local store.
	ln := httptest.NewServer(http.NotFoundHandler())
	url := ln.URL
	ln.Close()
	dataDir := t.TempDir()
	c, err := keepsync.Open(context.Background(), keepsync.Options{SyncURL: url, DataDir: dataDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open must not fail when the server is down: %v", err)
	}
	ctx := ctxT(t, 10*time.Second)
	if err := c.WriteDoc(ctx, "/a/b", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c2, err := keepsync.Open(context.Background(), keepsync.Options{SyncURL: url, DataDir: dataDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, err := c2.ReadDoc(ctx, "/a/b")
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "offline read after restart", got, map[string]any{"k": "v"})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err = c2.WaitSynced(short, "/a/b")
	if !errors.Is(err, keepsync.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSynced with the server down: %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
	if _, err := c2.Ls(ctx, "/a/b"); !errors.Is(err, keepsync.ErrNotADirectory) {
		t.Fatalf("Ls of a document: %v", err)
	}
	ents, err := c2.Ls(ctx, "/")
	if err != nil || len(ents) != 1 || ents[0].Name != "a" || ents[0].Type != keepsync.TypeDir {
		t.Fatalf("Ls / = %+v, %v", ents, err)
	}
	if err := c2.Rm(ctx, "/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.ReadDoc(ctx, "/a/b"); !errors.Is(err, keepsync.ErrNotFound) {
		t.Fatalf("ReadDoc after Rm: %v", err)
	}
}

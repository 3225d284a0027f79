package keepsync_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
	"github.com/tonk-labs/locations-worker/internal/synctest/proxy"
)

func TestConcurrentEditsBothSurvive(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			c := openClient(t, srv.URL, t.TempDir())
			ctx := ctxT(t, 90*time.Second)
			const p = "/shared/doc"
			if err := c.WriteDoc(ctx, p, map[string]any{"base": "v0"}); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, p); err != nil {
				t.Fatal(err)
			}
			js := srv.JSClient(t)
			var wg sync.WaitGroup
			var jsErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				jsErr = js.EditField(p, "fromJS", "js was here")
			}()
			for i := 0; i < 5; i++ {
				if _, err := c.Update(ctx, p, func(doc *automerge.Doc) error {
					_, err := keepsync.SetValue(doc.RootMap(), "fromGo", fmt.Sprintf("go edit %d", i))
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
			if jsErr != nil {
				t.Fatal(jsErr)
			}
			want := map[string]any{"base": "v0", "fromJS": "js was here", "fromGo": "go edit 4"}
			eventually(t, ctx, func() error {
				got, err := c.ReadDoc(ctx, p)
				if err != nil {
					return err
				}
				if m, _ := got.(map[string]any); m["fromJS"] != "js was here" {
					return fmt.Errorf("Go sees %v", got)
				}
				return nil
			})
			got, _ := c.ReadDoc(ctx, p)
			assertSame(t, "Go view after concurrent edits", got, want)
			if err := c.WaitSynced(ctx, p); err != nil {
				t.Fatal(err)
			}
			jsGot, err := js.ReadPath(p)
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "JS view after concurrent edits", jsGot, want)
		})
	}
}

func bigDoc(n int) map[string]any {
	entries := make(map[string]any, n)
	for i := 0; i < n; i++ {
		entries[fmt.Sprintf("place-%05d", i)] = map[string]any{
			"title":   fmt.Sprintf("Place %d", i),
			"address": fmt.Sprintf("%d Long Street, Town", i),
			"lat":     51.0 + float64(i)/100000,
			"lng":     -0.5 + float64(i)/100000,
			"rank":    int64(i),
			"open":    i%2 == 0,
			"list":    "Favourites",
			"url":     fmt.Sprintf("https://maps.example/?cid=%d", i),
		}
	}
	return map[string]any{"places": entries}
}

func TestLargeDocumentBothWays(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	ctx := ctxT(t, 3*time.Minute)
	want := bigDoc(10000)

	c := openClient(t, srv.URL, t.TempDir())
	if err := c.WriteDoc(ctx, "/big/from-go", want); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSynced(ctx, "/big/from-go"); err != nil {
		t.Fatal(err)
	}
	js := srv.JSClient(t)
	got, err := js.ReadPath("/big/from-go")
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "JS read of 10,000 entries", got, want)

	if err := js.WritePath("/big/from-js", want); err != nil {
		t.Fatal(err)
	}
	fresh := openClient(t, srv.URL, t.TempDir())
	got2, err := fresh.ReadDoc(ctx, "/big/from-js")
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "Go read of 10,000 entries", got2, want)
}

func TestServerRestartMidSession(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			c := openClient(t, srv.URL, t.TempDir())
			ctx := ctxT(t, 90*time.Second)
			const p = "/outage/doc"
			if err := c.WriteDoc(ctx, p, map[string]any{"phase": "before"}); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, p); err != nil {
				t.Fatal(err)
			}

			srv.Stop()
			eventually(t, ctx, func() error {
				if c.Status().Connected {
					return fmt.Errorf("still connected")
				}
				return nil
			})
			// Written while the server is down: on disk, pending.
			if err := c.WriteDoc(ctx, p, map[string]any{"phase": "during outage"}); err != nil {
				t.Fatal(err)
			}
			if c.Status().PendingDocs == 0 {
				t.Fatal("no pending document after an offline write")
			}
			srv.Restart()
			if err := c.WaitSynced(ctx, p); err != nil {
				t.Fatal(err)
			}
			got, err := srv.JSClient(t).ReadPath(p)
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "JS read after the outage", got, map[string]any{"phase": "during outage"})

			// The client subscribed again: a JS edit reaches it without asking.
			if err := srv.JSClient(t).EditField(p, "phase", "after"); err != nil {
				t.Fatal(err)
			}
			eventually(t, ctx, func() error {
				got, err := c.ReadDoc(ctx, p)
				if err != nil {
					return err
				}
				if got.(map[string]any)["phase"] != "after" {
					return fmt.Errorf("Go sees %v", got)
				}
				return nil
			})
		})
	}
}

func TestClientRestartWhileServerDown(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			dataDir := t.TempDir()
			ctx := ctxT(t, 90*time.Second)
			const p = "/offline/doc"

			c1 := openClient(t, srv.URL, dataDir)
			if err := c1.WriteDoc(ctx, p, map[string]any{"v": int64(1)}); err != nil {
				t.Fatal(err)
			}
			if err := c1.WriteDoc(ctx, "/offline/untouched", map[string]any{"keep": "me"}); err != nil {
				t.Fatal(err)
			}
			if err := c1.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			c1.Close()
			srv.Stop()

			// Server down: a new process reads from its store and writes to it.
			c2 := openClient(t, srv.URL, dataDir)
			got, err := c2.ReadDoc(ctx, "/offline/untouched")
			if err != nil {
				t.Fatalf("read from the local store without a server: %v", err)
			}
			assertSame(t, "offline read", got, map[string]any{"keep": "me"})
			if err := c2.WriteDoc(ctx, p, map[string]any{"v": int64(2), "offline": true}); err != nil {
				t.Fatal(err)
			}
			if st := c2.Status(); st.Connected || st.LastError == "" {
				t.Fatalf("status while the server is down: %+v", st)
			}
			c2.Close()

			srv.Restart()
			c3 := openClient(t, srv.URL, dataDir)
			if err := c3.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			jsGot, err := srv.JSClient(t).ReadPath(p)
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "JS read of changes made offline", jsGot, map[string]any{"v": 2, "offline": true})
		})
	}
}

func TestNoOpUpdateSendsNothing(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	c := openClient(t, srv.URL, t.TempDir())
	ctx := ctxT(t, 60*time.Second)
	const p = "/noop/doc"
	if err := c.WriteDoc(ctx, p, map[string]any{"a": "x", "n": int64(1), "m": map[string]any{"k": 1.5}}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSynced(ctx, p); err != nil {
		t.Fatal(err)
	}
	heads, _ := c.Heads(ctx, p)
	sent := c.Status().SentFrames
	changed, err := c.Update(ctx, p, func(doc *automerge.Doc) error {
		for k, v := range map[string]any{"a": "x", "n": 1, "m": map[string]any{"k": 1.5}} {
			if _, err := keepsync.SetValue(doc.RootMap(), k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || changed {
		t.Fatalf("no-op Update: changed=%v err=%v", changed, err)
	}
	if err := c.WriteDoc(ctx, p, map[string]any{"a": "x", "n": int64(1), "m": map[string]any{"k": 1.5}}); err != nil {
		t.Fatal(err)
	}
	after, _ := c.Heads(ctx, p)
	if fmt.Sprint(after) != fmt.Sprint(heads) || c.Status().SentFrames != sent {
		t.Fatalf("a no-op changed heads (%v -> %v) or sent frames (%d -> %d)", heads, after, sent, c.Status().SentFrames)
	}
	// A failing change function leaves nothing behind.
	boom := fmt.Errorf("boom")
	if _, err := c.Update(ctx, p, func(doc *automerge.Doc) error {
		_ = doc.RootMap().Set("half", "done")
		return boom
	}); err != boom {
		t.Fatalf("Update error = %v", err)
	}
	got, _ := c.ReadDoc(ctx, p)
	if _, ok := got.(map[string]any)["half"]; ok {
		t.Fatalf("a failed change left data: %v", got)
	}
	_ = context.Background
}

// A long local change holds its document's lock for seconds (a first
// import of thousands of places). A frame for that document arriving
// meanwhile must not stop the read loop: the server pings every 5 s and
// drops a connection whose pongs stop.
func TestLongChangeKeepsTheConnection(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	c := openClient(t, srv.URL, t.TempDir())
	ctx := ctxT(t, 90*time.Second)
	const p = "/long/change"
	if err := c.WriteDoc(ctx, p, map[string]any{"n": int64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSynced(ctx, p); err != nil {
		t.Fatal(err)
	}
	conns := c.Status().Connections

	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := c.Update(ctx, p, func(doc *automerge.Doc) error {
			close(started)
			time.Sleep(14 * time.Second) // two missed pings and more
			return doc.RootMap().Set("go", automerge.NewText("local"))
		})
		done <- err
	}()
	<-started
	// The server forwards this edit to us while the change holds the lock.
	if err := srv.JSClient(t).EditField(p, "js", "remote"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSynced(ctx, p); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); st.Connections != conns || !st.Connected {
		t.Errorf("the connection dropped during the change: %d connections, then %d (%+v)", conns, st.Connections, st)
	}
	got, err := srv.JSClient(t).ReadPath(p)
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "both edits", got, map[string]any{"n": 1, "js": "remote", "go": "local"})
}

// The network drops while the server goes on running: the client
// reconnects, and a change made afterwards reaches the server, which still
// remembers the client's previous connection.
func TestReconnectToARunningServer(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			px, err := proxy.Start(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { px.Close() })
			c := openClient(t, "http://"+px.Addr(), t.TempDir())
			ctx := ctxT(t, 60*time.Second)
			const p = "/cut/doc"
			if err := c.WriteDoc(ctx, p, map[string]any{"v": int64(1)}); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, p); err != nil {
				t.Fatal(err)
			}
			px.Cut()
			eventually(t, ctx, func() error {
				if st := c.Status(); st.Connections < 2 || !st.Connected {
					return fmt.Errorf("not reconnected: %+v", st)
				}
				return nil
			})
			if err := c.WriteDoc(ctx, p, map[string]any{"v": int64(2)}); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, p); err != nil {
				t.Fatalf("after the reconnect: %v (%+v)", err, c.Status())
			}
			got, err := srv.JSClient(t).ReadPath(p)
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "JS read after the reconnect", got, map[string]any{"v": 2})
			if st := c.Status(); st.PendingDocs != 0 {
				t.Errorf("documents still pending after the reconnect: %+v", st)
			}
		})
	}
}

package keepsync_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
)

// seedRoot gives the stopped server srv a root document built by fill
// (nothing: an empty document, one empty change) and returns its id.
func seedRoot(t *testing.T, srv *synctest.Server, fill func(*automerge.Doc) error) string {
	t.Helper()
	doc := automerge.New()
	if fill != nil {
		if err := fill(doc); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := doc.Commit("seed", automerge.CommitOptions{AllowEmpty: true}); err != nil {
		t.Fatal(err)
	}
	id, err := keepsync.NewDocumentID()
	if err != nil {
		t.Fatal(err)
	}
	srv.SeedRoot(t, string(id), doc.Save())
	return string(id)
}

func jsNames(t *testing.T, js *synctest.JSClient, path string) []string {
	t.Helper()
	ents, err := js.Ls(path)
	if err != nil {
		t.Fatalf("JS ls %s: %v", path, err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, fmt.Sprint(e["name"]))
	}
	sort.Strings(names)
	return names
}

// A server stopped right after creating its root can keep an empty root
// document (automerge-repo 1.x stores the empty first change at once and
// the content later). A tree made offline must still get into it, and
// WaitSynced must return only once a JS app finds the document there.
func TestOfflineTreeGraftsIntoEmptyServerRoot(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			srv.Stop()
			rootID := seedRoot(t, srv, nil)

			ctx := ctxT(t, 90*time.Second)
			c := openClient(t, srv.URL, t.TempDir())
			want := sampleDoc()
			if err := c.WriteDoc(ctx, "/google-maps/places", want); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteDoc(ctx, "/other/doc", map[string]any{"n": int64(1)}); err != nil {
				t.Fatal(err)
			}

			srv.Restart()
			if err := c.WaitSynced(ctx, "/google-maps/places"); err != nil {
				t.Fatal(err)
			}
			js := srv.JSClient(t)
			got, err := js.ReadPath("/google-maps/places")
			if err != nil {
				t.Fatalf("JS read right after WaitSynced: %v", err)
			}
			assertSame(t, "JS read", got, want)
			if err := c.WaitSynced(ctx, "/other/doc"); err != nil {
				t.Fatal(err)
			}
			if names := jsNames(t, js, "/"); strings.Join(names, ",") != "google-maps,other" {
				t.Fatalf("root entries as JS sees them: %v", names)
			}
			if got := srv.RootID(t); got != rootID {
				t.Fatalf("the server replaced its root: %s, was %s", got, rootID)
			}
			// The client works under the server's root now: a new write
			// lands there at once.
			if err := c.WriteDoc(ctx, "/after/doc", map[string]any{"v": "x"}); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, "/after/doc"); err != nil {
				t.Fatal(err)
			}
			if _, err := js.ReadPath("/after/doc"); err != nil {
				t.Fatalf("JS read of a write made after the graft: %v", err)
			}
		})
	}
}

// A server root that JS apps filled keeps every entry and gains ours; a
// directory on both sides gets the union, a document on both sides gets
// our values on top of theirs.
func TestFirstRunOfflineGraftsIntoServerRoot(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			js := srv.JSClient(t)
			if err := js.WritePath("/shared/theirs", map[string]any{"by": "js"}); err != nil {
				t.Fatal(err)
			}
			if err := js.WritePath("/both", map[string]any{"a": "js", "b": "js"}); err != nil {
				t.Fatal(err)
			}
			if err := js.WritePath("/theirs-only", map[string]any{"k": "v"}); err != nil {
				t.Fatal(err)
			}
			srv.Stop()

			dataDir := t.TempDir()
			ctx := ctxT(t, 90*time.Second)
			c := openClient(t, srv.URL, dataDir)
			if err := c.WriteDoc(ctx, "/shared/ours", map[string]any{"by": "go"}); err != nil {
				t.Fatal(err)
			}
			if err := c.WriteDoc(ctx, "/both", map[string]any{"b": "go", "c": "go"}); err != nil {
				t.Fatal(err)
			}
			c.Close()

			// A new process finds the provisional tree in its store.
			srv.Restart()
			c = openClient(t, srv.URL, dataDir)
			for _, p := range []string{"/shared/ours", "/both"} {
				if err := c.WaitSynced(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.ReadDoc(ctx, "/shared/theirs"); err != nil {
				t.Fatalf("the server's tree is not the one the client sees: %v", err)
			}
			for p, want := range map[string]any{
				"/shared/theirs": map[string]any{"by": "js"},
				"/shared/ours":   map[string]any{"by": "go"},
				"/both":          map[string]any{"a": "js", "b": "go", "c": "go"},
				"/theirs-only":   map[string]any{"k": "v"},
			} {
				got, err := js.ReadPath(p)
				if err != nil {
					t.Fatalf("JS read %s: %v", p, err)
				}
				assertSame(t, "JS read of "+p, got, want)
			}
			if names := jsNames(t, js, "/"); strings.Join(names, ",") != "both,shared,theirs-only" {
				t.Fatalf("root entries as JS sees them: %v", names)
			}
			if names := jsNames(t, js, "/shared"); strings.Join(names, ",") != "ours,theirs" {
				t.Fatalf("/shared entries as JS sees them: %v", names)
			}
		})
	}
}

// A server root that really is not a directory is left alone: the local
// tree stays readable and writable, and the client says why it waits.
func TestServerRootNotADirectoryKeepsLocalTree(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	srv.Stop()
	seedRoot(t, srv, func(doc *automerge.Doc) error {
		if err := doc.RootMap().Set("type", automerge.NewText("doc")); err != nil {
			return err
		}
		return doc.RootMap().Set("title", automerge.NewText("not a tree"))
	})
	ctx := ctxT(t, 90*time.Second)
	c := openClient(t, srv.URL, t.TempDir())
	if err := c.WriteDoc(ctx, "/keep/me", map[string]any{"v": int64(1)}); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	eventually(t, ctx, func() error {
		if st := c.Status(); !strings.Contains(st.RootError, "not a directory") {
			return fmt.Errorf("status: %+v", st)
		}
		return nil
	})
	if err := c.WriteDoc(ctx, "/keep/me", map[string]any{"v": int64(2)}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadDoc(ctx, "/keep/me")
	if err != nil {
		t.Fatal(err)
	}
	assertSame(t, "local read", got, map[string]any{"v": int64(2)})
	// WaitSynced does not claim what a JS app could not see.
	wctx := ctxT(t, 2*time.Second)
	if err := c.WaitSynced(wctx, "/keep/me"); !errors.Is(err, keepsync.ErrUnavailable) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("WaitSynced = %v", err)
	}
}

package keepsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
)

var harnesses = []synctest.Harness{synctest.V1, synctest.V2}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("KEEPSYNC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func openClient(t testing.TB, syncURL, dataDir string) *keepsync.Client {
	t.Helper()
	c, err := keepsync.Open(context.Background(), keepsync.Options{
		SyncURL:    syncURL,
		DataDir:    dataDir,
		Logger:     testLogger(t),
		MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// jsonish turns v into what encoding/json would read back with UseNumber,
// so Go values and JS output compare.
func jsonish(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	dec := json.NewDecoder(bytesReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func assertSame(t testing.TB, what string, got, want any) {
	t.Helper()
	g, w := jsonish(t, got), jsonish(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if len(gb) > 2000 {
			gb = append(gb[:2000], "..."...)
		}
		if len(wb) > 2000 {
			wb = append(wb[:2000], "..."...)
		}
		t.Fatalf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

// eventually polls f until it returns nil or ctx ends; the last error fails
// the test. Used where a change travels through the server to a live client.
func eventually(t testing.TB, ctx context.Context, f func() error) {
	t.Helper()
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("still failing at the deadline: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func sampleDoc() map[string]any {
	return map[string]any{
		"title":   "Café Ñandú",
		"count":   int64(42),
		"rating":  4.5,
		"visited": true,
		"note":    nil,
		"tags":    []any{"coffee", "wifi"},
		"address": map[string]any{"street": "1 Main St", "zip": "12345", "geo": map[string]any{"lat": 51.5, "lng": -0.12}},
	}
}

func TestGoWritesJSReads(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			c := openClient(t, srv.URL, t.TempDir())
			ctx := ctxT(t, 60*time.Second)
			if err := c.WriteDoc(ctx, "/apps/test/places", sampleDoc()); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, "/apps/test/places"); err != nil {
				t.Fatal(err)
			}
			got, err := srv.JSClient(t).ReadPath("/apps/test/places")
			if err != nil {
				t.Fatal(err)
			}
			// Equality also proves every string reads as typeof 'string':
			// a scalar string would come back as {"$notAString": ...}.
			assertSame(t, "JS read of a Go-written doc", got, sampleDoc())

			// The directories Go created look to JS like keepsync's own.
			for _, dir := range []string{"/", "/apps", "/apps/test"} {
				ents, err := srv.JSClient(t).Ls(dir)
				if err != nil {
					t.Fatalf("JS ls %s: %v", dir, err)
				}
				if len(ents) != 1 {
					t.Fatalf("JS ls %s: %v", dir, ents)
				}
				e := ents[0]
				for _, k := range []string{"name", "type", "pointer"} {
					if _, ok := e[k].(string); !ok {
						t.Fatalf("JS ls %s: %s is %#v, not a JS string", dir, k, e[k])
					}
				}
				ts, _ := e["timestamps"].(map[string]any)
				if _, ok := ts["create"].(float64); !ok {
					t.Fatalf("JS ls %s: timestamps %#v", dir, e["timestamps"])
				}
			}
		})
	}
}

func TestJSWritesGoReads(t *testing.T) {
	for _, h := range harnesses {
		t.Run(string(h), func(t *testing.T) {
			srv := synctest.StartServer(t, h)
			js := srv.JSClient(t)
			want := map[string]any{"name": "from js", "n": 7, "f": 0.25, "list": []any{"a", 1, map[string]any{"k": "v"}}, "nested": map[string]any{"deep": map[string]any{"x": "y"}}}
			if err := js.WritePath("/js/made/this", want); err != nil {
				t.Fatal(err)
			}
			c := openClient(t, srv.URL, t.TempDir())
			ctx := ctxT(t, 60*time.Second)
			got, err := c.ReadDoc(ctx, "/js/made/this")
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "Go read of a JS-written doc", got, want)
			ents, err := c.Ls(ctx, "/js/made")
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 1 || ents[0].Name != "this" || ents[0].Type != keepsync.TypeDoc || ents[0].Created.IsZero() {
				t.Fatalf("Ls /js/made = %+v", ents)
			}
			if _, err := c.ReadDoc(ctx, "/js/made/nothing"); !errors.Is(err, keepsync.ErrNotFound) {
				t.Fatalf("ReadDoc of a missing path: %v, want ErrNotFound", err)
			}
			if _, err := c.ReadDoc(ctx, "/js/made/this/deeper"); !errors.Is(err, keepsync.ErrNotADirectory) {
				t.Fatalf("ReadDoc below a document: %v, want ErrNotADirectory", err)
			}

			// Go writes next to JS's documents, JS finds both.
			if err := c.WriteDoc(ctx, "/js/made/by-go", map[string]any{"ok": "yes"}); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitSynced(ctx, "/js/made/by-go"); err != nil {
				t.Fatal(err)
			}
			got2, err := js.ReadPath("/js/made/by-go")
			if err != nil {
				t.Fatal(err)
			}
			assertSame(t, "JS read", got2, map[string]any{"ok": "yes"})
			if _, err := js.ReadPath("/js/made/this"); err != nil {
				t.Fatal(err)
			}
			_ = fmt.Sprint()
		})
	}
}

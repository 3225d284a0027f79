package keepsync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/synctest"
)

// places returns n place-like records of 10 fields.
func places(n int) map[string]any {
	ps := make(map[string]any, n)
	for i := 0; i < n; i++ {
		ps[fmt.Sprintf("ChIJ%08d", i)] = map[string]any{
			"title":     fmt.Sprintf("Place %d", i),
			"address":   fmt.Sprintf("%d High Street, London", i),
			"lat":       51.5 + float64(i)/1e5,
			"lng":       -0.12 + float64(i)/1e5,
			"lists":     []any{"Favourites"},
			"note":      "",
			"url":       fmt.Sprintf("https://maps.google.com/?cid=%d", i),
			"placeId":   fmt.Sprintf("ChIJ%08d", i),
			"savedAt":   int64(1700000000000 + i),
			"updatedAt": int64(1700000000000 + i),
		}
	}
	return map[string]any{"places": ps}
}

// BenchmarkWrite10kPlacesAndSync writes 10,000 place records in one change
// and waits until the real sync server (@tonk/server 0.3.2) holds them.
func BenchmarkWrite10kPlacesAndSync(b *testing.B) {
	srv := synctest.StartTonkServer(b)
	c := openClient(b, srv.URL, b.TempDir())
	ctx := context.Background()
	doc := places(10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := fmt.Sprintf("/bench/places-%d", i)
		if err := c.WriteDoc(ctx, p, doc); err != nil {
			b.Fatal(err)
		}
		if err := c.WaitSynced(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoOpUpdate rewrites an unchanged record of a 10,000-place
// document: no change, no frame sent.
func BenchmarkNoOpUpdate(b *testing.B) {
	srv := synctest.StartTonkServer(b)
	c := openClient(b, srv.URL, b.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	doc := places(10000)
	if err := c.WriteDoc(ctx, "/bench/noop", doc); err != nil {
		b.Fatal(err)
	}
	if err := c.WaitSynced(ctx, "/bench/noop"); err != nil {
		b.Fatal(err)
	}
	rec := doc["places"].(map[string]any)["ChIJ00000042"]
	sent := c.Status().SentFrames
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		changed, err := c.Update(ctx, "/bench/noop", func(d *automerge.Doc) error {
			ps, err := d.RootMap().Get("places")
			if err != nil {
				return err
			}
			_, err = keepsync.SetValue(ps.Map(), "ChIJ00000042", rec)
			return err
		})
		if err != nil || changed {
			b.Fatalf("changed=%v err=%v", changed, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(c.Status().SentFrames-sent)/float64(b.N), "frames/op")
}

// BenchmarkReadDoc10kFromLocalStore reads a 10,000-place document with no
// server reachable: the local store answers.
func BenchmarkReadDoc10kFromLocalStore(b *testing.B) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	dir := b.TempDir()
	ctx := context.Background()
	c := openClient(b, url, dir)
	if err := c.WriteDoc(ctx, "/bench/read", places(10000)); err != nil {
		b.Fatal(err)
	}
	c.Close()
	c = openClient(b, url, dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := c.ReadDoc(ctx, "/bench/read")
		if err != nil {
			b.Fatal(err)
		}
		if n := len(v.(map[string]any)["places"].(map[string]any)); n != 10000 {
			b.Fatalf("read %d places", n)
		}
	}
}

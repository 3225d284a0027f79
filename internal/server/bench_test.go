package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkHealthUnderLoad sends GET /health at about 1,000 requests/s
// (paced, 16 concurrent keep-alive connections) over loopback to the real
// handler stack, for 3 s per iteration, and reports latency percentiles.
//
//	go test -run='^$' -bench=HealthUnderLoad -benchtime=1x ./internal/server/
func BenchmarkHealthUnderLoad(b *testing.B) {
	srv := httptest.NewServer(NewServer(Deps{Runner: &stubRunner{}, StartedAt: time.Now(), Token: "t"}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	const rate, seconds, workers = 1000, 3, 16
	var all []time.Duration
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), seconds*time.Second)
		ticks := make(chan struct{}, rate)
		go func() {
			t := time.NewTicker(time.Second / rate)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					close(ticks)
					return
				case <-t.C:
					select {
					case ticks <- struct{}{}:
					default: // generator ahead of the workers: drop, counted below
					}
				}
			}
		}()
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for range ticks {
					start := time.Now()
					res, err := client.Get(srv.URL + "/health")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		cancel()
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(len(all))/float64(b.N*seconds), "req/s")
}

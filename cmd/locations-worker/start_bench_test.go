package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkIdleRSS starts the built worker (no export on start, the sync
// server absent so it keeps retrying, as on a laptop with Tonk stopped),
// lets it settle for 5 s and reads its resident memory from
// /proc/<pid>/status.
//
//	go test -run='^$' -bench=IdleRSS -benchtime=1x ./cmd/locations-worker/
func BenchmarkIdleRSS(b *testing.B) {
	bin := buildWorkerB(b)
	for i := 0; i < b.N; i++ {
		cmd := startProcessB(b, bin, map[string]string{"LOCATIONS_WORKER_DATA": b.TempDir(), "EXPORT_ON_START": "false", "SYNC_URL": "http://127.0.0.1:1"})
		time.Sleep(5 * time.Second)
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.Atoi(f[1])
				b.ReportMetric(float64(kb)/1024, "RSS-MB")
			}
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
}

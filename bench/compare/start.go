package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tonk-labs/locations-worker/bench/internal/proc"
)

// runStart measures locations-worker the way it runs in production: `start
// --archive` with an export at start-up. The time is from process start to
// /status reporting the run finished and synced (or, when the run gave up
// waiting for the server, to its keepsync client having nothing pending);
// the process is then stopped with SIGINT and its peak RSS read from rusage.
func runStart(ctx context.Context, bin, dir, archive, syncURL, docPath string) (proc.Result, error) {
	var res proc.Result
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return res, err
	}
	var logs strings.Builder
	cmd := exec.Command(bin, "start", "--archive", archive)
	cmd.Dir = data
	cmd.Env = append(os.Environ(), "WORKER_PORT="+strconv.Itoa(port), "WORKER_HOST=127.0.0.1", "SYNC_URL="+syncURL,
		"SYNC_WS_URL=", "KEEPSYNC_DOC_PATH="+docPath, "KEEPSYNC_LAYOUT=keyed", "WORKER_TOKEN=", "LOCATIONS_WORKER_DATA="+data, "EXPORT_ON_START=true", "LOG_LEVEL=warn")
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	finished := false
	var lastErr string
	for !finished {
		select {
		case err := <-done:
			return res, fmt.Errorf("worker exited before the export finished: %v: %s", err, logs.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-done
			return res, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		r, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/status", port))
		if err != nil {
			continue
		}
		var st struct {
			Sync *struct {
				Connected   bool `json:"connected"`
				PendingDocs int  `json:"pendingDocs"`
			} `json:"sync"`
			Export struct {
				Running *struct{} `json:"running"`
				Last    *struct {
					Result string `json:"result"`
					Sync   string `json:"sync"`
					Error  string `json:"error"`
				} `json:"last"`
			} `json:"export"`
		}
		err = json.NewDecoder(r.Body).Decode(&st)
		r.Body.Close()
		if err != nil || st.Export.Running != nil || st.Export.Last == nil {
			continue
		}
		switch st.Export.Last.Sync {
		case "synced", "no change":
		case "stored locally, waiting for sync":
			// The run stopped waiting for the server (its own bound, 10 s)
			// but the client keeps sending: the server has the data once
			// nothing is pending.
			if st.Sync == nil || !st.Sync.Connected || st.Sync.PendingDocs > 0 {
				continue
			}
		default:
			lastErr = fmt.Sprintf("export finished with result %q, sync %q: %s", st.Export.Last.Result, st.Export.Last.Sync, st.Export.Last.Error)
		}
		finished = true
	}
	res.Wall = time.Since(start)
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.PeakRSSKiB = ru.Maxrss
	}
	if lastErr != "" {
		return res, fmt.Errorf("%s", lastErr)
	}
	return res, nil
}

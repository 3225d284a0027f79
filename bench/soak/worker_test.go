package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// workerProc is a running `locations-worker start --archive`.
type workerProc struct {
	bin, archive, dataDir, syncURL, docPath string
	port                                    int
	logFile                                 string

	cmd  *exec.Cmd
	done chan struct{}
	http *http.Client
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (w *workerProc) base() string { return "http://127.0.0.1:" + strconv.Itoa(w.port) }

// start starts the worker and waits until /health answers.
func (w *workerProc) start(ctx context.Context) error {
	if w.http == nil {
		// No keep-alive: the soak's own connections must not show up as
		// the worker's open file descriptors.
		w.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	logf, err := os.OpenFile(w.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(w.bin, "start", "--archive", w.archive)
	cmd.Env = append(os.Environ(),
		"WORKER_PORT="+strconv.Itoa(w.port),
		"WORKER_HOST=127.0.0.1",
		"SYNC_URL="+w.syncURL,
		"SYNC_WS_URL=",
		"KEEPSYNC_DOC_PATH="+w.docPath,
		"KEEPSYNC_LAYOUT=keyed",
		"WORKER_TOKEN=",
		"LOCATIONS_WORKER_DATA="+w.dataDir,
		"EXPORT_ON_START=false",
		"LOG_FORMAT=text",
		"LOG_LEVEL=info",
	)
	cmd.Dir = w.dataDir
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start worker: %w", err)
	}
	w.cmd = cmd
	w.done = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(w.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-w.done:
			return fmt.Errorf("worker exited at start-up: %s", w.logTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if res, err := w.http.Get(w.base() + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("worker not healthy after 60s: %s", w.logTail())
}

// kill SIGKILLs the worker.
func (w *workerProc) kill() {
	if w.cmd == nil {
		return
	}
	_ = w.cmd.Process.Kill()
	<-w.done
}

// stop asks the worker to shut down (SIGINT, as pm2 does) and waits.
func (w *workerProc) stop() error {
	if w.cmd == nil {
		return nil
	}
	_ = w.cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
		if w.cmd.ProcessState != nil && !w.cmd.ProcessState.Success() {
			return fmt.Errorf("worker exited with %v on SIGINT", w.cmd.ProcessState)
		}
		return nil
	case <-time.After(30 * time.Second):
		w.kill()
		return fmt.Errorf("worker did not stop within 30s of SIGINT")
	}
}

func (w *workerProc) pid() int { return w.cmd.Process.Pid }

func (w *workerProc) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// logTail returns the end of the worker's log.
func (w *workerProc) logTail() string {
	b, _ := os.ReadFile(w.logFile)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

type run struct {
	ID       string `json:"id"`
	Running  bool   `json:"running"`
	Result   string `json:"result"`
	Complete bool   `json:"complete"`
	Sync     string `json:"sync"`
	Error    string `json:"error"`
}

type status struct {
	Export struct {
		Running *run `json:"running"`
		Last    *run `json:"last"`
	} `json:"export"`
}

// trigger POSTs /export and returns the run id.
func (w *workerProc) trigger() (string, error) {
	res, err := w.http.Post(w.base()+"/export", "application/json", bytes.NewReader(nil))
	if err != nil {
		return "", fmt.Errorf("POST /export: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return "", fmt.Errorf("POST /export: HTTP %d: %s", res.StatusCode, body)
	}
	var out struct {
		Data struct {
			RunID string `json:"runId"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Data.RunID == "" {
		return "", fmt.Errorf("POST /export: unexpected answer %s", body)
	}
	return out.Data.RunID, nil
}

func (w *workerProc) status() (status, error) {
	var s status
	res, err := w.http.Get(w.base() + "/status")
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /status: HTTP %d", res.StatusCode)
	}
	return s, json.NewDecoder(res.Body).Decode(&s)
}

// wait polls /status until run id has finished, and returns it.
func (w *workerProc) wait(ctx context.Context, id string, timeout time.Duration) (run, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !w.alive() {
			return run{}, fmt.Errorf("worker died while run %s was going: %s", id, w.logTail())
		}
		s, err := w.status()
		if err == nil && s.Export.Last != nil && s.Export.Last.ID == id && (s.Export.Running == nil || s.Export.Running.ID != id) {
			return *s.Export.Last, nil
		}
		select {
		case <-ctx.Done():
			return run{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return run{}, fmt.Errorf("run %s not finished after %s", id, timeout)
}

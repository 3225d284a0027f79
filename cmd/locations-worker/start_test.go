package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/synctest"
)

// logWatch collects the worker's JSON log lines and lets a test wait for one.
type logWatch struct {
	mu      sync.Mutex
	buf     strings.Builder
	lines   []map[string]any
	changed chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		var m map[string]any
		if json.Unmarshal([]byte(s[:i]), &m) == nil {
			w.lines = append(w.lines, m)
		}
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

// wait returns the first line whose msg is msg, failing the test after a
// generous deadline (a hang, not a slow machine).
func (w *logWatch) wait(t *testing.T, msg string) map[string]any {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for {
		w.mu.Lock()
		for _, l := range w.lines {
			if l["msg"] == msg {
				w.mu.Unlock()
				return l
			}
		}
		ch := w.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %q log line; log so far:\n%s", msg, w.dump())
		}
	}
}

func (w *logWatch) dump() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, l := range w.lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func sampleArchive(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/sample-takeout.zip")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// startWorker runs `start` in-process and returns its base URL, its log
// and a stop function that returns run's error.
func startWorker(t *testing.T, env map[string]string, args ...string) (string, *logWatch, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := newLogWatch()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"start", "--port", "0"}, args...), envFunc(env), strings.NewReader(""), log, io.Discard)
	}()
	started := log.wait(t, "worker started")
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("worker log:\n%s", log.dump())
		}
	})
	return "http://" + started["addr"].(string), log, stop
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

type statusBody struct {
	Export struct {
		Running *struct{ ID string }
		Last    *struct {
			ID, Result, Sync, Error string
			Changes                 struct{ Added, Unchanged int }
		}
		NextRun *time.Time
	}
	Sync struct{ Connected bool }
}

// waitPlaces waits until a JS client reads n active places at the path.
func waitPlaces(t *testing.T, js *synctest.JSClient, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		v, err := js.ReadPath("/google-maps/places")
		if err == nil {
			if places, ok := v.(map[string]any)["places"].(map[string]any); ok && len(places) == n {
				return v.(map[string]any)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("JS client never read %d places (last: %v, %v)", n, v, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestStartServesExportsAndStops(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	env := map[string]string{"SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": t.TempDir(), "EXPORT_ON_START": "true", "EXPORT_TIMEZONE": "Europe/Vienna"}
	base, log, stop := startWorker(t, env, "--archive", sampleArchive(t))

	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "{\"status\":\"ok\"}\n" {
		t.Fatalf("/health = %q", b)
	}

	fin := log.wait(t, "export finished")
	if fin["result"] != "success" || fin["sync"] != "synced" || fin["run_id"] == nil {
		t.Fatalf("start-up export: %v", fin)
	}
	var st statusBody
	getJSON(t, base+"/status", &st)
	if st.Export.Last == nil || st.Export.Last.Changes.Added != 9 || st.Export.NextRun == nil || st.Export.NextRun.In(vienna(t)).Hour() != 3 || !st.Sync.Connected {
		t.Fatalf("status after the first export: %+v %+v", st, st.Export.Last)
	}
	waitPlaces(t, srv.JSClient(t), 9)

	// A second export on demand changes nothing.
	res, err = http.Post(base+"/export", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var trig struct{ Data struct{ RunID string } }
	json.NewDecoder(res.Body).Decode(&trig)
	res.Body.Close()
	if res.StatusCode != 202 || trig.Data.RunID == "" {
		t.Fatalf("POST /export = %d %+v", res.StatusCode, trig)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		getJSON(t, base+"/status", &st)
		if st.Export.Last != nil && st.Export.Last.ID == trig.Data.RunID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s never finished: %+v", trig.Data.RunID, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Export.Last.Sync != "no change" || st.Export.Last.Changes.Unchanged != 9 {
		t.Fatalf("second export: %+v", st.Export.Last)
	}

	if err := stop(); err != nil {
		t.Fatalf("start returned %v on stop", err)
	}
	log.wait(t, "stopped")
}

func TestStartFatalErrors(t *testing.T) {
	// The port is taken: start fails (non-zero exit) with a hint.
	base, _, _ := startWorker(t, map[string]string{"LOCATIONS_WORKER_DATA": t.TempDir(), "EXPORT_ON_START": "false"})
	port := base[strings.LastIndexByte(base, ':')+1:]
	var stderr strings.Builder
	err := run(context.Background(), []string{"start", "--port", port}, envFunc(map[string]string{"LOCATIONS_WORKER_DATA": t.TempDir()}), strings.NewReader(""), io.Discard, &stderr)
	if err == nil || exitCode(err) == 0 || !strings.Contains(stderr.String(), "Hint:") {
		t.Fatalf("start on a busy port: %v, stderr %q", err, stderr.String())
	}
	for _, args := range [][]string{{"--schedule", "61 * * * *"}, {"--timezone", "Mars/Olympus"}, {"--port", "70000"}} {
		stderr.Reset()
		err := run(context.Background(), append([]string{"start"}, args...), envFunc(nil), strings.NewReader(""), io.Discard, &stderr)
		if err == nil || !strings.Contains(stderr.String(), strings.TrimPrefix(args[0], "--")) {
			t.Errorf("start %v: %v, stderr %q (should name the setting)", args, err, stderr.String())
		}
	}
}

func TestStartAPIWithoutTokenKeepsServing(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LOCATIONS_WORKER_DATA": dir, "SYNC_URL": "http://127.0.0.1:1", "EXPORT_ON_START": "true"}
	base, log, _ := startWorker(t, env)
	fin := log.wait(t, "export failed")
	if !strings.Contains(fin["error"].(string), "auth setup") || fin["run_id"] == nil {
		t.Fatalf("failed run log: %v", fin)
	}
	var st statusBody
	deadline := time.Now().Add(60 * time.Second)
	for st.Export.Last == nil {
		if time.Now().After(deadline) {
			t.Fatal("the failed run never reached /status")
		}
		time.Sleep(50 * time.Millisecond)
		getJSON(t, base+"/status", &st)
	}
	if st.Export.Last.Result != "failed" || !strings.Contains(st.Export.Last.Error, "not signed in") {
		t.Fatalf("/status last run: %+v", st.Export.Last)
	}
	var health map[string]string
	getJSON(t, base+"/health", &health)
	if health["status"] != "ok" {
		t.Fatal("the worker stopped serving after a failed export")
	}
}

func vienna(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

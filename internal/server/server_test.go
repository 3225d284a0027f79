package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/worker"
)

// stubRunner records triggers; it is enough for the HTTP contract. The
// worker package tests the real Runner.
type stubRunner struct {
	mu      sync.Mutex
	running *worker.Run
	last    *worker.Run
	n       int
	closed  bool
}

func (s *stubRunner) Trigger(via string) (string, bool, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", false, nil, worker.ErrClosed
	}
	if s.running != nil {
		return s.running.ID, false, nil, nil
	}
	s.n++
	s.running = &worker.Run{ID: "run-" + string(rune('0'+s.n)), Trigger: via, Running: true, Progress: worker.Progress{Stage: "downloading"}}
	return s.running.ID, true, nil, nil
}

func (s *stubRunner) Current() (worker.Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		return worker.Run{}, false
	}
	return *s.running, true
}

func (s *stubRunner) Last() (worker.Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return worker.Run{}, false
	}
	return *s.last, true
}

func newTestServer(t *testing.T, mod func(*Deps)) (*httptest.Server, *stubRunner) {
	t.Helper()
	r := &stubRunner{}
	next := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	d := Deps{
		Runner: r, Name: "locations-worker", Version: "v1.2.3", StartedAt: time.Now().Add(-time.Minute),
		Config: map[string]any{"docPath": "/google-maps/places", "authRequired": false},
		Sync: func() SyncState {
			return SyncState{Connected: true, ServerURL: "http://localhost:7777", PendingDocs: 2}
		},
		Auth:    func(context.Context) any { return map[string]any{"tokenPresent": true} },
		NextRun: func() (time.Time, bool) { return next, true },
	}
	if mod != nil {
		mod(&d)
	}
	srv := httptest.NewServer(NewServer(d))
	t.Cleanup(srv.Close)
	return srv, r
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(b)}
}

func TestHealth(t *testing.T) {
	srv, _ := newTestServer(t, func(d *Deps) { d.Token = "s3cret" })
	res := do(t, "GET", srv.URL+"/health", "")
	if res.code != 200 || res.body != "{\"status\":\"ok\"}\n" || res.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /health = %d %q %v", res.code, res.body, res.header)
	}
}

func TestTonkEndpoint(t *testing.T) {
	srv, runner := newTestServer(t, nil)
	tests := []struct {
		name, body string
		code       int
		want       string // substring of the body
	}{
		{"status", `{"action":"status"}`, 200, `"success":true`},
		{"export", `{"action":"export"}`, 200, `"runId":"run-1","started":true`},
		{"export again is the same run", `{"action":"export"}`, 200, `"runId":"run-1","started":false`},
		{"unknown action", `{"action":"dance"}`, 400, `"success":false,"error":"unknown action \"dance\"`},
		{"missing action", `{}`, 400, `"success":false,"error":"missing \"action\"`},
		{"malformed", `{"action":`, 400, `"success":false,"error":"invalid JSON`},
		{"empty", ``, 400, `"success":false,"error":"invalid JSON: empty body"`},
		{"unknown field", `{"action":"status","x":1}`, 400, `"success":false`},
		{"trailing data", `{"action":"status"} {}`, 400, `"success":false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, "POST", srv.URL+"/tonk", tt.body, "Content-Type", "application/json")
			if res.code != tt.code || !strings.Contains(res.body, tt.want) {
				t.Fatalf("POST /tonk %s = %d %s, want %d containing %s", tt.body, res.code, res.body, tt.code, tt.want)
			}
		})
	}
	if runner.n != 1 {
		t.Errorf("runs started = %d, want 1", runner.n)
	}
}

func TestExportEndpointsSingleFlight(t *testing.T) {
	srv, runner := newTestServer(t, nil)
	var ids []string
	for _, path := range []string{"/export", "/export-locations", "/export"} {
		res := do(t, "POST", srv.URL+path, "")
		if res.code != http.StatusAccepted {
			t.Fatalf("POST %s = %d %s", path, res.code, res.body)
		}
		var body struct {
			Success bool          `json:"success"`
			Data    ExportStarted `json:"data"`
		}
		if err := json.Unmarshal([]byte(res.body), &body); err != nil || !body.Success {
			t.Fatalf("POST %s body %s: %v", path, res.body, err)
		}
		ids = append(ids, body.Data.RunID)
	}
	if runner.n != 1 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("triggers while running started %d runs, ids %v", runner.n, ids)
	}
	runner.closed, runner.running = true, nil
	if res := do(t, "POST", srv.URL+"/export", ""); res.code != http.StatusServiceUnavailable {
		t.Fatalf("POST /export while shutting down = %d", res.code)
	}
	if res := do(t, "GET", srv.URL+"/export", ""); res.code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /export = %d", res.code)
	}
}

func TestStatus(t *testing.T) {
	srv, runner := newTestServer(t, nil)
	fin := time.Now()
	runner.last = &worker.Run{ID: "old", Result: worker.ResultIncomplete, Error: "incomplete export (1 problem(s)); nothing was marked removed", FinishedAt: &fin,
		Changes: &worker.Changes{Added: 1}, Sync: worker.SyncLocal}
	runner.Trigger("http")
	res := do(t, "GET", srv.URL+"/status", "")
	if res.code != 200 {
		t.Fatalf("GET /status = %d", res.code)
	}
	var st struct {
		Name, Version string
		UptimeSeconds int64
		Config        map[string]any
		Auth          map[string]any
		Sync          SyncState
		Export        struct {
			Running, Last *worker.Run
			NextRun       *time.Time
		}
	}
	if err := json.Unmarshal([]byte(res.body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "v1.2.3" || st.UptimeSeconds < 60 || st.Config["docPath"] != "/google-maps/places" ||
		st.Auth["tokenPresent"] != true || st.Sync.PendingDocs != 2 || !st.Sync.Connected ||
		st.Export.Running == nil || st.Export.Running.Progress.Stage != "downloading" ||
		st.Export.Last == nil || st.Export.Last.Sync != worker.SyncLocal || !strings.Contains(st.Export.Last.Error, "nothing was marked removed") ||
		st.Export.NextRun == nil || st.Export.NextRun.Year() != 2030 {
		t.Fatalf("status = %s", res.body)
	}
}

func TestBearerToken(t *testing.T) {
	srv, _ := newTestServer(t, func(d *Deps) { d.Token = "s3cret" })
	for _, tt := range []struct {
		method, path, body, auth string
		code                     int
	}{
		{"GET", "/health", "", "", 200},
		{"GET", "/status", "", "", 401},
		{"GET", "/status", "", "Bearer wrong", 401},
		{"GET", "/status", "", "Bearer s3cre", 401},
		{"GET", "/status", "", "s3cret", 401},
		{"GET", "/status", "", "Basic czNjcmV0", 401},
		{"GET", "/status", "", "Bearer s3cret", 200},
		{"POST", "/tonk", `{"action":"status"}`, "", 401},
		{"POST", "/tonk", `{"action":"status"}`, "Bearer s3cret", 200},
		{"POST", "/export", "", "", 401},
		{"POST", "/export-locations", "", "Bearer s3cret", 202},
		{"GET", "/metrics", "", "", 401},
		{"GET", "/metrics", "", "Bearer s3cret", 200},
		{"GET", "/nope", "", "", 401},
	} {
		res := do(t, tt.method, srv.URL+tt.path, tt.body, "Authorization", tt.auth)
		if res.code != tt.code {
			t.Errorf("%s %s with %q = %d, want %d", tt.method, tt.path, tt.auth, res.code, tt.code)
		}
		if res.code == 401 && (res.header.Get("WWW-Authenticate") == "" || strings.Contains(res.body, "s3cret")) {
			t.Errorf("401 without challenge, or leaking the token: %v %s", res.header, res.body)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	srv, runner := newTestServer(t, nil)
	big := `{"action":"status","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	for _, path := range []string{"/tonk", "/export"} {
		if res := do(t, "POST", srv.URL+path, big); res.code != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, `"success":false`) {
			t.Errorf("POST %s with %d bytes = %d %s", path, len(big), res.code, res.body)
		}
	}
	// Without a Content-Length (chunked), the reader still stops at the cap.
	req, _ := http.NewRequest("POST", srv.URL+"/tonk", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized body = %d", res.StatusCode)
	}
	if runner.n != 0 {
		t.Error("an oversized request started an export")
	}
}

func TestCORS(t *testing.T) {
	srv, _ := newTestServer(t, func(d *Deps) {
		d.CORSOrigins = []string{"http://localhost:3000"}
		d.Token = "s3cret"
	})
	// Allowed preflight: answered without a token.
	res := do(t, "OPTIONS", srv.URL+"/tonk", "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST")
	if res.code != 204 || res.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(res.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("allowed preflight = %d %v", res.code, res.header)
	}
	// Other origins get no CORS headers.
	res = do(t, "OPTIONS", srv.URL+"/tonk", "", "Origin", "http://evil.example", "Access-Control-Request-Method", "POST")
	if res.code != 403 || res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight = %d %v", res.code, res.header)
	}
	res = do(t, "GET", srv.URL+"/health", "", "Origin", "http://evil.example")
	if res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign GET got CORS headers: %v", res.header)
	}
	res = do(t, "GET", srv.URL+"/status", "", "Origin", "http://localhost:3000", "Authorization", "Bearer s3cret")
	if res.code != 200 || res.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("allowed GET = %d %v", res.code, res.header)
	}
	// Default: no origin allowed.
	srv2, _ := newTestServer(t, nil)
	res = do(t, "OPTIONS", srv2.URL+"/tonk", "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST")
	if res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS allowed with no origins configured: %v", res.header)
	}
}

func TestMetrics(t *testing.T) {
	m := NewMetrics(func() SyncState { return SyncState{Connected: true, PendingDocs: 3} })
	srv, _ := newTestServer(t, func(d *Deps) { d.Gatherer = m.Registry })
	fin := time.Now()
	m.ObserveRun(worker.Run{Result: worker.ResultSuccess, StartedAt: fin.Add(-2 * time.Second), FinishedAt: &fin, Changes: &worker.Changes{Active: 7, Gone: 2}})
	m.ObserveRun(worker.Run{Result: worker.ResultFailed, StartedAt: fin, FinishedAt: &fin})
	res := do(t, "GET", srv.URL+"/metrics", "")
	for _, want := range []string{
		`locations_worker_export_runs_total{result="success"} 1`,
		`locations_worker_export_runs_total{result="failed"} 1`,
		`locations_worker_export_runs_total{result="incomplete"} 0`,
		`locations_worker_export_duration_seconds_count 2`,
		`locations_worker_places{state="active"} 7`,
		`locations_worker_places{state="removed"} 2`,
		`locations_worker_sync_connected 1`,
		`locations_worker_sync_pending_documents 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestNotFoundIsJSON(t *testing.T) {
	srv, _ := newTestServer(t, nil)
	res := do(t, "GET", srv.URL+"/nope", "")
	if res.code != 404 || !strings.Contains(res.body, `"success":false`) {
		t.Fatalf("GET /nope = %d %s", res.code, res.body)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	s := NewHTTPServer("127.0.0.1:0", http.NotFoundHandler(), slogDiscard())
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 {
		t.Fatalf("timeouts not set: %+v", s)
	}
}

func FuzzTonkBody(f *testing.F) {
	for _, s := range []string{`{"action":"status"}`, `{"action":"export"}`, `{`, `[]`, `null`, `{"action":1}`} {
		f.Add(s)
	}
	h := NewServer(Deps{Runner: &stubRunner{}, StartedAt: time.Now()})
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/tonk", strings.NewReader(body)))
		var v struct {
			Success *bool `json:"success"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.Success == nil {
			t.Fatalf("body %q: answer %d %q is not Tonk's shape", body, rec.Code, rec.Body.String())
		}
		if (rec.Code == 200) != *v.Success {
			t.Fatalf("body %q: code %d with success %v", body, rec.Code, *v.Success)
		}
	})
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

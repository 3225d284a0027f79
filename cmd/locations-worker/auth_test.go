package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tonk-labs/locations-worker/internal/auth/authtest"
)

// authTerminal is the stdout of a command under test. When the sign-in URL
// is printed it plays the user: act(url) runs once, in its own goroutine.
type authTerminal struct {
	mu    sync.Mutex
	buf   strings.Builder
	acted bool
	act   func(url string)
	wg    sync.WaitGroup
}

func (u *authTerminal) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.buf.Write(p)
	if !u.acted && u.act != nil {
		for _, line := range strings.Split(u.buf.String(), "\n") {
			if l := strings.TrimSpace(line); strings.Contains(l, "/o/oauth2/auth?") {
				u.acted = true
				u.wg.Add(1)
				go func() { defer u.wg.Done(); u.act(l) }()
				break
			}
		}
	}
	return len(p), nil
}

func (u *authTerminal) String() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.buf.String()
}

// authEnv is the environment of a command run against fake with its data
// in dir, logging at debug level.
func authEnv(fake *authtest.Server, dir string, extra map[string]string) func(string) string {
	env := map[string]string{
		"LOCATIONS_WORKER_DATA":      dir,
		"GOOGLE_DATAPORTABILITY_URL": fake.PortabilityURL(),
		"LOG_LEVEL":                  "debug",
		"LOG_FORMAT":                 "text",
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

type authCmdResult struct {
	stdout, stderr string
	err            error
}

func runAuthCmd(t *testing.T, getenv func(string) string, stdin io.Reader, stdout *authTerminal, args ...string) authCmdResult {
	t.Helper()
	if stdout == nil {
		stdout = &authTerminal{}
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stderr authSyncWriter
	err := run(context.Background(), args, getenv, stdin, stdout, &stderr)
	stdout.wg.Wait()
	return authCmdResult{stdout.String(), stderr.String(), err}
}

type authSyncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *authSyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *authSyncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// browse makes fake play the browser on the printed URL.
func authBrowse(t *testing.T, fake *authtest.Server) func(string) {
	return func(u string) {
		status, body, err := fake.Browse(context.Background(), u)
		if err != nil || status != http.StatusOK || !strings.Contains(body, "Signed in") {
			t.Errorf("browser: %d %q %v", status, body, err)
		}
	}
}

func TestAuthCommandsEndToEnd(t *testing.T) {
	fake := authtest.New(t)
	dir := filepath.Join(t.TempDir(), "data")
	downloaded := filepath.Join(t.TempDir(), "client_secret_123.json")
	fake.WriteCredentials(t, downloaded, "installed")
	getenv := authEnv(fake, dir, nil)
	var seen []string

	setup := runAuthCmd(t, getenv, nil, &authTerminal{act: authBrowse(t, fake)},
		"auth", "setup", "--credentials", downloaded, "--no-browser", "--port", "0")
	seen = append(seen, setup.stdout, setup.stderr)
	if setup.err != nil {
		t.Fatalf("auth setup: %v\nstdout:\n%s\nstderr:\n%s", setup.err, setup.stdout, setup.stderr)
	}
	for _, w := range []string{"copied to " + filepath.Join(dir, "credentials.json"), "Signed in", "Access: time-based"} {
		if !strings.Contains(setup.stdout, w) {
			t.Errorf("setup output lacks %q:\n%s", w, setup.stdout)
		}
	}
	if !strings.Contains(setup.stderr, "level=DEBUG") {
		t.Errorf("debug logging was not on; stderr:\n%s", setup.stderr)
	}
	for _, f := range []string{"credentials.json", "token.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want 0600", f, err, fi)
		}
	}

	status := runAuthCmd(t, getenv, nil, nil, "auth", "status")
	seen = append(seen, status.stdout, status.stderr)
	if status.err != nil || !strings.Contains(status.stdout, "Export:         ready") || !strings.Contains(status.stdout, "time-based") {
		t.Errorf("auth status: %v\n%s", status.err, status.stdout)
	}
	js := runAuthCmd(t, getenv, nil, nil, "auth", "status", "--json")
	seen = append(seen, js.stdout, js.stderr)
	var st struct {
		CanExport  bool     `json:"canExport"`
		Scopes     []string `json:"scopes"`
		AccessType string   `json:"accessType"`
	}
	if err := json.Unmarshal([]byte(js.stdout), &st); err != nil || js.err != nil || !st.CanExport || len(st.Scopes) != 2 || st.AccessType != "time-based" {
		t.Errorf("auth status --json: %v %v %+v\n%s", err, js.err, st, js.stdout)
	}

	for _, args := range [][]string{{"auth", "--help"}, {"auth", "setup", "--help"}, {"setup", "--help"}, {"auth", "status", "--help"}, {"auth", "reset", "--help"}} {
		h := runAuthCmd(t, getenv, nil, nil, args...)
		if h.err != nil || !strings.Contains(h.stdout, "Examples:") {
			t.Errorf("%v: %v\n%s", args, h.err, h.stdout)
		}
		seen = append(seen, h.stdout, h.stderr)
	}

	reset := runAuthCmd(t, getenv, nil, nil, "auth", "reset")
	seen = append(seen, reset.stdout, reset.stderr)
	if reset.err != nil || !strings.Contains(reset.stdout, "revoked") {
		t.Errorf("auth reset: %v\n%s\n%s", reset.err, reset.stdout, reset.stderr)
	}
	if fake.Counts().Resets != 1 {
		t.Errorf("fake saw %d resets, want 1", fake.Counts().Resets)
	}
	after := runAuthCmd(t, getenv, nil, nil, "auth", "status")
	seen = append(seen, after.stdout, after.stderr)
	if exitCode(after.err) != 2 || !strings.Contains(after.stdout, "NOT READY") {
		t.Errorf("status after reset: exit %d (%v)\n%s", exitCode(after.err), after.err, after.stdout)
	}

	// Secrets: none of the client secret, codes, verifiers, access or
	// refresh tokens appears anywhere the user or the logs could see.
	all := strings.Join(seen, "\n")
	for _, s := range fake.Secrets() {
		if strings.Contains(all, s) {
			t.Errorf("secret %.14q... appeared in the output", s)
		}
	}
	if len(fake.Secrets()) < 4 {
		t.Errorf("the fake issued %d secrets: the flow did not run", len(fake.Secrets()))
	}
}

func TestSetupAliasOneTime(t *testing.T) {
	fake := authtest.New(t)
	fake.SetAccessType("one-time")
	dir := t.TempDir()
	fake.WriteCredentials(t, filepath.Join(dir, "credentials.json"), "installed")
	getenv := authEnv(fake, dir, map[string]string{"LOG_LEVEL": "info"})
	res := runAuthCmd(t, getenv, nil, &authTerminal{act: authBrowse(t, fake)}, "setup", "--no-browser", "--port", "0")
	if res.err != nil {
		t.Fatalf("setup: %v\n%s\n%s", res.err, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "ONE-TIME") || !strings.Contains(res.stdout, "stop working after the first export") {
		t.Errorf("setup did not explain the one-time grant:\n%s", res.stdout)
	}
	st := runAuthCmd(t, getenv, nil, nil, "auth", "status")
	if st.err != nil || !strings.Contains(st.stdout, "one-time access") {
		t.Errorf("status: %v\n%s", st.err, st.stdout)
	}
}

func TestAuthSetupManualCommand(t *testing.T) {
	fake := authtest.New(t)
	dir := t.TempDir()
	fake.WriteCredentials(t, filepath.Join(dir, "credentials.json"), "web", "http://localhost:4444/oauth2callback")
	getenv := authEnv(fake, dir, nil)
	inR, inW := io.Pipe()
	t.Cleanup(func() { inW.Close() })
	term := &authTerminal{act: func(u string) {
		loc, err := fake.Consent(context.Background(), u)
		if err != nil {
			t.Error(err)
			inW.Close()
			return
		}
		io.WriteString(inW, loc+"\n")
	}}
	res := runAuthCmd(t, getenv, inR, term, "auth", "setup", "--manual")
	if res.err != nil {
		t.Fatalf("setup --manual: %v\n%s\n%s", res.err, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "token.json")); err != nil {
		t.Errorf("no token saved: %v", err)
	}
	all := res.stdout + res.stderr
	for _, s := range fake.Secrets() {
		if strings.Contains(all, s) {
			t.Errorf("secret %.14q... appeared in the output", s)
		}
	}
}

func TestAuthStatusExitCodes(t *testing.T) {
	fake := authtest.New(t)
	full := authtest.ScopePrefix + "saved.collections " + authtest.ScopePrefix + "maps.starred_places"
	for _, tc := range []struct {
		name, token string
		code        int
	}{
		{"no token", "", 2},
		{"ready", `{"access_token":"a","refresh_token":"r","scope":"` + full + `"}`, 0},
		{"rejected", `{"access_token":"a","refresh_token":"r","scope":"` + full + `","grant":{"granted_at":"2026-01-01T00:00:00Z","rejected_at":"2026-02-01T00:00:00Z"}}`, 2},
		{"scope missing", `{"access_token":"a","refresh_token":"r","scope":"` + authtest.ScopePrefix + `saved.collections"}`, 2},
		{"corrupt", `{"access_token":`, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.token != "" {
				os.WriteFile(filepath.Join(dir, "token.json"), []byte(tc.token), 0o600)
			}
			res := runAuthCmd(t, authEnv(fake, dir, nil), nil, nil, "auth", "status")
			got := 0
			if res.err != nil {
				got = exitCode(res.err)
			}
			if got != tc.code {
				t.Errorf("exit %d (%v), want %d\n%s", got, res.err, tc.code, res.stdout)
			}
			q := runAuthCmd(t, authEnv(fake, dir, nil), nil, nil, "auth", "status", "--quiet")
			qcode := 0
			if q.err != nil {
				qcode = exitCode(q.err)
			}
			if qcode != tc.code || q.stdout != "" {
				t.Errorf("--quiet: exit %d, want %d; stdout %q, want nothing", qcode, tc.code, q.stdout)
			}
		})
	}
}

func TestAuthSetupWithoutCredentials(t *testing.T) {
	fake := authtest.New(t)
	dir := t.TempDir()
	res := runAuthCmd(t, authEnv(fake, dir, nil), nil, nil, "auth", "setup", "--no-browser")
	if res.err == nil || exitCode(res.err) != 1 {
		t.Fatalf("err = %v", res.err)
	}
	for _, w := range []string{"Data Portability API", "http://localhost:4444/oauth2callback", filepath.Join(dir, "credentials.json"), "--credentials"} {
		if !strings.Contains(res.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, res.stderr)
		}
	}
}

func TestAuthResetOffline(t *testing.T) {
	fake := authtest.New(t)
	dir := t.TempDir()
	fake.WriteCredentials(t, filepath.Join(dir, "credentials.json"), "installed")
	getenv := authEnv(fake, dir, nil)
	if res := runAuthCmd(t, getenv, nil, &authTerminal{act: authBrowse(t, fake)}, "auth", "setup", "--no-browser", "--port", "0"); res.err != nil {
		t.Fatal(res.err)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	res := runAuthCmd(t, authEnv(fake, dir, map[string]string{"GOOGLE_DATAPORTABILITY_URL": down.URL}), nil, nil, "auth", "reset")
	if res.err != nil {
		t.Fatalf("reset offline: %v", res.err)
	}
	if !strings.Contains(res.stderr, "Warning: could not revoke") {
		t.Errorf("no warning:\n%s", res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "token.json")); !os.IsNotExist(err) {
		t.Errorf("token file kept")
	}
}

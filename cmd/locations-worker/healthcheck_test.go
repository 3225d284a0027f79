package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tonk-labs/locations-worker/internal/config"
)

// runHealthcheck runs `locations-worker healthcheck args...` in-process with
// the given environment and returns its exit code, stdout and stderr.
func runHealthcheck(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"healthcheck"}, args...),
		func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	code := 0
	if err != nil {
		code = exitCode(err)
	}
	return code, stdout.String(), stderr.String()
}

// serverPort starts h on 127.0.0.1 and returns its port.
func serverPort(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// freePort returns a loopback port that nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func TestHealthcheck(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	}
	tests := []struct {
		name     string
		handler  http.HandlerFunc // nil: nothing listening
		env      map[string]string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "ok", handler: ok, wantOut: "ok: http://127.0.0.1:"},
		{name: "any-address host asks loopback", handler: ok, env: map[string]string{"WORKER_HOST": "0.0.0.0"}, wantOut: "ok: http://127.0.0.1:"},
		{name: "PORT fallback", handler: ok, env: map[string]string{"WORKER_PORT": ""}, wantOut: "ok: http://127.0.0.1:"},
		{name: "port flag", handler: ok, args: []string{"--port", "PORT"}, env: map[string]string{"WORKER_PORT": "1"}, wantOut: "ok: http://127.0.0.1:"},
		{name: "500", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, wantCode: 1, wantErr: "unhealthy: http://127.0.0.1:PORT/health answered 500 Internal Server Error"},
		{name: "redirect is not followed", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, wantCode: 1, wantErr: "answered 302 Found"},
		{name: "wrong body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"status":"starting"}`))
		}, wantCode: 1, wantErr: `answered 200 but not {"status":"ok"}: "{\"status\":\"starting\"}"`},
		{name: "not JSON", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("<html>", 100)))
		}, wantCode: 1, wantErr: `but not {"status":"ok"}: "<html>`},
		{name: "nothing listening", wantCode: 1, wantErr: "nothing is listening at http://127.0.0.1:PORT/health"},
		{name: "too slow", handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, args: []string{"--timeout", "50ms"}, wantCode: 1, wantErr: "no answer from http://127.0.0.1:PORT/health in time"},
		{name: "bad timeout", handler: ok, args: []string{"--timeout", "0s"}, wantCode: 1, wantErr: "invalid --timeout"},
		{name: "bad port setting", handler: ok, env: map[string]string{"WORKER_PORT": "99999"}, wantCode: 1, wantErr: "invalid port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var port string
			if tt.handler != nil {
				port = serverPort(t, tt.handler)
			} else {
				port = freePort(t)
			}
			env := map[string]string{"WORKER_PORT": port, "PORT": port}
			for k, v := range tt.env {
				env[k] = v
			}
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "PORT", port))
			}
			code, out, errOut := runHealthcheck(t, env, args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if tt.wantOut != "" && !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("stdout %q, want it to start with %q", out, tt.wantOut)
			}
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "PORT", port)
				if !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, want) {
					t.Errorf("stderr %q, want it to contain %q", errOut, want)
				}
				// One line of error, then at most one line of hint.
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				if len(lines) > 2 || (len(lines) == 2 && !strings.HasPrefix(lines[1], "Hint: ")) {
					t.Errorf("stderr is not one error line and a hint: %q", errOut)
				}
			} else if errOut != "" {
				t.Errorf("stderr %q, want nothing", errOut)
			}
		})
	}
}

// TestHealthcheckSendsNoToken checks that /health is asked without the
// worker token, so the secret never travels for a health check.
func TestHealthcheckSendsNoToken(t *testing.T) {
	var gotAuth []string
	port := serverPort(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		w.Write([]byte(`{"status":"ok"}`))
	})
	code, _, errOut := runHealthcheck(t, map[string]string{"WORKER_PORT": port, "WORKER_TOKEN": "tok-secret"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if len(gotAuth) != 1 || gotAuth[0] != "" {
		t.Errorf("requests' Authorization headers: %q, want one request without", gotAuth)
	}
}

func TestHealthURL(t *testing.T) {
	tests := []struct {
		host string
		port int
		want string
	}{
		{"127.0.0.1", 5555, "http://127.0.0.1:5555/health"},
		{"0.0.0.0", 5555, "http://127.0.0.1:5555/health"},
		{"::", 6000, "http://127.0.0.1:6000/health"},
		{"::1", 5555, "http://[::1]:5555/health"},
		{"localhost", 5555, "http://localhost:5555/health"},
		{"192.0.2.7", 80, "http://192.0.2.7:80/health"},
	}
	for _, tt := range tests {
		got, err := healthURL(&config.Config{Host: tt.host, Port: tt.port})
		if err != nil || got != tt.want {
			t.Errorf("healthURL(%s, %d) = %q, %v; want %q", tt.host, tt.port, got, err, tt.want)
		}
	}
	if _, err := healthURL(&config.Config{Host: "127.0.0.1", Port: 0}); err == nil || !strings.Contains(err.Error(), "WORKER_PORT") {
		t.Errorf("port 0: %v, want an error naming WORKER_PORT", err)
	}
}

func TestHealthcheckHelp(t *testing.T) {
	cmd := newHealthcheckCmd(&app{})
	if cmd.Short == "" || cmd.Long == "" || cmd.Example == "" {
		t.Error("healthcheck lacks Short, Long or Example")
	}
	for _, f := range []string{"timeout", "host", "port"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("no --%s flag", f)
		}
	}
}

// Package synctest starts the real keepsync sync servers and drives a real
// JavaScript automerge-repo client, for tests. It never fakes keepsync: the
// servers are Tonk's @tonk/server 0.3.2 (automerge-repo 1.x) and a server of
// the same shape on automerge-repo 2.x, installed by `make deps` under
// test/harness/v1 and test/harness/v2.
//
// Helpers fail the test (never skip it) when Node or the harness is missing.
package synctest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Harness names a pinned npm harness.
type Harness string

// The harnesses.
const (
	V1 Harness = "v1" // @tonk/server 0.3.2, automerge-repo 1.2.1
	V2 Harness = "v2" // automerge-repo 2.5.6
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("synctest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// HarnessDir returns test/harness/<h>, failing the test when its
// node_modules are missing.
func HarnessDir(t testing.TB, h Harness) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "test", "harness", string(h))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@automerge", "automerge-repo")); err != nil {
		t.Fatalf("synctest: %s has no node_modules (run `make deps`): %v", dir, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("synctest: node is not installed (Node 20+ is needed for the sync server): %v", err)
	}
	return dir
}

// Server is a running sync server.
type Server struct {
	t       testing.TB
	harness Harness
	dir     string // harness dir
	DataDir string // server persistence directory
	Port    int
	URL     string // http://127.0.0.1:port
	WSURL   string // ws://127.0.0.1:port/sync

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *bytes.Buffer
	exit chan struct{}
}

// StartTonkServer starts Tonk's real sync server (@tonk/server 0.3.2).
func StartTonkServer(t testing.TB) *Server { return StartServer(t, V1) }

// StartV2Server starts a server of keepsync's shape on automerge-repo 2.x.
func StartV2Server(t testing.TB) *Server { return StartServer(t, V2) }

// StartServer starts the server of harness h on a free loopback port with a
// temporary persistence directory; t.Cleanup kills it.
func StartServer(t testing.TB, h Harness) *Server {
	t.Helper()
	s := &Server{t: t, harness: h, dir: HarnessDir(t, h), DataDir: t.TempDir(), Port: freePort(t)}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.Port)
	s.WSURL = fmt.Sprintf("ws://127.0.0.1:%d/sync", s.Port)
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			s.mu.Lock()
			if s.logs != nil && s.logs.Len() > 0 {
				t.Logf("sync server (%s) output:\n%s", h, s.logs.String())
			}
			s.mu.Unlock()
		}
	})
	s.start()
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	s.t.Helper()
	s.mu.Lock()
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "NODE_ENV=development", fmt.Sprintf("PORT=%d", s.Port), "DATA_DIR="+s.DataDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if s.logs == nil {
		s.logs = &bytes.Buffer{}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.mu.Unlock()
		s.t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: s.logs}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("synctest: start %s server: %v", s.harness, err)
	}
	s.cmd = cmd
	s.exit = make(chan struct{})
	ready := make(chan struct{})
	go func(exit chan struct{}) {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "READY ") {
				once.Do(func() { close(ready) })
			}
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
		}
		_ = cmd.Wait()
		close(exit)
	}(s.exit)
	exit := s.exit
	s.mu.Unlock()
	select {
	case <-ready:
	case <-exit:
		s.t.Fatalf("synctest: %s server exited before it was ready:\n%s", s.harness, s.logsString())
	case <-time.After(60 * time.Second):
		s.t.Fatalf("synctest: %s server not ready after 60s:\n%s", s.harness, s.logsString())
	}
}

func (s *Server) logsString() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Stop stops the server gracefully (it flushes its storage) and waits for it.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exit:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exit
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exit := s.cmd, s.exit
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exit
}

// SeedRoot makes the document saved in data (automerge's save format)
// under id the root of a stopped server: it is stored the way
// automerge-repo's Node storage keeps documents and named in root.json, so
// Restart serves it. It stands for a server whose root is in a given state,
// such as the empty root @tonk/server keeps when it is stopped right after
// creating its root, before the root's content reached its storage.
func (s *Server) SeedRoot(t testing.TB, id string, data []byte) {
	t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		t.Fatal("synctest: SeedRoot needs a stopped server")
	}
	if len(id) < 3 {
		t.Fatalf("synctest: SeedRoot: bad document id %q", id)
	}
	dir := filepath.Join(s.DataDir, "stores", id[:2], id[2:], "snapshot")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seeded"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"rootId": id, "timestamp": time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.DataDir, "root.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// RootID returns the root document id from the server's root.json.
func (s *Server) RootID(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/root.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ri struct {
		RootID string `json:"rootId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ri); err != nil {
		t.Fatal(err)
	}
	return ri.RootID
}

// JSClient drives the JS keepsync-style client of a harness against a server.
type JSClient struct {
	t       testing.TB
	dir     string
	syncURL string
}

// NewJSClient returns a JS client of harness h talking to srv.
func NewJSClient(t testing.TB, h Harness, syncURL string) *JSClient {
	t.Helper()
	return &JSClient{t: t, dir: HarnessDir(t, h), syncURL: syncURL}
}

// JSClientFor returns a JS client on the same harness as srv.
func (s *Server) JSClient(t testing.TB) *JSClient { return NewJSClient(t, s.harness, s.URL) }

func (c *JSClient) run(stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"client.mjs"}, args...)...)
	cmd.Dir = c.dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node client.mjs %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// ErrJSNotFound is returned by ReadPath when the path does not exist.
var ErrJSNotFound = errors.New("synctest: path not found by the JS client")

// ReadPath reads the document at path through keepsync-style lookup. Strings
// that JS does not see as typeof 'string' come back as
// {"$notAString": "<class>", "value": "..."}.
func (c *JSClient) ReadPath(path string) (any, error) {
	out, err := c.run(nil, "read", c.syncURL, path)
	if err != nil {
		return nil, err
	}
	var r struct {
		Found bool `json:"found"`
		Value any  `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("synctest: client output %q: %w", clip(out), err)
	}
	if !r.Found {
		return nil, ErrJSNotFound
	}
	return r.Value, nil
}

// Ls lists the directory at path as JS sees it (children RefNodes).
func (c *JSClient) Ls(path string) ([]map[string]any, error) {
	out, err := c.run(nil, "ls", c.syncURL, path)
	if err != nil {
		return nil, err
	}
	var r struct {
		Found   bool             `json:"found"`
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("synctest: client output %q: %w", clip(out), err)
	}
	if !r.Found {
		return nil, ErrJSNotFound
	}
	return r.Entries, nil
}

// WritePath writes value (JSON-encodable object) at path the way keepsync's
// writeDoc does, creating directories, and returns once the server holds it.
func (c *JSClient) WritePath(path string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = c.run(b, "write", c.syncURL, path)
	return err
}

// EditField sets doc[key] = value in the document at path and returns once
// the server holds the change.
func (c *JSClient) EditField(path, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	_, err = c.run(b, "edit", c.syncURL, path, key)
	return err
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

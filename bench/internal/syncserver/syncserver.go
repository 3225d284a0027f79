// Package syncserver runs a keepsync sync server as a child process bound to
// 127.0.0.1, and can kill and restart it on the same data and port: Tonk's
// real sync server (@tonk/server 0.3.2 from test/harness/v1, through
// bench/reference/syncserver.mjs) by default, or the server of the same
// shape on automerge-repo 2.x (test/harness/v2/server.mjs).
package syncserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options says where the server keeps its data and which port it takes.
type Options struct {
	// Root is the repository root (holding bench/reference and test/harness).
	Root string
	// Dir is the persistence directory; the same Dir keeps the same documents.
	Dir string
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// ReadyTimeout bounds the start-up (default 60 s).
	ReadyTimeout time.Duration
	// Server is which server runs: V1 (the default) or V2.
	Server string
}

// The servers Options.Server names.
const (
	V1 = "v1" // @tonk/server 0.3.2 (automerge-repo 1.x), test/harness/v1
	V2 = "v2" // automerge-repo 2.x, test/harness/v2
)

// command returns the server's command line, the word its ready line starts
// with, and the port it will listen on (0: it says in its ready line).
func (o Options) command() (*exec.Cmd, string, error) {
	switch o.Server {
	case "", V1:
		script := filepath.Join(o.Root, "bench", "reference", "syncserver.mjs")
		cmd := exec.Command("node", script, "--port", strconv.Itoa(o.Port), "--dir", o.Dir)
		cmd.Dir = filepath.Join(o.Root, "bench", "reference")
		return cmd, "ready", nil
	case V2:
		port := o.Port
		if port == 0 { // server.mjs needs a port
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, "", err
			}
			port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}
		cmd := exec.Command("node", "server.mjs")
		cmd.Dir = filepath.Join(o.Root, "test", "harness", "v2")
		cmd.Env = append(os.Environ(), "NODE_ENV=development", "PORT="+strconv.Itoa(port), "DATA_DIR="+o.Dir)
		return cmd, "READY", nil
	}
	return nil, "", fmt.Errorf("unknown sync server %q (%s, %s)", o.Server, V1, V2)
}

// Server is a running sync server.
type Server struct {
	opts   Options
	Port   int
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
}

// Start starts a sync server and waits until it listens.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sync server: %w", err)
	}
	// Not tied to ctx: the caller decides when the server dies.
	cmd, readyWord, err := opts.command()
	if err != nil {
		return nil, fmt.Errorf("sync server: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("sync server: %w", err)
	}
	s := &Server{opts: opts, cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sync server: start node: %w", err)
	}
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == readyWord {
				if p, err := strconv.Atoi(f[1]); err == nil {
					ready <- p
				}
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	timer := time.NewTimer(opts.ReadyTimeout)
	defer timer.Stop()
	select {
	case p := <-ready:
		s.Port = p
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("sync server exited before listening: %s", s.stderr.String())
	case <-timer.C:
		_ = s.Kill()
		return nil, fmt.Errorf("sync server not ready after %s: %s", opts.ReadyTimeout, s.stderr.String())
	case <-ctx.Done():
		_ = s.Kill()
		return nil, fmt.Errorf("sync server: %w", ctx.Err())
	}
}

// URL is the server's HTTP base URL.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.Port) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// PID is the server process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stderr returns what the server wrote to stderr so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// Kill SIGKILLs the server and waits for it to be gone.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL) }

// Stop asks the server to exit (SIGTERM) and waits for it.
func (s *Server) Stop() error { return s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig syscall.Signal) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sync server: signal: %w", err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return nil
	}
}

// Restart kills the server and starts it again on the same data and port.
func (s *Server) Restart(ctx context.Context) (*Server, error) {
	if err := s.Kill(); err != nil {
		return nil, err
	}
	opts := s.opts
	opts.Port = s.Port
	var last error
	for i := 0; i < 20; i++ { // the port can take a moment to be free again
		ns, err := Start(ctx, opts)
		if err == nil {
			return ns, nil
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	return nil, last
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 { // keep memory bounded over a long soak
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

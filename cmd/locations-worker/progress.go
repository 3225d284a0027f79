package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/tonk-labs/locations-worker/internal/export"
)

// isTerminal reports whether w is a terminal, where progress is one line
// rewritten in place; elsewhere (pipes, files, tests) it is plain lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// status shows the progress of long work on w. On a terminal it is one line,
// redrawn every second so that elapsed times and rates stay current, and
// erased by Done; elsewhere each Set prints one plain line. A nil *status
// prints nothing (--quiet, --json).
type status struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	line func() string
	stop chan struct{}
	done chan struct{}
}

func newStatus(w io.Writer, tty bool) *status {
	s := &status{w: w, tty: tty}
	if tty {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.redraw()
	}
	return s
}

// Set makes line the current progress; on a terminal it is called again at
// every redraw.
func (s *status) Set(line func() string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.line = line
	if s.tty {
		fmt.Fprintf(s.w, "\r\033[K%s", line())
		return
	}
	fmt.Fprintln(s.w, line())
}

func (s *status) redraw() {
	defer close(s.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if s.line != nil {
				fmt.Fprintf(s.w, "\r\033[K%s", s.line())
			}
			s.mu.Unlock()
		}
	}
}

// Done erases the progress line of a terminal and stops redrawing.
func (s *status) Done() {
	if s == nil || !s.tty {
		return
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.line != nil {
		fmt.Fprint(s.w, "\r\033[K")
	}
	s.line = nil
}

// exportProgress turns the API source's steps into status lines: the job's
// state and elapsed time while waiting, bytes and rate while downloading.
func exportProgress(s *status, dl *downloadMeter) func(export.Progress) {
	return func(p export.Progress) {
		start := time.Now().Add(-p.Elapsed)
		switch p.Phase {
		case "initiate":
			s.Set(func() string { return "asking Google for an export..." })
		case "wait":
			s.Set(func() string {
				return fmt.Sprintf("export job %s is %s (%s elapsed)", p.JobID, p.State, time.Since(start).Round(time.Second))
			})
		case "download":
			dl.reset()
			s.Set(func() string {
				return fmt.Sprintf("downloading archive %d of %d: %s", p.Archive, p.Archives, dl.String())
			})
		case "read":
			s.Set(func() string { return "reading the archives..." })
		}
	}
}

// downloadMeter counts the bytes of archive downloads as they arrive.
type downloadMeter struct {
	n     atomic.Int64
	start atomic.Int64 // unix nanoseconds
}

func (m *downloadMeter) reset() {
	m.n.Store(0)
	m.start.Store(time.Now().UnixNano())
}

// String is "12.3 MB at 4.1 MB/s".
func (m *downloadMeter) String() string {
	n := m.n.Load()
	el := time.Since(time.Unix(0, m.start.Load())).Seconds()
	if el <= 0 {
		return formatBytes(n)
	}
	return fmt.Sprintf("%s at %s/s", formatBytes(n), formatBytes(int64(float64(n)/el)))
}

// client wraps base so that the bodies of downloads are counted. Downloads
// are the requests without an Authorization header: the links are signed,
// while API calls carry the OAuth token.
func (m *downloadMeter) client(base *http.Client) *http.Client {
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = &meteredTransport{base: rt, m: m}
	return &c
}

type meteredTransport struct {
	base http.RoundTripper
	m    *downloadMeter
}

func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Header.Get("Authorization") != "" {
		return resp, err
	}
	resp.Body = &meteredBody{ReadCloser: resp.Body, n: &t.m.n}
	return resp, nil
}

type meteredBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// formatBytes is a size in B, kB, MB or GB (powers of 1000).
func formatBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// inputsSize counts the files under paths and their bytes, for the import
// progress line. Unreadable paths are left to the import to report.
func inputsSize(paths []string) (files int, bytes int64) {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !fi.IsDir() {
			files++
			bytes += fi.Size()
			continue
		}
		_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil {
				files++
				bytes += info.Size()
			}
			return nil
		})
	}
	return files, bytes
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tonk-labs/locations-worker/bench/internal/jsclient"
	"github.com/tonk-labs/locations-worker/bench/internal/proc"
	"github.com/tonk-labs/locations-worker/bench/internal/syncserver"
	"github.com/tonk-labs/locations-worker/internal/synctest/proxy"
)

// runResult is one pipeline invocation.
type runResult struct {
	Wall       time.Duration `json:"wallNs"`
	PeakRSSKiB int64         `json:"peakRssKiB"`
	SentBytes  int64         `json:"sentBytes"` // pipeline → server, through the proxy
	RecvBytes  int64         `json:"recvBytes"` // server → pipeline
}

// measurement is one run: a first import on a fresh server and, for series
// runs, the daily re-exports that follow.
type measurement struct {
	First    runResult   `json:"first"`
	NoChange []runResult `json:"noChange,omitempty"`
	Churn    []runResult `json:"churn,omitempty"`
	// Saved Automerge size of the document on the server (bytes), read back
	// by a JS automerge-repo client.
	DocFirst    int64 `json:"docFirst"`
	DocNoChange int64 `json:"docNoChange,omitempty"`
	DocChurn    int64 `json:"docChurn,omitempty"`
	// DocDays is the size after each day of the series.
	DocDays []int64 `json:"docDays,omitempty"`
	Series  bool    `json:"series"`
	// SeriesError says why the series stopped early.
	SeriesError string `json:"seriesError,omitempty"`
}

type pipelineResult struct {
	Runs   []measurement `json:"runs"`
	Errors []string      `json:"errors,omitempty"`
}

type sizeResult struct {
	Size      int                        `json:"size"`
	Places    int                        `json:"places"`
	Server    string                     `json:"server"`
	Pipelines map[string]*pipelineResult `json:"pipelines"`
}

type bench struct {
	root     string
	js       jsclient.Client
	opts     options
	pipeline string
	arch     *archives
	dir      string
	log      *slog.Logger
}

func (b *bench) docPath() string {
	if b.pipeline != "reference" {
		return b.opts.oursPath
	}
	return b.opts.refPath
}

func (b *bench) run(ctx context.Context, series bool) (m measurement, err error) {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return m, err
	}
	srv, err := syncserver.Start(ctx, syncserver.Options{Root: b.root, Dir: filepath.Join(b.dir, "server"), Server: b.opts.server})
	if err != nil {
		return m, err
	}
	defer func() { _ = srv.Stop() }()
	px, err := proxy.Start(ctx, srv.Addr())
	if err != nil {
		return m, err
	}
	defer px.Close()

	m.Series = series
	if m.First, err = b.once(ctx, srv, px, b.arch.first); err != nil {
		return m, fmt.Errorf("first import: %w", err)
	}
	if m.DocFirst, err = b.docSize(ctx, srv); err != nil {
		return m, err
	}
	if !series {
		return m, nil
	}
	// The daily series. A failure here (the reference can bring the sync
	// server down) ends the series but keeps what was measured.
	day := func(kind string, i int, a string) (runResult, error) {
		r, err := b.once(ctx, srv, px, a)
		if err != nil {
			return r, fmt.Errorf("%s day %d: %w", kind, i, err)
		}
		size, err := b.docSize(ctx, srv)
		if err != nil {
			return r, fmt.Errorf("%s day %d: %w", kind, i, err)
		}
		m.DocDays = append(m.DocDays, size)
		return r, nil
	}
	for i, a := range b.arch.noChange {
		r, err := day("no-change", i+1, a)
		if err != nil {
			m.SeriesError = err.Error()
			return m, nil
		}
		m.NoChange = append(m.NoChange, r)
	}
	m.DocNoChange = m.DocDays[len(m.DocDays)-1]
	for i, a := range b.arch.churn {
		r, err := day("churn", i+1, a)
		if err != nil {
			m.SeriesError = err.Error()
			return m, nil
		}
		m.Churn = append(m.Churn, r)
	}
	m.DocChurn = m.DocDays[len(m.DocDays)-1]
	return m, nil
}

func (b *bench) docSize(ctx context.Context, srv *syncserver.Server) (int64, error) {
	d, err := b.js.ReadDoc(ctx, srv.URL(), b.docPath(), false)
	if err != nil {
		return 0, fmt.Errorf("read back %s: %w", b.docPath(), err)
	}
	return d.Bytes, nil
}

// once runs the pipeline on one archive, through the counting proxy, until
// the pipeline reports that the server has the data.
func (b *bench) once(ctx context.Context, srv *syncserver.Server, px *proxy.Proxy, archive string) (runResult, error) {
	px.Reset()
	// A run ends at its timeout, or as soon as the sync server dies under it.
	ctx, cancel := context.WithTimeout(ctx, b.opts.timeout)
	defer cancel()
	go func() {
		select {
		case <-srv.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	url := "http://" + px.Addr()
	var res proc.Result
	var err error
	switch b.pipeline {
	case "reference":
		res, err = proc.Run(ctx, filepath.Join(b.root, "bench", "reference"), nil,
			"node", "pipeline.mjs", "--archive", archive, "--sync-url", url, "--path", b.opts.refPath)
	case "ours-start":
		res, err = runStart(ctx, b.opts.bin, b.dir, archive, url, b.opts.oursPath)
	default:
		env := append(os.Environ(), "LOG_LEVEL=warn", "SYNC_WS_URL=")
		res, err = proc.Run(ctx, b.dir, env, b.opts.bin, "import", archive,
			"--sync-url", url, "--doc-path", b.opts.oursPath, "--data-dir", filepath.Join(b.dir, "data"))
	}
	if err != nil {
		select {
		case <-srv.Done():
			return runResult{}, fmt.Errorf("the sync server died during the run: %s", crashReason(srv.Stderr()))
		default:
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return runResult{}, fmt.Errorf("no answer within %s (peak RSS so far unknown): %w", b.opts.timeout, err)
		}
		return runResult{}, err
	}
	return runResult{Wall: res.Wall, PeakRSSKiB: res.PeakRSSKiB, SentBytes: px.Up(), RecvBytes: px.Down()}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// crashReason names why the sync server died, from its stderr.
func crashReason(stderr string) string {
	switch {
	case strings.Contains(stderr, "__rg_oom"):
		return "Automerge (wasm) ran out of memory applying the sync message (RuntimeError: unreachable in __rg_oom)"
	case strings.Contains(stderr, "heap out of memory"):
		return "JavaScript heap out of memory"
	}
	return lastLines(stderr, 3)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/auth"
	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/server"
	"github.com/tonk-labs/locations-worker/internal/worker"
)

// shutdownBudget is how long a stop may take: pm2 sends SIGKILL 1.6 s
// after SIGINT.
const shutdownBudget = 1400 * time.Millisecond

func newStartCmd(a *app) *cobra.Command {
	var archives []string
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Run the worker: HTTP endpoints, daily export, keepsync document",
		Long: `start runs the worker the way Tonk's supervisor (pm2) or Docker expects:

- an HTTP server on WORKER_HOST:WORKER_PORT (127.0.0.1:5555) with GET /health,
  GET /status, POST /tonk {"action":"export"|"status"}, POST /export (alias
  POST /export-locations) and GET /metrics;
- an export on start-up (EXPORT_ON_START) and on the cron schedule
  EXPORT_SCHEDULE (03:00 every day) in EXPORT_TIMEZONE, one at a time;
- each export is written to the keepsync document KEEPSYNC_DOC_PATH, changing
  only what changed, and sent to the sync server; when the server is down the
  change waits in the local store (LOCATIONS_WORKER_DATA) and is sent when it
  comes back.

Exports come from the Google Data Portability API (run ` + "`locations-worker auth setup`" + `
first), or, with --archive, from Takeout or Data Portability archives on disk,
read again on every run.

SIGINT or SIGTERM stop it cleanly within 1.5 seconds.`,
		Example: `  locations-worker start
  WORKER_PORT=6000 EXPORT_SCHEDULE="30 4 * * *" locations-worker start
  locations-worker start --archive ~/Downloads/takeout-001.zip --export-on-start
  WORKER_TOKEN=$(openssl rand -hex 16) locations-worker start --host 0.0.0.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config(cmd)
			if err != nil {
				return err
			}
			return runStart(cmd.Context(), a, cfg, archives)
		},
	}
	config.BindFlags(cmd.Flags(), "host", "port", "schedule", "timezone", "export-on-start", "layout",
		"worker-token", "cors-origins", "credentials", "token-file", "dataportability-url", "resources")
	config.BindFlags(cmd.Flags(), archiveLimitKeys...)
	cmd.Flags().StringArrayVar(&archives, "archive", nil, "export from this archive (zip, folder or file) instead of the API; repeatable")
	return cmd
}

// runStart runs the worker until ctx ends.
func runStart(ctx context.Context, a *app, cfg *config.Config, archives []string) error {
	log := a.logger(cfg, a.stdout)
	bi := readBuildInfo()
	started := time.Now()

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return withHint(fmt.Errorf("listen on %s: %w", addr, err), "another process uses this port: set WORKER_PORT (or --port) to a free one")
	}

	store, err := keepsync.Open(ctx, keepsync.Options{
		SyncURL: cfg.SyncURL, WSURL: cfg.SyncWSURL,
		DataDir: filepath.Join(cfg.DataDir, "keepsync"),
		Logger:  log,
	})
	if err != nil {
		ln.Close()
		return fmt.Errorf("open the local keepsync store in %s: %w", cfg.DataDir, err)
	}

	syncState := func() server.SyncState {
		st := store.Status()
		return server.SyncState{Connected: st.Connected, ServerURL: st.ServerURL, PendingDocs: st.PendingDocs, LastError: st.LastError}
	}
	metrics := server.NewMetrics(syncState)
	runner := worker.NewRunner(worker.RunnerOptions{
		Store:    store,
		Path:     cfg.DocPath,
		Export:   exporter(cfg, archives),
		Write:    worker.WriteOptions{Layout: cfg.Layout, WorkerName: "locations-worker", WorkerVersion: bi.Version},
		Logger:   log,
		OnFinish: metrics.ObserveRun,
	})
	sched, err := worker.NewScheduler(cfg.Schedule, cfg.Location, runner, log)
	if err != nil {
		ln.Close()
		store.Close()
		return fmt.Errorf("invalid schedule (--schedule / EXPORT_SCHEDULE): %w", err)
	}

	summary := cfg.Summary()
	if len(archives) > 0 {
		summary["archives"] = archives
	}
	h := server.NewServer(server.Deps{
		Logger: log, Runner: runner, Name: "locations-worker", Version: bi.Version, StartedAt: started,
		Config: summary, Token: cfg.WorkerToken, CORSOrigins: cfg.CORSOrigins,
		Sync:     syncState,
		Auth:     authStatus(cfg, archives),
		NextRun:  sched.NextRun,
		Gatherer: metrics.Registry,
	})
	srv := server.NewHTTPServer(addr, h, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	sched.Start()
	next, _ := sched.NextRun()
	log.Info("worker started", "addr", ln.Addr().String(), "version", bi.Version, "doc_path", cfg.DocPath,
		"sync_url", cfg.SyncURL, "schedule", cfg.Schedule, "timezone", cfg.Location.String(), "next_run", next,
		"source", map[bool]string{true: "archive", false: "api"}[len(archives) > 0])
	if cfg.ExportOnStart {
		if _, _, _, err := runner.Trigger("start"); err != nil {
			log.Error("start-up export not started", "error", err)
		}
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
		log.Error("http server stopped", "error", err)
	}
	stop(log, sched, srv, runner, store)
	return runErr
}

// stop shuts everything down within shutdownBudget: no new runs, no new
// requests, the running export cancelled (a keepsync write under way
// finishes: it is local), then the sync connection closed. Changes not yet
// on the server are in the local store and are sent on the next start.
func stop(log *slog.Logger, sched *worker.Scheduler, srv *http.Server, runner *worker.Runner, store *keepsync.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownBudget)
	defer cancel()
	step := func(name string, d time.Duration, f func(context.Context) error) {
		sctx, scancel := context.WithTimeout(ctx, d)
		defer scancel()
		if err := f(sctx); err != nil {
			log.Warn("shutdown: "+name, "error", err)
		}
	}
	// The runner first: its cancellation also releases a scheduled task
	// waiting for its run, so the scheduler stops at once.
	step("export", 700*time.Millisecond, runner.Close)
	step("scheduler", 150*time.Millisecond, sched.Shutdown)
	step("http", 200*time.Millisecond, func(c context.Context) error {
		if err := srv.Shutdown(c); err != nil {
			return srv.Close()
		}
		return nil
	})
	step("keepsync", 300*time.Millisecond, func(c context.Context) error {
		done := make(chan error, 1)
		go func() { done <- store.Close() }()
		select {
		case err := <-done:
			return err
		case <-c.Done():
			return errors.New("connection still closing; every change is already in the local store")
		}
	})
	log.Info("stopped")
}

// exporter returns where the worker's exports come from: archives on disk
// when given, else the Data Portability API.
func exporter(cfg *config.Config, archives []string) worker.Exporter {
	if len(archives) > 0 {
		return func(ctx context.Context, log *slog.Logger, progress func(worker.Progress)) (*export.Snapshot, error) {
			progress(worker.Progress{Stage: "reading archives", Total: len(archives)})
			snap, err := export.Import(ctx, archives, export.ImportOptions{Logger: log, Limits: archiveLimits(cfg)})
			if err != nil {
				return nil, fmt.Errorf("read archives: %w", err)
			}
			return snap, nil
		}
	}
	return func(ctx context.Context, log *slog.Logger, progress func(worker.Progress)) (*export.Snapshot, error) {
		progress(worker.Progress{Stage: "checking authorization"})
		st, err := auth.Status(cfg.TokenFile, cfg.Resources, time.Now())
		if err != nil {
			return nil, fmt.Errorf("read the Google token: %w", err)
		}
		if !st.CanExport {
			return nil, fmt.Errorf("cannot export from Google: %s", st.Problem)
		}
		ts, err := savedTokenSource(ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("Google sign-in: %w (run `locations-worker auth setup`)", err)
		}
		src, err := export.NewAPISource(ctx, ts, export.APIOptions{
			Endpoint:         cfg.PortabilityURL,
			Resources:        cfg.Resources,
			Limits:           archiveLimits(cfg),
			MaxDownloadBytes: cfg.ArchiveMaxTotalBytes,
			Logger:           log,
			Progress: func(p export.Progress) {
				progress(worker.Progress{Stage: p.Phase, Done: p.Archive, Total: p.Archives})
			},
		})
		if err != nil {
			return nil, err
		}
		snap, err := src.Export(ctx)
		if errors.Is(err, export.ErrUnauthorized) {
			return nil, fmt.Errorf("%w: the grant may have been revoked or expired; run `locations-worker auth setup` again", err)
		}
		return snap, err
	}
}

// authStatus returns the /status view of Google authorization.
func authStatus(cfg *config.Config, archives []string) func(context.Context) any {
	return func(context.Context) any {
		if len(archives) > 0 {
			return map[string]any{"source": "archive", "needed": false}
		}
		st, err := auth.Status(cfg.TokenFile, cfg.Resources, time.Now())
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return st
	}
}

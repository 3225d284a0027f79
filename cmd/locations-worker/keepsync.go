package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/keepsync"
	"github.com/tonk-labs/locations-worker/internal/worker"
)

// keepsyncDir is the local keepsync store under the data directory.
func keepsyncDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "keepsync") }

// openKeepsync opens the keepsync client of cfg: the local store under
// <data-dir>/keepsync, connecting to the sync server in the background. It
// does not wait for the server, and does not fail because it is down.
func openKeepsync(ctx context.Context, cfg *config.Config, log *slog.Logger) (*keepsync.Client, error) {
	c, err := keepsync.Open(ctx, keepsync.Options{
		SyncURL: cfg.SyncURL,
		WSURL:   cfg.SyncWSURL,
		DataDir: keepsyncDir(cfg),
		Logger:  log,
	})
	if err != nil {
		return nil, fmt.Errorf("open the local keepsync store in %s: %w", keepsyncDir(cfg), err)
	}
	return c, nil
}

// commandLogger is the logger of the keepsync client in one-shot commands
// (import, export, doc): they print what happened with the sync server
// themselves, so the client's own lines show only with LOG_LEVEL=debug.
func (a *app) commandLogger(cfg *config.Config) *slog.Logger {
	if cfg.LogLevel == "debug" {
		return a.logger(cfg, a.stderr)
	}
	return slog.New(slog.DiscardHandler)
}

// writeOptions are the writer's options for a run of cfg started at started,
// the same as the worker's.
func writeOptions(cfg *config.Config, started time.Time) worker.WriteOptions {
	return worker.WriteOptions{
		Layout: cfg.Layout, StartedAt: started, FinishedAt: time.Now(),
		WorkerName: "locations-worker", WorkerVersion: readBuildInfo().Version,
	}
}

// Sync states of a one-shot write, as printed and in --json.
const (
	syncSynced = "synced"         // the sync server holds the document
	syncLocal  = "stored locally" // on disk under <data-dir>/keepsync; sent when the server is reachable
)

// syncReport is what writing a snapshot to keepsync did.
type syncReport struct {
	Path    string         `json:"path"`
	Server  string         `json:"server"`
	Changes worker.Changes `json:"changes"`
	// Sync is syncSynced or syncLocal; Reason says why it is not synced.
	Sync   string `json:"sync"`
	Reason string `json:"reason,omitempty"`
	// Message is the one line printed about the sync server.
	Message string `json:"message"`
}

// syncStore is what a one-shot write needs of the keepsync client.
type syncStore interface {
	worker.Store
	Status() keepsync.Status
	DocumentID(ctx context.Context, path string) (keepsync.DocumentID, error)
}

// syncOptions bound the wait for the sync server.
type syncOptions struct {
	// Timeout bounds the whole wait for the server to hold the document.
	Timeout time.Duration
	// Grace is how long a connection lost during the wait may take to come
	// back before the document is reported as stored locally.
	Grace time.Duration
	// Poll is how often the connection state is looked at (default 50ms).
	Poll time.Duration
}

// writeAndSync writes snap to the document of cfg through the same writer as
// `start`, then waits, within opts, for the sync server to hold it. A
// server that cannot be reached is not an error: the report then says
// "stored locally". Only a failed local write is an error.
func writeAndSync(ctx context.Context, store syncStore, cfg *config.Config, snap *export.Snapshot, wopts worker.WriteOptions, opts syncOptions) (syncReport, error) {
	rep := syncReport{Path: cfg.DocPath, Server: cfg.SyncURL}
	ch, err := worker.Write(ctx, store, cfg.DocPath, snap, wopts)
	if err != nil {
		return rep, fmt.Errorf("keepsync: %w", err)
	}
	rep.Changes = ch
	// Wait even when nothing changed: an earlier run may have stored the
	// document locally while the server was down.
	if err := waitServer(ctx, store, cfg, opts); err != nil {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.Sync, rep.Reason = syncLocal, err.Error()
		rep.Message = fmt.Sprintf("sync server not reachable at %s: stored locally, will sync when it is", cfg.SyncURL)
		return rep, nil
	}
	rep.Sync = syncSynced
	rep.Message = fmt.Sprintf("synced with the sync server at %s", cfg.SyncURL)
	return rep, nil
}

// errUnreachable: the client tried and failed to reach the sync server.
var errUnreachable = errors.New("sync server not reachable")

// waitServer returns nil once the server holds the document at path. It
// gives up early, with errUnreachable, when the server could not be reached
// at all or a lost connection did not come back within opts.Grace, so that
// a run with no server finishes in the time of one connection attempt.
func waitServer(ctx context.Context, store syncStore, cfg *config.Config, opts syncOptions) error {
	if opts.Poll <= 0 {
		opts.Poll = 50 * time.Millisecond
	}
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- syncedOnServer(wctx, store, cfg, opts.Poll) }()
	tick := time.NewTicker(opts.Poll)
	defer tick.Stop()
	seen := false
	var lost time.Time
	giveUp := func(why string) error {
		cancel()
		<-done
		return fmt.Errorf("%w: %s", errUnreachable, why)
	}
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			st := store.Status()
			switch {
			case st.Connected:
				seen, lost = true, time.Time{}
			case st.LastError == "":
				// The first connection attempt is still under way.
			case !seen:
				return giveUp(st.LastError)
			case lost.IsZero():
				lost = time.Now()
			case time.Since(lost) > opts.Grace:
				return giveUp(st.LastError)
			}
		}
	}
}

// syncedOnServer waits until the server holds the document at cfg.DocPath
// and a client starting from the server's root, as a Tonk app does, finds
// it there. The second check matters after a first run with no server: the
// local tree then hangs off a provisional root until the client grafts it
// into the server's root, shortly after it connects.
func syncedOnServer(ctx context.Context, store syncStore, cfg *config.Config, poll time.Duration) error {
	for {
		if err := store.WaitSynced(ctx, cfg.DocPath); err != nil {
			return err
		}
		ok, err := onServer(ctx, store, cfg)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: the server does not show %s yet: %v", keepsync.ErrUnavailable, cfg.DocPath, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// onServer reports whether a fresh client, with an empty store of its own,
// finds at cfg.DocPath on the server the document that store holds there.
// It reads only the directories on the way, not the document.
func onServer(ctx context.Context, store syncStore, cfg *config.Config) (bool, error) {
	want, err := store.DocumentID(ctx, cfg.DocPath)
	if err != nil {
		return false, err
	}
	dir, name := path.Split(strings.TrimRight(cfg.DocPath, "/"))
	tmp, err := os.MkdirTemp("", "locations-worker-probe-*")
	if err != nil {
		return false, fmt.Errorf("check the server: %w", err)
	}
	defer os.RemoveAll(tmp)
	probe, err := keepsync.Open(ctx, keepsync.Options{SyncURL: cfg.SyncURL, WSURL: cfg.SyncWSURL, DataDir: tmp})
	if err != nil {
		return false, fmt.Errorf("check the server: %w", err)
	}
	defer probe.Close()
	ents, err := probe.Ls(ctx, "/"+strings.Trim(dir, "/"))
	if errors.Is(err, keepsync.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if e.Name == name {
			return e.Pointer == want, nil
		}
	}
	return false, nil
}

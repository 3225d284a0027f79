package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tonk-labs/locations-worker/internal/export"
)

// Store is what the Runner needs of the keepsync client.
type Store interface {
	Updater
	// WaitSynced returns once the sync server has every local change of
	// the document at path.
	WaitSynced(ctx context.Context, path string) error
}

// Progress is how far the running export has got.
type Progress struct {
	Stage string `json:"stage"`           // e.g. "requesting", "downloading", "parsing", "writing", "syncing"
	Done  int    `json:"done,omitempty"`  // items done in this stage, when known
	Total int    `json:"total,omitempty"` // items in this stage, when known
}

// Exporter produces a snapshot, reporting progress as it goes. It is the
// export pipeline, from the Data Portability API or from archives on disk.
// log is the run's logger: its lines carry the run id.
type Exporter func(ctx context.Context, log *slog.Logger, progress func(Progress)) (*export.Snapshot, error)

// Results of a run.
const (
	ResultSuccess    = "success"    // complete export written
	ResultIncomplete = "incomplete" // some input unread: nothing marked removed
	ResultFailed     = "failed"     // nothing read, or the write failed
)

// Sync states of a run.
const (
	SyncSynced  = "synced"                           // the sync server has the change
	SyncLocal   = "stored locally, waiting for sync" // written to the local store; sent when the server is reachable
	SyncNothing = "no change"                        // the document already held this data
	SyncNone    = "not written"                      // the run wrote nothing
)

// Run describes one export run. Runs returned by the Runner are copies.
type Run struct {
	ID         string           `json:"id"`
	Trigger    string           `json:"trigger"` // "start", "schedule", "http", "tonk"...
	Running    bool             `json:"running"`
	Progress   Progress         `json:"progress"`
	StartedAt  time.Time        `json:"startedAt"`
	FinishedAt *time.Time       `json:"finishedAt,omitempty"`
	Result     string           `json:"result,omitempty"`
	Complete   bool             `json:"complete"`
	Counts     *export.Counts   `json:"counts,omitempty"`
	Changes    *Changes         `json:"changes,omitempty"`
	Problems   []export.Problem `json:"problems,omitempty"`
	Sync       string           `json:"sync,omitempty"`
	Error      string           `json:"error,omitempty"`
}

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	Store  Store
	Path   string // keepsync document path
	Export Exporter
	// Write carries the layout and the worker's name and version; the run
	// fills in its times.
	Write  WriteOptions
	Logger *slog.Logger
	// SyncTimeout bounds the wait for the sync server after a write
	// (default 10s); past it the run reports SyncLocal.
	SyncTimeout time.Duration
	// OnFinish, if set, is called with every finished run (for metrics).
	OnFinish func(Run)
}

// Runner runs exports one at a time.
type Runner struct {
	opts   RunnerOptions
	log    *slog.Logger
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu      sync.Mutex
	current *Run
	done    chan struct{} // closed when current finishes
	last    *Run
	closed  bool
	wg      sync.WaitGroup
}

// NewRunner returns a Runner.
func NewRunner(opts RunnerOptions) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SyncTimeout <= 0 {
		opts.SyncTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel}
}

// ErrClosed is returned by Trigger after Close.
var ErrClosed = errors.New("worker is shutting down")

// Trigger starts an export in the background and returns its run id. If
// one is already running it starts nothing and returns the running one's
// id with started false. done is closed when that run finishes.
func (r *Runner) Trigger(trigger string) (id string, started bool, done <-chan struct{}, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", false, nil, ErrClosed
	}
	if r.current != nil {
		return r.current.ID, false, r.done, nil
	}
	run := &Run{ID: newRunID(time.Now()), Trigger: trigger, Running: true, StartedAt: time.Now(), Progress: Progress{Stage: "starting"}}
	r.current = run
	ch := make(chan struct{})
	r.done = ch
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.execute(run)
		r.mu.Lock()
		run.Running = false
		r.last, r.current, r.done = run, nil, nil
		final := copyRun(run)
		r.mu.Unlock()
		// Logged once the run is visible as the last one in /status.
		r.log.Info("export finished", "run_id", final.ID, "result", final.Result, "sync", final.Sync)
		close(ch)
		if r.opts.OnFinish != nil {
			r.opts.OnFinish(final)
		}
	}()
	return run.ID, true, ch, nil
}

// Current returns the running export, if any.
func (r *Runner) Current() (Run, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == nil {
		return Run{}, false
	}
	return copyRun(r.current), true
}

// Last returns the last finished export, if any.
func (r *Runner) Last() (Run, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return Run{}, false
	}
	return copyRun(r.last), true
}

func copyRun(r *Run) Run {
	c := *r
	if r.Changes != nil {
		ch := *r.Changes
		c.Changes = &ch
	}
	if r.Counts != nil {
		cn := *r.Counts
		c.Counts = &cn
	}
	c.Problems = append([]export.Problem(nil), r.Problems...)
	return c
}

// Close stops accepting runs, cancels the running export and waits for it
// to end, or for ctx. A keepsync write already under way is allowed to
// finish: it is local and short, and once done the change is safe in the
// local store even if it has not reached the server.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the running export: %w", ctx.Err())
	}
}

func (r *Runner) setProgress(run *Run, p Progress) {
	r.mu.Lock()
	run.Progress = p
	r.mu.Unlock()
}

func (r *Runner) execute(run *Run) {
	log := r.log.With("run_id", run.ID)
	log.Info("export started", "trigger", run.Trigger)
	ctx := r.ctx
	finish := func(result, syncState, errMsg string) {
		now := time.Now()
		r.mu.Lock()
		run.FinishedAt = &now
		run.Result, run.Sync, run.Error = result, syncState, errMsg
		run.Progress = Progress{Stage: "done"}
		r.mu.Unlock()
	}

	snap, err := r.opts.Export(ctx, log, func(p Progress) { r.setProgress(run, p) })
	if err == nil && snap == nil {
		err = errors.New("export returned no snapshot")
	}
	if err != nil {
		msg := err.Error()
		if ctx.Err() != nil {
			msg = "cancelled: the worker is shutting down"
		}
		log.Error("export failed", "error", msg)
		if ctx.Err() == nil {
			wo := r.opts.Write
			wo.StartedAt, wo.FinishedAt = run.StartedAt, time.Now()
			if _, werr := WriteFailure(context.WithoutCancel(ctx), r.opts.Store, r.opts.Path, msg, wo); werr != nil {
				log.Warn("could not record the failure in the document", "error", werr)
			}
		}
		finish(ResultFailed, SyncNone, msg)
		return
	}
	for _, p := range snap.Problems {
		log.Warn("export problem", "file", p.File, "problem", p.Message, "fatal", p.Fatal)
	}
	counts := snap.Counts
	r.mu.Lock()
	run.Counts = &counts
	run.Problems = append([]export.Problem(nil), snap.Problems...)
	r.mu.Unlock()

	r.setProgress(run, Progress{Stage: "writing", Total: len(snap.Places)})
	wo := r.opts.Write
	wo.StartedAt, wo.FinishedAt = run.StartedAt, time.Now()
	// The write is local and short: let it finish even during shutdown so
	// nothing read is lost.
	ch, err := Write(context.WithoutCancel(ctx), r.opts.Store, r.opts.Path, snap, wo)
	if err != nil {
		log.Error("keepsync write failed", "error", err)
		finish(ResultFailed, SyncNone, err.Error())
		return
	}
	r.mu.Lock()
	run.Changes = &ch
	run.Complete = ch.Complete
	r.mu.Unlock()
	result := ResultSuccess
	if !ch.Complete {
		result = ResultIncomplete
		log.Warn("export incomplete", "reason", ch.Reason)
	}
	log.Info("document written", "path", r.opts.Path, "added", ch.Added, "updated", ch.Updated,
		"removed", ch.Removed, "restored", ch.Restored, "unchanged", ch.Unchanged, "changed", ch.Changed)

	syncState := SyncNothing
	if ch.Changed {
		r.setProgress(run, Progress{Stage: "syncing"})
		sctx, cancel := context.WithTimeout(ctx, r.opts.SyncTimeout)
		err := r.opts.Store.WaitSynced(sctx, r.opts.Path)
		cancel()
		if err != nil {
			syncState = SyncLocal
			log.Warn("stored locally, waiting for sync", "reason", err.Error())
		} else {
			syncState = SyncSynced
			log.Info("synced with the server")
		}
	}
	msg := ""
	if !ch.Complete {
		msg = ch.Reason
	}
	finish(result, syncState, msg)
}

func newRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

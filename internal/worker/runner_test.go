package worker

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/tonk-labs/locations-worker/internal/export"
)

// docStore keeps one Automerge document in memory and honours Update's
// contract (commit only when fn changed something). It stands in for the
// local side of keepsync in tests of run orchestration; the end-to-end tests
// use the real client and sync server.
type docStore struct {
	mu      sync.Mutex
	doc     *automerge.Doc
	syncErr error
	updates int
	changed int
}

func (s *docStore) Update(_ context.Context, _ string, fn func(*automerge.Doc) error) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doc == nil {
		s.doc = automerge.New()
	}
	s.updates++
	before := s.doc.Heads()
	if err := fn(s.doc); err != nil {
		return false, err
	}
	if _, err := s.doc.Commit("write"); err != nil && err.Error() != "Commit is empty" {
		return false, err
	}
	changed := !reflect.DeepEqual(before, s.doc.Heads())
	if changed {
		s.changed++
	}
	return changed, nil
}

func (s *docStore) WaitSynced(ctx context.Context, _ string) error {
	s.mu.Lock()
	err := s.syncErr
	s.mu.Unlock()
	return err
}

func TestRunnerSingleFlight(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	var once sync.Once
	store := &docStore{}
	r := NewRunner(RunnerOptions{Store: store, Path: "/p", Export: func(ctx context.Context, _ *slog.Logger, progress func(Progress)) (*export.Snapshot, error) {
		progress(Progress{Stage: "downloading", Done: 1, Total: 2})
		once.Do(func() { close(entered) })
		<-release
		return sample(), nil
	}})
	id1, started, done, err := r.Trigger("http")
	if err != nil || !started {
		t.Fatalf("Trigger = %v, %v", started, err)
	}
	<-entered
	id2, started2, _, _ := r.Trigger("schedule")
	if started2 || id2 != id1 {
		t.Fatalf("second trigger while running: id %s started %v, want %s false", id2, started2, id1)
	}
	cur, ok := r.Current()
	if !ok || cur.ID != id1 || cur.Progress != (Progress{Stage: "downloading", Done: 1, Total: 2}) || !cur.Running {
		t.Fatalf("Current = %+v", cur)
	}
	close(release)
	<-done
	last, ok := r.Last()
	if !ok || last.ID != id1 || last.Result != ResultSuccess || last.Sync != SyncSynced || last.Changes.Added != 3 || last.FinishedAt == nil {
		t.Fatalf("Last = %+v", last)
	}
	if _, ok := r.Current(); ok {
		t.Fatal("still running")
	}
	// A second run with the same data: no change, nothing to sync.
	_, _, done, _ = r.Trigger("http")
	<-done
	last, _ = r.Last()
	if last.Sync != SyncNothing || last.Changes.Unchanged != 3 || store.changed != 1 {
		t.Fatalf("second run = %+v (store changed %d times)", last, store.changed)
	}
}

func TestRunnerFailureAndIncomplete(t *testing.T) {
	store := &docStore{}
	fail := true
	r := NewRunner(RunnerOptions{Store: store, Path: "/p", Export: func(ctx context.Context, _ *slog.Logger, _ func(Progress)) (*export.Snapshot, error) {
		if fail {
			return nil, errors.New("no Google token: run `locations-worker auth login`")
		}
		s := sample()
		s.Complete = false
		return s, nil
	}})
	_, _, done, _ := r.Trigger("start")
	<-done
	last, _ := r.Last()
	if last.Result != ResultFailed || !strings.Contains(last.Error, "no Google token") || last.Sync != SyncNone {
		t.Fatalf("failed run = %+v", last)
	}
	fail = false
	_, _, done, _ = r.Trigger("start")
	<-done
	last, _ = r.Last()
	if last.Result != ResultIncomplete || last.Complete || !strings.Contains(last.Error, "nothing was marked removed") {
		t.Fatalf("incomplete run = %+v", last)
	}
}

func TestRunnerStoredLocally(t *testing.T) {
	store := &docStore{syncErr: errors.New("sync server unreachable")}
	r := NewRunner(RunnerOptions{Store: store, Path: "/p", Export: func(context.Context, *slog.Logger, func(Progress)) (*export.Snapshot, error) {
		return sample(), nil
	}})
	_, _, done, _ := r.Trigger("http")
	<-done
	if last, _ := r.Last(); last.Sync != SyncLocal || last.Result != ResultSuccess {
		t.Fatalf("run = %+v", last)
	}
}

func TestRunnerCloseCancelsExport(t *testing.T) {
	entered := make(chan struct{})
	var finished []Run
	var mu sync.Mutex
	r := NewRunner(RunnerOptions{Store: &docStore{}, Path: "/p",
		Export: func(ctx context.Context, _ *slog.Logger, _ func(Progress)) (*export.Snapshot, error) {
			close(entered)
			<-ctx.Done()
			return nil, ctx.Err()
		},
		OnFinish: func(run Run) { mu.Lock(); finished = append(finished, run); mu.Unlock() },
	})
	if _, _, _, err := r.Trigger("start"); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Trigger("http"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Trigger after Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(finished) != 1 || finished[0].Result != ResultFailed || !strings.Contains(finished[0].Error, "shutting down") {
		t.Fatalf("finished = %+v", finished)
	}
}

func TestSchedulerRunsAndReportsNextRun(t *testing.T) {
	runs := make(chan struct{}, 10)
	r := NewRunner(RunnerOptions{Store: &docStore{}, Path: "/p", Export: func(context.Context, *slog.Logger, func(Progress)) (*export.Snapshot, error) {
		runs <- struct{}{}
		return sample(), nil
	}})
	defer r.Close(context.Background())
	loc, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler("* * * * * *", loc, r, nil) // every second
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Shutdown(context.Background())
	<-runs
	next, ok := s.NextRun()
	if !ok || next.Location().String() != "Europe/Vienna" {
		t.Fatalf("NextRun = %v, %v", next, ok)
	}

	daily, err := NewScheduler("0 3 * * *", loc, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	daily.Start()
	defer daily.Shutdown(context.Background())
	next, ok = daily.NextRun()
	if !ok || next.In(loc).Hour() != 3 || next.Minute() != 0 || !next.After(time.Now()) {
		t.Fatalf("daily NextRun = %v, %v", next, ok)
	}
}

func TestSchedulerRejectsBadCron(t *testing.T) {
	r := NewRunner(RunnerOptions{})
	if _, err := NewScheduler("61 * * * *", time.UTC, r, nil); err == nil {
		t.Fatal("bad cron accepted")
	}
}

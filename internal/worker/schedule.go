package worker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Scheduler triggers exports on a cron schedule.
type Scheduler struct {
	s   gocron.Scheduler
	job gocron.Job
}

// Triggerer starts a run and tells when it is done; *Runner is one.
type Triggerer interface {
	Trigger(trigger string) (id string, started bool, done <-chan struct{}, err error)
}

// NewScheduler schedules runner on the cron expression spec (5 fields, or 6
// with seconds) in loc. Runs never overlap: a tick while a run is still going
// is skipped (singleton mode), and the Runner itself never runs two.
func NewScheduler(spec string, loc *time.Location, runner Triggerer, log *slog.Logger) (*Scheduler, error) {
	if loc == nil {
		loc = time.Local
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := gocron.NewScheduler(gocron.WithLocation(loc))
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	withSeconds := len(strings.Fields(spec)) == 6
	job, err := s.NewJob(
		gocron.CronJob(spec, withSeconds),
		gocron.NewTask(func(ctx context.Context) {
			id, started, done, err := runner.Trigger("schedule")
			if err != nil {
				return
			}
			if !started {
				log.Info("scheduled export skipped: one is already running", "run_id", id)
			}
			select {
			case <-done:
			case <-ctx.Done():
			}
		}),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithName("export"),
	)
	if err != nil {
		_ = s.Shutdown()
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return &Scheduler{s: s, job: job}, nil
}

// Start starts the schedule.
func (s *Scheduler) Start() { s.s.Start() }

// NextRun returns the time of the next scheduled export.
func (s *Scheduler) NextRun() (time.Time, bool) {
	t, err := s.job.NextRun()
	if err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}

// Shutdown stops the schedule; a task waiting for its run stops waiting.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	if err := s.s.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	return nil
}

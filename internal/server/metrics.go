package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tonk-labs/locations-worker/internal/worker"
)

// Metrics are the worker's Prometheus metrics, on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry
	runs     *prometheus.CounterVec
	duration prometheus.Histogram
	places   *prometheus.GaugeVec
}

// NewMetrics registers the worker's metrics (and the Go runtime's) on a new
// registry. sync may be nil.
func NewMetrics(sync func() SyncState) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "locations_worker_export_runs_total",
			Help: "Export runs by result (success, incomplete, failed).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "locations_worker_export_duration_seconds",
			Help:    "Duration of export runs, from start to written (and synced, when the server is up).",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}),
		places: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "locations_worker_places",
			Help: "Places in the document after the last write, by state (active, removed).",
		}, []string{"state"}),
	}
	for _, r := range []string{worker.ResultSuccess, worker.ResultIncomplete, worker.ResultFailed} {
		m.runs.WithLabelValues(r)
	}
	reg.MustRegister(m.runs, m.duration, m.places,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if sync != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "locations_worker_sync_connected",
				Help: "1 when connected to the keepsync sync server.",
			}, func() float64 {
				if sync().Connected {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "locations_worker_sync_pending_documents",
				Help: "Documents with local changes the sync server does not have yet.",
			}, func() float64 { return float64(sync().PendingDocs) }),
		)
	}
	return m
}

// ObserveRun records a finished run; it fits worker.RunnerOptions.OnFinish.
func (m *Metrics) ObserveRun(run worker.Run) {
	m.runs.WithLabelValues(run.Result).Inc()
	if run.FinishedAt != nil {
		m.duration.Observe(run.FinishedAt.Sub(run.StartedAt).Seconds())
	}
	if run.Changes != nil {
		m.places.WithLabelValues("active").Set(float64(run.Changes.Active))
		m.places.WithLabelValues("removed").Set(float64(run.Changes.Gone))
	}
}

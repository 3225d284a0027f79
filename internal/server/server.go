// Package server is the worker's HTTP interface: the endpoints Tonk expects
// (/health, /tonk, /status), manual export triggers, Prometheus metrics, and
// the guards around them (bearer token, body limit, CORS). It holds no
// export logic: it talks to a Runner.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tonk-labs/locations-worker/internal/worker"
)

// MaxBodyBytes caps request bodies; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Runner is what the server needs of the export runner.
type Runner interface {
	Trigger(trigger string) (id string, started bool, done <-chan struct{}, err error)
	Current() (worker.Run, bool)
	Last() (worker.Run, bool)
}

// SyncState is the keepsync connection as shown in /status.
type SyncState struct {
	Connected   bool   `json:"connected"`
	ServerURL   string `json:"serverUrl"`
	PendingDocs int    `json:"pendingDocs"` // documents with local changes the server does not have yet
	LastError   string `json:"lastError,omitempty"`
}

// Deps are the server's dependencies. Funcs may be nil.
type Deps struct {
	Logger    *slog.Logger
	Runner    Runner
	Name      string
	Version   string
	StartedAt time.Time
	// Config is the configuration summary, without secrets.
	Config map[string]any
	// Token, when set, is required as a bearer token on every endpoint but /health.
	Token string
	// CORSOrigins are the origins allowed to call the worker from a browser.
	CORSOrigins []string
	Sync        func() SyncState
	// Auth returns the Google authorization state (no secrets), JSON-encodable.
	Auth func(ctx context.Context) any
	// NextRun returns the next scheduled export.
	NextRun func() (time.Time, bool)
	// Gatherer serves /metrics; nil serves an empty registry.
	Gatherer prometheus.Gatherer
}

// NewServer returns the worker's HTTP handler.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Gatherer == nil {
		d.Gatherer = prometheus.NewRegistry()
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	var h http.Handler = mux
	h = limitBody(h)
	h = requireToken(d.Token, h)
	h = cors(d.CORSOrigins, h)
	h = recoverPanics(d.Logger, h)
	return h
}

// NewHTTPServer wraps h in an http.Server with timeouts suited to a small
// local API.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

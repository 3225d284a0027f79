package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tonk-labs/locations-worker/internal/worker"
)

func handleHealth() http.Handler {
	body := []byte(`{"status":"ok"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}

// Status is the body of GET /status.
type Status struct {
	Name          string         `json:"name"`
	Version       string         `json:"version"`
	StartedAt     time.Time      `json:"startedAt"`
	UptimeSeconds int64          `json:"uptimeSeconds"`
	Config        map[string]any `json:"config"`
	Auth          any            `json:"auth,omitempty"`
	Sync          *SyncState     `json:"sync,omitempty"`
	Export        ExportStatus   `json:"export"`
}

// ExportStatus is the export part of /status.
type ExportStatus struct {
	Running *worker.Run `json:"running"`
	Last    *worker.Run `json:"last"`
	NextRun *time.Time  `json:"nextRun"`
}

func status(r *http.Request, d Deps) Status {
	s := Status{
		Name:          d.Name,
		Version:       d.Version,
		StartedAt:     d.StartedAt,
		UptimeSeconds: int64(time.Since(d.StartedAt).Seconds()),
		Config:        d.Config,
	}
	if d.Auth != nil {
		s.Auth = d.Auth(r.Context())
	}
	if d.Sync != nil {
		st := d.Sync()
		s.Sync = &st
	}
	if run, ok := d.Runner.Current(); ok {
		s.Export.Running = &run
	}
	if run, ok := d.Runner.Last(); ok {
		s.Export.Last = &run
	}
	if d.NextRun != nil {
		if t, ok := d.NextRun(); ok {
			s.Export.NextRun = &t
		}
	}
	return s
}

func handleStatus(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, status(r, d))
	})
}

// ExportStarted is the answer to an export trigger.
type ExportStarted struct {
	RunID string `json:"runId"`
	// Started is false when an export was already running: RunID is then
	// that run's id.
	Started bool `json:"started"`
}

func trigger(d Deps, via string) (ExportStarted, int, error) {
	id, started, _, err := d.Runner.Trigger(via)
	if errors.Is(err, worker.ErrClosed) {
		return ExportStarted{}, http.StatusServiceUnavailable, err
	}
	if err != nil {
		return ExportStarted{}, http.StatusInternalServerError, err
	}
	return ExportStarted{RunID: id, Started: started}, http.StatusAccepted, nil
}

func handleExport(d Deps, via string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := drain(r); err != nil {
			tonkError(w, statusForDecode(err), err.Error())
			return
		}
		res, code, err := trigger(d, via)
		if err != nil {
			tonkError(w, code, err.Error())
			return
		}
		d.Logger.Info("export requested", "run_id", res.RunID, "started", res.Started, "via", via)
		encode(w, code, tonkResponse{Success: true, Data: res})
	})
}

// tonkRequest is the body of POST /tonk.
type tonkRequest struct {
	Action string `json:"action"`
}

func handleTonk(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[tonkRequest](r)
		if err != nil {
			tonkError(w, statusForDecode(err), err.Error())
			return
		}
		switch req.Action {
		case "export":
			res, code, err := trigger(d, "tonk")
			if err != nil {
				tonkError(w, code, err.Error())
				return
			}
			d.Logger.Info("export requested", "run_id", res.RunID, "started", res.Started, "via", "tonk")
			encode(w, http.StatusOK, tonkResponse{Success: true, Data: res})
		case "status":
			encode(w, http.StatusOK, tonkResponse{Success: true, Data: status(r, d)})
		case "":
			tonkError(w, http.StatusBadRequest, `missing "action": use "export" or "status"`)
		default:
			tonkError(w, http.StatusBadRequest, `unknown action "`+req.Action+`": use "export" or "status"`)
		}
	})
}

func handleMetrics(d Deps) http.Handler {
	return promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})
}

package server

import (
	"net/http"
	"strings"
)

// addRoutes registers every route of the worker.
func addRoutes(mux *http.ServeMux, d Deps) {
	routes := []struct {
		method, path string
		h            http.Handler
	}{
		{"GET", "/health", handleHealth()},
		{"GET", "/status", handleStatus(d)},
		{"POST", "/tonk", handleTonk(d)},
		{"POST", "/export", handleExport(d, "http")},
		{"POST", "/export-locations", handleExport(d, "http")},
		{"GET", "/metrics", handleMetrics(d)},
	}
	allowed := map[string][]string{}
	for _, r := range routes {
		mux.Handle(r.method+" "+r.path, r.h)
		allowed[r.path] = append(allowed[r.path], r.method)
	}
	// Everything else: JSON 405 for a known path, JSON 404 otherwise.
	mux.Handle("/", handleNotFound(allowed))
}

func handleNotFound(allowed map[string][]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if methods, ok := allowed[r.URL.Path]; ok {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			tonkError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
			return
		}
		tonkError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

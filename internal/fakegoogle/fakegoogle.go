// Package fakegoogle is an httptest fake of the Google Data Portability API
// for tests: it answers the real API's paths with the real JSON shapes and
// error bodies, runs archive jobs through their states, and serves the
// archives behind signed, expiring download links itself.
//
// It is a test helper: never use it outside tests.
package fakegoogle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Endpoint names one kind of request.
type Endpoint string

// The endpoints of the fake.
const (
	Initiate   Endpoint = "initiate"   // POST v1/portabilityArchive:initiate
	State      Endpoint = "state"      // GET v1/archiveJobs/{id}/portabilityArchiveState
	Retry      Endpoint = "retry"      // POST v1/archiveJobs/{id}:retry
	Cancel     Endpoint = "cancel"     // POST v1/archiveJobs/{id}:cancel
	AccessType Endpoint = "accessType" // POST v1/accessType:check
	Reset      Endpoint = "reset"      // POST v1/authorization:reset
	Download   Endpoint = "download"   // GET download/{id}/{n}?sig=… (the signed URLs)
)

// Job states, as the API spells them.
const (
	InProgress = "IN_PROGRESS"
	Complete   = "COMPLETE"
	Failed     = "FAILED"
	Cancelled  = "CANCELLED"
)

// Request is one request the fake answered.
type Request struct {
	Endpoint Endpoint
	Method   string
	Path     string
	JobID    string // for job endpoints and downloads
	Status   int    // the status code answered
	// Authorized is true when the bearer token passed the check (always
	// false for downloads, which must not carry it).
	Authorized bool
	// HadToken is true when an Authorization header was sent.
	HadToken bool
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API base URL, with a trailing slash: give it to the client
	// as its endpoint.
	URL string

	srv     *httptest.Server
	done    chan struct{} // closed when the test ends, to release stalled downloads
	stalled chan struct{}

	mu          sync.Mutex
	polls       int
	archives    [][]byte
	tokenOK     func(token string) bool
	jobs        map[string]*job
	order       []string
	nextID      int
	failNext    int
	cancelNext  int
	inject      map[Endpoint][]int
	expireCode  int
	expireNext  int
	links       map[string]*link
	nextSig     int
	oneTime     []string
	timeBased   []string
	resetStatus int
	stallAfter  int
	onRequest   func(Request)
	log         []Request
}

type job struct {
	id        string
	resources []string
	state     string
	polls     int
	fail      bool
	cancel    bool
	archives  [][]byte
}

type link struct {
	job     string
	n       int
	used    bool
	expired bool
}

// Option configures New.
type Option func(*Server)

// WithPolls keeps each job IN_PROGRESS for n state requests (default 2).
func WithPolls(n int) Option { return func(s *Server) { s.polls = n } }

// WithArchives sets the zips every completed job serves, one link each.
func WithArchives(zips ...[]byte) Option { return func(s *Server) { s.archives = zips } }

// WithToken accepts only this bearer token (default: any non-empty token).
func WithToken(token string) Option {
	return func(s *Server) { s.tokenOK = func(t string) bool { return t == token } }
}

// WithTokenCheck decides which bearer tokens are accepted.
func WithTokenCheck(ok func(token string) bool) Option { return func(s *Server) { s.tokenOK = ok } }

// New starts a fake, closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		polls:      2,
		tokenOK:    func(tok string) bool { return tok != "" },
		jobs:       map[string]*job{},
		inject:     map[Endpoint][]int{},
		expireCode: http.StatusGone,
		links:      map[string]*link{},
		timeBased:  []string{"saved.collections", "maps.starred_places"},
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	s.done = make(chan struct{})
	s.stalled = make(chan struct{}, 1)
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.done) }) // runs first: cleanups are last in, first out
	return s
}

// SetArchives changes the zips served by jobs that complete from now on.
func (s *Server) SetArchives(zips ...[]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.archives = zips
}

// SetPolls changes how many state requests new jobs stay IN_PROGRESS for.
func (s *Server) SetPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls = n
}

// SetTokenCheck changes which bearer tokens are accepted.
func (s *Server) SetTokenCheck(ok func(token string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenOK = ok
}

// FailJobs makes the next n jobs created end FAILED instead of COMPLETE.
func (s *Server) FailJobs(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// CancelJobs makes the next n jobs created end CANCELLED (as when the user
// cancels the export from their Google account).
func (s *Server) CancelJobs(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelNext = n
}

// InjectErrors makes the next calls to ep answer the given status codes, in
// order (e.g. 429, 503, 503 for a burst), before behaving normally again.
func (s *Server) InjectErrors(ep Endpoint, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject[ep] = append(s.inject[ep], codes...)
}

// SetLinkExpiry sets the status of a download link used a second time or
// expired: 410 (default) or 403.
func (s *Server) SetLinkExpiry(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireCode = code
}

// ExpireLinks makes the next n download links handed out already expired,
// as links fetched hours before.
func (s *Server) ExpireLinks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireNext = n
}

// StallDownloads makes downloads send afterBytes bytes and then hang until
// the client goes away (0 turns it off).
func (s *Server) StallDownloads(afterBytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallAfter = afterBytes
}

// Stalled receives a value each time a download has sent its first bytes and
// hangs (see StallDownloads).
func (s *Server) Stalled() <-chan struct{} { return s.stalled }

// SetAccessType sets the answer of accessType:check, and so the accessType
// of new jobs: one-time if any requested resource is one-time.
func (s *Server) SetAccessType(oneTime, timeBased []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oneTime, s.timeBased = oneTime, timeBased
}

// SetResetStatus makes authorization:reset answer code (0: 200 {}).
func (s *Server) SetResetStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetStatus = code
}

// OnRequest calls fn as each request arrives (before it is answered;
// Status is 0), outside the server's lock: tests use it to cancel a
// context at a given step.
func (s *Server) OnRequest(fn func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRequest = fn
}

// AddJob creates a job as if started earlier (so that initiating the same
// resources answers 409 naming it) and returns its id.
func (s *Server) AddJob(resources []string, state string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.newJob(resources)
	j.state = state
	if state == Complete {
		j.archives = s.archives
	}
	return j.id
}

// JobState returns the state of job id ("" if unknown).
func (s *Server) JobState(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.jobs[id]; ok {
		return j.state
	}
	return ""
}

// Requests returns the log of answered requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Count returns how many requests to ep were answered with status (any
// status when none is given).
func (s *Server) Count(ep Endpoint, status ...int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.Endpoint == ep && (len(status) == 0 || slices.Contains(status, r.Status)) {
			n++
		}
	}
	return n
}

func (s *Server) newJob(resources []string) *job {
	s.nextID++
	j := &job{id: fmt.Sprintf("%08d-fake-job", s.nextID), resources: slices.Sorted(slices.Values(resources)), state: InProgress}
	if s.failNext > 0 {
		s.failNext--
		j.fail = true
	} else if s.cancelNext > 0 {
		s.cancelNext--
		j.cancel = true
	}
	s.jobs[j.id] = j
	s.order = append(s.order, j.id)
	return j
}

// apiError writes a Google JSON error body.
func apiError(w http.ResponseWriter, code int, status, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

func statusName(code int) string {
	switch code {
	case 400:
		return "FAILED_PRECONDITION"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ALREADY_EXISTS"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

// route finds the endpoint and job id of a request.
func route(r *http.Request) (Endpoint, string, bool) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/v1/portabilityArchive:initiate":
		return Initiate, "", true
	case r.Method == http.MethodPost && p == "/v1/accessType:check":
		return AccessType, "", true
	case r.Method == http.MethodPost && p == "/v1/authorization:reset":
		return Reset, "", true
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/download/"):
		id, _, _ := strings.Cut(strings.TrimPrefix(p, "/download/"), "/")
		return Download, id, true
	}
	rest, ok := strings.CutPrefix(p, "/v1/archiveJobs/")
	if !ok {
		return "", "", false
	}
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/portabilityArchiveState"):
		return State, strings.TrimSuffix(rest, "/portabilityArchiveState"), true
	case r.Method == http.MethodPost && strings.HasSuffix(rest, ":retry"):
		return Retry, strings.TrimSuffix(strings.TrimSuffix(rest, ":retry"), "/portabilityArchiveState"), true
	case r.Method == http.MethodPost && strings.HasSuffix(rest, ":cancel"):
		return Cancel, strings.TrimSuffix(strings.TrimSuffix(rest, ":cancel"), "/portabilityArchiveState"), true
	}
	return "", "", false
}

// recorder remembers the status written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	ep, id, ok := route(r)
	token, hasToken := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	req := Request{Endpoint: ep, Method: r.Method, Path: r.URL.Path, JobID: id, HadToken: r.Header.Get("Authorization") != ""}
	s.mu.Lock()
	hook := s.onRequest
	s.mu.Unlock()
	if hook != nil {
		hook(req)
	}
	rec := &recorder{ResponseWriter: w}
	defer func() {
		req.Status = rec.status
		s.mu.Lock()
		s.log = append(s.log, req)
		s.mu.Unlock()
	}()
	if !ok {
		apiError(rec, http.StatusNotFound, "NOT_FOUND", "unknown path "+r.URL.Path)
		return
	}
	if ep == Download {
		s.download(rec, r, id)
		return
	}
	s.mu.Lock()
	check := s.tokenOK
	s.mu.Unlock()
	if !hasToken || !check(token) {
		apiError(rec, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.")
		return
	}
	req.Authorized = true

	s.mu.Lock()
	defer s.mu.Unlock()
	if codes := s.inject[ep]; len(codes) > 0 {
		s.inject[ep] = codes[1:]
		apiError(rec, codes[0], statusName(codes[0]), "injected error")
		return
	}
	switch ep {
	case Initiate:
		s.initiate(rec, r)
	case State:
		s.state(rec, id)
	case Retry:
		j, ok := s.jobs[id]
		switch {
		case !ok:
			apiError(rec, 404, "NOT_FOUND", "archive job "+id+" not found")
		case j.state != Failed:
			apiError(rec, 400, "FAILED_PRECONDITION", "only a FAILED job can be retried; job "+id+" is "+j.state)
		default:
			nj := s.newJob(j.resources)
			writeJSON(rec, map[string]string{"archiveJobId": nj.id})
		}
	case Cancel:
		j, ok := s.jobs[id]
		switch {
		case !ok:
			apiError(rec, 404, "NOT_FOUND", "archive job "+id+" not found")
		case j.state != InProgress:
			apiError(rec, 400, "FAILED_PRECONDITION", "only an IN_PROGRESS job can be cancelled; job "+id+" is "+j.state)
		default:
			j.state = Cancelled
			writeJSON(rec, map[string]any{})
		}
	case AccessType:
		writeJSON(rec, map[string]any{"oneTimeResources": s.oneTime, "timeBasedResources": s.timeBased})
	case Reset:
		if s.resetStatus != 0 && s.resetStatus != http.StatusOK {
			apiError(rec, s.resetStatus, statusName(s.resetStatus), "reset refused")
			return
		}
		writeJSON(rec, map[string]any{})
	}
}

func (s *Server) initiate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Resources []string `json:"resources"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Resources) == 0 {
		apiError(w, 400, "INVALID_ARGUMENT", "resources must not be empty")
		return
	}
	want := slices.Sorted(slices.Values(body.Resources))
	for _, id := range s.order {
		j := s.jobs[id]
		if j.state == InProgress && slices.Equal(j.resources, want) {
			apiError(w, http.StatusConflict, "ALREADY_EXISTS",
				fmt.Sprintf("Requested resources have already been exported or are being exported: found job %s matching the request with resources [%s].", j.id, strings.Join(j.resources, ", ")))
			return
		}
	}
	j := s.newJob(want)
	access := "ACCESS_TYPE_TIME_BASED"
	for _, res := range want {
		if slices.Contains(s.oneTime, res) {
			access = "ACCESS_TYPE_ONE_TIME"
		}
	}
	writeJSON(w, map[string]string{"archiveJobId": j.id, "accessType": access})
}

func (s *Server) state(w http.ResponseWriter, id string) {
	j, ok := s.jobs[id]
	if !ok {
		apiError(w, 404, "NOT_FOUND", "archive job "+id+" not found")
		return
	}
	if j.state == InProgress {
		j.polls++
		if j.polls > s.polls {
			switch {
			case j.fail:
				j.state = Failed
			case j.cancel:
				j.state = Cancelled
			default:
				j.state = Complete
				j.archives = s.archives
			}
		}
	}
	out := map[string]any{"name": "archiveJobs/" + j.id + "/portabilityArchiveState", "state": j.state}
	if j.state == Complete {
		urls := []string{}
		for n := range j.archives {
			s.nextSig++
			sig := fmt.Sprintf("sig%06d", s.nextSig)
			l := &link{job: j.id, n: n}
			if s.expireNext > 0 {
				s.expireNext--
				l.expired = true
			}
			s.links[sig] = l
			urls = append(urls, fmt.Sprintf("%sdownload/%s/%d?X-Goog-Signature=%s", s.URL, j.id, n, sig))
		}
		out["urls"] = urls
		out["exportTime"] = "2024-06-01T03:00:00Z"
	}
	writeJSON(w, out)
}

func (s *Server) download(w *recorder, r *http.Request, id string) {
	s.mu.Lock()
	if codes := s.inject[Download]; len(codes) > 0 {
		s.inject[Download] = codes[1:]
		s.mu.Unlock()
		http.Error(w, "injected error", codes[0])
		return
	}
	l, ok := s.links[r.URL.Query().Get("X-Goog-Signature")]
	nStr := strings.TrimPrefix(r.URL.Path, "/download/"+id+"/")
	n, err := strconv.Atoi(nStr)
	if !ok || err != nil || l.job != id || l.n != n {
		s.mu.Unlock()
		http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>", http.StatusForbidden)
		return
	}
	if l.used || l.expired {
		code := s.expireCode
		s.mu.Unlock()
		http.Error(w, "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>", code)
		return
	}
	l.used = true
	data := s.jobs[id].archives[n]
	stall := s.stallAfter
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if stall > 0 && stall < len(data) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:stall])
		w.Flush()
		select {
		case s.stalled <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return
	}
	_, _ = w.Write(data)
}

package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
	dataportability "google.golang.org/api/dataportability/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// DefaultResources returns the Data Portability resource groups exported
// by default: the saved lists and the starred places.
func DefaultResources() []string { return []string{"saved.collections", "maps.starred_places"} }

// Errors of the API source, for callers that react to them.
var (
	// ErrJobFailed: the export job failed, and so did its one retry.
	ErrJobFailed = errors.New("the Data Portability export job failed")
	// ErrJobCancelled: the job was cancelled (e.g. from the Google account).
	ErrJobCancelled = errors.New("the Data Portability export job was cancelled")
	// ErrUnauthorized: Google refused the OAuth token.
	ErrUnauthorized = errors.New("Google refused the OAuth token")
)

// APIOptions configures an APISource. Zero values take the defaults given.
type APIOptions struct {
	// Endpoint is the API base URL (setting dataportability-url, env
	// GOOGLE_DATAPORTABILITY_URL). Default: Google's.
	Endpoint string
	// Resources to export. Default: saved.collections, maps.starred_places.
	Resources []string
	// HTTPClient is the base client: its transport carries API calls (under
	// the OAuth transport) and downloads (without a token: the links are
	// signed). Default: a client with http.DefaultTransport.
	HTTPClient *http.Client

	// PollInterval is the first wait between two state polls (default 5s);
	// it grows by half each poll up to MaxPollInterval (default 1m).
	PollInterval, MaxPollInterval time.Duration
	// MaxWait gives up on a job still in progress after this long (default 2h).
	MaxWait time.Duration
	// RetryBase and RetryMax bound the exponential backoff, with jitter, on
	// 429, 5xx and network errors (defaults 1s and 30s); MaxRetries bounds
	// the retries of one call (default 6).
	RetryBase, RetryMax time.Duration
	MaxRetries          int
	// MaxDownloadBytes caps one archive (default 2 GiB).
	MaxDownloadBytes int64
	// MaxLinkRefreshes bounds how often expired links are refreshed (default 3).
	MaxLinkRefreshes int
	// TempDir holds the downloads while they are read (default os.TempDir()).
	TempDir string
	// Limits apply when the archives are read.
	Limits Limits
	// Progress, when set, is called at each step of a run.
	Progress func(Progress)
	// Logger, when set, gets the run's log lines.
	Logger *slog.Logger
}

func (o APIOptions) withDefaults() APIOptions {
	if len(o.Resources) == 0 {
		o.Resources = DefaultResources()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, 5*time.Second)
	def(&o.MaxPollInterval, time.Minute)
	def(&o.MaxWait, 2*time.Hour)
	def(&o.RetryBase, time.Second)
	def(&o.RetryMax, 30*time.Second)
	if o.MaxRetries <= 0 {
		o.MaxRetries = 6
	}
	if o.MaxDownloadBytes <= 0 {
		o.MaxDownloadBytes = 2 << 30
	}
	if o.MaxLinkRefreshes <= 0 {
		o.MaxLinkRefreshes = 3
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Progress reports a step of an API export.
type Progress struct {
	// Phase is "initiate", "wait", "download" or "read".
	Phase string
	JobID string
	// State is the job's state while waiting (IN_PROGRESS…).
	State string
	// Elapsed since the run started.
	Elapsed time.Duration
	// NextPoll is the wait before the next state poll.
	NextPoll time.Duration
	// Archive is the archive being downloaded (1-based) of Archives.
	Archive, Archives int
}

// Job describes the Data Portability job behind an API snapshot.
type Job struct {
	ID string `json:"id"`
	// AccessType is ACCESS_TYPE_ONE_TIME or ACCESS_TYPE_TIME_BASED; empty
	// when an existing job was reused.
	AccessType string `json:"accessType,omitempty"`
	ExportTime string `json:"exportTime,omitempty"`
	// Reused is true when Google answered 409 and the existing job was used.
	Reused bool `json:"reused,omitempty"`
	// Retried is true when the first job failed and its retry succeeded.
	Retried bool `json:"retried,omitempty"`
}

// APISource exports saved places through the Data Portability API.
type APISource struct {
	svc  *dataportability.Service
	dl   *http.Client
	opts APIOptions
	log  *slog.Logger
}

// NewAPISource builds an API source whose calls carry tokens from ts.
func NewAPISource(ctx context.Context, ts oauth2.TokenSource, opts APIOptions) (*APISource, error) {
	if ts == nil {
		return nil, errors.New("no OAuth token source")
	}
	opts = opts.withDefaults()
	base := opts.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	apiClient := &http.Client{
		Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, ts), Base: base},
		Timeout:   2 * time.Minute,
	}
	copts := []option.ClientOption{option.WithHTTPClient(apiClient)}
	if opts.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(opts.Endpoint))
	}
	svc, err := dataportability.NewService(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("data portability client: %w", err)
	}
	return &APISource{svc: svc, dl: opts.HTTPClient, opts: opts, log: opts.Logger}, nil
}

// AccessInfo is the answer of accessType:check.
type AccessInfo struct {
	OneTime   []string `json:"oneTimeResources,omitempty"`
	TimeBased []string `json:"timeBasedResources,omitempty"`
}

// CheckAccessType asks Google which resources the token may export once
// only, and which over a period: with one-time access a daily export stops
// working after the first one.
func (s *APISource) CheckAccessType(ctx context.Context) (AccessInfo, error) {
	var out AccessInfo
	err := s.call(ctx, "check access type", func() error {
		r, err := s.svc.AccessType.Check(&dataportability.CheckAccessTypeRequest{}).Context(ctx).Do()
		if err == nil {
			out = AccessInfo{OneTime: r.OneTimeResources, TimeBased: r.TimeBasedResources}
		}
		return err
	})
	return out, err
}

// ResetAuthorization revokes the user's grant for this client at Google.
func (s *APISource) ResetAuthorization(ctx context.Context) error {
	return s.call(ctx, "reset authorization", func() error {
		_, err := s.svc.Authorization.Reset(&dataportability.ResetAuthorizationRequest{}).Context(ctx).Do()
		return err
	})
}

// CancelJob cancels an export job in progress.
func (s *APISource) CancelJob(ctx context.Context, jobID string) error {
	return s.call(ctx, "cancel job "+jobID, func() error {
		_, err := s.svc.ArchiveJobs.Cancel("archiveJobs/"+jobID, &dataportability.CancelPortabilityArchiveRequest{}).Context(ctx).Do()
		return err
	})
}

// Export runs one export: initiate a job (or reuse the one Google names in
// a 409), wait for it, download its archives to temporary files, read them
// into a Snapshot with Source "api", and remove the files whatever happens.
func (s *APISource) Export(ctx context.Context) (*Snapshot, error) {
	start := time.Now()
	report := func(p Progress) {
		p.Elapsed = time.Since(start)
		if s.opts.Progress != nil {
			s.opts.Progress(p)
		}
	}
	report(Progress{Phase: "initiate"})
	job, err := s.initiate(ctx)
	if err != nil {
		return nil, err
	}
	s.log.Info("export job", "job", job.ID, "accessType", job.AccessType, "reused", job.Reused)
	st, err := s.wait(ctx, job, start, report)
	if err != nil {
		return nil, err
	}
	job.ExportTime = st.ExportTime

	dir, err := os.MkdirTemp(s.opts.TempDir, "locations-export-*")
	if err != nil {
		return nil, fmt.Errorf("temporary folder for downloads: %w", err)
	}
	defer os.RemoveAll(dir)
	files, err := s.downloadAll(ctx, job.ID, st.Urls, dir, report)
	if err != nil {
		return nil, err
	}
	report(Progress{Phase: "read", JobID: job.ID})
	snap, err := importFiles(ctx, files, ImportOptions{Limits: s.opts.Limits, Logger: s.log}, "api")
	if err != nil {
		return nil, fmt.Errorf("read the archives of job %s: %w", job.ID, err)
	}
	for i := range snap.Problems {
		snap.Problems[i].File = strings.TrimPrefix(snap.Problems[i].File, dir+string(filepath.Separator))
	}
	snap.Job = job
	return snap, nil
}

// existingJob finds the job id in a 409 message: "... job <id> matching ...".
var existingJobRE = regexp.MustCompile(`job ([A-Za-z0-9_-]+) matching`)

func (s *APISource) initiate(ctx context.Context) (*Job, error) {
	var job *Job
	err := s.call(ctx, "initiate export", func() error {
		r, err := s.svc.PortabilityArchive.Initiate(&dataportability.InitiatePortabilityArchiveRequest{Resources: s.opts.Resources}).Context(ctx).Do()
		if err == nil {
			job = &Job{ID: r.ArchiveJobId, AccessType: r.AccessType}
		}
		return err
	})
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusConflict {
		m := existingJobRE.FindStringSubmatch(ge.Message)
		if m == nil {
			m = existingJobRE.FindStringSubmatch(ge.Body)
		}
		if m == nil {
			return nil, fmt.Errorf("initiate export: Google says an export already exists but names no job (%q): %w", ge.Message, err)
		}
		s.log.Info("reusing the export job Google already has", "job", m[1])
		return &Job{ID: m[1], Reused: true}, nil
	}
	if err != nil {
		return nil, err
	}
	if job.ID == "" {
		return nil, errors.New("initiate export: Google returned no job id")
	}
	return job, nil
}

func (s *APISource) state(ctx context.Context, jobID string) (*dataportability.PortabilityArchiveState, error) {
	var st *dataportability.PortabilityArchiveState
	err := s.call(ctx, "state of job "+jobID, func() error {
		var err error
		st, err = s.svc.ArchiveJobs.GetPortabilityArchiveState("archiveJobs/" + jobID + "/portabilityArchiveState").Context(ctx).Do()
		return err
	})
	return st, err
}

// wait polls the job until it is complete; a FAILED job is retried once.
func (s *APISource) wait(ctx context.Context, job *Job, start time.Time, report func(Progress)) (*dataportability.PortabilityArchiveState, error) {
	interval := s.opts.PollInterval
	for {
		st, err := s.state(ctx, job.ID)
		if err != nil {
			return nil, err
		}
		switch st.State {
		case "COMPLETE":
			if len(st.Urls) == 0 {
				return nil, fmt.Errorf("job %s is complete but has no archive to download", job.ID)
			}
			return st, nil
		case "FAILED":
			if job.Retried {
				return nil, fmt.Errorf("job %s (a retry): %w", job.ID, ErrJobFailed)
			}
			var newID string
			err := s.call(ctx, "retry job "+job.ID, func() error {
				r, err := s.svc.ArchiveJobs.Retry("archiveJobs/"+job.ID, &dataportability.RetryPortabilityArchiveRequest{}).Context(ctx).Do()
				if err == nil {
					newID = r.ArchiveJobId
				}
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("job %s failed and could not be retried: %w", job.ID, errors.Join(ErrJobFailed, err))
			}
			s.log.Warn("export job failed; retrying once", "job", job.ID, "retry", newID)
			job.ID, job.Retried = newID, true
			interval = s.opts.PollInterval
			continue
		case "CANCELLED":
			return nil, fmt.Errorf("job %s: %w", job.ID, ErrJobCancelled)
		}
		if time.Since(start) > s.opts.MaxWait {
			return nil, fmt.Errorf("job %s still %s after %s: giving up (it goes on at Google; the next run reuses it)", job.ID, st.State, s.opts.MaxWait)
		}
		report(Progress{Phase: "wait", JobID: job.ID, State: st.State, NextPoll: interval})
		if err := sleep(ctx, interval); err != nil {
			return nil, err
		}
		interval = min(interval*3/2, s.opts.MaxPollInterval)
	}
}

// errLinkExpired: a signed link answered 403 or 410.
var errLinkExpired = errors.New("download link expired")

func (s *APISource) downloadAll(ctx context.Context, jobID string, urls []string, dir string, report func(Progress)) ([]string, error) {
	files := make([]string, len(urls))
	refreshes := 0
	for i := 0; i < len(urls); i++ {
		report(Progress{Phase: "download", JobID: jobID, Archive: i + 1, Archives: len(urls)})
		p := filepath.Join(dir, fmt.Sprintf("archive-%03d.zip", i+1))
		err := s.call(ctx, fmt.Sprintf("download archive %d of %d", i+1, len(urls)), func() error {
			return s.download(ctx, urls[i], p)
		})
		if errors.Is(err, errLinkExpired) {
			if refreshes >= s.opts.MaxLinkRefreshes {
				return nil, fmt.Errorf("job %s: download links keep expiring (%d refreshes): %w", jobID, refreshes, err)
			}
			refreshes++
			s.log.Info("download link expired; asking for fresh links", "job", jobID, "archive", i+1)
			st, err := s.state(ctx, jobID)
			if err != nil {
				return nil, err
			}
			if st.State != "COMPLETE" || len(st.Urls) == 0 {
				return nil, fmt.Errorf("job %s is %s with %d links when refreshing expired links", jobID, st.State, len(st.Urls))
			}
			if len(st.Urls) != len(urls) { // a different set of archives: start over
				urls, files, i = st.Urls, make([]string, len(st.Urls)), -1
				continue
			}
			urls = st.Urls
			i--
			continue
		}
		if err != nil {
			return nil, err
		}
		files[i] = p
	}
	return files, nil
}

// download streams one signed URL to path, capped at MaxDownloadBytes. The
// request carries no token, and errors never show the URL's signature.
func (s *APISource) download(ctx context.Context, rawURL, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("bad download link %s: %w", redact(rawURL), err)
	}
	resp, err := s.dl.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &transientError{fmt.Errorf("GET %s: %w", redact(rawURL), unwrapURLError(err))}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("GET %s: %s: %w", redact(rawURL), resp.Status, errLinkExpired)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return &transientError{fmt.Errorf("GET %s: %s", redact(rawURL), resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s", redact(rawURL), resp.Status)
	}
	if resp.ContentLength > s.opts.MaxDownloadBytes {
		return fmt.Errorf("archive %s is %d bytes, more than the cap of %d", redact(rawURL), resp.ContentLength, s.opts.MaxDownloadBytes)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, s.opts.MaxDownloadBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &transientError{fmt.Errorf("download %s: %w", redact(rawURL), err)}
	}
	if n > s.opts.MaxDownloadBytes {
		return fmt.Errorf("archive %s is larger than the cap of %d bytes", redact(rawURL), s.opts.MaxDownloadBytes)
	}
	return nil
}

// redact drops the query (the signature) of a signed URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable link)"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// transientError marks an error worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// retryable reports whether err is worth a retry, and any delay the server
// asked for.
func retryable(err error) (bool, time.Duration) {
	var te *transientError
	if errors.As(err, &te) {
		return true, 0
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		if ge.Code == http.StatusTooManyRequests || ge.Code >= 500 {
			return true, retryAfter(ge.Header)
		}
		return false, 0
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return false, 0
	}
	var op *net.OpError
	if errors.As(err, &op) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return true, 0
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return true, 0
	}
	return false, 0
}

func retryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}

// call runs fn, retrying 429, 5xx and network errors with exponential
// backoff and full jitter, at most MaxRetries times.
func (s *APISource) call(ctx context.Context, what string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ge *googleapi.Error
		if errors.As(err, &ge) && ge.Code == http.StatusUnauthorized {
			return fmt.Errorf("%s: %w: %s", what, ErrUnauthorized, ge.Message)
		}
		ok, after := retryable(err)
		if !ok {
			return fmt.Errorf("%s: %w", what, err)
		}
		if attempt >= s.opts.MaxRetries {
			return fmt.Errorf("%s: still failing after %d retries: %w", what, attempt, err)
		}
		d := s.backoff(attempt)
		if after > d {
			d = min(after, s.opts.RetryMax)
		}
		s.log.Warn("transient error; retrying", "what", what, "attempt", attempt+1, "in", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// backoff is RetryBase·2^attempt capped at RetryMax, half of it jittered.
func (s *APISource) backoff(attempt int) time.Duration {
	d := s.opts.RetryBase << min(attempt, 30)
	if d <= 0 || d > s.opts.RetryMax {
		d = s.opts.RetryMax
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

package export

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
	"github.com/tonk-labs/locations-worker/internal/fakegoogle"
)

// apiFixture is a fake Google serving the generated archive split over two
// zips, and the snapshot Import makes of the same zips.
type apiFixture struct {
	fake *fakegoogle.Server
	want []byte // JSON of the places and lists expected
	tmp  string
}

func newAPIFixture(t *testing.T, opts ...fakegoogle.Option) *apiFixture {
	t.Helper()
	parts := archivegen.Split(generated().Files(archivegen.Portability), 2)
	zips := [][]byte{archivegen.ZipBytes(parts[0]), archivegen.ZipBytes(parts[1])}
	fake := fakegoogle.New(t, append([]fakegoogle.Option{fakegoogle.WithArchives(zips...), fakegoogle.WithPolls(3)}, opts...)...)
	ref := importOK(t, writeFile(t, "1.zip", zips[0]), writeFile(t, "2.zip", zips[1]))
	return &apiFixture{fake: fake, want: placesJSON(t, ref), tmp: t.TempDir()}
}

func placesJSON(t *testing.T, s *Snapshot) []byte {
	t.Helper()
	c := *s
	c.Source, c.Job = "", nil
	return render(t, &c, FormatJSON)
}

// source builds an API source with fast timings: no test waits seconds.
func (f *apiFixture) source(t *testing.T, token string, mod func(*APIOptions)) *APISource {
	t.Helper()
	o := APIOptions{
		Endpoint: f.fake.URL, TempDir: f.tmp,
		PollInterval: time.Millisecond, MaxPollInterval: 3 * time.Millisecond,
		RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	s, err := NewAPISource(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkClean fails when a download was left in the temporary folder.
func (f *apiFixture) checkClean(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(f.tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func (f *apiFixture) exportOK(t *testing.T, s *APISource) *Snapshot {
	t.Helper()
	snap, err := s.Export(context.Background())
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if snap.Source != "api" || !snap.Complete {
		t.Errorf("source %q complete %v problems %+v", snap.Source, snap.Complete, snap.Problems)
	}
	if !bytes.Equal(placesJSON(t, snap), f.want) {
		t.Error("the API export differs from importing the same archives")
	}
	f.checkClean(t)
	return snap
}

func TestAPIExportHappyPath(t *testing.T) {
	f := newAPIFixture(t, fakegoogle.WithToken("tok-123"))
	var progress []Progress
	s := f.source(t, "tok-123", func(o *APIOptions) { o.Progress = func(p Progress) { progress = append(progress, p) } })
	snap := f.exportOK(t, s)
	if snap.Job == nil || snap.Job.ID == "" || snap.Job.AccessType != "ACCESS_TYPE_TIME_BASED" || snap.Job.Reused || snap.Job.Retried {
		t.Errorf("job %+v", snap.Job)
	}
	var waits, downloads int
	for _, p := range progress {
		switch p.Phase {
		case "wait":
			waits++
			if p.State != "IN_PROGRESS" || p.NextPoll <= 0 || p.JobID != snap.Job.ID {
				t.Errorf("wait progress %+v", p)
			}
		case "download":
			downloads++
		}
	}
	if waits != 3 || downloads != 2 {
		t.Errorf("progress: %d waits (want 3), %d downloads (want 2)", waits, downloads)
	}
	for _, r := range f.fake.Requests() {
		if r.Endpoint == fakegoogle.Download && r.HadToken {
			t.Error("a signed download link was sent the OAuth token")
		}
		if r.Endpoint != fakegoogle.Download && !r.Authorized {
			t.Errorf("API request without a valid token: %+v", r)
		}
	}
}

func TestAPIExportReusesExistingJob(t *testing.T) {
	f := newAPIFixture(t)
	existing := f.fake.AddJob(DefaultResources(), fakegoogle.InProgress)
	snap := f.exportOK(t, f.source(t, "t", nil))
	if snap.Job.ID != existing || !snap.Job.Reused {
		t.Errorf("job %+v, want reuse of %s", snap.Job, existing)
	}
	if n := f.fake.Count(fakegoogle.Initiate, 409); n != 1 {
		t.Errorf("%d initiate 409s, want 1", n)
	}
}

func TestAPIExportFailedJob(t *testing.T) {
	t.Run("retried once", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.FailJobs(1)
		snap := f.exportOK(t, f.source(t, "t", nil))
		if !snap.Job.Retried || f.fake.Count(fakegoogle.Retry, 200) != 1 {
			t.Errorf("job %+v, retries %d", snap.Job, f.fake.Count(fakegoogle.Retry))
		}
	})
	t.Run("fails twice", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.FailJobs(2)
		_, err := f.source(t, "t", nil).Export(context.Background())
		if !errors.Is(err, ErrJobFailed) || f.fake.Count(fakegoogle.Retry) != 1 {
			t.Errorf("err %v, retries %d", err, f.fake.Count(fakegoogle.Retry))
		}
		f.checkClean(t)
	})
	t.Run("cancelled", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.CancelJobs(1)
		if _, err := f.source(t, "t", nil).Export(context.Background()); !errors.Is(err, ErrJobCancelled) {
			t.Errorf("err %v", err)
		}
	})
}

func TestAPIExportTransientErrors(t *testing.T) {
	t.Run("bursts are retried", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.InjectErrors(fakegoogle.Initiate, 429, 503)
		f.fake.InjectErrors(fakegoogle.State, 503, 500, 429)
		f.fake.InjectErrors(fakegoogle.Download, 503, 429)
		f.exportOK(t, f.source(t, "t", nil))
		if f.fake.Count(fakegoogle.Initiate, 429, 503) != 2 || f.fake.Count(fakegoogle.State, 500, 503, 429) != 3 || f.fake.Count(fakegoogle.Download, 503, 429) != 2 {
			t.Errorf("injected errors not all met: %+v", f.fake.Requests())
		}
	})
	t.Run("bounded", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.InjectErrors(fakegoogle.State, 503, 503, 503, 503, 503, 503)
		_, err := f.source(t, "t", func(o *APIOptions) { o.MaxRetries = 3 }).Export(context.Background())
		if err == nil || !strings.Contains(err.Error(), "after 3 retries") {
			t.Errorf("err %v", err)
		}
		if n := f.fake.Count(fakegoogle.State); n != 4 {
			t.Errorf("%d state calls, want 4 (1 + 3 retries)", n)
		}
	})
	t.Run("unauthorized is not retried", func(t *testing.T) {
		f := newAPIFixture(t, fakegoogle.WithToken("good"))
		_, err := f.source(t, "bad", nil).Export(context.Background())
		if !errors.Is(err, ErrUnauthorized) || f.fake.Count(fakegoogle.Initiate) != 1 {
			t.Errorf("err %v, %d initiates", err, f.fake.Count(fakegoogle.Initiate))
		}
		if strings.Contains(err.Error(), "bad") {
			t.Errorf("the token leaked into the error: %v", err)
		}
	})
}

func TestAPIExportExpiredLinks(t *testing.T) {
	for _, code := range []int{410, 403} {
		f := newAPIFixture(t)
		f.fake.SetLinkExpiry(code)
		f.fake.ExpireLinks(1)
		f.exportOK(t, f.source(t, "t", nil))
		if f.fake.Count(fakegoogle.Download, code) != 1 || f.fake.Count(fakegoogle.Download, 200) != 2 {
			t.Errorf("%d: downloads %+v", code, f.fake.Requests())
		}
	}
	t.Run("links that keep expiring", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.ExpireLinks(1000)
		_, err := f.source(t, "t", nil).Export(context.Background())
		if err == nil || !strings.Contains(err.Error(), "keep expiring") {
			t.Errorf("err %v", err)
		}
		if strings.Contains(err.Error(), "Signature") {
			t.Errorf("the link's signature leaked into the error: %v", err)
		}
		f.checkClean(t)
	})
}

func TestAPIExportDownloadCap(t *testing.T) {
	f := newAPIFixture(t)
	_, err := f.source(t, "t", func(o *APIOptions) { o.MaxDownloadBytes = 100 }).Export(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cap") {
		t.Errorf("err %v", err)
	}
	f.checkClean(t)
}

func TestAPIExportCancellation(t *testing.T) {
	t.Run("mid-poll", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.SetPolls(1000)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		polls := 0
		f.fake.OnRequest(func(r fakegoogle.Request) {
			if r.Endpoint == fakegoogle.State {
				if polls++; polls == 3 {
					cancel()
				}
			}
		})
		_, err := f.source(t, "t", nil).Export(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
		if n := f.fake.Count(fakegoogle.Download); n != 0 {
			t.Errorf("%d downloads after cancel", n)
		}
	})
	t.Run("mid-download", func(t *testing.T) {
		f := newAPIFixture(t)
		f.fake.StallDownloads(64)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-f.fake.Stalled()
			cancel()
		}()
		_, err := f.source(t, "t", nil).Export(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
		f.checkClean(t)
	})
}

func TestAPIAccessTypeResetCancel(t *testing.T) {
	f := newAPIFixture(t)
	f.fake.SetAccessType([]string{"maps.starred_places"}, []string{"saved.collections"})
	s := f.source(t, "t", nil)
	ctx := context.Background()
	got, err := s.CheckAccessType(ctx)
	if err != nil || len(got.OneTime) != 1 || got.OneTime[0] != "maps.starred_places" || len(got.TimeBased) != 1 {
		t.Errorf("access %+v err %v", got, err)
	}
	snap := f.exportOK(t, s)
	if snap.Job.AccessType != "ACCESS_TYPE_ONE_TIME" {
		t.Errorf("job %+v", snap.Job)
	}
	id := f.fake.AddJob([]string{"saved.collections"}, fakegoogle.InProgress)
	if err := s.CancelJob(ctx, id); err != nil || f.fake.JobState(id) != fakegoogle.Cancelled {
		t.Errorf("cancel: %v, state %s", err, f.fake.JobState(id))
	}
	if err := s.CancelJob(ctx, id); err == nil {
		t.Error("cancelling a cancelled job must fail")
	}
	if err := s.ResetAuthorization(ctx); err != nil {
		t.Error(err)
	}
	f.fake.SetResetStatus(403)
	if err := s.ResetAuthorization(ctx); err == nil {
		t.Error("a refused reset must be an error")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tonk-labs/locations-worker/internal/archivegen"
	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/export"
	"github.com/tonk-labs/locations-worker/internal/fakegoogle"
)

func testExportDeps(sink sinkFunc) exportDeps {
	return exportDeps{
		tokenSource: func(context.Context, *config.Config, *slog.Logger) (oauth2.TokenSource, error) {
			return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}), nil
		},
		sink: sink,
		apiOptions: func(o *export.APIOptions) {
			o.PollInterval, o.MaxPollInterval, o.RetryBase, o.RetryMax = time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond
		},
	}
}

func TestExportCommand(t *testing.T) {
	fake := fakegoogle.New(t, fakegoogle.WithToken("test-token"),
		fakegoogle.WithArchives(archivegen.ZipBytes(archivegen.Sample().Files(archivegen.Portability))))
	env := map[string]string{"GOOGLE_DATAPORTABILITY_URL": fake.URL, "EXPORT_RESOURCES": "saved.collections,maps.starred_places"}
	var got *export.Snapshot
	a := &app{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader("")}
	var out, errb bytes.Buffer
	a.stdout, a.stderr = &out, &errb
	cmd := newExportCmdWith(a, testExportDeps(func(_ context.Context, _ *config.Config, s *export.Snapshot, _ time.Time) (*syncReport, error) {
		got = s
		return nil, nil
	}))
	dst := filepath.Join(t.TempDir(), "places.json")
	cmd.SetArgs([]string{"--out", dst})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if got == nil || got.Source != "api" || got.Counts.Places != 9 || got.Job == nil {
		t.Fatalf("sink got %+v", got)
	}
	if !strings.Contains(out.String(), "9 places") || !strings.Contains(errb.String(), "is IN_PROGRESS") {
		t.Errorf("stdout %q\nstderr %q", out.String(), errb.String())
	}
	var file export.Snapshot
	data, _ := os.ReadFile(dst)
	if err := json.Unmarshal(data, &file); err != nil || len(file.Places) != 9 {
		t.Errorf("--out file: %v", err)
	}
	if fake.Count(fakegoogle.Initiate, 200) != 1 {
		t.Errorf("requests %+v", fake.Requests())
	}
}

func TestExportCommandErrors(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	deps := testExportDeps(nil)
	deps.tokenSource = func(context.Context, *config.Config, *slog.Logger) (oauth2.TokenSource, error) {
		return nil, errors.New("no token file")
	}
	cmd := newExportCmdWith(a, deps)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(nil)
	err := cmd.ExecuteContext(context.Background())
	if err == nil || hintOf(err) == "" || !strings.Contains(err.Error(), "no token file") {
		t.Errorf("missing sign-in: %v (hint %q)", err, hintOf(err))
	}

	fake := fakegoogle.New(t, fakegoogle.WithToken("other"))
	env := map[string]string{"GOOGLE_DATAPORTABILITY_URL": fake.URL}
	a.getenv = func(k string) string { return env[k] }
	cmd = newExportCmdWith(a, testExportDeps(nil))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(nil)
	err = cmd.ExecuteContext(context.Background())
	if !errors.Is(err, export.ErrUnauthorized) || !strings.Contains(hintOf(err), "auth setup") {
		t.Errorf("refused token: %v (hint %q)", err, hintOf(err))
	}
}

package auth

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/auth/authtest"
)

var testResources = []string{"saved.collections", "maps.starred_places"}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func loadTestClient(t *testing.T, fake *authtest.Server, kind string, redirectURIs ...string) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials.json")
	fake.WriteCredentials(t, path, kind, redirectURIs...)
	c, err := LoadClient(path)
	if err != nil {
		t.Fatalf("LoadClient: %v", err)
	}
	return c
}

type browseResult struct {
	status int
	body   string
	err    error
}

// browserFor returns an opener that lets fake play the user's browser, and
// the channel that receives what the browser showed in the end.
func browserFor(ctx context.Context, fake *authtest.Server) (func(string) error, <-chan browseResult) {
	ch := make(chan browseResult, 1)
	return func(u string) error {
		go func() {
			st, body, err := fake.Browse(ctx, u)
			ch <- browseResult{st, body, err}
		}()
		return nil
	}, ch
}

// baseOptions are Setup options for a flow against fake, logging at debug
// level to logs.
func baseOptions(t *testing.T, fake *authtest.Server, c *Client, out, logs *syncBuffer) SetupOptions {
	t.Helper()
	return SetupOptions{
		Client:         c,
		Resources:      testResources,
		TokenFile:      filepath.Join(t.TempDir(), "data", "token.json"),
		PortabilityURL: fake.PortabilityURL(),
		Port:           0,
		Timeout:        time.Minute,
		Out:            out,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// assertNoSecrets fails when any secret issued by fake appears in texts.
func assertNoSecrets(t *testing.T, fake *authtest.Server, texts ...string) {
	t.Helper()
	secrets := fake.Secrets()
	if len(secrets) < 3 {
		t.Fatalf("fake issued only %d secrets; the flow did not run", len(secrets))
	}
	for _, s := range secrets {
		for _, txt := range texts {
			if s != "" && strings.Contains(txt, s) {
				t.Errorf("secret %.12q... leaked into output:\n%s", s, txt)
			}
		}
	}
}

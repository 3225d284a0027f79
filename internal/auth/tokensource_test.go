package auth

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tonk-labs/locations-worker/internal/auth/authtest"
)

// forceExpired rewrites the token file with an access token that expired.
func forceExpired(t *testing.T, path string) {
	t.Helper()
	s, err := readTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Token.Expiry = time.Now().Add(-time.Hour)
	if err := writeTokenFile(path, s); err != nil {
		t.Fatal(err)
	}
}

// signedIn runs a setup against fake and returns the client and token file.
func signedIn(t *testing.T, fake *authtest.Server) (*Client, string) {
	t.Helper()
	ctx := context.Background()
	c := loadTestClient(t, fake, KindInstalled)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, c, &out, &logs)
	opts.OpenBrowser, _ = browserFor(ctx, fake)
	if _, err := Setup(ctx, opts); err != nil {
		t.Fatal(err)
	}
	return c, opts.TokenFile
}

func TestRefreshPersistedAndReadByNewProcess(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	forceExpired(t, tokenFile)
	before, _ := readTokenFile(tokenFile)

	ts, err := TokenSource(ctx, c.Config, tokenFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == before.Token.AccessToken {
		t.Fatal("expired token was not refreshed")
	}
	if fake.Counts().Refreshes != 1 {
		t.Fatalf("refreshes = %d, want 1", fake.Counts().Refreshes)
	}
	assertModes(t, tokenFile)

	// A new process reads the refreshed token from disk and needs no refresh.
	ts2, err := TokenSource(ctx, c.Config, tokenFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := ts2.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken != tok.AccessToken || tok2.RefreshToken != before.Token.RefreshToken {
		t.Errorf("new process got another token than the refreshed one")
	}
	if fake.Counts().Refreshes != 1 {
		t.Errorf("refreshes = %d after a restart, want still 1", fake.Counts().Refreshes)
	}
	after, _ := readTokenFile(tokenFile)
	if after.Grant == nil || after.Grant.AccessType != AccessTimeBased || after.Scope == "" {
		t.Errorf("refresh lost the grant details: %+v scope %q", after.Grant, after.Scope)
	}
}

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	forceExpired(t, tokenFile)
	ts, err := TokenSource(ctx, c.Config, tokenFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	tokens := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens <- tok.AccessToken
		}()
	}
	wg.Wait()
	close(tokens)
	seen := map[string]bool{}
	for tk := range tokens {
		seen[tk] = true
	}
	if len(seen) != 1 {
		t.Errorf("callers got %d different tokens, want 1", len(seen))
	}
	if n := fake.Counts().Refreshes; n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if w := ts.(*persistingSource).writes; w != 1 {
		t.Errorf("token file writes = %d, want 1 per refresh", w)
	}
}

func TestInvalidGrant(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	forceExpired(t, tokenFile)
	fake.RevokeAll()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts, err := TokenSource(ctx, c.Config, tokenFile, logger)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	if !errors.Is(err, ErrGrantRevoked) {
		t.Fatalf("err = %v, want ErrGrantRevoked", err)
	}
	if !strings.Contains(err.Error(), "run `locations-worker auth setup` again") || strings.Contains(err.Error(), "HTTP") || strings.Contains(err.Error(), "Response") {
		t.Errorf("error %q should tell what to do, without HTTP details", err)
	}
	// Through an HTTP client, as the exporter meets it.
	_, err = oauth2.NewClient(ctx, ts).Get(fake.URL + "/anything")
	if !errors.Is(err, ErrGrantRevoked) {
		t.Errorf("HTTP client error %v does not match ErrGrantRevoked", err)
	}
	if !strings.Contains(logs.String(), "auth setup") {
		t.Errorf("log does not say to run auth setup:\n%s", logs.String())
	}
	st, err := Status(tokenFile, testResources, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.CanExport || st.RejectedAt == nil || !strings.Contains(st.Problem, "auth setup") {
		t.Errorf("status after invalid_grant = %+v", st)
	}

	// A new setup replaces the grant; the running source picks it up.
	var out syncBuffer
	opts := baseOptions(t, fake, c, &out, &logs)
	opts.TokenFile = tokenFile
	opts.OpenBrowser, _ = browserFor(ctx, fake)
	if _, err := Setup(ctx, opts); err != nil {
		t.Fatal(err)
	}
	forceExpired(t, tokenFile)
	if _, err := ts.Token(); err != nil {
		t.Fatalf("after a new setup: %v", err)
	}
	st, _ = Status(tokenFile, testResources, time.Now())
	if !st.CanExport || st.RejectedAt != nil {
		t.Errorf("status after new setup and refresh = %+v", st)
	}
}

func TestTokenSourceErrors(t *testing.T) {
	ctx := context.Background()
	cfg := &oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{TokenURL: "http://127.0.0.1:1/token"}}
	dir := t.TempDir()
	if _, err := TokenSource(ctx, cfg, filepath.Join(dir, "missing.json"), nil); !errors.Is(err, ErrNoToken) {
		t.Errorf("missing file: %v, want ErrNoToken", err)
	}
	noRefresh := filepath.Join(dir, "norefresh.json")
	os.WriteFile(noRefresh, []byte(`{"access_token":"at","expiry_date":1000}`), 0o600)
	ts, err := TokenSource(ctx, cfg, noRefresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); !errors.Is(err, ErrNoToken) {
		t.Errorf("expired without refresh token: %v, want ErrNoToken", err)
	}
	corrupt := filepath.Join(dir, "corrupt.json")
	os.WriteFile(corrupt, []byte(`{"access_token": "secret-value`), 0o600)
	_, err = TokenSource(ctx, cfg, corrupt, nil)
	if err == nil || strings.Contains(err.Error(), "secret-value") {
		t.Errorf("corrupt file: %v, want an error that does not quote the file", err)
	}
	// Token endpoint unreachable: an error, not ErrGrantRevoked.
	offline := filepath.Join(dir, "offline.json")
	os.WriteFile(offline, []byte(`{"access_token":"at","refresh_token":"rt","expiry_date":1000}`), 0o600)
	ts, _ = TokenSource(ctx, cfg, offline, nil)
	if _, err := ts.Token(); err == nil || errors.Is(err, ErrGrantRevoked) {
		t.Errorf("offline refresh: %v", err)
	}
}

// TestTypeScriptTokenFile reads a token file as the TypeScript worker wrote
// it, refreshes it, and keeps its fields readable by that worker.
func TestTypeScriptTokenFile(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	s, _ := readTokenFile(tokenFile)
	ts := `{"access_token":"ya29.old","refresh_token":"` + s.Token.RefreshToken + `","scope":"` + s.Scope +
		`","token_type":"Bearer","expiry_date":1700000000000,"client_id":"` + fake.ClientID + `","client_secret":"` + fake.ClientSecret + `"}`
	if err := os.WriteFile(tokenFile, []byte(ts), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Status(tokenFile, testResources, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !st.TokenPresent || !st.RefreshTokenPresent || st.AccessTokenValid || st.AccessTokenExpiry == nil ||
		!st.AccessTokenExpiry.Equal(time.UnixMilli(1700000000000)) || !st.CanExport || st.AccessType != AccessUnknown {
		t.Errorf("status of a TypeScript token file = %+v", st)
	}
	src, err := TokenSource(ctx, c.Config, tokenFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(tokenFile)
	for _, field := range []string{`"access_token"`, `"refresh_token"`, `"expiry_date"`, `"scope"`, `"token_type"`, `"client_id"`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("rewritten file lost %s", field)
		}
	}
	back, _ := readTokenFile(tokenFile)
	if back.Token.AccessToken != tok.AccessToken || back.ClientSecret != fake.ClientSecret {
		t.Errorf("rewritten file does not hold the refreshed token and the original client fields")
	}
}

func TestParseTokenFile(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err bool
	}{
		{`{"access_token":"a","refresh_token":"r","expiry":"2030-01-02T03:04:05Z"}`, false},
		{`{"access_token":"a","expiry_date":1.7e12}`, false},
		{`{"refresh_token":"r"}`, false},
		{`{}`, true},
		{`[]`, true},
		{`{"access_token":5}`, true},
		{`{"access_token":"a","expiry":"tomorrow"}`, true},
		{`{"access_token":"a","expiry_date":-5}`, true},
		{`{"access_token":"a","expiry_date":"x"}`, true},
		{`nope`, true},
	} {
		_, err := parseTokenFile([]byte(tc.in))
		if (err != nil) != tc.err {
			t.Errorf("parseTokenFile(%s): err %v, want error=%v", tc.in, err, tc.err)
		}
	}
	s, _ := parseTokenFile([]byte(`{"refresh_token":"r"}`))
	if s.Token.Valid() {
		t.Errorf("a refresh-token-only file must count as expired")
	}
}

func FuzzParseTokenFile(f *testing.F) {
	f.Add([]byte(`{"access_token":"a","refresh_token":"r","scope":"s","token_type":"Bearer","expiry_date":1700000000000}`))
	f.Add([]byte(`{"access_token":"a","expiry":"2030-01-02T03:04:05Z","grant":{"granted_at":"2026-01-01T00:00:00Z","access_type":"one-time"}}`))
	f.Add([]byte(`{"expiry_date":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseTokenFile(data)
		if err != nil {
			return
		}
		// Whatever parses must encode and parse back to the same token.
		enc, err := s.encode()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := parseTokenFile(enc)
		if err != nil {
			t.Fatalf("re-parse of encoded token: %v", err)
		}
		if s2.Token.AccessToken != s.Token.AccessToken || s2.Token.RefreshToken != s.Token.RefreshToken || !s2.Token.Expiry.Equal(s.Token.Expiry) {
			t.Errorf("round trip changed the token")
		}
	})
}

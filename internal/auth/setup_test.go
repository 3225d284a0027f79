package auth

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/auth/authtest"
)

func TestSetupFullFlow(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c := loadTestClient(t, fake, KindInstalled)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, c, &out, &logs)
	var browser <-chan browseResult
	opts.OpenBrowser, browser = browserFor(ctx, fake)

	res, err := Setup(ctx, opts)
	if err != nil {
		t.Fatalf("Setup: %v\noutput:\n%s", err, out.String())
	}
	b := <-browser
	if b.err != nil || b.status != http.StatusOK || !strings.Contains(b.body, "Signed in") {
		t.Fatalf("browser got %d %q (err %v), want 200 with a Signed in page", b.status, b.body, b.err)
	}

	q := fake.LastAuthorize()
	for k, want := range map[string]string{
		"access_type":           "offline",
		"prompt":                "consent",
		"code_challenge_method": "S256",
		"response_type":         "code",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorize %s = %q, want %q", k, got, want)
		}
	}
	wantScope := ScopePrefix + "saved.collections " + ScopePrefix + "maps.starred_places"
	if q.Get("scope") != wantScope {
		t.Errorf("scope = %q, want %q", q.Get("scope"), wantScope)
	}
	ru, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || ru.Hostname() != "127.0.0.1" || ru.Path != CallbackPath || ru.Port() == "0" {
		t.Errorf("redirect_uri = %q, want http://127.0.0.1:<picked port>/oauth2callback", q.Get("redirect_uri"))
	}

	if res.AccessType != AccessTimeBased || res.AccessErr != nil {
		t.Errorf("access type = %q (err %v), want time-based", res.AccessType, res.AccessErr)
	}
	if !strings.Contains(out.String(), "Access: time-based") {
		t.Errorf("output does not explain the time-based grant:\n%s", out.String())
	}
	assertModes(t, opts.TokenFile)

	st, err := Status(opts.TokenFile, testResources, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !st.CanExport || !st.RefreshTokenPresent || st.AccessType != AccessTimeBased || st.GrantedAt == nil || len(st.Scopes) != 2 {
		t.Errorf("status after setup = %+v", st)
	}
	if n := fake.Counts(); n.Exchanges != 1 || n.Checks != 1 {
		t.Errorf("fake counts = %+v, want one exchange and one check", n)
	}
	// The callback listener is gone.
	if _, err := http.Get(ru.String()); err == nil {
		t.Errorf("callback listener still answers after setup")
	}
	assertNoSecrets(t, fake, out.String(), logs.String(), b.body)
}

func assertModes(t *testing.T, tokenFile string) {
	t.Helper()
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %o, want 600", fi.Mode().Perm())
	}
	di, err := os.Stat(filepath.Dir(tokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("token directory mode %o, want 700", di.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(tokenFile))
	if len(entries) != 1 {
		t.Errorf("token directory holds %d entries, want only the token file (no temp files left)", len(entries))
	}
}

func TestSetupOneTimeVersusTimeBased(t *testing.T) {
	for _, tc := range []struct {
		access string
		want   []string
	}{
		{"one-time", []string{"ONE-TIME", "stop working after the first export", "30 or 180 days"}},
		{"time-based", []string{"time-based", "30 or 180 days from today"}},
	} {
		t.Run(tc.access, func(t *testing.T) {
			ctx := context.Background()
			fake := authtest.New(t)
			fake.SetAccessType(tc.access)
			var out, logs syncBuffer
			opts := baseOptions(t, fake, loadTestClient(t, fake, KindInstalled), &out, &logs)
			opts.OpenBrowser, _ = browserFor(ctx, fake)
			res, err := Setup(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.AccessType != tc.access {
				t.Errorf("AccessType = %q, want %q", res.AccessType, tc.access)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			st, err := Status(opts.TokenFile, testResources, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if st.AccessType != tc.access {
				t.Errorf("status access type = %q, want %q", st.AccessType, tc.access)
			}
			oneTimeWarned := strings.Contains(strings.Join(st.Warnings, "\n"), "one-time access")
			if oneTimeWarned != (tc.access == "one-time") {
				t.Errorf("status warnings %q: one-time warning present = %v", st.Warnings, oneTimeWarned)
			}
		})
	}
}

func TestCallbackRejectsWrongState(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, loadTestClient(t, fake, KindInstalled), &out, &logs)
	probes := make(chan []int, 1)
	browse, browser := browserFor(ctx, fake)
	opts.OpenBrowser = func(authURL string) error {
		u, _ := url.Parse(authURL)
		cb := u.Query().Get("redirect_uri")
		var codes []int
		for _, q := range []string{"?code=forged&state=wrong", "?code=forged", "?error=access_denied&state=wrong"} {
			resp, err := http.Get(cb + q)
			if err != nil {
				return err
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
		probes <- codes
		return browse(authURL) // then the real consent
	}
	if _, err := Setup(ctx, opts); err != nil {
		t.Fatalf("Setup after forged callbacks: %v", err)
	}
	for i, code := range <-probes {
		if code != http.StatusBadRequest {
			t.Errorf("forged callback %d answered %d, want 400", i, code)
		}
	}
	if b := <-browser; b.status != http.StatusOK {
		t.Errorf("real callback answered %d", b.status)
	}
	if n := fake.Counts(); n.Exchanges != 1 {
		t.Errorf("exchanges = %d, want 1 (the forged code must never be exchanged)", n.Exchanges)
	}
}

func TestSetupAccessDenied(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	fake.SetDeny(true)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, loadTestClient(t, fake, KindInstalled), &out, &logs)
	opts.OpenBrowser, _ = browserFor(ctx, fake)
	_, err := Setup(ctx, opts)
	if !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("err = %v, want ErrAccessDenied", err)
	}
	if _, err := os.Stat(opts.TokenFile); !os.IsNotExist(err) {
		t.Errorf("a token file exists after a denied consent")
	}
}

func TestSetupPartialConsent(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	fake.SetGrantOnly("saved.collections")
	var out, logs syncBuffer
	opts := baseOptions(t, fake, loadTestClient(t, fake, KindInstalled), &out, &logs)
	opts.OpenBrowser, _ = browserFor(ctx, fake)
	res, err := Setup(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), "maps.starred_places") {
		t.Fatalf("err = %v, want one naming the resource not granted", err)
	}
	if res == nil || len(res.MissingScopes) != 1 {
		t.Fatalf("result = %+v", res)
	}
	st, err := Status(opts.TokenFile, testResources, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.CanExport || len(st.MissingScopes) != 1 || st.MissingScopes[0] != "maps.starred_places" {
		t.Errorf("status = %+v, want not exportable with maps.starred_places missing", st)
	}
}

func TestSetupTimeLimit(t *testing.T) {
	fake := authtest.New(t)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, loadTestClient(t, fake, KindInstalled), &out, &logs)
	opts.Timeout = 20 * time.Millisecond
	var callback string
	opts.OpenBrowser = func(authURL string) error {
		u, _ := url.Parse(authURL)
		callback = u.Query().Get("redirect_uri")
		return nil // the user never comes back
	}
	_, err := Setup(context.Background(), opts)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	for _, w := range []string{"20ms", "--timeout", "--manual"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("timeout message %q lacks %q", err, w)
		}
	}
	if _, err := http.Get(callback); err == nil {
		t.Errorf("callback listener still answers after the time limit")
	}
	if _, err := os.Stat(opts.TokenFile); !os.IsNotExist(err) {
		t.Errorf("token file written after a timeout")
	}
}

func TestSetupManualPaste(t *testing.T) {
	for _, tc := range []struct {
		name    string
		paste   func(location string) string
		wantErr error
	}{
		{"full redirect URL", func(loc string) string { return loc }, nil},
		{"code only", func(loc string) string {
			u, _ := url.Parse(loc)
			return u.Query().Get("code")
		}, nil},
		{"query string with spaces", func(loc string) string {
			u, _ := url.Parse(loc)
			return "  ?" + u.RawQuery + "  "
		}, nil},
		{"wrong state", func(loc string) string {
			u, _ := url.Parse(loc)
			q := u.Query()
			q.Set("state", "someone-elses")
			u.RawQuery = q.Encode()
			return u.String()
		}, ErrStateMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fake := authtest.New(t)
			var logs syncBuffer
			outR, outW := io.Pipe()
			inR, inW := io.Pipe()
			t.Cleanup(func() { inW.Close(); outR.Close() })
			opts := baseOptions(t, fake, loadTestClient(t, fake, KindWeb, "http://localhost:4444/oauth2callback"), nil, &logs)
			opts.Out, opts.In, opts.Manual, opts.Port = outW, inR, true, DefaultPort
			opts.OpenBrowser = func(string) error { t.Error("manual mode opened a browser"); return nil }

			// The user: read the printed URL, consent elsewhere, paste back.
			user := make(chan error, 1)
			var printed strings.Builder
			go func() {
				sc := bufio.NewScanner(outR)
				pasted := false
				for sc.Scan() {
					line := sc.Text()
					printed.WriteString(line + "\n")
					if !pasted && strings.Contains(line, "/o/oauth2/auth?") {
						loc, err := fake.Consent(ctx, strings.TrimSpace(line))
						if err != nil {
							user <- err
							return
						}
						pasted = true
						go io.WriteString(inW, tc.paste(loc)+"\n")
					}
				}
				user <- nil
			}()
			res, err := Setup(ctx, opts)
			outW.Close()
			if uerr := <-user; uerr != nil {
				t.Fatal(uerr)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Setup: %v\n%s", err, printed.String())
			}
			if res.RedirectURL != "http://localhost:4444/oauth2callback" {
				t.Errorf("redirect = %q, want the registered one", res.RedirectURL)
			}
			if _, err := os.Stat(opts.TokenFile); err != nil {
				t.Errorf("no token file: %v", err)
			}
			assertNoSecrets(t, fake, printed.String(), logs.String())
		})
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	ln, err := ListenLoopback(0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	if !addr.IP.Equal(net.IPv4(127, 0, 0, 1)) || addr.Port == 0 {
		t.Errorf("listening on %v, want 127.0.0.1:<free port>", addr)
	}
	if _, err := ListenLoopback(addr.Port); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listen on a busy port: %v, want an 'in use' error", err)
	}
	if _, err := ListenLoopback(70000); err == nil {
		t.Errorf("port 70000 accepted")
	}
}

func TestWebClientNeedsFixedPort(t *testing.T) {
	fake := authtest.New(t)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, loadTestClient(t, fake, KindWeb, "http://localhost:4444/oauth2callback"), &out, &logs)
	opts.Port = 0
	_, err := Setup(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "Desktop app") {
		t.Fatalf("err = %v, want one that explains --port 0 needs a Desktop client", err)
	}
}

func TestRedirectURL(t *testing.T) {
	for _, tc := range []struct {
		kind       string
		registered []string
		port       int
		want       string
		warn       bool
		err        bool
	}{
		{KindInstalled, []string{"http://localhost"}, 4444, "http://127.0.0.1:4444/oauth2callback", false, false},
		{KindInstalled, []string{"http://localhost"}, 51234, "http://127.0.0.1:51234/oauth2callback", false, false},
		{KindWeb, []string{"http://localhost:4444/oauth2callback"}, 4444, "http://localhost:4444/oauth2callback", false, false},
		{KindWeb, []string{"https://example.com/cb", "http://127.0.0.1:4444/oauth2callback"}, 4444, "http://127.0.0.1:4444/oauth2callback", false, false},
		{KindWeb, []string{"http://localhost:4444/oauth2callback"}, 5000, "http://localhost:5000/oauth2callback", true, false},
		{KindWeb, []string{"http://localhost:4444/oauth2callback"}, 0, "", false, true},
		{KindWeb, []string{"http://evil.example:4444/oauth2callback"}, 4444, "http://localhost:4444/oauth2callback", true, false},
	} {
		c := &Client{Kind: tc.kind, RedirectURIs: tc.registered}
		got, warn, err := c.RedirectURL(tc.port)
		if (err != nil) != tc.err || got != tc.want || (warn != "") != tc.warn {
			t.Errorf("%s %v port %d: got %q warn %q err %v; want %q warn=%v err=%v", tc.kind, tc.registered, tc.port, got, warn, err, tc.want, tc.warn, tc.err)
		}
	}
}

func TestParsePasted(t *testing.T) {
	const state = "st4te"
	for _, tc := range []struct {
		in, code string
		err      bool
	}{
		{"http://localhost:4444/oauth2callback?state=st4te&code=4/abc-DEF&scope=x", "4/abc-DEF", false},
		{"http://localhost:4444/oauth2callback?state=st4te&code=4%2Fabc#frag", "4/abc", false},
		{"code=4/abc&state=st4te", "4/abc", false},
		{"4/0AfJohXk-abc_def", "4/0AfJohXk-abc_def", false},
		{"4%2F0Af", "4/0Af", false},
		{"", "", true},
		{"   \n", "", true},
		{"http://localhost:4444/oauth2callback?code=4/abc", "", true},  // no state
		{"http://localhost:4444/oauth2callback?state=st4te", "", true}, // no code
		{"http://localhost:4444/oauth2callback?state=st4te&error=access_denied", "", true},
		{"two words", "", true},
		{"%zz", "", true},
	} {
		code, err := parsePasted(tc.in, state)
		if (err != nil) != tc.err || code != tc.code {
			t.Errorf("parsePasted(%q) = %q, %v; want %q, err=%v", tc.in, code, err, tc.code, tc.err)
		}
		if err != nil && tc.code == "" && strings.Contains(err.Error(), "abc") {
			t.Errorf("error %q repeats the pasted code", err)
		}
	}
}

func FuzzParsePasted(f *testing.F) {
	for _, s := range []string{
		"http://localhost:4444/oauth2callback?state=s&code=4/abc",
		"4/0AfJohXk-abc", "code=x&state=s", "?error=access_denied&state=s", "%", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, err := parsePasted(in, "s")
		if err == nil && code == "" {
			t.Errorf("parsePasted(%q) returned no code and no error", in)
		}
	})
}

// TestSetupSecretsNeverLogged runs the flow with debug logging and checks
// every byte the user or the logs could see.
func TestSetupSecretsNeverLogged(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	var out, logs syncBuffer
	opts := baseOptions(t, fake, loadTestClient(t, fake, KindInstalled), &out, &logs)
	opts.OpenBrowser, _ = browserFor(ctx, fake)
	if _, err := Setup(ctx, opts); err != nil {
		t.Fatal(err)
	}
	fake.SetExpiresIn(1) // every token expires at once: force refreshes
	forceExpired(t, opts.TokenFile)
	ts, err := TokenSource(ctx, loadTestClient(t, fake, KindInstalled).Config, opts.TokenFile, opts.Logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	fake.RevokeAll()
	_, err = ts.Token()
	if !errors.Is(err, ErrGrantRevoked) {
		t.Fatalf("err = %v, want ErrGrantRevoked", err)
	}
	if fake.Counts().Refreshes < 1 {
		t.Fatal("no refresh happened")
	}
	assertNoSecrets(t, fake, out.String(), logs.String(), err.Error())
}

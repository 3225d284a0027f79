package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tonk-labs/locations-worker/internal/auth/authtest"
)

func TestLoadCredentialsKinds(t *testing.T) {
	fake := authtest.New(t)
	for _, kind := range []string{KindInstalled, KindWeb} {
		path := filepath.Join(t.TempDir(), "credentials.json")
		fake.WriteCredentials(t, path, kind, "http://localhost:4444/oauth2callback")
		c, err := LoadClient(path)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if c.Kind != kind || c.Config.ClientID != fake.ClientID || c.Config.Endpoint.TokenURL != fake.URL+"/token" || c.Config.Endpoint.AuthURL != fake.URL+"/o/oauth2/auth" {
			t.Errorf("%s: got kind %q config %+v", kind, c.Kind, c.Config.Endpoint)
		}
		cfg, err := LoadCredentials(path)
		if err != nil || cfg.ClientSecret != fake.ClientSecret {
			t.Errorf("LoadCredentials(%s): %v", kind, err)
		}
	}
}

func TestLoadCredentialsErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.json"), "file not found"},
		{"not json", write("bad.json", `{"installed": {"client_secret": "TOPSECRET"`), "not valid JSON"},
		{"service account", write("sa.json", `{"type":"service_account","private_key":"TOPSECRET"}`), "service-account key"},
		{"empty object", write("empty.json", `{}`), `no "installed" or "web"`},
		{"no secret", write("nosecret.json", `{"installed":{"client_id":"x"}}`), "no client_secret"},
		{"web without redirect", write("web.json", `{"web":{"client_id":"x","client_secret":"TOPSECRET"}}`), "no authorized redirect URI"},
		{"bad token uri", write("uri.json", `{"installed":{"client_id":"x","client_secret":"TOPSECRET","token_uri":"ftp://x"}}`), "http(s) URLs"},
	} {
		_, err := LoadClient(tc.path)
		if !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%s: err = %v, want ErrNoCredentials", tc.name, err)
			continue
		}
		msg := err.Error()
		for _, w := range []string{tc.want, "Data Portability API", "oauth2callback", tc.path, "auth setup --credentials"} {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message lacks %q:\n%s", tc.name, w, msg)
			}
		}
		if strings.Contains(msg, "TOPSECRET") {
			t.Errorf("%s: message repeats the client secret", tc.name)
		}
	}
}

func TestInstallCredentials(t *testing.T) {
	fake := authtest.New(t)
	src := filepath.Join(t.TempDir(), "client_secret_123.json")
	fake.WriteCredentials(t, src, KindInstalled)
	os.Chmod(src, 0o644)
	dst := filepath.Join(t.TempDir(), "data", "credentials.json")
	c, err := InstallCredentials(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != KindInstalled {
		t.Errorf("kind %q", c.Kind)
	}
	got, _ := os.ReadFile(dst)
	want, _ := os.ReadFile(src)
	if string(got) != string(want) {
		t.Errorf("copy differs from the source")
	}
	assertModes(t, dst)
	if _, err := InstallCredentials(dst, dst); err != nil {
		t.Errorf("installing a file onto itself: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"type":"service_account"}`), 0o600)
	if _, err := InstallCredentials(bad, dst); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("installing a service account key: %v", err)
	}
	if got2, _ := os.ReadFile(dst); string(got2) != string(want) {
		t.Errorf("a rejected file replaced the installed one")
	}
}

func FuzzParseClient(f *testing.F) {
	f.Add([]byte(`{"installed":{"client_id":"a","client_secret":"b","redirect_uris":["http://localhost"],"auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token"}}`))
	f.Add([]byte(`{"web":{"client_id":"a","client_secret":"b","redirect_uris":["http://localhost:4444/oauth2callback"]}}`))
	f.Add([]byte(`{"type":"service_account"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, reason := parseClient(data)
		if (c == nil) == (reason == "") {
			t.Fatalf("parseClient: client %v with reason %q", c, reason)
		}
		if c != nil && (c.Config.ClientID == "" || c.Config.Endpoint.TokenURL == "" || len(c.RedirectURIs) == 0) {
			t.Errorf("accepted an incomplete client: %+v", c.Config)
		}
	})
}

package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// ScopePrefix is prepended to a Data Portability resource group, such as
// "saved.collections", to form its OAuth scope.
const ScopePrefix = "https://www.googleapis.com/auth/dataportability."

// DefaultPort is the callback port that users of the TypeScript worker
// registered, in http://localhost:4444/oauth2callback.
const DefaultPort = 4444

// CallbackPath is the path of the loopback redirect URI.
const CallbackPath = "/oauth2callback"

// Client kinds in credentials.json.
const (
	KindWeb       = "web"       // "Web application" client: only registered redirect URIs work
	KindInstalled = "installed" // "Desktop app" client: any loopback port works
)

// ErrNoCredentials means the OAuth client file is missing or unusable. Errors
// that wrap it carry the console steps that fix it in their message.
var ErrNoCredentials = errors.New("no usable Google OAuth client file")

// Client is an OAuth client read from credentials.json.
type Client struct {
	Kind         string   // KindWeb or KindInstalled
	RedirectURIs []string // as registered in the console when the file was downloaded
	Config       *oauth2.Config
}

// Scopes returns the OAuth scopes for the Data Portability resource groups.
func Scopes(resources []string) []string {
	out := make([]string, 0, len(resources))
	for _, r := range resources {
		out = append(out, ScopePrefix+r)
	}
	return out
}

// CredentialsHelp tells the user how to get a credentials file and where to
// put it.
func CredentialsHelp(path string) string {
	return fmt.Sprintf(`To create an OAuth client for locations-worker:
  1. Open https://console.cloud.google.com/ and create a project (or pick one).
  2. APIs & Services > Library: enable the "Data Portability API".
  3. APIs & Services > OAuth consent screen: configure it and add your Google
     account as a test user.
  4. APIs & Services > Credentials > Create credentials > OAuth client ID:
     - "Desktop app" (recommended), or
     - "Web application" with the authorized redirect URI
       http://localhost:%d/oauth2callback (or http://127.0.0.1:%d/oauth2callback).
  5. Download the client JSON and either save it as
       %s
     or run
       locations-worker auth setup --credentials ~/Downloads/client_secret_XXXX.json
     which copies it there.`, DefaultPort, DefaultPort, path)
}

// credentialsError wraps ErrNoCredentials with a reason and the console steps.
func credentialsError(path, reason string) error {
	return fmt.Errorf("%w: %s: %s\n%s", ErrNoCredentials, path, reason, CredentialsHelp(path))
}

// LoadCredentials reads an OAuth client file ("web" or "installed" kind) and
// returns its configuration without scopes. A missing or invalid file gives an
// error that wraps ErrNoCredentials and explains how to create one.
func LoadCredentials(path string) (*oauth2.Config, error) {
	c, err := LoadClient(path)
	if err != nil {
		return nil, err
	}
	return c.Config, nil
}

// LoadClient is LoadCredentials that also reports the client kind and its
// registered redirect URIs.
func LoadClient(path string) (*Client, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, credentialsError(path, "file not found")
	}
	if err != nil {
		return nil, credentialsError(path, fmt.Sprintf("cannot read it (%v)", errors.Unwrap(err)))
	}
	c, reason := parseClient(data)
	if reason != "" {
		return nil, credentialsError(path, reason)
	}
	return c, nil
}

// rawClient is one object of credentials.json.
type rawClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	RedirectURIs []string `json:"redirect_uris"`
	AuthURI      string   `json:"auth_uri"`
	TokenURI     string   `json:"token_uri"`
}

// parseClient validates the file and builds the config; reason is a plain
// explanation when the file is unusable. It never repeats the file's content.
func parseClient(data []byte) (c *Client, reason string) {
	var j struct {
		Web       *rawClient `json:"web"`
		Installed *rawClient `json:"installed"`
		Type      string     `json:"type"`
	}
	if err := json.Unmarshal(data, &j); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Sprintf("not valid JSON (at byte %d)", se.Offset)
		}
		return nil, "not a Google OAuth client file (unexpected JSON shape)"
	}
	var raw *rawClient
	kind := ""
	switch {
	case j.Installed != nil:
		raw, kind = j.Installed, KindInstalled
	case j.Web != nil:
		raw, kind = j.Web, KindWeb
	case j.Type == "service_account":
		return nil, "this is a service-account key; the Data Portability API needs an OAuth client ID (Desktop app or Web application)"
	case j.Type != "":
		return nil, fmt.Sprintf("this is a %q credentials file, not an OAuth client ID (Desktop app or Web application)", j.Type)
	default:
		return nil, `no "installed" or "web" OAuth client in it`
	}
	if raw.ClientID == "" {
		return nil, "the OAuth client has no client_id"
	}
	if raw.ClientSecret == "" {
		return nil, "the OAuth client has no client_secret"
	}
	for _, u := range []string{raw.AuthURI, raw.TokenURI} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, "auth_uri and token_uri must be http(s) URLs"
		}
	}
	if raw.AuthURI == "" {
		raw.AuthURI = google.Endpoint.AuthURL
	}
	if raw.TokenURI == "" {
		raw.TokenURI = google.Endpoint.TokenURL
	}
	if kind == KindWeb && len(raw.RedirectURIs) == 0 {
		return nil, fmt.Sprintf("the Web application client has no authorized redirect URI: add http://localhost:%d/oauth2callback in the console and download the file again", DefaultPort)
	}
	if len(raw.RedirectURIs) == 0 {
		raw.RedirectURIs = []string{"http://localhost"}
	}
	// Re-encode the validated object so ConfigFromJSON sees exactly one kind.
	norm, err := json.Marshal(map[string]*rawClient{kind: raw})
	if err != nil {
		return nil, "cannot encode the OAuth client"
	}
	cfg, err := google.ConfigFromJSON(norm)
	if err != nil {
		return nil, "not a usable OAuth client file"
	}
	return &Client{Kind: kind, RedirectURIs: raw.RedirectURIs, Config: cfg}, ""
}

// InstallCredentials validates the OAuth client file src and copies it to dst
// (mode 0600, directory 0700 when created), atomically. Copying a file onto
// itself is a no-op.
func InstallCredentials(src, dst string) (*Client, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, fmt.Errorf("read credentials file: %w", err)
	}
	c, reason := parseClient(data)
	if reason != "" {
		return nil, fmt.Errorf("%w: %s: %s", ErrNoCredentials, src, reason)
	}
	if same, _ := sameFile(src, dst); same {
		return c, nil
	}
	if err := writeFileAtomic(dst, data); err != nil {
		return nil, fmt.Errorf("install credentials: %w", err)
	}
	return c, nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// RedirectURL chooses the loopback redirect URI for a callback on port: a
// registered loopback URI with that port and path when there is one, else
// http://127.0.0.1:PORT/oauth2callback for a Desktop client (Google accepts
// any loopback port for those) or http://localhost:PORT/oauth2callback for a
// Web client, with a warning that it must be registered.
func (c *Client) RedirectURL(port int) (redirect, warning string, err error) {
	if port <= 0 || port > 65535 {
		if c.Kind == KindWeb {
			return "", "", fmt.Errorf("port %d: a Web application client only accepts the redirect URIs registered in the console, so it needs a fixed --port (registered: %s)", port, strings.Join(c.RedirectURIs, ", "))
		}
		return "", "", fmt.Errorf("port %d is not a port number", port)
	}
	for _, r := range c.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
			continue
		}
		if u.Port() == fmt.Sprint(port) && u.Path == CallbackPath {
			return r, "", nil
		}
	}
	if c.Kind == KindInstalled {
		return fmt.Sprintf("http://127.0.0.1:%d%s", port, CallbackPath), "", nil
	}
	redirect = fmt.Sprintf("http://localhost:%d%s", port, CallbackPath)
	warning = fmt.Sprintf("%s is not among the redirect URIs in the credentials file (%s); unless you registered it after downloading the file, Google will answer redirect_uri_mismatch: add it to the OAuth client in the console", redirect, strings.Join(c.RedirectURIs, ", "))
	return redirect, warning, nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory: created 0600, synced, renamed over path, then the directory is
// synced. A missing directory is created 0700.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}

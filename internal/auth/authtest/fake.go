// Package authtest is a fake of Google's OAuth 2.0 endpoints and of the Data
// Portability API's accessType:check and authorization:reset, for tests. It
// behaves like the real services at the HTTP boundary: the authorize
// endpoint redirects to the loopback callback with code and state, the token
// endpoint checks the client and the PKCE verifier and answers invalid_grant
// for used codes and revoked grants.
package authtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// ScopePrefix is the Data Portability scope prefix.
const ScopePrefix = "https://www.googleapis.com/auth/dataportability."

// Server is a running fake. Its URL is both the OAuth host (auth_uri
// URL/o/oauth2/auth, token_uri URL/token) and the Data Portability base URL.
type Server struct {
	URL          string
	ClientID     string
	ClientSecret string

	srv *httptest.Server

	mu            sync.Mutex
	accessType    string   // "one-time" or "time-based" for new grants
	grantOnly     []string // when set, consent grants only these resource groups
	deny          bool     // consent answers error=access_denied
	expiresIn     int
	codes         map[string]*pending
	grants        map[string]*grant // by refresh token
	access        map[string]*grant // by access token
	secrets       []string
	counts        Counts
	lastAuthorize url.Values
}

// Counts are the requests the fake answered successfully.
type Counts struct {
	Authorizations int
	Exchanges      int
	Refreshes      int
	Checks         int
	Resets         int
}

type pending struct {
	challenge, redirect, scope string
}

type grant struct {
	scope      string
	accessType string
	revoked    bool
}

// New starts a fake that closes with the test.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		ClientID:     "fake-client-" + random(6) + ".apps.googleusercontent.com",
		ClientSecret: "fake-secret-" + random(12),
		accessType:   "time-based",
		expiresIn:    3600,
		codes:        map[string]*pending{},
		grants:       map[string]*grant{},
		access:       map[string]*grant{},
	}
	s.secrets = append(s.secrets, s.ClientSecret)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /o/oauth2/auth", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /v1/accessType:check", s.check)
	mux.HandleFunc("POST /v1/authorization:reset", s.reset)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// PortabilityURL is the base URL to use as GOOGLE_DATAPORTABILITY_URL.
func (s *Server) PortabilityURL() string { return s.URL + "/" }

// Credentials returns a credentials.json of the given kind ("installed" or
// "web") pointing at the fake. Web clients register redirectURIs.
func (s *Server) Credentials(kind string, redirectURIs ...string) []byte {
	if len(redirectURIs) == 0 {
		redirectURIs = []string{"http://localhost"}
	}
	b, _ := json.Marshal(map[string]any{kind: map[string]any{
		"client_id":                   s.ClientID,
		"project_id":                  "fake-project",
		"auth_uri":                    s.URL + "/o/oauth2/auth",
		"token_uri":                   s.URL + "/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_secret":               s.ClientSecret,
		"redirect_uris":               redirectURIs,
	}})
	return b
}

// WriteCredentials writes Credentials(kind, redirectURIs...) to path.
func (s *Server) WriteCredentials(t testing.TB, path, kind string, redirectURIs ...string) {
	t.Helper()
	if err := os.WriteFile(path, s.Credentials(kind, redirectURIs...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// SetAccessType sets what the user chooses on the consent page for new
// grants: "one-time" or "time-based".
func (s *Server) SetAccessType(v string) { s.mu.Lock(); s.accessType = v; s.mu.Unlock() }

// SetExpiresIn sets the lifetime in seconds of the access tokens issued next.
// Below 10 seconds, oauth2 treats a token as expired at once.
func (s *Server) SetExpiresIn(sec int) { s.mu.Lock(); s.expiresIn = sec; s.mu.Unlock() }

// SetDeny makes the consent page answer error=access_denied.
func (s *Server) SetDeny(v bool) { s.mu.Lock(); s.deny = v; s.mu.Unlock() }

// SetGrantOnly makes the user untick every resource group but these.
func (s *Server) SetGrantOnly(resources ...string) {
	s.mu.Lock()
	s.grantOnly = resources
	s.mu.Unlock()
}

// RevokeAll revokes every grant, as the user would at myaccount.google.com.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		g.revoked = true
	}
}

// Counts returns the successful requests so far.
func (s *Server) Counts() Counts { s.mu.Lock(); defer s.mu.Unlock(); return s.counts }

// LastAuthorize returns the query of the last authorize request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuthorize
}

// Secrets returns every secret the fake issued or received: the client
// secret, authorization codes, access and refresh tokens, PKCE verifiers.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.secrets)
}

// Browse stands in for the user's browser: it opens authURL, consents, and
// follows Google's redirect to the loopback callback. It returns the
// callback's status and page.
func (s *Server) Browse(ctx context.Context, authURL string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Consent opens authURL like Browse but stops at Google's redirect and
// returns its Location: the URL a user of --manual copies from the address
// bar.
func (s *Server) Consent(ctx context.Context, authURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("authorize: HTTP %d: %s", resp.StatusCode, b)
	}
	return resp.Header.Get("Location"), nil
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuthorize = q
	s.mu.Unlock()
	fail := func(msg string) {
		http.Error(w, "Error 400: invalid_request\n"+msg, http.StatusBadRequest)
	}
	if q.Get("client_id") != s.ClientID {
		http.Error(w, "Error 401: invalid_client", http.StatusUnauthorized)
		return
	}
	if q.Get("response_type") != "code" {
		fail("response_type must be code")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || !loopback(redirect.Hostname()) || redirect.RawQuery != "" {
		fail("redirect_uri must be a loopback http URL")
		return
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 {
		fail("PKCE with S256 is required by this fake")
		return
	}
	if q.Get("state") == "" {
		fail("state is required by this fake")
		return
	}
	var resources []string
	for _, sc := range strings.Fields(q.Get("scope")) {
		if !strings.HasPrefix(sc, ScopePrefix) {
			fail("unknown scope " + sc)
			return
		}
		resources = append(resources, strings.TrimPrefix(sc, ScopePrefix))
	}
	if len(resources) == 0 {
		fail("missing scope")
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	s.mu.Lock()
	deny, only := s.deny, s.grantOnly
	s.mu.Unlock()
	if deny {
		back.Set("error", "access_denied")
	} else {
		var granted []string
		for _, r := range resources {
			if only == nil || slices.Contains(only, r) {
				granted = append(granted, ScopePrefix+r)
			}
		}
		code := "4/fake-code-" + random(16)
		s.mu.Lock()
		s.codes[code] = &pending{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), scope: strings.Join(granted, " ")}
		s.secrets = append(s.secrets, code)
		s.counts.Authorizations++
		s.mu.Unlock()
		back.Set("code", code)
		back.Set("scope", strings.Join(granted, " "))
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.ClientID || secret != s.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		p, ok := s.codes[code]
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
			return
		}
		delete(s.codes, code) // codes are single use
		if r.PostForm.Get("redirect_uri") != p.redirect {
			oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
			return
		}
		verifier := r.PostForm.Get("code_verifier")
		s.secrets = append(s.secrets, verifier)
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
			return
		}
		g := &grant{scope: p.scope, accessType: s.accessType}
		refresh := "1//fake-refresh-" + random(24)
		s.grants[refresh] = g
		s.secrets = append(s.secrets, refresh)
		s.counts.Exchanges++
		s.issue(w, g, refresh)
	case "refresh_token":
		g, ok := s.grants[r.PostForm.Get("refresh_token")]
		if !ok || g.revoked {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		s.counts.Refreshes++
		s.issue(w, g, "")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type.")
	}
}

// issue answers a token request; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g *grant, refresh string) {
	access := "ya29.fake-access-" + random(24)
	s.access[access] = g
	s.secrets = append(s.secrets, access)
	body := map[string]any{
		"access_token": access,
		"expires_in":   s.expiresIn,
		"scope":        g.scope,
		"token_type":   "Bearer",
	}
	if refresh != "" {
		body["refresh_token"] = refresh
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(body)
}

func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (*grant, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	g := s.access[tok]
	s.mu.Unlock()
	if !ok || g == nil || g.revoked {
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return nil, false
	}
	return g, true
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	g, ok := s.bearer(w, r)
	if !ok {
		return
	}
	var resources []string
	for _, sc := range strings.Fields(g.scope) {
		resources = append(resources, strings.TrimPrefix(sc, ScopePrefix))
	}
	body := map[string]any{}
	if g.accessType == "one-time" {
		body["oneTimeResources"] = resources
	} else {
		body["timeBasedResources"] = resources
	}
	s.mu.Lock()
	s.counts.Checks++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(body)
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	g, ok := s.bearer(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	g.revoked = true
	s.counts.Resets++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	io.WriteString(w, "{}\n")
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func apiError(w http.ResponseWriter, status int, state, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": state}})
}

func loopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("authtest: no randomness")) // test helper; cannot continue
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

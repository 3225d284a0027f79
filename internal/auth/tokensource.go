package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// ErrGrantRevoked means Google answered invalid_grant: the user revoked the
// grant, it expired (a time-based grant ends after 30 or 180 days), or the
// refresh token was replaced by a newer sign-in.
var ErrGrantRevoked = errors.New("Google no longer accepts the saved sign-in (revoked or expired): run `locations-worker auth setup` again")

// TokenSource returns a token source for the token in tokenFile that writes
// every refreshed token back to the file (atomically, mode 0600), once per
// refresh, and is safe for concurrent use. Before refreshing it re-reads the
// file, so a new sign-in by `auth setup` is picked up without a restart.
//
// ctx is used for the refresh requests (set oauth2.HTTPClient in it to choose
// the HTTP client). A missing file gives ErrNoToken; a refresh that Google
// refuses with invalid_grant gives an error that matches ErrGrantRevoked.
func TokenSource(ctx context.Context, cfg *oauth2.Config, tokenFile string, logger *slog.Logger) (oauth2.TokenSource, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s, err := readTokenFile(tokenFile)
	if err != nil {
		return nil, err
	}
	return &persistingSource{ctx: ctx, cfg: cfg, path: tokenFile, log: logger, cur: s}, nil
}

// persistingSource is an oauth2.TokenSource that saves refreshed tokens.
type persistingSource struct {
	ctx  context.Context
	cfg  *oauth2.Config
	path string
	log  *slog.Logger

	mu     sync.Mutex // held across a refresh, so concurrent callers share one
	cur    *stored
	writes int // token file writes, for tests
}

// Token returns a valid token, refreshing and saving it when needed.
func (p *persistingSource) Token() (*oauth2.Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur.Token.Valid() {
		return copyToken(p.cur.Token), nil
	}
	// Another process (auth setup, or a second worker) may have saved a newer
	// token since we read the file.
	if s, err := readTokenFile(p.path); err == nil && s.Token.RefreshToken != "" {
		newer := s.Token.RefreshToken != p.cur.Token.RefreshToken || s.Token.AccessToken != p.cur.Token.AccessToken
		if newer {
			p.log.Info("using the token saved by another process", "file", p.path)
			p.cur = s
			if s.Token.Valid() {
				return copyToken(s.Token), nil
			}
		}
	}
	if p.cur.Token.RefreshToken == "" {
		return nil, fmt.Errorf("%w (the saved token has expired and has no refresh token)", ErrNoToken)
	}

	old := p.cur.Token
	t, err := p.cfg.TokenSource(p.ctx, &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	if err != nil {
		err = refreshError(err)
		if errors.Is(err, ErrGrantRevoked) {
			p.log.Error("Google rejected the saved sign-in: run `locations-worker auth setup` again", "file", p.path)
			p.markRejected()
		}
		return nil, err
	}
	next := *p.cur
	next.Token = t
	if t.RefreshToken == "" {
		t.RefreshToken = old.RefreshToken
	}
	if sc := scopeOf(t); sc != "" {
		next.Scope = sc
	}
	if next.Grant != nil && next.Grant.RejectedAt != nil {
		g := *next.Grant
		g.RejectedAt = nil
		next.Grant = &g
	}
	p.cur = &next
	if err := writeTokenFile(p.path, &next); err != nil {
		// The new token still works in this process; say loudly that a
		// restart would fall back to the old one.
		p.log.Error("could not save the refreshed token", "file", p.path, "err", err)
	} else {
		p.writes++
		p.log.Debug("refreshed and saved the Google access token", "file", p.path, "expiry", t.Expiry.Format(time.RFC3339))
	}
	return copyToken(t), nil
}

// markRejected records in the token file that Google refused the grant, so
// `auth status` and /status can say so. Failures are only logged.
func (p *persistingSource) markRejected() {
	next := *p.cur
	g := Grant{}
	if next.Grant != nil {
		g = *next.Grant
	}
	now := time.Now().UTC()
	g.RejectedAt = &now
	next.Grant = &g
	p.cur = &next
	if err := writeTokenFile(p.path, &next); err != nil {
		p.log.Warn("could not record the rejected sign-in in the token file", "file", p.path, "err", err)
		return
	}
	p.writes++
}

// refreshError turns an oauth2 error into one without HTTP details or
// response bodies; invalid_grant becomes ErrGrantRevoked.
func refreshError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "invalid_grant" {
			return ErrGrantRevoked
		}
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if code == "" {
			code = "no error code"
		}
		return fmt.Errorf("refresh Google access token: HTTP %d (%s)", status, code)
	}
	return fmt.Errorf("refresh Google access token: %w", err)
}

func copyToken(t *oauth2.Token) *oauth2.Token {
	c := *t
	return &c
}

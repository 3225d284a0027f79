package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// StatusInfo says what the saved sign-in allows. It holds no secrets and is
// shown as is by `auth status --json` and the worker's /status.
type StatusInfo struct {
	TokenFile           string     `json:"tokenFile"`
	TokenPresent        bool       `json:"tokenPresent"`
	RefreshTokenPresent bool       `json:"refreshTokenPresent"`
	AccessTokenExpiry   *time.Time `json:"accessTokenExpiry,omitempty"`
	AccessTokenValid    bool       `json:"accessTokenValid"`
	Scopes              []string   `json:"scopes"`        // resource groups granted, like "saved.collections"
	MissingScopes       []string   `json:"missingScopes"` // configured resource groups not granted
	AccessType          string     `json:"accessType"`    // AccessOneTime, AccessTimeBased or AccessUnknown
	GrantedAt           *time.Time `json:"grantedAt,omitempty"`
	RejectedAt          *time.Time `json:"rejectedAt,omitempty"` // when Google last answered invalid_grant
	CanExport           bool       `json:"canExport"`
	Problem             string     `json:"problem,omitempty"` // why CanExport is false, and what to do
	Warnings            []string   `json:"warnings"`
}

// Status reads tokenFile (no network) and says whether the worker can export
// the given resource groups with it. A missing file is a status, not an
// error; an unreadable or corrupt one is an error.
func Status(tokenFile string, resources []string, now time.Time) (StatusInfo, error) {
	st := StatusInfo{TokenFile: tokenFile, AccessType: AccessUnknown, Scopes: []string{}, MissingScopes: []string{}, Warnings: []string{}}
	s, err := readTokenFile(tokenFile)
	if errors.Is(err, ErrNoToken) {
		st.Problem = "not signed in: run `locations-worker auth setup`"
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.TokenPresent = true
	st.RefreshTokenPresent = s.Token.RefreshToken != ""
	if !s.Token.Expiry.IsZero() {
		exp := s.Token.Expiry.UTC()
		st.AccessTokenExpiry = &exp
	}
	st.AccessTokenValid = s.Token.AccessToken != "" && (s.Token.Expiry.IsZero() || now.Before(s.Token.Expiry))
	if s.Scope != "" {
		for _, sc := range strings.Fields(s.Scope) {
			st.Scopes = append(st.Scopes, strings.TrimPrefix(sc, ScopePrefix))
		}
		for _, r := range resources {
			if !slices.Contains(st.Scopes, r) {
				st.MissingScopes = append(st.MissingScopes, r)
			}
		}
	} else {
		st.Warnings = append(st.Warnings, "the token file does not record which scopes were granted")
	}
	if g := s.Grant; g != nil {
		if !g.GrantedAt.IsZero() {
			t := g.GrantedAt.UTC()
			st.GrantedAt = &t
		}
		if g.AccessType != "" {
			st.AccessType = g.AccessType
		}
		st.RejectedAt = g.RejectedAt
	}
	switch st.AccessType {
	case AccessOneTime:
		st.Warnings = append(st.Warnings, "one-time access: Google allows a single export with this sign-in, so the daily export stops after the first one; run `locations-worker auth setup` again and choose access for 30 or 180 days")
	case AccessTimeBased:
		if st.GrantedAt != nil {
			st.Warnings = append(st.Warnings, fmt.Sprintf("time-based access ends 30 or 180 days after %s (whichever you chose); run `locations-worker auth setup` again then", st.GrantedAt.Format("2006-01-02")))
		}
	default:
		st.Warnings = append(st.Warnings, "access type not known (one-time or time-based); `locations-worker auth setup` checks it")
	}
	if fi, err := os.Stat(tokenFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		st.Warnings = append(st.Warnings, fmt.Sprintf("%s is readable by other users (mode %o): chmod 600 it", tokenFile, fi.Mode().Perm()))
	}
	if fi, err := os.Stat(filepath.Dir(tokenFile)); err == nil && fi.Mode().Perm()&0o077 != 0 {
		st.Warnings = append(st.Warnings, fmt.Sprintf("the directory %s is open to other users (mode %o): chmod 700 it", filepath.Dir(tokenFile), fi.Mode().Perm()))
	}

	switch {
	case st.RejectedAt != nil:
		st.Problem = fmt.Sprintf("Google rejected the saved sign-in on %s (revoked or expired): run `locations-worker auth setup` again", st.RejectedAt.UTC().Format(time.RFC3339))
	case !st.RefreshTokenPresent && !st.AccessTokenValid:
		st.Problem = "the access token has expired and there is no refresh token: run `locations-worker auth setup` again"
	case len(st.MissingScopes) > 0:
		st.Problem = fmt.Sprintf("the sign-in does not allow exporting %s: run `locations-worker auth setup` again and allow every requested item on Google's page", strings.Join(st.MissingScopes, ", "))
	default:
		st.CanExport = true
		if !st.RefreshTokenPresent {
			st.Warnings = append(st.Warnings, "no refresh token: exports stop when the access token expires; run `locations-worker auth setup` again")
		}
	}
	return st, nil
}

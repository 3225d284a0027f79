package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Access types reported by the Data Portability API, in plain words.
const (
	AccessOneTime   = "one-time"   // one export, then the grant is spent
	AccessTimeBased = "time-based" // exports allowed for 30 or 180 days
	AccessUnknown   = "unknown"    // not checked (yet)
)

// ErrNoToken means there is no usable token: the token file is missing, or
// its token has expired and cannot be refreshed.
var ErrNoToken = errors.New("no Google token: run `locations-worker auth setup`")

// Grant is what locations-worker knows about the user's consent. It is
// stored next to the token, in the token file.
type Grant struct {
	GrantedAt          time.Time  `json:"granted_at"`
	AccessType         string     `json:"access_type,omitempty"`
	OneTimeResources   []string   `json:"one_time_resources,omitempty"`
	TimeBasedResources []string   `json:"time_based_resources,omitempty"`
	CheckedAt          *time.Time `json:"checked_at,omitempty"`
	RejectedAt         *time.Time `json:"rejected_at,omitempty"` // Google answered invalid_grant
}

// tokenFile is the on-disk token. It keeps the fields the TypeScript worker
// wrote (expiry_date in milliseconds, client_id/client_secret) so either
// worker can read the other's file, plus expiry in RFC 3339 for people.
type tokenFile struct {
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token,omitempty"`
	TokenType    string      `json:"token_type,omitempty"`
	Scope        string      `json:"scope,omitempty"`
	ExpiryDate   json.Number `json:"expiry_date,omitempty"`
	Expiry       string      `json:"expiry,omitempty"`
	ClientID     string      `json:"client_id,omitempty"`
	ClientSecret string      `json:"client_secret,omitempty"`
	Grant        *Grant      `json:"grant,omitempty"`
}

// stored is a parsed token file.
type stored struct {
	Token        *oauth2.Token
	Scope        string
	ClientID     string
	ClientSecret string
	Grant        *Grant
}

// parseTokenFile decodes a token file. Its errors never quote the content.
func parseTokenFile(data []byte) (*stored, error) {
	var f tokenFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("field %q has the wrong type", te.Field)
		}
		return nil, errors.New("not a token file")
	}
	if f.AccessToken == "" && f.RefreshToken == "" {
		return nil, errors.New("it holds neither an access token nor a refresh token")
	}
	t := &oauth2.Token{AccessToken: f.AccessToken, RefreshToken: f.RefreshToken, TokenType: f.TokenType}
	switch {
	case f.Expiry != "":
		exp, err := time.Parse(time.RFC3339Nano, f.Expiry)
		if err != nil {
			return nil, errors.New(`field "expiry" is not an RFC 3339 time`)
		}
		t.Expiry = exp
	case f.ExpiryDate != "":
		ms, err := f.ExpiryDate.Float64()
		if err != nil || ms < 0 || ms > 1e15 {
			return nil, errors.New(`field "expiry_date" is not a time in milliseconds`)
		}
		t.Expiry = time.UnixMilli(int64(ms))
	}
	if f.AccessToken == "" {
		// Only a refresh token: treat the access token as expired.
		t.Expiry = time.Unix(1, 0)
	}
	return &stored{Token: t, Scope: f.Scope, ClientID: f.ClientID, ClientSecret: f.ClientSecret, Grant: f.Grant}, nil
}

// encode renders the token file.
func (s *stored) encode() ([]byte, error) {
	f := tokenFile{
		AccessToken:  s.Token.AccessToken,
		RefreshToken: s.Token.RefreshToken,
		TokenType:    s.Token.TokenType,
		Scope:        s.Scope,
		ClientID:     s.ClientID,
		ClientSecret: s.ClientSecret,
		Grant:        s.Grant,
	}
	if !s.Token.Expiry.IsZero() {
		f.Expiry = s.Token.Expiry.UTC().Format(time.RFC3339Nano)
		f.ExpiryDate = json.Number(fmt.Sprint(s.Token.Expiry.UnixMilli()))
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode token file: %w", err)
	}
	return append(data, '\n'), nil
}

// readTokenFile reads path; a missing file gives ErrNoToken.
func readTokenFile(path string) (*stored, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (no token file at %s)", ErrNoToken, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	s, err := parseTokenFile(data)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w: run `locations-worker auth setup` again", path, err)
	}
	return s, nil
}

// writeTokenFile writes s to path atomically with mode 0600.
func writeTokenFile(path string, s *stored) error {
	data, err := s.encode()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	return nil
}

// scopeOf returns the scope string a token response carried, if any.
func scopeOf(t *oauth2.Token) string {
	if s, ok := t.Extra("scope").(string); ok {
		return s
	}
	return ""
}

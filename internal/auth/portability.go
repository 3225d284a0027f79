package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// AccessInfo is the answer of the Data Portability API's accessType:check.
type AccessInfo struct {
	OneTimeResources   []string `json:"oneTimeResources,omitempty"`
	TimeBasedResources []string `json:"timeBasedResources,omitempty"`
}

// Type is AccessOneTime when any resource is one-time (jobs are then
// one-time), AccessTimeBased when every resource is time-based, else
// AccessUnknown.
func (a AccessInfo) Type() string {
	switch {
	case len(a.OneTimeResources) > 0:
		return AccessOneTime
	case len(a.TimeBasedResources) > 0:
		return AccessTimeBased
	default:
		return AccessUnknown
	}
}

// CheckAccessType calls POST v1/accessType:check on the Data Portability API
// at baseURL with client, which must add the user's credentials (an
// oauth2.NewClient).
func CheckAccessType(ctx context.Context, client *http.Client, baseURL string) (AccessInfo, error) {
	var info AccessInfo
	if err := callPortability(ctx, client, baseURL, "v1/accessType:check", &info); err != nil {
		return AccessInfo{}, fmt.Errorf("check access type: %w", err)
	}
	return info, nil
}

// ResetAuthorization calls POST v1/authorization:reset, which revokes the
// user's grant to this OAuth client.
func ResetAuthorization(ctx context.Context, client *http.Client, baseURL string) error {
	if err := callPortability(ctx, client, baseURL, "v1/authorization:reset", nil); err != nil {
		return fmt.Errorf("reset authorization: %w", err)
	}
	return nil
}

// apiError is a Google API error without the request or headers.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func callPortability(ctx context.Context, client *http.Client, baseURL, path string, out any) error {
	u := strings.TrimRight(baseURL, "/") + "/" + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader([]byte("{}")))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Error.Status, Message: e.Error.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return errors.New("unexpected response (not the documented JSON)")
	}
	return nil
}

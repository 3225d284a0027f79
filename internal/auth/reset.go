package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
)

// ResetResult says what Reset did.
type ResetResult struct {
	HadToken  bool  // a token file was there (and is now removed)
	Revoked   bool  // Google confirmed authorization:reset
	RevokeErr error // why the grant could not be revoked, when it could not
}

// Reset revokes the user's grant to this client with the Data Portability
// API's authorization:reset and removes tokenFile. When the revoke call fails
// (offline, no credentials, grant already gone) the file is removed all the
// same and the reason is in RevokeErr; err is only for a file that could not
// be removed. cfg may be nil when there is no usable credentials file.
func Reset(ctx context.Context, cfg *oauth2.Config, tokenFile, portabilityURL string, httpClient *http.Client, logger *slog.Logger) (ResetResult, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	var res ResetResult
	if _, err := os.Stat(tokenFile); errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	res.HadToken = true
	if cfg == nil {
		res.RevokeErr = errors.New("no usable OAuth client file, so Google could not be asked")
	} else {
		httpCtx := context.WithValue(ctx, oauth2.HTTPClient, httpClient)
		ts, err := TokenSource(httpCtx, cfg, tokenFile, logger)
		if err == nil {
			err = ResetAuthorization(ctx, oauth2.NewClient(httpCtx, ts), portabilityURL)
		}
		if err != nil {
			res.RevokeErr = err
			logger.Debug("could not revoke the grant at Google", "err", err)
		} else {
			res.Revoked = true
		}
	}
	if err := os.Remove(tokenFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("remove token file: %w", err)
	}
	logger.Debug("removed the Google token", "file", tokenFile, "revoked", res.Revoked)
	return res, nil
}

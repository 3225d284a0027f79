package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/tonk-labs/locations-worker/internal/auth/authtest"
)

func TestReset(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	res, err := Reset(ctx, c.Config, tokenFile, fake.PortabilityURL(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.HadToken || !res.Revoked || res.RevokeErr != nil {
		t.Errorf("result = %+v", res)
	}
	if fake.Counts().Resets != 1 {
		t.Errorf("resets = %d, want 1", fake.Counts().Resets)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file still there")
	}
	// Nothing left to reset.
	res, err = Reset(ctx, c.Config, tokenFile, fake.PortabilityURL(), nil, nil)
	if err != nil || res.HadToken {
		t.Errorf("second reset: %+v %v", res, err)
	}
}

func TestResetOffline(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // the API is unreachable
	res, err := Reset(ctx, c.Config, tokenFile, down.URL+"/", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Revoked || res.RevokeErr == nil || !res.HadToken {
		t.Errorf("result = %+v, want a revoke error", res)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file kept after an offline reset")
	}
	if fake.Counts().Resets != 0 {
		t.Errorf("the fake saw a reset")
	}
}

func TestResetAlreadyRevoked(t *testing.T) {
	ctx := context.Background()
	fake := authtest.New(t)
	c, tokenFile := signedIn(t, fake)
	forceExpired(t, tokenFile)
	fake.RevokeAll()
	res, err := Reset(ctx, c.Config, tokenFile, fake.PortabilityURL(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.RevokeErr, ErrGrantRevoked) {
		t.Errorf("RevokeErr = %v, want ErrGrantRevoked", res.RevokeErr)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file kept")
	}
}

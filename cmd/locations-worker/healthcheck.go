package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/config"
)

func newHealthcheckCmd(a *app) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Check that a running worker answers /health",
		Long: `healthcheck asks a running worker (locations-worker start) for GET /health
and exits 0 when it answers 200 {"status":"ok"}, 1 otherwise, with one line
saying why. It is the Docker HEALTHCHECK of the image, which has no curl.

The worker is found from the same settings it was started with: WORKER_HOST
(an any-address such as 0.0.0.0 or :: means this machine, so 127.0.0.1 is
asked) and WORKER_PORT (or PORT). /health needs no WORKER_TOKEN.`,
		Example: `  locations-worker healthcheck
  WORKER_PORT=6000 locations-worker healthcheck --timeout 1s
  # in a Dockerfile:
  HEALTHCHECK CMD ["/usr/local/bin/locations-worker", "healthcheck"]`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config(cmd)
			if err != nil {
				return err
			}
			if timeout <= 0 {
				return fmt.Errorf("invalid --timeout %s: must be more than 0", timeout)
			}
			u, err := healthURL(cfg)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := checkHealth(ctx, u); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "ok: %s\n", u)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for the answer")
	config.BindFlags(cmd.Flags(), "host", "port")
	return cmd
}

// healthURL is the /health URL of the worker that cfg describes. A worker
// bound to an any-address is asked on the loopback address.
func healthURL(cfg *config.Config) (string, error) {
	if cfg.Port == 0 {
		return "", errors.New("port is 0 (a random port): set WORKER_PORT to the port the worker listens on")
	}
	host := cfg.Host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(cfg.Port)), Path: "/health"}
	return u.String(), nil
}

// maxHealthBody bounds how much of an answer is read: {"status":"ok"} is 15 bytes.
const maxHealthBody = 4 << 10

// checkHealth asks u and returns nil only for 200 {"status":"ok"}. Its
// errors are one line, fit to print as they are.
func checkHealth(ctx context.Context, u string) error {
	client := &http.Client{
		// Straight to the worker: no proxy from the environment, no redirects.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("no answer from %s in time (see --timeout)", u)
		case isConnRefused(err):
			return fmt.Errorf("nothing is listening at %s: is the worker running on this host and port?", u)
		}
		return fmt.Errorf("health check %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no complete answer from %s in time (see --timeout)", u)
		}
		return fmt.Errorf("health check %s: reading the answer: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", u, resp.Status)
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil || h.Status != "ok" {
		return fmt.Errorf(`unhealthy: %s answered 200 but not {"status":"ok"}: %s`, u, quoteShort(body))
	}
	return nil
}

func isConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// quoteShort quotes the start of an unexpected answer for an error line.
func quoteShort(b []byte) string {
	const n = 80
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}

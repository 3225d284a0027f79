package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/tonk-labs/locations-worker/internal/auth"
	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/export"
)

// exportDeps are the seams of the export command.
type exportDeps struct {
	// tokenSource gives the OAuth token source for the Data Portability API.
	tokenSource func(ctx context.Context, cfg *config.Config, log *slog.Logger) (oauth2.TokenSource, error)
	// sink receives every snapshot after the file output, unless --no-sync;
	// nil means the keepsync document (app.keepsyncSink).
	sink sinkFunc
	// apiOptions adjusts the API source (tests shorten the timings).
	apiOptions func(*export.APIOptions)
}

func defaultExportDeps() exportDeps {
	return exportDeps{tokenSource: savedTokenSource}
}

// savedTokenSource reads the OAuth client and the token saved by `auth setup`.
func savedTokenSource(ctx context.Context, cfg *config.Config, log *slog.Logger) (oauth2.TokenSource, error) {
	oc, err := auth.LoadCredentials(cfg.CredentialsFile)
	if err != nil {
		return nil, err
	}
	return auth.TokenSource(ctx, oc, cfg.TokenFile, log)
}

func newExportCmd(a *app) *cobra.Command { return newExportCmdWith(a, defaultExportDeps()) }

func newExportCmdWith(a *app, deps exportDeps) *cobra.Command {
	var o outputFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export your saved places now through the Google Data Portability API",
		Long: `Export asks Google for a fresh export of your saved lists and starred places
through the Data Portability API, waits for it (minutes, sometimes more),
downloads and reads the archives, and prints a summary. With --out it writes
every place once, with its lists, notes and coordinates, as GeoJSON, CSV or
JSON.

It needs the sign-in saved by "locations-worker auth setup". If Google says an
export is already running, that export is reused. Where the API is not
offered, download a Takeout archive and use "locations-worker import".`,
		Example: `  locations-worker export
  locations-worker export --out places.geojson
  locations-worker export --out places.csv --quiet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			cfg, err := a.config(cmd)
			if err != nil {
				return err
			}
			log := a.logger(cfg, a.stderr)
			ctx := cmd.Context()
			started := time.Now()
			ts, err := deps.tokenSource(ctx, cfg, log)
			if err != nil {
				return withHint(fmt.Errorf("Google sign-in: %w", err), "run `locations-worker auth setup` first, or use `locations-worker import` with a Takeout archive")
			}
			opts := export.APIOptions{
				Endpoint:         cfg.PortabilityURL,
				Resources:        cfg.Resources,
				Limits:           archiveLimits(cfg),
				MaxDownloadBytes: cfg.ArchiveMaxTotalBytes,
				Logger:           log,
			}
			if deps.apiOptions != nil {
				deps.apiOptions(&opts)
			}
			st := o.progress(a)
			if st != nil {
				var dl downloadMeter
				opts.HTTPClient = dl.client(opts.HTTPClient)
				opts.Progress = exportProgress(st, &dl)
			}
			src, err := export.NewAPISource(ctx, ts, opts)
			if err != nil {
				return err
			}
			snap, err := src.Export(ctx)
			st.Done()
			if err != nil {
				if errors.Is(err, export.ErrUnauthorized) {
					return withHint(err, "run `locations-worker auth setup` to sign in again")
				}
				return withHint(err, "the worker retries on its schedule; `locations-worker import` reads a Takeout archive instead")
			}
			sink := deps.sink
			if sink == nil {
				sink = a.keepsyncSink(o.syncTimeout)
			}
			return o.finish(ctx, a.stdout, cfg, snap, started, sink)
		},
	}
	o.bind(cmd)
	config.BindFlags(cmd.Flags(), "dataportability-url", "resources", "credentials", "token-file")
	config.BindFlags(cmd.Flags(), archiveLimitKeys...)
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/export"
)

// outputFlags are the output flags shared by import and export.
type outputFlags struct {
	out         string
	format      string
	json        bool
	quiet       bool
	noSync      bool
	syncTimeout time.Duration
}

func (o *outputFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.out, "out", "o", "", "also write the places to this file (atomically)")
	cmd.Flags().StringVar(&o.format, "format", "", "format of --out: geojson, csv or json (default: from the --out extension, else geojson)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the summary as JSON")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
	cmd.Flags().BoolVar(&o.noSync, "no-sync", false, "do not write the keepsync document")
	cmd.Flags().DurationVar(&o.syncTimeout, "sync-timeout", 2*time.Minute, "longest wait for the sync server to hold the document")
	config.BindFlags(cmd.Flags(), "layout")
	config.BindFlags(cmd.Flags(), archiveLimitKeys...)
}

// progress returns where progress goes: nowhere with --quiet or --json.
func (o *outputFlags) progress(a *app) *status {
	if o.quiet || o.json {
		return nil
	}
	return newStatus(a.stderr, isTerminal(a.stderr))
}

// sinkFunc writes a snapshot to keepsync and reports what it did.
type sinkFunc func(ctx context.Context, cfg *config.Config, snap *export.Snapshot, started time.Time) (*syncReport, error)

// keepsyncSink writes to the keepsync document of cfg through the same
// writer and the same client as `start`.
func (a *app) keepsyncSink(timeout time.Duration) sinkFunc {
	return func(ctx context.Context, cfg *config.Config, snap *export.Snapshot, started time.Time) (*syncReport, error) {
		c, err := openKeepsync(ctx, cfg, a.commandLogger(cfg))
		if err != nil {
			return nil, err
		}
		defer c.Close()
		rep, err := writeAndSync(ctx, c, cfg, snap, writeOptions(cfg, started), syncOptions{Timeout: timeout, Grace: 5 * time.Second})
		if err != nil {
			return nil, withHint(err, "the places were read but not stored: check that the data directory "+cfg.DataDir+" is writable, or use --no-sync")
		}
		return &rep, nil
	}
}

// finish writes the output file, the keepsync document (through sink,
// unless --no-sync) and the summary of a run.
func (o *outputFlags) finish(ctx context.Context, stdout io.Writer, cfg *config.Config, snap *export.Snapshot, started time.Time, sink sinkFunc) error {
	if o.out != "" {
		format := o.format
		if format == "" {
			format = export.FormatFromName(o.out)
		}
		if format == "" {
			format = export.FormatGeoJSON
		}
		if err := export.WriteFile(o.out, snap, format); err != nil {
			return err
		}
	}
	var rep *syncReport
	if !o.noSync && sink != nil {
		var err error
		if rep, err = sink(ctx, cfg, snap, started); err != nil {
			return err
		}
	}
	if o.quiet {
		return nil
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Complete bool             `json:"complete"`
			Source   string           `json:"source"`
			Counts   export.Counts    `json:"counts"`
			Problems []export.Problem `json:"problems,omitempty"`
			Out      string           `json:"out,omitempty"`
			Keepsync *syncReport      `json:"keepsync,omitempty"`
		}{snap.Complete, snap.Source, snap.Counts, snap.Problems, o.out, rep})
	}
	if err := export.WriteSummary(stdout, snap); err != nil {
		return err
	}
	if o.out != "" {
		fmt.Fprintf(stdout, "wrote %s\n", o.out)
	}
	if rep != nil {
		writeSyncReport(stdout, rep)
	}
	return nil
}

// writeSyncReport prints what a write did to the document, then one line
// about the sync server.
func writeSyncReport(w io.Writer, rep *syncReport) {
	c := rep.Changes
	fmt.Fprintf(w, "keepsync %s: %d added, %d updated, %d removed, %d unchanged", rep.Path, c.Added, c.Updated, c.Removed, c.Unchanged)
	if c.Restored > 0 {
		fmt.Fprintf(w, ", %d back", c.Restored)
	}
	fmt.Fprintln(w)
	if !c.Complete && c.Reason != "" {
		fmt.Fprintf(w, "  nothing marked removed: %s\n", c.Reason)
	}
	fmt.Fprintln(w, rep.Message)
}

func (o *outputFlags) validate() error {
	switch o.format {
	case "", export.FormatGeoJSON, export.FormatCSV, export.FormatJSON:
		return nil
	}
	return withHint(fmt.Errorf("unknown --format %q", o.format), "use --format geojson, csv or json")
}

func newImportCmd(a *app) *cobra.Command {
	var o outputFlags
	cmd := &cobra.Command{
		Use:   "import PATH...",
		Short: "Read saved places from Takeout or Data Portability archives on disk",
		Long: `Import reads your saved Google Maps places from archives you downloaded:
zips from Google Takeout or from the Data Portability API (several zips of one
export are fine), extracted folders, or single saved-list CSV and starred
places GeoJSON files. Saved lists and starred places are found by content, in
any language.

It prints a summary (places, lists, starred, with coordinates, what was
skipped and why) and, with --out, writes every place once, with its lists,
notes and coordinates, as GeoJSON, CSV or JSON.

An archive that is partly broken is still read; the summary then says
"complete: NO" and lists the problems.`,
		Example: `  locations-worker import examples/sample-takeout.zip
  locations-worker import takeout-001.zip takeout-002.zip --out places.geojson
  locations-worker import ~/Downloads/Takeout --out places.csv --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			cfg, err := a.config(cmd)
			if err != nil {
				return err
			}
			log := a.logger(cfg, a.stderr)
			started := time.Now()
			st := o.progress(a)
			files, size := inputsSize(paths)
			st.Set(func() string {
				return fmt.Sprintf("reading %d %s (%s)...", files, plural(files, "file", "files"), formatBytes(size))
			})
			snap, err := export.Import(cmd.Context(), paths, export.ImportOptions{Logger: log, Limits: archiveLimits(cfg)})
			st.Done()
			if err != nil {
				return withHint(err, "give a Takeout or Data Portability zip, or a folder extracted from one, that includes Saved (lists) or Maps (your places)")
			}
			return o.finish(cmd.Context(), a.stdout, cfg, snap, started, a.keepsyncSink(o.syncTimeout))
		},
	}
	o.bind(cmd)
	return cmd
}

// archiveLimitKeys are the settings that cap what import, export and start
// read.
var archiveLimitKeys = []string{"archive-max-entries", "archive-max-file-bytes", "archive-max-total-bytes"}

// archiveLimits are the caps of cfg, for the export pipeline.
func archiveLimits(cfg *config.Config) export.Limits {
	return export.Limits{MaxEntries: cfg.ArchiveMaxEntries, MaxEntryBytes: cfg.ArchiveMaxFileBytes, MaxTotalBytes: cfg.ArchiveMaxTotalBytes}
}

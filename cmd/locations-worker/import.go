package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/export"
)

// outputFlags are the file-output flags shared by import and export.
type outputFlags struct {
	out    string
	format string
	json   bool
	quiet  bool
}

func (o *outputFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.out, "out", "o", "", "write the places to this file (atomically)")
	cmd.Flags().StringVar(&o.format, "format", "", "output format: geojson, csv or json (default: from the --out extension, else geojson)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the summary as JSON")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing but errors")
}

// finish writes the output file and the summary of a run.
func (o *outputFlags) finish(stdout io.Writer, snap *export.Snapshot) error {
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
		}{snap.Complete, snap.Source, snap.Counts, snap.Problems, o.out})
	}
	if err := export.WriteSummary(stdout, snap); err != nil {
		return err
	}
	if o.out != "" {
		fmt.Fprintf(stdout, "wrote %s\n", o.out)
	}
	return nil
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
			snap, err := export.Import(cmd.Context(), paths, export.ImportOptions{Logger: log})
			if err != nil {
				return withHint(err, "give a Takeout or Data Portability zip, or a folder extracted from one, that includes Saved (lists) or Maps (your places)")
			}
			return o.finish(a.stdout, snap)
		},
	}
	o.bind(cmd)
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/keepsync"
)

func newDocCmd(a *app) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doc",
		Short: "Look inside keepsync: list directories and print documents",
		Long: `doc reads keepsync the way the worker does: through the sync server when it
is reachable, from the local store under <data-dir>/keepsync otherwise.`,
		Example: `  locations-worker doc ls /
  locations-worker doc cat /google-maps/places
  locations-worker doc cat /google-maps/places --table
  SYNC_URL=http://localhost:7777 locations-worker doc ls /google-maps`,
	}
	cmd.PersistentFlags().DurationVar(&timeout, "timeout", 15*time.Second, "how long to wait for the sync server")

	ls := &cobra.Command{
		Use:   "ls [PATH]",
		Short: "List a keepsync directory",
		Long:  "ls lists the entries of a keepsync directory (default /): type, name, document id and last modification.",
		Example: `  locations-worker doc ls
  locations-worker doc ls /google-maps`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/"
			if len(args) == 1 {
				path = args[0]
			}
			return a.withKeepsync(cmd, timeout, func(ctx context.Context, c *keepsync.Client) error {
				ents, err := c.Ls(ctx, path)
				if err != nil {
					return err
				}
				return writeEntries(a.stdout, ents)
			})
		},
	}
	var table bool
	cat := &cobra.Command{
		Use:   "cat PATH",
		Short: "Print a keepsync document as JSON",
		Long: `cat prints the document at PATH as indented JSON. With --table, a document
shaped {places: {key: {title, address, lat, lng, lists, ...}}} is printed as
a table of places instead.`,
		Example: `  locations-worker doc cat /google-maps/places
  locations-worker doc cat /google-maps/places --table`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withKeepsync(cmd, timeout, func(ctx context.Context, c *keepsync.Client) error {
				v, err := c.ReadDoc(ctx, args[0])
				if err != nil {
					return err
				}
				if table {
					return writePlacesTable(a.stdout, v)
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			})
		},
	}
	cat.Flags().BoolVar(&table, "table", false, "print the places of a places document as a table")
	cmd.AddCommand(ls, cat)
	return cmd
}

// withKeepsync opens the keepsync client of the configured data directory
// for the duration of fn.
func (a *app) withKeepsync(cmd *cobra.Command, timeout time.Duration, fn func(context.Context, *keepsync.Client) error) error {
	cfg, err := a.config(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	c, err := openKeepsync(ctx, cfg, a.commandLogger(cfg))
	if err != nil {
		return err
	}
	defer c.Close()
	err = fn(ctx, c)
	switch {
	case errors.Is(err, keepsync.ErrUnavailable):
		return withHint(err, "is the sync server running at "+cfg.SyncURL+"? Set --sync-url or SYNC_URL.")
	case errors.Is(err, keepsync.ErrNotFound):
		return withHint(err, "neither the sync server at "+cfg.SyncURL+" nor the local store in "+keepsyncDir(cfg)+" has it: `locations-worker doc ls /` shows what there is; `locations-worker import <archive>` writes the places")
	}
	return err
}

func writeEntries(w io.Writer, ents []keepsync.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tDOCUMENT\tMODIFIED")
	for _, e := range ents {
		mod := ""
		if !e.Modified.IsZero() {
			mod = e.Modified.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Type, e.Name, e.Pointer, mod)
	}
	return tw.Flush()
}

// writePlacesTable prints {places: {key: {title, address, lat, lng, lists}}}.
func writePlacesTable(w io.Writer, v any) error {
	doc, _ := v.(map[string]any)
	places, ok := doc["places"].(map[string]any)
	if !ok {
		return fmt.Errorf("--table: the document has no places map (expected {places: {key: {title, address, lat, lng, lists}}})")
	}
	keys := make([]string, 0, len(places))
	for k := range places {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ti, _ := places[keys[i]].(map[string]any)["title"].(string)
		tj, _ := places[keys[j]].(map[string]any)["title"].(string)
		if ti != tj {
			return ti < tj
		}
		return keys[i] < keys[j]
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TITLE\tADDRESS\tLAT\tLNG\tLISTS\tKEY")
	for _, k := range keys {
		p, _ := places[k].(map[string]any)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cell(p["title"]), cell(p["address"]), cell(p["lat"]), cell(p["lng"]), cell(p["lists"]), k)
	}
	fmt.Fprintf(tw, "\n%d places\n", len(keys))
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		return strings.ReplaceAll(x, "\t", " ")
	case float64:
		return fmt.Sprintf("%.6f", x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				parts = append(parts, cell(m["name"]))
				continue
			}
			parts = append(parts, cell(e))
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		return strings.Join(names, ", ")
	default:
		return fmt.Sprint(x)
	}
}

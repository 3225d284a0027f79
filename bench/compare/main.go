// Command compare runs the side-by-side benchmark: for each size it feeds the
// same synthetic archives to locations-worker and to the TypeScript worker's
// pipeline reproduced in Node (bench/reference), each against a fresh real
// sync server behind a byte-counting proxy, and prints a markdown table of
// medians and ratios (ours/reference).
//
//	go run ./bench/compare -bin bin/locations-worker -sizes 1000,10000,50000 -runs 3
//
// -server v2 runs both pipelines against the automerge-repo 2.x server
// instead of @tonk/server 0.3.2.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tonk-labs/locations-worker/bench/internal/days"
	"github.com/tonk-labs/locations-worker/bench/internal/jsclient"
	"github.com/tonk-labs/locations-worker/bench/internal/repo"
	"github.com/tonk-labs/locations-worker/bench/internal/syncserver"
	"github.com/tonk-labs/locations-worker/internal/archivegen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

type options struct {
	sizes      []int
	runs       int
	days       int
	churn      float64
	seed       uint64
	bin        string
	pipelines  []string
	work       string
	jsonOut    string
	oursPath   string
	refPath    string
	seriesRuns int
	timeout    time.Duration
	oursMode   string
	server     string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	sizes := fs.String("sizes", "1000,10000,50000", "saved-list items per archive, comma separated")
	pipes := fs.String("pipelines", "ours,reference", "pipelines to run, comma separated")
	fs.IntVar(&o.runs, "runs", 3, "runs per size and pipeline (medians are reported)")
	fs.IntVar(&o.seriesRuns, "series-runs", 1, "of those runs, how many also do the daily re-export series")
	fs.IntVar(&o.days, "days", 7, "daily re-exports in each series (no change, then churn)")
	fs.Float64Var(&o.churn, "churn", 0.01, "fraction of items changed per churn day")
	seed := fs.Uint64("seed", 1, "generator seed")
	fs.StringVar(&o.bin, "bin", "bin/locations-worker", "locations-worker binary")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "longest a single pipeline run may take")
	fs.StringVar(&o.oursMode, "ours-mode", "start", "how locations-worker runs: start (start --archive, export at start-up, stopped once synced) or import (one command that writes and waits for sync)")
	fs.StringVar(&o.server, "server", syncserver.V1, "sync server: v1 (@tonk/server 0.3.2, Tonk's real server) or v2 (automerge-repo 2.x, test/harness/v2)")
	fs.StringVar(&o.work, "work", "", "work directory (default: a temporary one, removed at the end)")
	fs.StringVar(&o.jsonOut, "json", "", "also write every measurement as JSON to this file")
	fs.StringVar(&o.oursPath, "ours-path", "/google-maps/places", "keepsync path locations-worker writes")
	fs.StringVar(&o.refPath, "reference-path", "/user/google_maps_locations", "keepsync path the reference pipeline writes")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.seed = *seed
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return o, fmt.Errorf("bad -sizes entry %q", s)
		}
		o.sizes = append(o.sizes, n)
	}
	for _, p := range strings.Split(*pipes, ",") {
		p = strings.TrimSpace(p)
		if p != "ours" && p != "reference" {
			return o, fmt.Errorf("unknown pipeline %q (ours, reference)", p)
		}
		if p == "ours" && o.oursMode == "start" {
			p = "ours-start"
		}
		o.pipelines = append(o.pipelines, p)
	}
	if o.server != syncserver.V1 && o.server != syncserver.V2 {
		return o, fmt.Errorf("unknown -server %q (v1, v2)", o.server)
	}
	if o.runs < 1 || o.seriesRuns < 0 || o.seriesRuns > o.runs {
		return o, fmt.Errorf("-runs must be ≥ 1 and 0 ≤ -series-runs ≤ -runs")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	root, err := repo.Root()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(o.bin) {
		o.bin = filepath.Join(root, o.bin)
	}
	js := jsclient.Client{Root: root}
	if err := js.EnsureInstalled(ctx); err != nil {
		return err
	}
	work := o.work
	if work == "" {
		work, err = os.MkdirTemp("", "bench-compare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}

	var all []sizeResult
	for _, size := range o.sizes {
		arch, err := makeArchives(filepath.Join(work, fmt.Sprintf("archives-%d", size)), o.seed, size, o.days, o.churn)
		if err != nil {
			return err
		}
		sr := sizeResult{Size: size, Places: arch.places, Server: o.server, Pipelines: map[string]*pipelineResult{}}
		for _, p := range o.pipelines {
			sr.Pipelines[p] = &pipelineResult{}
		}
		// Runs alternate between the pipelines, so that a busy spell of a
		// shared machine does not fall on one pipeline only.
		stopped := map[string]bool{}
		for r := 0; r < o.runs; r++ {
			for _, p := range o.pipelines {
				if err := ctx.Err(); err != nil {
					return err
				}
				if stopped[p] {
					continue
				}
				pr := sr.Pipelines[p]
				b := bench{root: root, js: js, opts: o, pipeline: p, arch: arch,
					dir: filepath.Join(work, fmt.Sprintf("%s-%d-run%d", p, size, r)), log: log}
				m, err := b.run(ctx, r < o.seriesRuns)
				if err != nil {
					log.Error("run failed", "pipeline", p, "size", size, "run", r, "err", err)
					pr.Errors = append(pr.Errors, err.Error())
					// It would die the same way again: spare the machine.
					stopped[p] = strings.Contains(err.Error(), "sync server died")
					continue
				}
				log.Info("run", "pipeline", p, "size", size, "run", r, "wall", m.First.Wall, "peakRSSKiB", m.First.PeakRSSKiB,
					"sentBytes", m.First.SentBytes, "docBytes", m.DocFirst, "docAfterNoChange", m.DocNoChange, "docAfterChurn", m.DocChurn)
				pr.Runs = append(pr.Runs, m)
			}
		}
		all = append(all, sr)
		// Each size's table as soon as it is done: a long run stopped
		// half-way keeps what it measured.
		writeTables(stdout, o, []sizeResult{sr})
		if o.jsonOut != "" {
			b, _ := json.MarshalIndent(all, "", "  ")
			if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
				return err
			}
		}
	}
	writeFooter(stdout, o)
	return nil
}

// archives holds the day-by-day input of one size: day 0, then o.days
// unchanged re-exports, then o.days re-exports with churn.
type archives struct {
	first    string
	noChange []string
	churn    []string
	places   int
}

func makeArchives(dir string, seed uint64, size, nDays int, churn float64) (*archives, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := archivegen.Generate(days.Options(int64(seed), size))
	out := &archives{first: filepath.Join(dir, "day00.zip"), places: len(m.Places)}
	if err := days.Write(m, out.first); err != nil {
		return nil, err
	}
	for d := 1; d <= 2*nDays; d++ {
		p := filepath.Join(dir, fmt.Sprintf("day%02d.zip", d))
		if d <= nDays {
			// Same data, a new archive file: what a no-change day downloads.
			if err := days.Write(m, p); err != nil {
				return nil, err
			}
			out.noChange = append(out.noChange, p)
			continue
		}
		m = m.NextDay(int64(seed)*1000+int64(d), days.Churn(size, churn))
		if err := days.Write(m, p); err != nil {
			return nil, err
		}
		out.churn = append(out.churn, p)
	}
	return out, nil
}

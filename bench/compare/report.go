package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tonk-labs/locations-worker/bench/internal/syncserver"
)

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// stat is one metric of one pipeline: its median and how many values it had.
type stat struct {
	v  float64
	n  int
	ok bool
}

func collect(pr *pipelineResult, f func(measurement) []float64) stat {
	if pr == nil {
		return stat{}
	}
	var xs []float64
	for _, m := range pr.Runs {
		xs = append(xs, f(m)...)
	}
	v, ok := median(xs)
	return stat{v: v, n: len(xs), ok: ok}
}

func one(x float64) []float64 { return []float64{x} }

func walls(rs []runResult) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.Wall.Seconds())
	}
	return out
}

func sent(rs []runResult) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, float64(r.SentBytes))
	}
	return out
}

func rss(rs []runResult) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, float64(r.PeakRSSKiB))
	}
	return out
}

func seriesOnly(m measurement, f func(measurement) float64) []float64 {
	if !m.Series || m.SeriesError != "" {
		return nil
	}
	return one(f(m))
}

type row struct {
	name   string
	unit   string
	get    func(measurement) []float64
	target string
	// check says whether ours meets the target given ours and reference
	// values and ours' first-import document size.
	check func(ours, ref, oursFirstDoc float64) bool
	ratio bool
}

// writeTables writes one markdown table per size.
func writeTables(w io.Writer, o options, all []sizeResult) {
	rows := []row{
		{name: "first import: wall time to server has the data", unit: "s",
			get:    func(m measurement) []float64 { return one(m.First.Wall.Seconds()) },
			target: "≤ 0.5× reference", check: func(a, b, _ float64) bool { return a <= 0.5*b }, ratio: true},
		{name: "first import: peak RSS", unit: "MiB",
			get:    func(m measurement) []float64 { return one(float64(m.First.PeakRSSKiB) / 1024) },
			target: "≤ 0.5× reference", check: func(a, b, _ float64) bool { return a <= 0.5*b }, ratio: true},
		{name: "first import: bytes sent over the WebSocket", unit: "KiB",
			get: func(m measurement) []float64 { return one(float64(m.First.SentBytes) / 1024) }, ratio: true},
		{name: fmt.Sprintf("daily re-export, no change: wall time (median of %d days)", o.days), unit: "s",
			get: func(m measurement) []float64 { return walls(m.NoChange) }, ratio: true},
		{name: "daily re-export, no change: peak RSS", unit: "MiB",
			get: func(m measurement) []float64 {
				xs := rss(m.NoChange)
				for i := range xs {
					xs[i] /= 1024
				}
				return xs
			}, ratio: true},
		{name: "daily re-export, no change: bytes sent", unit: "KiB",
			get: func(m measurement) []float64 {
				xs := sent(m.NoChange)
				for i := range xs {
					xs[i] /= 1024
				}
				return xs
			}, ratio: true},
		{name: fmt.Sprintf("daily re-export, %.0f%% churn: wall time", o.churn*100), unit: "s",
			get: func(m measurement) []float64 { return walls(m.Churn) }, ratio: true},
		{name: "document size after first import", unit: "KiB",
			get: func(m measurement) []float64 { return one(float64(m.DocFirst) / 1024) }, ratio: true},
		{name: fmt.Sprintf("document size after %d no-change days", o.days), unit: "KiB",
			get: func(m measurement) []float64 {
				return seriesOnly(m, func(m measurement) float64 { return float64(m.DocNoChange) / 1024 })
			}, ratio: true},
		{name: fmt.Sprintf("document size after %d more days with %.0f%% churn", o.days, o.churn*100), unit: "KiB",
			get: func(m measurement) []float64 {
				return seriesOnly(m, func(m measurement) float64 { return float64(m.DocChurn) / 1024 })
			}, ratio: true},
		{name: fmt.Sprintf("document growth over %d no-change days", o.days), unit: "bytes",
			get: func(m measurement) []float64 {
				return seriesOnly(m, func(m measurement) float64 { return float64(m.DocNoChange - m.DocFirst) })
			},
			target: "0 bytes", check: func(a, _, _ float64) bool { return a == 0 }},
		{name: fmt.Sprintf("document growth over %d days with %.0f%% churn", o.days, o.churn*100), unit: "KiB",
			get: func(m measurement) []float64 {
				return seriesOnly(m, func(m measurement) float64 { return float64(m.DocChurn-m.DocNoChange) / 1024 })
			},
			target: "≤ 10% of first import", check: func(a, _, first float64) bool { return a <= 0.10*first }, ratio: true},
	}
	for _, sr := range all {
		fmt.Fprintf(w, "\n### %d saved items (%d distinct places), %s\n\n", sr.Size, sr.Places, serverName(sr.Server))
		fmt.Fprintln(w, "| metric | ours | reference | ours / reference | target | met |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
		ours, ref := sr.Pipelines["ours"], sr.Pipelines["reference"]
		if ours == nil {
			ours = sr.Pipelines["ours-start"]
		}
		firstDoc := collect(ours, func(m measurement) []float64 { return one(float64(m.DocFirst) / 1024) })
		for _, r := range rows {
			a, b := collect(ours, r.get), collect(ref, r.get)
			ratio := ""
			if r.ratio && a.ok && b.ok && b.v != 0 {
				ratio = fmt.Sprintf("%.2f", a.v/b.v)
			}
			met := ""
			needsRef := strings.Contains(r.target, "reference")
			if r.check != nil && a.ok && (b.ok || !needsRef) && (firstDoc.ok || needsRef || r.target == "0 bytes") {
				if r.check(a.v, b.v, firstDoc.v) {
					met = "yes"
				} else {
					met = "**no**"
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.name, cell(a, r.unit), cell(b, r.unit), ratio, r.target, met)
		}
		for _, name := range []string{"ours", "ours-start", "reference"} {
			pr := sr.Pipelines[name]
			if pr == nil {
				continue
			}
			for _, m := range pr.Runs {
				if m.SeriesError == "" {
					continue
				}
				fmt.Fprintf(w, "\n%s: the daily series stopped: %s.", name, firstLine(m.SeriesError))
				if n := len(m.DocDays); n > 0 {
					fmt.Fprintf(w, " Document size by then: %.1f KiB after the first import, %.1f KiB after %d re-export(s) (+%.1f KiB a day).",
						float64(m.DocFirst)/1024, float64(m.DocDays[n-1])/1024, n, float64(m.DocDays[n-1]-m.DocFirst)/1024/float64(n))
				}
				fmt.Fprintln(w)
			}
			if len(pr.Errors) > 0 {
				fmt.Fprintf(w, "\n%s: %d failed run(s); first error: %s\n", name, len(pr.Errors), firstLine(pr.Errors[0]))
			}
		}
	}
}

// writeFooter says what the tables are medians of.
func writeFooter(w io.Writer, o options) {
	fmt.Fprintf(w, "\nMedians over %d run(s) per size and pipeline (series of daily re-exports in %d of them), each on a fresh sync server; generated %s.\n",
		o.runs, o.seriesRuns, time.Now().UTC().Format(time.RFC3339))
}

func serverName(s string) string {
	if s == syncserver.V2 {
		return "automerge-repo 2.x sync server"
	}
	return "@tonk/server 0.3.2"
}

func cell(s stat, unit string) string {
	if !s.ok {
		return "n/a"
	}
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", s.v)
	case "bytes":
		return fmt.Sprintf("%.0f B", s.v)
	default:
		return fmt.Sprintf("%.1f %s", s.v, unit)
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

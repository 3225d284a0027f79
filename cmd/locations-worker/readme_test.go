package main

// Tests that keep README.md true: its quickstart commands run as written, in
// a fresh directory, and print what it shows; and every command, flag,
// environment variable, make target, endpoint and link it names exists.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tonk-labs/locations-worker/internal/config"
	"github.com/tonk-labs/locations-worker/internal/synctest"
)

// readmeRunPrefix is how the README runs the binary in its quickstart.
const readmeRunPrefix = "go run ./cmd/locations-worker "

// readme is README.md, split into what the tests need.
type readme struct {
	text   string
	blocks [][]string // fenced code blocks, line by line, fences removed
	spans  []string   // inline code spans outside the blocks
}

func readReadme(t *testing.T) readme {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(synctest.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	r := readme{text: string(data)}
	var block []string
	in := false
	span := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(r.text, "\n") {
		if strings.HasPrefix(line, "```") {
			if in {
				r.blocks = append(r.blocks, block)
			}
			in, block = !in, nil
			continue
		}
		if in {
			block = append(block, line)
			continue
		}
		for _, m := range span.FindAllStringSubmatch(line, -1) {
			r.spans = append(r.spans, m[1])
		}
	}
	if in {
		t.Fatal("README.md: a code block is not closed")
	}
	return r
}

// shown returns the output the README shows for `$ cmd`: the rest of the
// code block that starts with that line.
func (r readme) shown(t *testing.T, cmd string) string {
	t.Helper()
	for _, b := range r.blocks {
		if len(b) > 0 && b[0] == "$ "+cmd {
			return strings.Join(b[1:], "\n") + "\n"
		}
	}
	t.Fatalf("README.md has no code block starting with %q", "$ "+cmd)
	return ""
}

// quickstartDir is a fresh directory laid out like a clone, as far as the
// quickstart needs: examples/sample-takeout.zip and nothing else.
func quickstartDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(sampleArchive(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "examples", "sample-takeout.zip"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runIn runs the binary in dir with a minimal environment plus env, the way
// a person's shell would (no LOCATIONS_WORKER_DATA: the data directory is
// ./data), and returns its standard output and error.
func runIn(t *testing.T, bin, dir string, env map[string]string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("locations-worker %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// quickstartCmds are the README's two quickstart commands, as arguments.
func quickstartCmds() (importCmd, tableCmd string) {
	return readmeRunPrefix + "import examples/sample-takeout.zip",
		readmeRunPrefix + "doc cat /google-maps/places --table"
}

func argsOf(cmd string) []string { return strings.Fields(strings.TrimPrefix(cmd, readmeRunPrefix)) }

func TestReadmeQuickstartWithoutSyncServer(t *testing.T) {
	r := readReadme(t)
	importCmd, tableCmd := quickstartCmds()
	bin := buildWorker(t, t.TempDir())
	dir := quickstartDir(t)
	// Nothing listens at SYNC_URL, like on a machine without Tonk. The
	// README shows the default URL.
	env := map[string]string{"SYNC_URL": deadURL(t)}
	localize := func(s string) string { return strings.ReplaceAll(s, "http://localhost:7777", env["SYNC_URL"]) }

	out, stderr := runIn(t, bin, dir, env, argsOf(importCmd)...)
	if want := localize(r.shown(t, importCmd)); out != want {
		t.Errorf("%s printed:\n%s\nREADME.md shows:\n%s", importCmd, out, want)
	}
	if stderr != "reading 1 file (3.3 kB)...\n" {
		t.Errorf("%s: standard error is %q, want only the progress line", importCmd, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "keepsync")); err != nil {
		t.Errorf("no local keepsync store under ./data: %v", err)
	}

	// doc cat reads the places back from the local store.
	out, _ = runIn(t, bin, dir, env, argsOf(tableCmd)...)
	if want := r.shown(t, tableCmd); out != want {
		t.Errorf("%s printed:\n%s\nREADME.md shows:\n%s", tableCmd, out, want)
	}
	if !strings.Contains(r.text, "`doc ls /google-maps`") {
		t.Error("README.md no longer mentions `doc ls /google-maps`: update this test")
	}
	out, _ = runIn(t, bin, dir, env, "doc", "ls", "/google-maps")
	if !regexp.MustCompile(`(?m)^doc\s+places\s+\S+\s+\S+$`).MatchString(out) {
		t.Errorf("doc ls /google-maps:\n%s", out)
	}

	// "Run it again: nothing changed".
	again := "0 added, 0 updated, 0 removed, 9 unchanged"
	if !strings.Contains(r.text, again) {
		t.Errorf("README.md no longer says %q: update this test", again)
	}
	out, _ = runIn(t, bin, dir, env, argsOf(importCmd)...)
	if !strings.Contains(out, "keepsync /google-maps/places: "+again+"\n") {
		t.Errorf("second import:\n%s", out)
	}
}

func TestReadmeQuickstartWithSyncServer(t *testing.T) {
	r := readReadme(t)
	importCmd, tableCmd := quickstartCmds()
	srv := synctest.StartTonkServer(t)
	bin := buildWorker(t, t.TempDir())
	dir := quickstartDir(t)
	env := map[string]string{"SYNC_URL": srv.URL}

	// The README: "the last line is `synced with the sync server at ...` instead".
	synced := "synced with the sync server at http://localhost:7777"
	if !strings.Contains(r.text, "`"+synced+"`") {
		t.Fatalf("README.md no longer says %q: update this test", synced)
	}
	shown := strings.Split(strings.TrimSuffix(r.shown(t, importCmd), "\n"), "\n")
	shown[len(shown)-1] = strings.ReplaceAll(synced, "http://localhost:7777", srv.URL)
	out, _ := runIn(t, bin, dir, env, argsOf(importCmd)...)
	if want := strings.Join(shown, "\n") + "\n"; out != want {
		t.Errorf("%s with a sync server printed:\n%s\nwant:\n%s", importCmd, out, want)
	}

	// A Tonk app's client sees the places the README's table shows.
	places := jsPlaces(t, srv.JSClient(t), "/google-maps/places")
	var titles []string
	for _, p := range places {
		title, _ := p.(map[string]any)["title"].(string)
		titles = append(titles, title)
	}
	sort.Strings(titles)
	table := r.shown(t, tableCmd)
	if len(titles) != 9 {
		t.Fatalf("the JS client reads %d places, want 9: %v", len(titles), titles)
	}
	for _, title := range titles {
		if !strings.Contains(table, "\n"+title+" ") {
			t.Errorf("the JS client reads %q, which the README's table lacks", title)
		}
	}

	// doc cat now reads through the server, and prints the same table.
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	out, _ = runIn(t, bin, dir, env, argsOf(tableCmd)...)
	if out != table {
		t.Errorf("%s through the sync server printed:\n%s\nREADME.md shows:\n%s", tableCmd, out, table)
	}
}

// readmeInvocation is one command line of the README that runs the binary.
type readmeInvocation struct {
	line string
	args []string
}

// invocations finds the command lines that run locations-worker: in code
// blocks and inline code, after `locations-worker`, `bin/locations-worker`,
// `go run ./cmd/locations-worker`, `docker compose run --rm worker`, or
// inline code that starts with one of its commands (`auth setup --manual`).
func (r readme) invocations(root *cobra.Command) []readmeInvocation {
	prefixes := [][]string{
		{"locations-worker"}, {"bin/locations-worker"}, {"/usr/local/bin/locations-worker"},
		{"go", "run", "./cmd/locations-worker"},
		{"docker", "compose", "run", "--rm", "worker"},
	}
	var lines []string
	for _, b := range r.blocks {
		lines = append(lines, b...)
	}
	lines = append(lines, r.spans...)
	var out []readmeInvocation
	for _, line := range lines {
		for _, part := range regexp.MustCompile(`&&|\|\||[|;]`).Split(line, -1) {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(part), "$ "))
			for len(f) > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(f[0]) {
				f = f[1:] // VAR=value before the command
			}
			for _, p := range prefixes {
				if len(f) >= len(p) && slices.Equal(f[:len(p)], p) {
					out = append(out, readmeInvocation{line, f[len(p):]})
					f = nil
					break
				}
			}
			if len(f) > 0 && slices.Contains(r.spans, line) {
				if c, _, err := root.Find(f[:1]); err == nil && c != root {
					out = append(out, readmeInvocation{line, f})
				}
			}
		}
	}
	return out
}

// checkInvocation resolves args to a command and checks every flag.
func checkInvocation(root *cobra.Command, args []string) []string {
	cur := root
	i := 0
	for ; i < len(args) && cur.HasSubCommands() && !strings.HasPrefix(args[i], "-"); i++ {
		var next *cobra.Command
		for _, c := range cur.Commands() {
			if c.Name() == args[i] || c.HasAlias(args[i]) {
				next = c
			}
		}
		if next == nil {
			return []string{"unknown command " + strings.Join(append([]string{cur.CommandPath()}, args[i]), " ")}
		}
		cur = next
	}
	var bad []string
	for _, a := range args[i:] {
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var ok bool
		if strings.HasPrefix(a, "--") {
			ok = cur.Flag(name) != nil
		} else {
			ok = cur.Flags().ShorthandLookup(name) != nil || cur.InheritedFlags().ShorthandLookup(name) != nil
		}
		if !ok {
			bad = append(bad, cur.CommandPath()+" has no flag "+a)
		}
	}
	return bad
}

func TestReadmeNamesOnlyRealCommandsAndFlags(t *testing.T) {
	r := readReadme(t)
	root := newRootCmd(&app{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard})
	walk(root, func(c *cobra.Command) { c.InitDefaultHelpFlag() })

	invs := r.invocations(root)
	if len(invs) < 10 {
		t.Fatalf("found only %d command lines in README.md: %v", len(invs), invs)
	}
	seen := map[string]bool{}
	for _, inv := range invs {
		for _, problem := range checkInvocation(root, inv.args) {
			t.Errorf("README.md: %q: %s", inv.line, problem)
		}
		seen[strings.Join(inv.args, " ")] = true
	}
	for _, want := range []string{"import examples/sample-takeout.zip", "auth status", "start", "auth setup --manual"} {
		if !seen[want] {
			t.Errorf("README.md no longer runs `locations-worker %s`: the parser missed it or the README changed", want)
		}
	}

	// A flag named on its own, such as `--table`, belongs to some command.
	flags := map[string]bool{}
	walk(root, func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { flags["--"+f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { flags["--"+f.Name] = true })
	})
	for _, s := range r.spans {
		if f := strings.Fields(s); len(f) > 0 && strings.HasPrefix(f[0], "--") {
			if name, _, _ := strings.Cut(f[0], "="); !flags[name] {
				t.Errorf("README.md names the flag %s, which no command has", name)
			}
		}
	}
}

func TestReadmeNamesOnlyRealSettings(t *testing.T) {
	r := readReadme(t)
	root := synctest.RepoRoot(t)
	known := map[string]bool{}
	for _, s := range config.Settings() {
		known[s.Env] = true
		for _, alt := range s.Alt {
			known[alt] = true
		}
	}
	// Variables that docker-compose.yml itself reads, such as
	// LOCATIONS_WORKER_CREDENTIALS.
	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`).FindAllStringSubmatch(string(compose), -1) {
		known[m[1]] = true
	}

	// Variables of the Makefile, such as FUZZTIME.
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z_][A-Z0-9_]*)\s*\??=`).FindAllStringSubmatch(string(mk), -1) {
		known[m[1]] = true
	}

	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`).FindAllString(r.text, -1) {
		names[m] = true
	}
	code := strings.Join(r.spans, "\n")
	for _, b := range r.blocks {
		code += "\n" + strings.Join(b, "\n")
	}
	for _, m := range regexp.MustCompile(`(?m)(?:^|[\s$])([A-Z][A-Z0-9_]*)=`).FindAllStringSubmatch(code, -1) {
		names[m[1]] = true
	}
	if len(names) < 5 {
		t.Fatalf("found only %d variables in README.md: %v", len(names), names)
	}
	for n := range names {
		if !known[n] {
			t.Errorf("README.md names the environment variable %s, which is not a setting (internal/config) nor read by docker-compose.yml or the Makefile", n)
		}
	}
}

func TestReadmeLinksAndMakeTargets(t *testing.T) {
	r := readReadme(t)
	root := synctest.RepoRoot(t)

	// Every relative link exists; every page of docs/ is linked.
	linked := map[string]bool{}
	for _, m := range regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(r.text, -1) {
		target, _, _ := strings.Cut(m[1], "#")
		if target == "" || strings.Contains(target, "://") {
			continue
		}
		linked[filepath.Clean(target)] = true
		if _, err := os.Stat(filepath.Join(root, target)); err != nil {
			t.Errorf("README.md links to %s, which does not exist", m[1])
		}
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("docs/*.md: %v %v", pages, err)
	}
	for _, p := range pages {
		if rel := filepath.Join("docs", filepath.Base(p)); !linked[rel] {
			t.Errorf("README.md does not link to %s", rel)
		}
	}

	// Every `make X` is a target of the Makefile.
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	made := 0
	for _, m := range regexp.MustCompile("(?:^|[\\s`$])make ([a-z][a-z0-9-]*)").FindAllStringSubmatch(r.text, -1) {
		made++
		if !targets[m[1]] {
			t.Errorf("README.md runs `make %s`, which is not a Makefile target", m[1])
		}
	}
	if made == 0 {
		t.Error("README.md runs no make target")
	}

	// The README's test command is what CI runs, and what it shows is what
	// the Makefile's test target does.
	shown := r.shown(t, "make test")
	recipe := strings.ReplaceAll(string(mk), "$(GO)", "go")
	fuzzTargets := 0
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fuzzTargets += len(regexp.MustCompile(`(?m)^func Fuzz\w+\(`).FindAll(src, -1))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(shown), "\n") {
		switch {
		case strings.HasPrefix(line, "go "), strings.HasPrefix(line, "FUZZTIME="):
			if !strings.Contains(recipe, "\t"+strings.Replace(line, "FUZZTIME=10s", "FUZZTIME=$(FUZZTIME)", 1)+"\n") {
				t.Errorf("README.md shows `make test` running %q, which the Makefile does not", line)
			}
		case strings.HasPrefix(line, "npm ci in "):
			if h := strings.TrimPrefix(line, "npm ci in "); !regexp.MustCompile(`(?m)^HARNESSES\s*:=.*\b` + regexp.QuoteMeta(h) + `\b`).MatchString(string(mk)) {
				t.Errorf("README.md shows `make test` installing %s, which is not in HARNESSES", h)
			}
		case strings.HasPrefix(line, "fuzz: "):
			if want := fmt.Sprintf("fuzz: %d targets run", fuzzTargets); line != want {
				t.Errorf("README.md shows %q; the tree has %d fuzz targets", line, fuzzTargets)
			}
		}
	}
	if !regexp.MustCompile(`(?m)^FUZZTIME\s*\?=\s*10s$`).Match(mk) {
		t.Error("the Makefile's FUZZTIME is not 10s, as README.md says")
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^make test$`).Match(ci) {
		t.Error(".ci/run does not run `make test`, the README's test command")
	}
}

func TestReadmeEndpointsAreServed(t *testing.T) {
	r := readReadme(t)
	root := synctest.RepoRoot(t)
	re := regexp.MustCompile("`(GET|POST|PUT|PATCH|DELETE) (/[a-z0-9/-]*)`")
	mentioned := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(r.text, -1) {
		mentioned[m[1]+" "+m[2]] = true
	}
	// Every route of the server is in the README.
	src, err := os.ReadFile(filepath.Join(root, "internal", "server", "routes.go"))
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`\{"(GET|POST)", "(/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) == 0 {
		t.Fatal("no routes found in internal/server/routes.go: update this test")
	}
	for _, m := range routes {
		if !mentioned[m[1]+" "+m[2]] {
			t.Errorf("README.md does not list the endpoint %s %s", m[1], m[2])
		}
	}

	// Every endpoint the README lists is served by `start`.
	env := map[string]string{"SYNC_URL": deadURL(t), "LOCATIONS_WORKER_DATA": t.TempDir(), "EXPORT_ON_START": "false"}
	base, _, stop := startWorker(t, env)
	for ep := range mentioned {
		method, path, _ := strings.Cut(ep, " ")
		body := ""
		if path == "/tonk" {
			body = `{"action":"status"}`
		}
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed || res.StatusCode >= 500 {
			t.Errorf("README.md lists %s, which answers %d", ep, res.StatusCode)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// make demo: the script starts Tonk's sync server, imports the sample
// through it, and a JavaScript client finds the places.
func TestMakeDemo(t *testing.T) {
	root := synctest.RepoRoot(t)
	bin := buildWorker(t, t.TempDir())
	cmd := exec.Command(filepath.Join(root, "scripts", "demo.sh"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"keepsync /google-maps/places: 9 added, 0 updated, 0 removed, 0 unchanged",
		"synced with the sync server at http://127.0.0.1:",
		"Wrigley Field             1060 W Addison St",
		"9 places: Art Institute of Chicago, Café Sperl,",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make demo printed no %q:\n%s", want, out)
		}
	}
}

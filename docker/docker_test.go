// Package docker checks the container files (Dockerfile, docker-compose.yml,
// .dockerignore and the sync server image in sync-server/) without a Docker
// engine: it reads them, resolves the worker's settings as the container
// would, checks that the binary needs no library the runtime image lacks,
// and runs the sync server's entry script against the npm harness.
package docker

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/config"
)

// root is the repository root, seen from this package's folder.
const root = ".."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

// stage is one FROM ... of a multi-stage Dockerfile.
type stage struct {
	from  string
	instr []instruction
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func (s stage) one(t *testing.T, cmd string) string {
	t.Helper()
	v := s.all(cmd)
	if len(v) != 1 {
		t.Fatalf("stage %q has %d %s instructions, want 1", s.from, len(v), cmd)
	}
	return v[0]
}

// parseDockerfile reads the stages of a Dockerfile: comments dropped,
// backslash continuations joined.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		args = strings.Join(strings.Fields(args), " ")
		if cmd == "FROM" {
			stages = append(stages, stage{from: args})
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", path, cmd)
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, instruction{cmd, args})
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// parseEnv reads the KEY=VALUE pairs of ENV instructions (no quoting used).
func parseEnv(t *testing.T, instrs []string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range instrs {
		for _, kv := range strings.Fields(in) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("ENV %q: use KEY=VALUE", in)
			}
			env[k] = v
		}
	}
	return env
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build and run", len(stages))
	}
	build, run := stages[0], stages[1]

	// Build: Go of go.mod's version, with cgo, on glibc.
	goVersion := goDirective(t)
	if want := "golang:" + goVersion + "-bookworm AS build"; build.from != want {
		t.Errorf("build stage FROM %q, want %q (go.mod says go %s)", build.from, want, goVersion)
	}
	var goBuild string
	for _, r := range build.all("RUN") {
		if strings.Contains(r, "go build") {
			goBuild = r
		}
	}
	for _, part := range []string{"CGO_ENABLED=1", "-trimpath", `-ldflags "-s -w"`, "-o /out/locations-worker ./cmd/locations-worker"} {
		if !strings.Contains(goBuild, part) {
			t.Errorf("go build %q lacks %s", goBuild, part)
		}
	}

	// Run: glibc with libgcc_s, non-root, the binary where HEALTHCHECK and
	// ENTRYPOINT say.
	if run.from != "gcr.io/distroless/cc-debian12:nonroot" {
		t.Errorf("run stage FROM %q: the tests below list that image's libraries", run.from)
	}
	if u := run.one(t, "USER"); u == "0" || strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0:") {
		t.Errorf("USER %q runs as root", u)
	}
	const bin = "/usr/local/bin/locations-worker"
	if !slices.Contains(run.all("COPY"), "--from=build /out/locations-worker "+bin) {
		t.Errorf("no COPY of the binary to %s in %q", bin, run.all("COPY"))
	}
	if got := run.one(t, "ENTRYPOINT"); got != `["`+bin+`"]` {
		t.Errorf("ENTRYPOINT %s", got)
	}
	if got := run.one(t, "CMD"); got != `["start"]` {
		t.Errorf("CMD %s, want [\"start\"]", got)
	}
	if hc := run.one(t, "HEALTHCHECK"); !strings.HasSuffix(hc, `CMD ["`+bin+`", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q does not run %s healthcheck", hc, bin)
	}
	if v := run.one(t, "VOLUME"); v != `["/data"]` {
		t.Errorf("VOLUME %s, want [\"/data\"]", v)
	}

	// The settings the worker resolves inside the container.
	env := parseEnv(t, run.all("ENV"))
	cfg, err := config.Load(config.Source{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatalf("the image's ENV does not load: %v", err)
	}
	if cfg.Host != "0.0.0.0" || cfg.DataDir != "/data" || cfg.TokenFile != "/data/token.json" {
		t.Errorf("in the container: host %q, data %q, token %q; want 0.0.0.0, /data, /data/token.json", cfg.Host, cfg.DataDir, cfg.TokenFile)
	}
	if got := run.one(t, "EXPOSE"); got != strconv.Itoa(cfg.Port) {
		t.Errorf("EXPOSE %s but the worker listens on %d", got, cfg.Port)
	}
}

// TestSyncServerDockerfile checks the sync server image: the Node version
// the tests use, the locked packages, its own script, health check and
// volume, and a non-root user.
func TestSyncServerDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join("sync-server", "Dockerfile"))
	if len(stages) != 1 || stages[0].from != "node:20-bookworm-slim" {
		t.Fatalf("stages %+v, want one FROM node:20-bookworm-slim", stages)
	}
	st := stages[0]
	var ci string
	for _, r := range st.all("RUN") {
		if strings.Contains(r, "npm ") {
			ci = r
		}
	}
	for _, part := range []string{"npm ci", "--omit=dev", "--ignore-scripts"} {
		if !strings.Contains(ci, part) {
			t.Errorf("npm install %q lacks %s (the lock file must be what runs)", ci, part)
		}
	}
	if u := st.one(t, "USER"); u != "node" {
		t.Errorf("USER %q, want node", u)
	}
	env := parseEnv(t, st.all("ENV"))
	if env["NODE_ENV"] != "development" || env["PERSISTENCE_PATH"] != "/data" || env["PORT"] != "7777" || env["HOST"] != "0.0.0.0" {
		t.Errorf("ENV %v", env)
	}
	if v := st.one(t, "VOLUME"); v != `["/data"]` {
		t.Errorf("VOLUME %s", v)
	}
	if got := st.one(t, "EXPOSE"); got != env["PORT"] {
		t.Errorf("EXPOSE %s, PORT %s", got, env["PORT"])
	}
	if hc := st.one(t, "HEALTHCHECK"); !strings.HasSuffix(hc, `CMD ["node", "healthcheck.mjs"]`) {
		t.Errorf("HEALTHCHECK %s", hc)
	}
	if cmd := st.one(t, "CMD"); cmd != `["node", "server.mjs"]` {
		t.Errorf("CMD %s", cmd)
	}
}

// goDirective is the major.minor of go.mod's go line.
func goDirective(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	return string(m[1])
}

// TestRuntimeImageHasTheLibraries builds the binary the way the Dockerfile
// does and checks that every shared library it needs is in the run image,
// distroless cc-debian12 (glibc and libgcc_s; no libssl is needed).
func TestRuntimeImageHasTheLibraries(t *testing.T) {
	inImage := []string{
		"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2",
		"librt.so.1", "libstdc++.so.6", "libgomp.so.1",
		"ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
	}
	bin := filepath.Join(t.TempDir(), "locations-worker")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/locations-worker")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build as in the Dockerfile: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) == 0 {
		t.Fatal("the binary is static: the Dockerfile's cgo build did not take effect")
	}
	for _, l := range libs {
		if !slices.Contains(inImage, l) {
			t.Errorf("the binary needs %s, which gcr.io/distroless/cc-debian12 does not have", l)
		}
	}
	t.Logf("shared libraries: %v", libs)
}

// composeService is the lines of one service of docker-compose.yml.
type composeService []string

// list returns the "- item" lines under key (at the service's key indent).
func (s composeService) list(key string) []string {
	var out []string
	in := false
	for _, l := range s {
		trimmed := strings.TrimSpace(l)
		indent := len(l) - len(strings.TrimLeft(l, " "))
		switch {
		case indent == 4 && trimmed == key+":":
			in = true
		case indent == 4:
			in = false
		case in && strings.HasPrefix(trimmed, "- "):
			out = append(out, strings.Trim(strings.TrimPrefix(trimmed, "- "), `"`))
		}
	}
	return out
}

func (s composeService) has(line string) bool {
	for _, l := range s {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// readCompose splits docker-compose.yml into its services. The file keeps to
// a plain subset of YAML (two-space indents, lists with "- ") so that this
// stays a line reader; `docker compose config` checks the full syntax.
func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]composeService{}
	var cur string
	inServices := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") || strings.TrimSpace(l) == "" {
			continue
		}
		if !strings.HasPrefix(l, " ") {
			inServices = l == "services:"
			cur = ""
			continue
		}
		if inServices && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
			cur = strings.TrimSuffix(strings.TrimSpace(l), ":")
			continue
		}
		if cur != "" {
			services[cur] = append(services[cur], l)
		}
	}
	return services
}

// interpolate resolves ${VAR:-default} the way compose does when VAR is unset.
func interpolate(s string) string {
	return regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`).ReplaceAllString(s, "$1")
}

func TestCompose(t *testing.T) {
	services := readCompose(t)
	syncSvc, worker := services["sync"], services["worker"]
	if syncSvc == nil || worker == nil {
		t.Fatalf("services %v, want sync and worker", services)
	}

	// The sync server: built from docker/sync-server, persistent, healthy
	// before the worker starts, reachable from this machine only.
	for _, line := range []string{"build: ./docker/sync-server", "- sync-data:/data", `- "127.0.0.1:7777:7777"`, `test: ["CMD", "node", "healthcheck.mjs"]`} {
		if !syncSvc.has(line) {
			t.Errorf("service sync lacks %q", line)
		}
	}
	if !worker.has("condition: service_healthy") {
		t.Error("worker does not wait for a healthy sync server")
	}

	// Every variable given to the worker is one of its settings, and
	// together they load.
	known := map[string]bool{}
	for _, s := range config.Settings() {
		known[s.Env] = true
		for _, a := range s.Alt {
			known[a] = true
		}
	}
	env := map[string]string{}
	for _, kv := range worker.list("environment") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("worker environment %q: use KEY=VALUE", kv)
		}
		if !known[k] {
			t.Errorf("worker environment sets %s, which is not a setting of locations-worker", k)
		}
		env[k] = interpolate(v)
	}
	cfg, err := config.Load(config.Source{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatalf("the worker's compose environment does not load: %v", err)
	}
	if cfg.SyncURL != "http://sync:7777" || cfg.SyncWSURL != "ws://sync:7777/sync" {
		t.Errorf("sync %q %q, want the sync service", cfg.SyncURL, cfg.SyncWSURL)
	}
	if cfg.DataDir != "/data" || !slices.Contains(worker.list("volumes"), "worker-data:/data") {
		t.Errorf("data dir %q, volumes %v: want the worker-data volume on /data", cfg.DataDir, worker.list("volumes"))
	}
	if !strings.HasPrefix(cfg.TokenFile, cfg.DataDir+"/") {
		t.Errorf("token file %s is not in the writable data volume", cfg.TokenFile)
	}
	if cfg.CredentialsFile != "/run/secrets/google_credentials" || !slices.Contains(worker.list("secrets"), "google_credentials") {
		t.Errorf("credentials %s, secrets %v: want the read-only google_credentials secret", cfg.CredentialsFile, worker.list("secrets"))
	}
	if want := fmt.Sprintf("127.0.0.1:%d:%d", cfg.Port, cfg.Port); !slices.Equal(worker.list("ports"), []string{want}) {
		t.Errorf("worker ports %v, want only %s", worker.list("ports"), want)
	}
	if cfg.Host != "0.0.0.0" {
		t.Errorf("worker host %s: a container must listen on every interface", cfg.Host)
	}
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, p := range []string{".git", ".env", "data/", "**/node_modules", "**/credentials.json", "**/token.json", "bin/"} {
		if !slices.Contains(lines, p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
	for _, l := range lines {
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "internal"} {
			if strings.TrimSuffix(strings.TrimPrefix(l, "/"), "/") == needed {
				t.Errorf(".dockerignore excludes %s, which the build needs", needed)
			}
		}
	}
}

// lockVersions reads the installed versions of the named packages from a
// package-lock.json.
func lockVersions(t *testing.T, path string, names ...string) map[string]string {
	t.Helper()
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, n := range names {
		out[n] = lock.Packages["node_modules/"+n].Version
	}
	return out
}

// TestSyncServerIsTheTestedOne checks that the compose sync server runs the
// same @tonk/server and automerge-repo as the tests' harness.
func TestSyncServerIsTheTestedOne(t *testing.T) {
	names := []string{"@tonk/server", "@automerge/automerge-repo", "@automerge/automerge", "ws"}
	ours := lockVersions(t, filepath.Join("sync-server", "package-lock.json"), names...)
	tested := lockVersions(t, filepath.Join(root, "test", "harness", "v1", "package-lock.json"), names...)
	for _, n := range names {
		if ours[n] == "" || ours[n] != tested[n] {
			t.Errorf("%s: sync-server has %q, the tests use %q", n, ours[n], tested[n])
		}
	}
}

// syncServer runs sync-server/server.mjs with the harness's node_modules
// (the same packages as its lock file) in a temporary folder.
type syncServer struct {
	dir, data, port string
}

func newSyncServer(t *testing.T) *syncServer {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is needed to run the sync server: install Node.js 20")
	}
	modules, err := filepath.Abs(filepath.Join(root, "test", "harness", "v1", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "@tonk", "server", "package.json")); err != nil {
		t.Fatalf("@tonk/server is not installed in the harness (run `make deps`): %v", err)
	}
	dir := t.TempDir()
	for _, f := range []string{"server.mjs", "healthcheck.mjs", "package.json"} {
		b, err := os.ReadFile(filepath.Join("sync-server", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// ES modules ignore NODE_PATH: a node_modules link next to the script is
	// what resolves "@tonk/server".
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return &syncServer{dir: dir, data: filepath.Join(dir, "data", "nested"), port: freePort(t)}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func (s *syncServer) env() []string {
	return append(os.Environ(), "HOST=127.0.0.1", "PORT="+s.port, "PERSISTENCE_PATH="+s.data, "NODE_ENV=production", "VERBOSE=false")
}

// start runs server.mjs until it answers /.well-known/root.json and returns
// the root document id; the process is stopped with SIGTERM by stop.
func (s *syncServer) start(t *testing.T) (rootID string, stop func() error) {
	rootID, stop, _ = s.startWithLog(t)
	return rootID, stop
}

// startWithLog is start that also returns the server's output so far.
func (s *syncServer) startWithLog(t *testing.T) (rootID string, stop func() error, log fmt.Stringer) {
	t.Helper()
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = s.dir
	cmd.Env = s.env()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return errors.New("still running 30s after SIGTERM")
		}
	}
	t.Cleanup(func() { _ = stop() })

	base := "http://127.0.0.1:" + s.port
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		var root struct {
			RootID string `json:"rootId"`
		}
		if resp, err := http.Get(base + "/.well-known/root.json"); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&root)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && err == nil && root.RootID != "" {
				return root.RootID, stop, out
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server.mjs exited: %v\n%s", err, out)
		case <-ctx.Done():
			t.Fatalf("server.mjs did not serve root.json within a minute\n%s", out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestSyncServerServes runs the compose sync server's entry script: it must
// serve /ping and /.well-known/root.json on HOST:PORT, pass its own health
// check, keep the root document in PERSISTENCE_PATH across a restart (the
// volume), and exit 0 on SIGTERM (docker stop).
func TestSyncServerServes(t *testing.T) {
	s := newSyncServer(t)
	rootID, stop, log := s.startWithLog(t)

	resp, err := http.Get("http://127.0.0.1:" + s.port + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 16)
	n, _ := resp.Body.Read(body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body[:n]) != "pong" {
		t.Errorf("/ping: %d %q, want 200 pong", resp.StatusCode, body[:n])
	}

	hc := exec.Command("node", "healthcheck.mjs")
	hc.Dir, hc.Env = s.dir, s.env()
	if out, err := hc.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok: ") {
		t.Errorf("healthcheck.mjs on a running server: %v\n%s", err, out)
	}

	if err := stop(); err != nil {
		t.Errorf("server.mjs on SIGTERM: %v, want exit 0", err)
	}
	// NODE_ENV=production is in the environment: the script must still keep
	// @tonk/server from starting its nginx manager, which the image lacks.
	if strings.Contains(log.String(), "Starting nginx") {
		t.Errorf("server.mjs started nginx:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(s.data, "root.json")); err != nil {
		t.Errorf("no root.json in PERSISTENCE_PATH: %v", err)
	}

	hc = exec.Command("node", "healthcheck.mjs")
	hc.Dir, hc.Env = s.dir, s.env()
	if out, err := hc.CombinedOutput(); err == nil || !strings.Contains(string(out), "unhealthy") {
		t.Errorf("healthcheck.mjs with no server: %v, want failure\n%s", err, out)
	}

	again, _ := s.start(t)
	if again != rootID {
		t.Errorf("root document %s after restart, was %s: the data folder is not kept", again, rootID)
	}
}

// TestSyncServerBadPort checks that a wrong PORT stops the script at once
// with a message that names it.
func TestSyncServerBadPort(t *testing.T) {
	s := newSyncServer(t)
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = s.dir
	cmd.Env = append(s.env(), "PORT=seventy")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `invalid PORT "seventy"`) {
		t.Errorf("PORT=seventy: %v\n%s", err, out)
	}
}

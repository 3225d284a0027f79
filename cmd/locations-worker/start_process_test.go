package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tonk-labs/locations-worker/internal/synctest"
)

// buildWorker builds the binary into dir/bin/locations-worker.
func buildWorker(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin", "locations-worker")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is the worker running as a process, its JSON log read line by line.
type proc struct {
	cmd     *exec.Cmd
	log     *logWatch
	exited  chan struct{} // closed when the process has exited
	waitErr error
}

func startProcess(t *testing.T, bin string, env map[string]string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"start", "--port", "0"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = t.TempDir()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: newLogWatch(), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.log.Write(append(sc.Bytes(), '\n'))
		}
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func TestServerDownDuringExportDataArrivesLater(t *testing.T) {
	srv := synctest.StartTonkServer(t)
	srv.Stop()
	env := map[string]string{"SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": t.TempDir()}
	_, log, stop := startWorker(t, env, "--archive", sampleArchive(t))
	fin := log.wait(t, "export finished")
	if fin["result"] != "success" || fin["sync"] != "stored locally, waiting for sync" {
		t.Fatalf("export with the server down: %v", fin)
	}
	srv.Restart()
	doc := waitPlaces(t, srv.JSClient(t), 9)
	if doc["metadata"] == nil {
		t.Fatal("metadata missing")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestSIGKILLAfterStoredLocallyDataReachesServer(t *testing.T) {
	bin := buildWorker(t, t.TempDir())
	srv := synctest.StartTonkServer(t)
	srv.Stop()
	data := t.TempDir()
	env := map[string]string{"SYNC_URL": srv.URL, "LOCATIONS_WORKER_DATA": data}

	p := startProcess(t, bin, env, "--archive", sampleArchive(t))
	p.log.wait(t, "stored locally, waiting for sync")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited

	srv.Restart()
	env["EXPORT_ON_START"] = "false" // the data must come from the local store
	p2 := startProcess(t, bin, env)
	p2.log.wait(t, "worker started")
	js := srv.JSClient(t)
	doc := waitPlaces(t, js, 9)
	if le := doc["metadata"].(map[string]any)["lastExport"].(map[string]any); le["complete"] != true {
		t.Fatalf("lastExport = %v", le)
	}

	// SIGTERM: a clean stop with exit status 0.
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p2.exited
	if err := p2.waitErr; err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	p2.log.wait(t, "stopped")
}

// tonkConfig loads worker.config.js with Node's import(), as Tonk does,
// from a directory other than the worker's.
func tonkConfig(t *testing.T, file string) map[string]any {
	t.Helper()
	cmd := exec.Command("node", "-e", `import(process.argv[1]).then(m => process.stdout.write(JSON.stringify(m.default)))`, file)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node import(%s): %v", file, err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestWorkerConfigAsTonkLoadsIt(t *testing.T) {
	root := synctest.RepoRoot(t)
	cfg := tonkConfig(t, filepath.Join(root, "worker.config.js"))
	rt := cfg["runtime"].(map[string]any)
	hc := rt["healthCheck"].(map[string]any)
	if rt["port"] != 5555.0 || hc["endpoint"] != "/health" || hc["method"] != "GET" || hc["interval"] != 30000.0 || hc["timeout"] != 5000.0 {
		t.Errorf("runtime = %v", rt)
	}
	p := cfg["process"].(map[string]any)
	if p["cwd"] != root || p["args"] != "start" || p["instances"] != 1.0 || p["autorestart"] != true || p["max_memory_restart"] == nil {
		t.Errorf("process = %v (cwd must be the worker folder, absolute)", p)
	}
	// make build writes the binary where the config says.
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if p["file"] != "bin/locations-worker" || !strings.Contains(string(mk), "BIN_DIR   := bin") || !strings.Contains(string(mk), "BINARY    := $(BIN_DIR)/locations-worker") {
		t.Errorf("process.file %v does not match the Makefile's build output", p["file"])
	}
	var pkg map[string]any
	b, err := os.ReadFile(filepath.Join(root, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg["name"] != "locations-worker" || pkg["version"] == nil || pkg["description"] == nil || pkg["type"] == "module" {
		t.Errorf("package.json = %v", pkg)
	}

	// The schema names every field the worker writes in the sample document.
	schema := cfg["schemas"].(map[string]any)["documents"].(map[string]any)["default"].(map[string]any)
	props := schema["properties"].(map[string]any)
	placeProps := props["places"].(map[string]any)["additionalProperties"].(map[string]any)["properties"].(map[string]any)
	var golden struct {
		Places   map[string]map[string]any
		Metadata map[string]any
	}
	b, err = os.ReadFile(filepath.Join(root, "internal", "worker", "testdata", "sample-document.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for k, place := range golden.Places {
		for f := range place {
			if _, ok := placeProps[f]; !ok {
				t.Errorf("place %s: field %q is not in the schema", k, f)
			}
		}
	}
	mdProps := props["metadata"].(map[string]any)["properties"].(map[string]any)
	for f := range golden.Metadata {
		if _, ok := mdProps[f]; !ok {
			t.Errorf("metadata field %q is not in the schema", f)
		}
	}
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestPM2StartLikeTonk starts the built binary through pm2 exactly as
// `tonk worker start` does, checks /health, stops it and checks that it
// stopped by itself (exit 0, "stopped" logged) before pm2's SIGKILL.
func TestPM2StartLikeTonk(t *testing.T) {
	root := synctest.RepoRoot(t)
	pm2 := filepath.Join(synctest.HarnessDir(t, synctest.V1), "node_modules", ".bin", "pm2")
	if _, err := os.Stat(pm2); err != nil {
		t.Fatalf("pm2 is not installed (run `make deps`): %v", err)
	}
	work := t.TempDir()
	for _, f := range []string{"worker.config.js", "package.json"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	buildWorker(t, work)
	cfg := tonkConfig(t, filepath.Join(work, "worker.config.js"))
	p := cfg["process"].(map[string]any)
	cwd, file, args := p["cwd"].(string), p["file"].(string), p["args"].(string)
	if cwd != work {
		t.Fatalf("process.cwd = %s, want %s", cwd, work)
	}

	pm2Home := t.TempDir()
	port := freeLoopbackPort(t)
	name := "locations-worker-test"
	pm2Env := append(os.Environ(), "PM2_HOME="+pm2Home)
	sh := func(script string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		cmd.Env = pm2Env
		cmd.Dir = t.TempDir() // Tonk runs from wherever the user is
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command(pm2, "kill")
		cmd.Env = pm2Env
		_ = cmd.Run()
	})
	sh(fmt.Sprintf(`cd %q && chmod +x %q && WORKER_PORT=%d %q start "./%s %s" --name %s --instances 1 --max-memory-restart %s`,
		cwd, file, port, pm2, file, args, name, p["max_memory_restart"]))

	url := fmt.Sprintf("http://localhost:%d/health", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 && string(b) == "{\"status\":\"ok\"}\n" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /health from the worker under pm2: %v\n%s", err, sh(fmt.Sprintf("%q logs %s --nostream --lines 50", pm2, name)))
		}
		time.Sleep(200 * time.Millisecond)
	}

	sh(fmt.Sprintf("%q stop %s", pm2, name))
	logs, _ := filepath.Glob(filepath.Join(pm2Home, "logs", "*-out*.log"))
	if len(logs) != 1 {
		entries, _ := os.ReadDir(filepath.Join(pm2Home, "logs"))
		t.Fatalf("pm2 out logs: %v (logs dir: %v)", logs, entries)
	}
	out, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"msg":"stopped"`) {
		t.Fatalf("the worker did not finish its shutdown under pm2 stop; its log:\n%s", out)
	}
	daemon, _ := os.ReadFile(filepath.Join(pm2Home, "pm2.log"))
	if !strings.Contains(string(daemon), "exited with code [0]") {
		t.Fatalf("pm2 did not see exit code 0:\n%s", daemon)
	}
}

func buildWorkerB(b *testing.B) string { return buildWorker(b, b.TempDir()) }

// startProcessB starts the worker for a benchmark.
func startProcessB(b *testing.B, bin string, env map[string]string) *exec.Cmd {
	b.Helper()
	cmd := exec.Command(bin, "start", "--port", "0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = b.TempDir()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return cmd
}

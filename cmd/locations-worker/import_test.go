package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// offlineEnv is an environment whose sync server is not reachable (a free
// port nothing listens on) and whose data directory is fresh.
func offlineEnv(t *testing.T) map[string]string {
	return map[string]string{"SYNC_URL": deadURL(t), "LOCATIONS_WORKER_DATA": t.TempDir()}
}

// deadURL is the URL of a loopback port that nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

func TestImportCommandSample(t *testing.T) {
	sample := filepath.Join("..", "..", "examples", "sample-takeout.zip")
	env := offlineEnv(t)
	out, stderr, err := runCmd(t, env, "import", sample)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"9 places from 4 lists", "starred           4", "skipped not a place       3", "complete: yes",
		"keepsync /google-maps/places: 9 added, 0 updated, 0 removed, 0 unchanged\n",
		"sync server not reachable at " + env["SYNC_URL"] + ": stored locally, will sync when it is\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if stderr != "reading 1 file (3.3 kB)...\n" {
		t.Errorf("progress on stderr: %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(env["LOCATIONS_WORKER_DATA"], "keepsync")); err != nil {
		t.Errorf("no local keepsync store: %v", err)
	}
	// Offline, the document is read back from the local store.
	out, _, err = runCmd(t, env, "doc", "cat", "/google-maps/places", "--table")
	if err != nil || !strings.Contains(out, "Tour Eiffel") || !strings.Contains(out, "9 places") {
		t.Errorf("doc cat after an offline import: %v\n%s", err, out)
	}
	// The same import again changes nothing.
	out, _, err = runCmd(t, env, "import", sample, "--quiet")
	if err != nil || out != "" {
		t.Errorf("--quiet: %v %q", err, out)
	}
	out, _, err = runCmd(t, env, "import", sample)
	if err != nil || !strings.Contains(out, ": 0 added, 0 updated, 0 removed, 9 unchanged\n") {
		t.Errorf("re-import: %v\n%s", err, out)
	}

	dst := filepath.Join(t.TempDir(), "places.geojson")
	env = offlineEnv(t)
	out, stderr, err = runCmd(t, env, "import", sample, "--out", dst, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Complete bool
		Counts   struct{ Places, Starred int }
		Keepsync struct {
			Path    string
			Changes struct{ Added, Unchanged int }
			Sync    string
			Message string
		}
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || !sum.Complete || sum.Counts.Places != 9 || sum.Counts.Starred != 4 {
		t.Errorf("--json summary %q (%v)", out, err)
	}
	if k := sum.Keepsync; k.Path != "/google-maps/places" || k.Changes.Added != 9 || k.Sync != "stored locally" || !strings.Contains(k.Message, "stored locally, will sync when it is") {
		t.Errorf("--json keepsync %+v", k)
	}
	if stderr != "" {
		t.Errorf("--json prints progress: %q", stderr)
	}
	var fc struct {
		Type     string
		Features []struct {
			Geometry *struct{ Coordinates []float64 }
		}
	}
	data, _ := os.ReadFile(dst)
	if err := json.Unmarshal(data, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) != 9 {
		t.Errorf("geojson output: %v %+v", err, fc)
	}

	csvOut := filepath.Join(t.TempDir(), "places.csv")
	env = offlineEnv(t)
	out, _, err = runCmd(t, env, "import", sample, "-o", csvOut, "--no-sync")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "keepsync") || !strings.HasSuffix(out, "wrote "+csvOut+"\n") {
		t.Errorf("--no-sync output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(env["LOCATIONS_WORKER_DATA"], "keepsync")); !os.IsNotExist(err) {
		t.Errorf("--no-sync opened the keepsync store: %v", err)
	}
	if data, _ := os.ReadFile(csvOut); !bytes.HasPrefix(data, []byte("key,title,")) || bytes.Count(data, []byte("\ncid:")) < 6 {
		t.Errorf("csv output:\n%s", data)
	}
}

func TestImportCommandErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.zip")
	os.WriteFile(empty, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644)
	_, stderr, err := runCmd(t, offlineEnv(t), "import", empty)
	if err == nil || !strings.Contains(stderr, "Error: ") || !strings.Contains(stderr, "empty.zip") || !strings.Contains(stderr, "Hint: ") {
		t.Errorf("err %v stderr %q", err, stderr)
	}
	if _, _, err := runCmd(t, offlineEnv(t), "import", "x.zip", "--format", "kml"); err == nil || !strings.Contains(err.Error(), "kml") {
		t.Errorf("bad format: %v", err)
	}
	if _, _, err := runCmd(t, offlineEnv(t), "import"); err == nil {
		t.Error("import without a path must fail")
	}
}

// The archive caps come from the settings: a zip over ARCHIVE_MAX_ENTRIES
// is refused, naming the setting, and nothing is written.
func TestImportHonoursArchiveCaps(t *testing.T) {
	env := offlineEnv(t)
	env["ARCHIVE_MAX_ENTRIES"] = "2"
	_, stderr, err := runCmd(t, env, "import", sampleArchive(t))
	if err == nil || !strings.Contains(stderr, "ARCHIVE_MAX_ENTRIES") {
		t.Fatalf("import over the entry cap: %v, stderr %q", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(env["LOCATIONS_WORKER_DATA"], "keepsync")); err == nil {
		t.Error("a refused import wrote the keepsync store")
	}
	out, _, err := runCmd(t, env, "import", sampleArchive(t), "--archive-max-entries", "100")
	if err != nil || !strings.Contains(out, "9 places") {
		t.Fatalf("the flag does not override the variable: %v, %q", err, out)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
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

func TestImportCommandSample(t *testing.T) {
	sample := filepath.Join("..", "..", "examples", "sample-takeout.zip")
	out, _, err := runCmd(t, nil, "import", sample)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"9 places from 4 lists", "starred           4", "skipped not a place       3", "complete: yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	dst := filepath.Join(t.TempDir(), "places.geojson")
	out, _, err = runCmd(t, nil, "import", sample, "--out", dst, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Complete bool
		Counts   struct{ Places, Starred int }
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || !sum.Complete || sum.Counts.Places != 9 || sum.Counts.Starred != 4 {
		t.Errorf("--json summary %q (%v)", out, err)
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
	if _, _, err := runCmd(t, nil, "import", sample, "-o", csvOut, "--quiet"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(csvOut); !bytes.HasPrefix(data, []byte("key,title,")) || bytes.Count(data, []byte("\ncid:")) < 6 {
		t.Errorf("csv output:\n%s", data)
	}
}

func TestImportCommandErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.zip")
	os.WriteFile(empty, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644)
	_, stderr, err := runCmd(t, nil, "import", empty)
	if err == nil || !strings.Contains(stderr, "Error: ") || !strings.Contains(stderr, "empty.zip") || !strings.Contains(stderr, "Hint: ") {
		t.Errorf("err %v stderr %q", err, stderr)
	}
	if _, _, err := runCmd(t, nil, "import", "x.zip", "--format", "kml"); err == nil || !strings.Contains(err.Error(), "kml") {
		t.Errorf("bad format: %v", err)
	}
	if _, _, err := runCmd(t, nil, "import"); err == nil {
		t.Error("import without a path must fail")
	}
}

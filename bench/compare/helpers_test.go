package main

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"io"
	"os/exec"
	"strings"
	"testing"
)

func runIn(ctx context.Context, dir string, stdout io.Writer, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return &runError{err: err, stderr: stderr.String()}
	}
	return nil
}

type runError struct {
	err    error
	stderr string
}

func (e *runError) Error() string { return e.err.Error() + ": " + e.stderr }

// csvRows counts the data rows of every CSV in a zip, independently of the
// pipeline: skip an optional description and blank line, then the header.
func csvRows(t *testing.T, path string) (rows, files int) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if !strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		text := strings.TrimPrefix(string(b), "\ufeff")
		if !strings.HasPrefix(text, "Title,") {
			text = text[strings.Index(text, "\n\nTitle,")+2:]
		}
		recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		rows += len(recs) - 1
		files++
	}
	return rows, files
}

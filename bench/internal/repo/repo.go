// Package repo finds the repository's root directory, so that the benchmark
// and the soak test can reach bench/reference and test/harness from wherever
// they are run.
package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Root returns the nearest directory at or above the working directory that
// holds go.mod and bench/reference.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "bench", "reference", "package.json")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod with bench/reference above the working directory")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

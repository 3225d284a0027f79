// Package proc runs a command and measures it (wall time, peak RSS), and
// samples a running process's memory and open file descriptors from /proc.
package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Result is what one run of a command measured.
type Result struct {
	Wall time.Duration
	// PeakRSSKiB is the process's peak resident set size (getrusage ru_maxrss
	// of the waited-for child).
	PeakRSSKiB int64
	Stdout     []byte
	Stderr     []byte
}

// Run runs cmd to completion and measures it. A non-zero exit is an error
// that includes the tail of stderr.
func Run(ctx context.Context, dir string, env []string, name string, args ...string) (Result, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	r := Result{Wall: wall, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.PeakRSSKiB = ru.Maxrss // KiB on Linux
		}
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return r, nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Sample is one reading of a running process.
type Sample struct {
	RSSKiB int64 // VmRSS
	HWMKiB int64 // VmHWM, the peak so far
	FDs    int   // open file descriptors
}

// Read samples process pid.
func Read(pid int) (Sample, error) {
	var s Sample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("sample %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.RSSKiB, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmHWM:":
			s.HWMKiB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("sample %d fds: %w", pid, err)
	}
	s.FDs = len(fds)
	return s, nil
}

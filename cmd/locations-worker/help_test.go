package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestHelpEveryCommandHasShortLongExample(t *testing.T) {
	root := newRootCmd(&app{getenv: func(string) string { return "" }})
	n := 0
	walk(root, func(c *cobra.Command) {
		n++
		if strings.TrimSpace(c.Short) == "" || strings.TrimSpace(c.Long) == "" || strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q: Short %q, Long %d chars, Example %q", c.CommandPath(), c.Short, len(c.Long), c.Example)
		}
		// Every example runs this binary.
		for _, line := range strings.Split(strings.TrimSpace(c.Example), "\n") {
			if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && !strings.Contains(l, "locations-worker") {
				t.Errorf("%q: example line %q does not run locations-worker", c.CommandPath(), line)
			}
		}
	})
	if n < 15 {
		t.Errorf("walked only %d commands", n)
	}
}

func TestHelpOutputForEveryCommand(t *testing.T) {
	root := newRootCmd(&app{getenv: func(string) string { return "" }})
	walk(root, func(c *cobra.Command) {
		args := append(strings.Fields(c.CommandPath())[1:], "--help")
		out, stderr, err := runCmd(t, nil, args...)
		if err != nil || stderr != "" || !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
			t.Errorf("%v: err %v stderr %q\n%s", args, err, stderr, out)
		}
	})
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out, _, err := runCmd(t, nil, "completion", shell)
		if err != nil || !strings.Contains(out, "locations-worker") || len(out) < 1000 {
			t.Errorf("completion %s: %v (%d bytes)", shell, err, len(out))
		}
	}
	// The bash script asks the binary for its completions; check the answer.
	out, _, err := runCmd(t, nil, "__complete", "im")
	if err != nil || !strings.Contains(out, "import\t") {
		t.Errorf("__complete im: %v\n%s", err, out)
	}
}

func TestUsageErrorsAreOneLineWithHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		hint string
	}{
		{[]string{"improt"}, `Error: unknown command "improt" for "locations-worker"`, "Hint: did you mean `locations-worker import`?"},
		{[]string{"auth", "stauts"}, `Error: unknown command "stauts" for "locations-worker auth"`, "Hint: did you mean `locations-worker auth status`?"},
		{[]string{"doc", "nope"}, `Error: unknown command "nope" for "locations-worker doc"`, "Hint: `locations-worker doc --help` lists the commands"},
		{[]string{"import", "--bogus"}, "Error: unknown flag: --bogus", "Hint: see `locations-worker import --help`"},
		{[]string{"import"}, "Error: requires at least 1 arg(s), only received 0", "Hint: usage: locations-worker import PATH... [flags]"},
		{[]string{"doc", "cat"}, "Error: accepts 1 arg(s), received 0", "Hint: usage: locations-worker doc cat PATH [flags]"},
		{[]string{"version", "extra"}, `Error: unknown command "extra" for "locations-worker version"`, "Hint: usage: locations-worker version"},
		{[]string{"import", "x.zip", "--sync-url", "ftp://x"}, "Error: ", "Hint: "},
	} {
		out, stderr, err := runCmd(t, offlineEnv(t), tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if err == nil || out != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], tc.want) || !strings.HasPrefix(lines[1], tc.hint) || strings.Contains(stderr, "Usage:") {
			t.Errorf("%v: err %v\nstdout %q\nstderr %q", tc.args, err, out, stderr)
		}
	}
}

func TestDownloadMeterCountsOnlyUnauthenticatedBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 2500)))
	}))
	defer srv.Close()
	var m downloadMeter
	m.reset()
	c := m.client(nil)
	for _, auth := range []string{"", "Bearer t"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		resp.Body.Close()
	}
	if got := m.n.Load(); got != 2500 {
		t.Errorf("counted %d bytes, want 2500 (the download only)", got)
	}
	if s := m.String(); !strings.HasPrefix(s, "2.5 kB at ") || !strings.HasSuffix(s, "/s") {
		t.Errorf("meter %q", s)
	}
}

func TestStatusPlainLinesWhenNotATerminal(t *testing.T) {
	var b strings.Builder
	s := newStatus(&b, false)
	s.Set(func() string { return "one" })
	s.Set(func() string { return "two" })
	s.Done()
	var none *status
	none.Set(func() string { return "never" })
	none.Done()
	if b.String() != "one\ntwo\n" {
		t.Errorf("plain status %q", b.String())
	}
	for n, want := range map[int64]string{999: "999 B", 3300: "3.3 kB", 12_500_000: "12.5 MB", 2_100_000_000: "2.10 GB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// env turns a map into a Getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// flags binds every setting on a new flag set and parses args into it.
func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	var keys []string
	for _, s := range Settings() {
		keys = append(keys, s.Key)
	}
	BindFlags(fs, keys...)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return fs
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Source{})
	if err != nil {
		t.Fatalf("Load with nothing set: %v", err)
	}
	want := &Config{
		DataDir:         "./data",
		SyncURL:         "http://localhost:7777",
		SyncWSURL:       "ws://localhost:7777/sync",
		DocPath:         "/google-maps/places",
		Layout:          "keyed",
		Host:            "127.0.0.1",
		Port:            5555,
		CredentialsFile: filepath.Join("data", "credentials.json"),
		TokenFile:       filepath.Join("data", "token.json"),
		PortabilityURL:  "https://dataportability.googleapis.com/",
		Resources:       []string{"saved.collections", "maps.starred_places"},
		Schedule:        "0 3 * * *",
		Location:        time.Local,
		ExportOnStart:   true,
		LogLevel:        "info",
		LogFormat:       "json",

		ArchiveMaxEntries:    100_000,
		ArchiveMaxFileBytes:  256 << 20,
		ArchiveMaxTotalBytes: 1 << 30,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

// TestLoadPrecedence checks flags > environment > .env > defaults for every
// setting, with a valid value at each level.
func TestLoadPrecedence(t *testing.T) {
	// Two valid values per setting, distinct from its default.
	values := map[string][2]string{
		"data-dir":            {"/flag/data", "/env/data"},
		"sync-url":            {"http://flag.example:1", "https://env.example"},
		"sync-ws-url":         {"ws://flag.example:1/sync", "wss://env.example/sync"},
		"doc-path":            {"/flag/doc", "/env/doc"},
		"layout":              {"legacy", "legacy"},
		"host":                {"0.0.0.0", "::"},
		"port":                {"6001", "6002"},
		"credentials":         {"/flag/c.json", "/env/c.json"},
		"token-file":          {"/flag/t.json", "/env/t.json"},
		"dataportability-url": {"http://flag.example/", "http://env.example/"},
		"resources":           {"saved.collections", "maps.starred_places"},
		"schedule":            {"5 4 * * *", "30 1 * * 1"},
		"timezone":            {"Europe/London", "Asia/Tokyo"},
		"export-on-start":     {"false", "0"},
		"worker-token":        {"flag-token", "env-token"},
		"cors-origins":        {"http://flag.example", "http://env.example"},
		"log-level":           {"debug", "warn"},
		"log-format":          {"text", "text"},

		"archive-max-entries":     {"500", "600"},
		"archive-max-file-bytes":  {"64MiB", "1000000"},
		"archive-max-total-bytes": {"2GiB", "512MB"},
	}
	for _, s := range Settings() {
		v, ok := values[s.Key]
		if !ok {
			t.Errorf("setting %s has no test values", s.Key)
			continue
		}
		flagV, envV := v[0], v[1]
		dotV := envV // a third value is not needed: env and .env differ by source below
		tests := []struct {
			name string
			src  func() Source
			want string
		}{
			{"flag beats env and .env", func() Source {
				return Source{Flags: flags(t, "--"+s.Key+"="+flagV), Getenv: env(map[string]string{s.Env: envV}), DotEnv: map[string]string{s.Env: dotV}}
			}, flagV},
			{"env beats .env", func() Source {
				return Source{Flags: flags(t), Getenv: env(map[string]string{s.Env: envV}), DotEnv: map[string]string{s.Env: flagV}}
			}, envV},
			{".env beats default", func() Source {
				return Source{Flags: flags(t), DotEnv: map[string]string{s.Env: dotV}}
			}, dotV},
			{"default", func() Source { return Source{Flags: flags(t)} }, s.Default},
		}
		for _, tt := range tests {
			t.Run(s.Key+"/"+tt.name, func(t *testing.T) {
				src := tt.src()
				if got := src.value(s); got != tt.want {
					t.Errorf("value = %q, want %q", got, tt.want)
				}
				if _, err := Load(src); err != nil {
					t.Errorf("Load: %v", err)
				}
			})
		}
	}
}

// TestLoadFields checks that resolved values land in the right fields.
func TestLoadFields(t *testing.T) {
	c, err := Load(Source{
		Flags: flags(t, "--port=7000", "--layout=legacy"),
		Getenv: env(map[string]string{
			"LOCATIONS_WORKER_DATA": "/srv/lw",
			"SYNC_URL":              "https://sync.example.com/base/",
			"WORKER_HOST":           "0.0.0.0",
			"EXPORT_RESOURCES":      " saved.collections , ,maps.starred_places ",
			"EXPORT_TIMEZONE":       "Europe/Paris",
			"EXPORT_SCHEDULE":       "0 30 2 * * *",
			"EXPORT_ON_START":       "false",
			"WORKER_TOKEN":          "s3cret",
			"WORKER_CORS_ORIGINS":   "http://a.example,http://b.example",
			"LOG_LEVEL":             "DEBUG",
			"LOG_FORMAT":            "Text",
		}),
		DotEnv: map[string]string{"GOOGLE_DATAPORTABILITY_URL": "http://127.0.0.1:9999", "KEEPSYNC_DOC_PATH": "/me/places"},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"DataDir", c.DataDir, "/srv/lw"},
		{"SyncURL", c.SyncURL, "https://sync.example.com/base"},
		{"SyncWSURL", c.SyncWSURL, "wss://sync.example.com/base/sync"},
		{"DocPath", c.DocPath, "/me/places"},
		{"Layout", c.Layout, "legacy"},
		{"Host", c.Host, "0.0.0.0"},
		{"Port", c.Port, 7000},
		{"CredentialsFile", c.CredentialsFile, "/srv/lw/credentials.json"},
		{"TokenFile", c.TokenFile, "/srv/lw/token.json"},
		{"PortabilityURL", c.PortabilityURL, "http://127.0.0.1:9999/"},
		{"Resources", c.Resources, []string{"saved.collections", "maps.starred_places"}},
		{"Schedule", c.Schedule, "0 30 2 * * *"},
		{"ScheduleWithSeconds", c.ScheduleWithSeconds, true},
		{"Location", c.Location.String(), "Europe/Paris"},
		{"ExportOnStart", c.ExportOnStart, false},
		{"WorkerToken", c.WorkerToken, "s3cret"},
		{"CORSOrigins", c.CORSOrigins, []string{"http://a.example", "http://b.example"}},
		{"LogLevel", c.LogLevel, "debug"},
		{"LogFormat", c.LogFormat, "text"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadPortFallback(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		dotenv map[string]string
		flags  []string
		want   int
	}{
		{"default", nil, nil, nil, 5555},
		{"PORT alone", map[string]string{"PORT": "8080"}, nil, nil, 8080},
		{"WORKER_PORT beats PORT", map[string]string{"PORT": "8080", "WORKER_PORT": "6000"}, nil, nil, 6000},
		{"empty WORKER_PORT falls back to PORT", map[string]string{"PORT": "8080", "WORKER_PORT": "  "}, nil, nil, 8080},
		{"PORT in .env", nil, map[string]string{"PORT": "8081"}, nil, 8081},
		{"WORKER_PORT in .env beats PORT in .env", nil, map[string]string{"PORT": "8081", "WORKER_PORT": "6001"}, nil, 6001},
		{"PORT in env beats WORKER_PORT in .env", map[string]string{"PORT": "8080"}, map[string]string{"WORKER_PORT": "6001"}, nil, 8080},
		{"flag beats both", map[string]string{"PORT": "8080", "WORKER_PORT": "6000"}, nil, []string{"--port", "7000"}, 7000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(Source{Getenv: env(tt.env), DotEnv: tt.dotenv, Flags: flags(t, tt.flags...)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Port != tt.want {
				t.Errorf("Port = %d, want %d", c.Port, tt.want)
			}
		})
	}
}

func TestLoadSyncWSURL(t *testing.T) {
	tests := []struct {
		syncURL, wsURL, wantSync, wantWS string
	}{
		{"http://localhost:7777", "", "http://localhost:7777", "ws://localhost:7777/sync"},
		{"http://localhost:7777/", "", "http://localhost:7777", "ws://localhost:7777/sync"},
		{"https://sync.example.com", "", "https://sync.example.com", "wss://sync.example.com/sync"},
		{"https://sync.example.com:8443/tonk/", "", "https://sync.example.com:8443/tonk", "wss://sync.example.com:8443/tonk/sync"},
		{"http://[::1]:7777", "", "http://[::1]:7777", "ws://[::1]:7777/sync"},
		{"http://sync:7777", "", "http://sync:7777", "ws://sync:7777/sync"},
		{"http://localhost:7777", "wss://elsewhere.example/ws", "http://localhost:7777", "wss://elsewhere.example/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.syncURL+"|"+tt.wsURL, func(t *testing.T) {
			c, err := Load(Source{Getenv: env(map[string]string{"SYNC_URL": tt.syncURL, "SYNC_WS_URL": tt.wsURL})})
			if err != nil {
				t.Fatal(err)
			}
			if c.SyncURL != tt.wantSync || c.SyncWSURL != tt.wantWS {
				t.Errorf("got %q, %q; want %q, %q", c.SyncURL, c.SyncWSURL, tt.wantSync, tt.wantWS)
			}
		})
	}
}

// TestLoadInvalid checks that every invalid value stops Load with an error
// naming the setting's flag and environment variable.
func TestLoadInvalid(t *testing.T) {
	tests := []struct {
		key   string
		env   map[string]string
		flags []string
		says  string // part of the explanation
	}{
		{"data-dir", nil, []string{"--data-dir="}, "must not be empty"},
		{"sync-url", map[string]string{"SYNC_URL": "localhost:7777"}, nil, "not an http(s) URL"},
		{"sync-url", map[string]string{"SYNC_URL": "ftp://localhost:7777"}, nil, "not an http(s) URL"},
		{"sync-url", map[string]string{"SYNC_URL": "http://:7777"}, nil, "not an http(s) URL"},
		{"sync-url", map[string]string{"SYNC_URL": "http://%zz"}, nil, "not an http(s) URL"},
		{"sync-url", map[string]string{"SYNC_URL": "http://localhost:7777/?a=b"}, nil, "without user, query or fragment"},
		{"sync-ws-url", map[string]string{"SYNC_WS_URL": "http://localhost:7777/sync"}, nil, "not a ws(s) URL"},
		{"doc-path", map[string]string{"KEEPSYNC_DOC_PATH": "/"}, nil, "at least one segment"},
		{"layout", map[string]string{"KEEPSYNC_LAYOUT": "flat"}, nil, "use keyed or legacy"},
		{"host", map[string]string{"WORKER_HOST": "example.com"}, nil, "not an IP address"},
		{"port", map[string]string{"WORKER_PORT": "70000"}, nil, "not a port number"},
		{"port", map[string]string{"WORKER_PORT": "-1"}, nil, "not a port number"},
		{"port", map[string]string{"PORT": "http"}, nil, "not a port number"},
		{"dataportability-url", map[string]string{"GOOGLE_DATAPORTABILITY_URL": "dataportability"}, nil, "not an http(s) URL"},
		{"resources", map[string]string{"EXPORT_RESOURCES": " , "}, nil, "at least one resource group"},
		{"schedule", map[string]string{"EXPORT_SCHEDULE": "every day"}, nil, "not a cron expression"},
		{"schedule", map[string]string{"EXPORT_SCHEDULE": "0 25 * * *"}, nil, "not a valid cron expression"},
		{"schedule", map[string]string{"EXPORT_SCHEDULE": "0 0 30 2 *"}, nil, "never runs"},
		{"schedule", map[string]string{"EXPORT_SCHEDULE": "CRON_TZ=UTC 0 3 * * *"}, nil, "EXPORT_TIMEZONE"},
		{"timezone", map[string]string{"EXPORT_TIMEZONE": "Mars/Olympus"}, nil, "not a known IANA time zone"},
		{"export-on-start", map[string]string{"EXPORT_ON_START": "maybe"}, nil, "use true or false"},
		{"log-level", map[string]string{"LOG_LEVEL": "verbose"}, nil, "use debug, info, warn or error"},
		{"log-format", map[string]string{"LOG_FORMAT": "xml"}, nil, "use json or text"},
		{"archive-max-entries", map[string]string{"ARCHIVE_MAX_ENTRIES": "0"}, nil, "not a positive whole number"},
		{"archive-max-file-bytes", map[string]string{"ARCHIVE_MAX_FILE_BYTES": "lots"}, nil, "not a size like"},
		{"archive-max-file-bytes", map[string]string{"ARCHIVE_MAX_FILE_BYTES": "-5MiB"}, nil, "not a size like"},
		{"archive-max-total-bytes", map[string]string{"ARCHIVE_MAX_TOTAL_BYTES": "99999999999GiB"}, nil, "not a size like"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		s, ok := lookupSetting(tt.key)
		if !ok {
			t.Fatalf("unknown setting %s", tt.key)
		}
		covered[tt.key] = true
		t.Run(tt.key+"/"+tt.says, func(t *testing.T) {
			c, err := Load(Source{Getenv: env(tt.env), Flags: flags(t, tt.flags...)})
			if err == nil {
				t.Fatalf("Load accepted it: %+v", c)
			}
			msg := err.Error()
			for _, part := range []string{"invalid " + s.Key, "--" + s.Key, s.Env, tt.says} {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q does not say %q", msg, part)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q is more than one line", msg)
			}
		})
	}
	// Every setting that can be invalid is covered; the rest accept any text.
	for _, s := range Settings() {
		switch s.Key {
		case "credentials", "token-file", "worker-token", "cors-origins":
			continue
		}
		if !covered[s.Key] {
			t.Errorf("no invalid-value case for setting %s", s.Key)
		}
	}
}

func TestSettingsTable(t *testing.T) {
	keys, envs := map[string]bool{}, map[string]bool{}
	for _, s := range Settings() {
		if s.Key == "" || s.Env == "" || s.Usage == "" {
			t.Errorf("setting %+v lacks a key, env or usage", s)
		}
		if keys[s.Key] || envs[s.Env] {
			t.Errorf("setting %s / %s is listed twice", s.Key, s.Env)
		}
		keys[s.Key], envs[s.Env] = true, true
		for _, a := range s.Alt {
			if envs[a] {
				t.Errorf("env %s is listed twice", a)
			}
			envs[a] = true
		}
	}
}

func TestSummaryHasNoSecret(t *testing.T) {
	c, err := Load(Source{Getenv: env(map[string]string{"WORKER_TOKEN": "tok-1234567890"})})
	if err != nil {
		t.Fatal(err)
	}
	sum := c.Summary()
	if got := sum["authRequired"]; got != true {
		t.Errorf("authRequired = %v, want true", got)
	}
	for k, v := range sum {
		if strings.Contains(strings.ToLower(k), "token") && k != "tokenFile" {
			t.Errorf("summary has key %q", k)
		}
		if s, ok := v.(string); ok && strings.Contains(s, "tok-1234567890") {
			t.Errorf("summary %s shows the worker token", k)
		}
	}
}

func TestBindFlagsShowsDefaultsAndEnv(t *testing.T) {
	fs := flags(t)
	f := fs.Lookup("port")
	if f == nil {
		t.Fatal("no --port flag")
	}
	if f.DefValue != "5555" || !strings.Contains(f.Usage, "WORKER_PORT") {
		t.Errorf("--port: default %q usage %q", f.DefValue, f.Usage)
	}
	// Binding twice is harmless (root and subcommand may both ask).
	BindFlags(fs, "port")
}

func TestParseDotEnv(t *testing.T) {
	in := "\ufeff# comment\n\nexport SYNC_URL=http://sync:7777\n" +
		"  LOG_LEVEL = debug   # trailing comment\n" +
		"WORKER_TOKEN=\"a #b c\"\n" +
		"EXPORT_SCHEDULE='0 3 * * *'\n" +
		"EMPTY=\n" +
		"URL_WITH_HASH=http://x.example/#frag\n" +
		"exported=lower\n"
	got, err := parseDotEnv(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"SYNC_URL":        "http://sync:7777",
		"LOG_LEVEL":       "debug",
		"WORKER_TOKEN":    "a #b c",
		"EXPORT_SCHEDULE": "0 3 * * *",
		"EMPTY":           "",
		"URL_WITH_HASH":   "http://x.example/#frag",
		"exported":        "lower",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func TestParseDotEnvErrors(t *testing.T) {
	tests := []struct{ in, says string }{
		{"A=1\nJUSTTEXT\n", "2: expected KEY=VALUE"},
		{"=value\n", "1: \"\" is not a variable name"},
		{"MY KEY=1\n", "is not a variable name"},
		{"A='open\n", "1: A: unterminated quote"},
		{"A=1\nB=" + strings.Repeat("x", maxDotEnvLine+10) + "\n", "2: line longer than"},
	}
	for _, tt := range tests {
		_, err := parseDotEnv(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("parseDotEnv(%.20q) = %v, want error saying %q", tt.in, err, tt.says)
		}
	}
}

func TestReadDotEnv(t *testing.T) {
	dir := t.TempDir()
	if m, err := ReadDotEnv(filepath.Join(dir, "missing.env")); err != nil || m != nil {
		t.Errorf("missing file: %v, %v; want nil, nil", m, err)
	}
	p := filepath.Join(dir, ".env")
	if err := os.WriteFile(p, []byte("SYNC_URL=http://sync:7777\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadDotEnv(p)
	if err == nil || !strings.Contains(err.Error(), p+":2:") {
		t.Errorf("error %v does not name the file and line", err)
	}
}

func FuzzParseDotEnv(f *testing.F) {
	f.Add("A=1\n# c\nexport B='x y'\nC=\"q\" \n")
	f.Add("\ufeffA=1 # c\n")
	f.Add("=\n'\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := parseDotEnv(strings.NewReader(in))
		if err != nil {
			return
		}
		for k := range m {
			if !validEnvName(k) {
				t.Errorf("accepted key %q", k)
			}
		}
	})
}

// TestDocsCoverEverySetting keeps docs/configuration.md and .env.example
// true to Settings(): each names every flag and variable, with its default.
func TestDocsCoverEverySetting(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	doc, example := read("docs/configuration.md"), read(".env.example")

	// The table rows of configuration.md, by flag.
	rows := map[string]string{}
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "| `--") {
			flag := strings.Trim(strings.TrimSpace(strings.Split(l, "|")[1]), "`")
			rows[flag] = l
		}
	}
	for _, s := range Settings() {
		row, ok := rows["--"+s.Key]
		if !ok {
			t.Errorf("docs/configuration.md has no table row for --%s", s.Key)
			continue
		}
		for _, e := range append([]string{s.Env}, s.Alt...) {
			if !strings.Contains(row, "`"+e+"`") {
				t.Errorf("docs/configuration.md: row --%s does not name %s", s.Key, e)
			}
		}
		if s.Default != "" && !strings.Contains(row, "`"+s.Default+"`") {
			t.Errorf("docs/configuration.md: row --%s does not give the default %q", s.Key, s.Default)
		}
		for _, e := range append([]string{s.Env}, s.Alt...) {
			line := "# " + e + "="
			if !strings.Contains(example, "\n"+line) {
				t.Errorf(".env.example has no commented %s line", line)
			}
		}
	}
	if len(rows) != len(Settings()) {
		t.Errorf("docs/configuration.md has %d setting rows, Settings() has %d", len(rows), len(Settings()))
	}

	// The commented values of .env.example are valid, uncommented together.
	dotenv := map[string]string{}
	settingLine := regexp.MustCompile(`^# [A-Z_]+=`)
	for _, l := range strings.Split(example, "\n") {
		if settingLine.MatchString(l) {
			m, err := parseDotEnv(strings.NewReader(strings.TrimPrefix(l, "# ")))
			if err != nil {
				t.Errorf(".env.example line %q: %v", l, err)
			}
			for k, v := range m {
				dotenv[k] = v
			}
		}
	}
	if _, err := Load(Source{DotEnv: dotenv}); err != nil {
		t.Errorf(".env.example, uncommented, does not load: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "268435456": 256 << 20, "256MiB": 256 << 20, "256 mib": 256 << 20,
		"1GiB": 1 << 30, "2GB": 2 << 30, "64KiB": 64 << 10, "10B": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "MiB", "1.5GiB", "1TiB", "-1"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted it", in)
		}
	}
}

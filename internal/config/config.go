// Package config holds every setting of locations-worker in one place: its
// name, flag, environment variable and default, and how it is validated.
//
// Precedence is flags > environment > .env file in the working directory >
// defaults. It does not read credentials or tokens: it only says where they are.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/pflag"
)

// Config is the resolved configuration of one process.
type Config struct {
	DataDir         string
	SyncURL         string
	SyncWSURL       string
	DocPath         string
	Layout          string // "keyed" (default) or "legacy"
	Host            string
	Port            int
	CredentialsFile string
	TokenFile       string
	PortabilityURL  string
	Resources       []string
	Schedule        string
	// ScheduleWithSeconds is true when Schedule has six fields, the first
	// being seconds; pass it to gocron.CronJob as withSeconds.
	ScheduleWithSeconds bool
	Timezone            string
	Location            *time.Location
	ExportOnStart       bool
	WorkerToken         string
	CORSOrigins         []string
	LogLevel            string
	LogFormat           string
	// Caps on what an import or export reads (zip bombs, runaway files).
	ArchiveMaxEntries    int
	ArchiveMaxFileBytes  int64
	ArchiveMaxTotalBytes int64
}

// Setting describes one configuration value.
type Setting struct {
	Key     string   // stable name, also used for the flag
	Env     string   // primary environment variable
	Alt     []string // fallback environment variables, in order
	Default string   // "" means none (or derived, see Usage)
	Usage   string
	Secret  bool // never shown in summaries
}

// Settings returns the table of every setting, in documentation order.
func Settings() []Setting {
	return []Setting{
		{Key: "data-dir", Env: "LOCATIONS_WORKER_DATA", Default: "./data", Usage: "directory for the local keepsync store, token and credentials"},
		{Key: "sync-url", Env: "SYNC_URL", Default: "http://localhost:7777", Usage: "keepsync sync server HTTP URL"},
		{Key: "sync-ws-url", Env: "SYNC_WS_URL", Usage: "keepsync WebSocket URL (default: derived from sync-url, path /sync)"},
		{Key: "doc-path", Env: "KEEPSYNC_DOC_PATH", Default: "/google-maps/places", Usage: "keepsync path of the places document"},
		{Key: "layout", Env: "KEEPSYNC_LAYOUT", Default: "keyed", Usage: "document layout: keyed, or legacy (the TypeScript worker's {locations, metadata})"},
		{Key: "host", Env: "WORKER_HOST", Default: "127.0.0.1", Usage: "address the HTTP server binds"},
		{Key: "port", Env: "WORKER_PORT", Alt: []string{"PORT"}, Default: "5555", Usage: "port of the HTTP server"},
		{Key: "credentials", Env: "GOOGLE_CREDENTIALS_FILE", Usage: "OAuth client file from the Google Cloud console (default: <data-dir>/credentials.json)"},
		{Key: "token-file", Env: "GOOGLE_TOKEN_FILE", Usage: "OAuth token file (default: <data-dir>/token.json)"},
		{Key: "dataportability-url", Env: "GOOGLE_DATAPORTABILITY_URL", Default: "https://dataportability.googleapis.com/", Usage: "Data Portability API base URL"},
		{Key: "resources", Env: "EXPORT_RESOURCES", Default: "saved.collections,maps.starred_places", Usage: "Data Portability resource groups to export, comma separated"},
		{Key: "schedule", Env: "EXPORT_SCHEDULE", Default: "0 3 * * *", Usage: "cron expression of the daily export"},
		{Key: "timezone", Env: "EXPORT_TIMEZONE", Usage: "IANA time zone of the schedule (default: local)"},
		{Key: "export-on-start", Env: "EXPORT_ON_START", Default: "true", Usage: "run one export when the worker starts"},
		{Key: "worker-token", Env: "WORKER_TOKEN", Usage: "when set, every endpoint but /health requires Authorization: Bearer <token>", Secret: true},
		{Key: "cors-origins", Env: "WORKER_CORS_ORIGINS", Usage: "origins allowed by CORS, comma separated (default: none)"},
		{Key: "log-level", Env: "LOG_LEVEL", Default: "info", Usage: "debug, info, warn or error"},
		{Key: "log-format", Env: "LOG_FORMAT", Default: "json", Usage: "json or text"},
		{Key: "archive-max-entries", Env: "ARCHIVE_MAX_ENTRIES", Default: "100000", Usage: "most entries one zip may have"},
		{Key: "archive-max-file-bytes", Env: "ARCHIVE_MAX_FILE_BYTES", Default: "256MiB", Usage: "largest uncompressed file read from an archive or folder"},
		{Key: "archive-max-total-bytes", Env: "ARCHIVE_MAX_TOTAL_BYTES", Default: "1GiB", Usage: "most uncompressed bytes one import or export reads, over every input (also caps each download)"},
	}
}

func lookupSetting(key string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// BindFlags registers the named settings as flags on fs. Their defaults are
// shown in help; the values are read back by Load only when set by the user.
func BindFlags(fs *pflag.FlagSet, keys ...string) {
	for _, k := range keys {
		s, ok := lookupSetting(k)
		if !ok {
			panic("config: unknown setting " + k) // programming error, not input
		}
		if fs.Lookup(k) != nil {
			continue
		}
		usage := s.Usage + " (env " + s.Env + ")"
		fs.String(k, s.Default, usage)
	}
}

// Source is where Load reads values from.
type Source struct {
	Getenv func(string) string
	DotEnv map[string]string // parsed .env file, may be nil
	Flags  *pflag.FlagSet    // may be nil
}

func (src Source) value(s Setting) string {
	if src.Flags != nil {
		if f := src.Flags.Lookup(s.Key); f != nil && f.Changed {
			return f.Value.String()
		}
	}
	getenv := src.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	for _, name := range append([]string{s.Env}, s.Alt...) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
	}
	for _, name := range append([]string{s.Env}, s.Alt...) {
		if v := strings.TrimSpace(src.DotEnv[name]); v != "" {
			return v
		}
	}
	return s.Default
}

// Load resolves and validates every setting. An invalid value gives an error
// that names the setting and its environment variable.
func Load(src Source) (*Config, error) {
	get := func(key string) string {
		s, _ := lookupSetting(key)
		return src.value(s)
	}
	bad := func(key, format string, args ...any) error {
		s, _ := lookupSetting(key)
		envs := strings.Join(append([]string{s.Env}, s.Alt...), ", ")
		return fmt.Errorf("invalid %s (--%s / %s): %s", s.Key, s.Key, envs, fmt.Sprintf(format, args...))
	}

	c := &Config{
		DataDir:         get("data-dir"),
		SyncURL:         strings.TrimRight(get("sync-url"), "/"),
		SyncWSURL:       get("sync-ws-url"),
		DocPath:         get("doc-path"),
		Layout:          get("layout"),
		Host:            get("host"),
		CredentialsFile: get("credentials"),
		TokenFile:       get("token-file"),
		PortabilityURL:  get("dataportability-url"),
		Resources:       splitList(get("resources")),
		Schedule:        get("schedule"),
		Timezone:        get("timezone"),
		WorkerToken:     get("worker-token"),
		CORSOrigins:     splitList(get("cors-origins")),
		LogLevel:        strings.ToLower(get("log-level")),
		LogFormat:       strings.ToLower(get("log-format")),
	}
	if c.DataDir == "" {
		return nil, bad("data-dir", "must not be empty")
	}
	if c.CredentialsFile == "" {
		c.CredentialsFile = filepath.Join(c.DataDir, "credentials.json")
	}
	if c.TokenFile == "" {
		c.TokenFile = filepath.Join(c.DataDir, "token.json")
	}

	u, err := url.Parse(c.SyncURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, bad("sync-url", "%q is not an http(s) URL like http://localhost:7777", c.SyncURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, bad("sync-url", "%q: give the server's base URL, without user, query or fragment", c.SyncURL)
	}
	if c.SyncWSURL == "" {
		ws := url.URL{Host: u.Host, Path: strings.TrimRight(u.Path, "/") + "/sync"}
		ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		c.SyncWSURL = ws.String()
	} else if w, err := url.Parse(c.SyncWSURL); err != nil || (w.Scheme != "ws" && w.Scheme != "wss") || w.Hostname() == "" {
		return nil, bad("sync-ws-url", "%q is not a ws(s) URL like ws://localhost:7777/sync", c.SyncWSURL)
	}
	if p, err := url.Parse(c.PortabilityURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Hostname() == "" {
		return nil, bad("dataportability-url", "%q is not an http(s) URL", c.PortabilityURL)
	}
	if !strings.HasSuffix(c.PortabilityURL, "/") {
		c.PortabilityURL += "/"
	}
	if strings.Trim(c.DocPath, "/") == "" {
		return nil, bad("doc-path", "%q: a document path needs at least one segment, like /google-maps/places", c.DocPath)
	}
	if c.Layout != "keyed" && c.Layout != "legacy" {
		return nil, bad("layout", "%q: use keyed or legacy", c.Layout)
	}

	port, err := strconv.Atoi(get("port"))
	if err != nil || port < 0 || port > 65535 {
		return nil, bad("port", "%q is not a port number (0-65535)", get("port"))
	}
	c.Port = port
	if net.ParseIP(c.Host) == nil && c.Host != "localhost" {
		return nil, bad("host", "%q is not an IP address", c.Host)
	}

	if len(c.Resources) == 0 {
		return nil, bad("resources", "at least one resource group is needed")
	}
	c.Location = time.Local
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, bad("timezone", "%q is not a known IANA time zone, like Europe/London", c.Timezone)
		}
		c.Location = loc
	}
	if c.ScheduleWithSeconds, err = checkCron(c.Schedule, c.Location); err != nil {
		return nil, bad("schedule", "%q %v", c.Schedule, err)
	}
	c.ExportOnStart, err = strconv.ParseBool(get("export-on-start"))
	if err != nil {
		return nil, bad("export-on-start", "%q: use true or false", get("export-on-start"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, bad("log-level", "%q: use debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return nil, bad("log-format", "%q: use json or text", c.LogFormat)
	}
	n, err := strconv.Atoi(get("archive-max-entries"))
	if err != nil || n < 1 {
		return nil, bad("archive-max-entries", "%q is not a positive whole number", get("archive-max-entries"))
	}
	c.ArchiveMaxEntries = n
	for _, b := range []struct {
		key string
		dst *int64
	}{{"archive-max-file-bytes", &c.ArchiveMaxFileBytes}, {"archive-max-total-bytes", &c.ArchiveMaxTotalBytes}} {
		v, err := parseSize(get(b.key))
		if err != nil {
			return nil, bad(b.key, "%q %v", get(b.key), err)
		}
		*b.dst = v
	}
	return c, nil
}

// parseSize reads a byte count: a whole number, optionally followed by
// KiB, MiB or GiB (or KB, MB, GB, taken as the same powers of 1024).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mul    int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}}
	num, mul := strings.ToUpper(strings.TrimSpace(s)), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mul = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mul
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mul {
		return 0, errors.New("is not a size like 268435456, 256MiB or 1GiB")
	}
	return n * mul, nil
}

// Summary is the configuration without secrets, for /status and logs.
func (c *Config) Summary() map[string]any {
	return map[string]any{
		"dataDir":         c.DataDir,
		"syncUrl":         c.SyncURL,
		"syncWsUrl":       c.SyncWSURL,
		"docPath":         c.DocPath,
		"layout":          c.Layout,
		"host":            c.Host,
		"port":            c.Port,
		"credentialsFile": c.CredentialsFile,
		"tokenFile":       c.TokenFile,
		"resources":       c.Resources,
		"schedule":        c.Schedule,
		"timezone":        c.Location.String(),
		"exportOnStart":   c.ExportOnStart,
		"authRequired":    c.WorkerToken != "",
		"corsOrigins":     c.CORSOrigins,
		"logLevel":        c.LogLevel,
		"logFormat":       c.LogFormat,
		"archiveLimits": map[string]any{
			"maxEntries": c.ArchiveMaxEntries, "maxFileBytes": c.ArchiveMaxFileBytes, "maxTotalBytes": c.ArchiveMaxTotalBytes,
		},
	}
}

// ReadDotEnv parses a .env file (KEY=VALUE lines, # comments, optional
// quotes, optional "export "). A missing file is not an error.
func ReadDotEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	out, err := parseDotEnv(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return out, nil
}

// maxDotEnvLine bounds one line of a .env file; longer lines are an error.
const maxDotEnvLine = 64 << 10

// parseDotEnv reads KEY=VALUE lines. Values in matching single or double
// quotes are taken as they are; an unquoted value ends at " #" (a comment).
// Errors start with the line number.
func parseDotEnv(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxDotEnvLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			line = strings.TrimSpace(rest)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%d: expected KEY=VALUE", n)
		}
		k = strings.TrimSpace(k)
		if !validEnvName(k) {
			return nil, fmt.Errorf("%d: %q is not a variable name (letters, digits and _)", n, k)
		}
		v = strings.TrimSpace(v)
		switch {
		case len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0]:
			v = v[1 : len(v)-1]
		case len(v) > 0 && (v[0] == '"' || v[0] == '\''):
			return nil, fmt.Errorf("%d: %s: unterminated quote", n, k)
		default:
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			} else if i := strings.Index(v, "\t#"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%d: line longer than %d bytes", n+1, maxDotEnvLine)
		}
		return nil, fmt.Errorf("%d: %w", n+1, err)
	}
	return out, nil
}

func validEnvName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if !(r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')) {
			return false
		}
	}
	return true
}

// checkCron parses a cron expression the way the scheduler (gocron, on
// robfig/cron) does: five fields, six when the first is seconds, or a
// descriptor such as @daily. It reports whether the expression has seconds.
func checkCron(expr string, loc *time.Location) (withSeconds bool, err error) {
	fields := strings.Fields(expr)
	if len(fields) == 0 {
		return false, errors.New("is empty: use a cron expression like \"0 3 * * *\"")
	}
	if strings.HasPrefix(fields[0], "TZ=") || strings.HasPrefix(fields[0], "CRON_TZ=") {
		return false, errors.New("names a time zone: set it with --timezone / EXPORT_TIMEZONE instead")
	}
	var sched cron.Schedule
	switch {
	case len(fields) == 6:
		withSeconds = true
		p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
		sched, err = p.Parse(expr)
	case len(fields) == 5 || (len(fields) == 1 && strings.HasPrefix(fields[0], "@")):
		sched, err = cron.ParseStandard(expr)
	default:
		return false, errors.New("is not a cron expression: use 5 fields (minute hour day month weekday), like \"0 3 * * *\"")
	}
	if err != nil {
		return false, fmt.Errorf("is not a valid cron expression: %v", err)
	}
	if sched.Next(time.Now().In(loc)).IsZero() {
		return false, errors.New("never runs")
	}
	return withSeconds, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

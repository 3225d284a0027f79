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
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	Timezone        string
	Location        *time.Location
	ExportOnStart   bool
	WorkerToken     string
	CORSOrigins     []string
	LogLevel        string
	LogFormat       string
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
		return fmt.Errorf("invalid %s (--%s / %s): %s", s.Key, s.Key, s.Env, fmt.Sprintf(format, args...))
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
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("sync-url", "%q is not an http(s) URL", c.SyncURL)
	}
	if c.SyncWSURL == "" {
		ws := *u
		ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		ws.Path = strings.TrimRight(u.Path, "/") + "/sync"
		c.SyncWSURL = ws.String()
	} else if w, err := url.Parse(c.SyncWSURL); err != nil || (w.Scheme != "ws" && w.Scheme != "wss") || w.Host == "" {
		return nil, bad("sync-ws-url", "%q is not a ws(s) URL", c.SyncWSURL)
	}
	if p, err := url.Parse(c.PortabilityURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
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
	if len(strings.Fields(c.Schedule)) < 5 || len(strings.Fields(c.Schedule)) > 6 {
		return nil, bad("schedule", "%q is not a cron expression (5 fields, like \"0 3 * * *\")", c.Schedule)
	}
	c.Location = time.Local
	if c.Timezone != "" {
		loc, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, bad("timezone", "%q is not a known IANA time zone", c.Timezone)
		}
		c.Location = loc
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
	return c, nil
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
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[strings.TrimSpace(k)] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
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

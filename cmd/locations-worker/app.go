package main

import (
	"errors"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/tonk-labs/locations-worker/internal/config"
)

// app carries what every command needs from the outside world, so that no
// command reaches for os.Stdout or os.Getenv itself.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// config resolves the configuration for cmd: its flags, the environment, a
// .env file in the working directory, then defaults.
func (a *app) config(cmd *cobra.Command) (*config.Config, error) {
	dotenv, err := config.ReadDotEnv(".env")
	if err != nil {
		return nil, withHint(err, "fix or remove the .env file in the working directory")
	}
	cfg, err := config.Load(config.Source{Getenv: a.getenv, DotEnv: dotenv, Flags: cmd.Flags()})
	if err != nil {
		return nil, withHint(err, "every setting, its flag, its environment variable and its default are in docs/configuration.md")
	}
	return cfg, nil
}

// logger builds the structured logger for cfg, writing to w.
func (a *app) logger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// hintError is an error with a line telling the user what to do about it.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

func hintOf(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// exitError makes the process exit with a given code, e.g. `auth status`.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 1
}

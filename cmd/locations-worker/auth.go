package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tonk-labs/locations-worker/internal/auth"
	"github.com/tonk-labs/locations-worker/internal/config"
)

// authDeps are the seams of the auth commands.
type authDeps struct {
	// openBrowser opens the Google sign-in page.
	openBrowser func(url string) error
	now         func() time.Time
}

func defaultAuthDeps() authDeps {
	return authDeps{openBrowser: auth.OpenBrowser, now: time.Now}
}

func newAuthCmd(a *app) *cobra.Command { return newAuthCmdWith(a, defaultAuthDeps()) }

func newAuthCmdWith(a *app, deps authDeps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Sign in to Google, show or remove the saved sign-in",
		Long: `auth manages the Google sign-in that the daily export uses.

  setup    sign in with Google in a browser and save the token
  status   show what the saved sign-in allows (exit 0 when exports can run)
  reset    revoke the sign-in at Google and remove the saved token

The OAuth client file from the Google Cloud console is read from
GOOGLE_CREDENTIALS_FILE (default <data dir>/credentials.json) and the token is
saved to GOOGLE_TOKEN_FILE (default <data dir>/token.json, mode 0600).`,
		Example: `  locations-worker auth setup --credentials ~/Downloads/client_secret_XXXX.json
  locations-worker auth status
  locations-worker auth reset`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAuthSetupCmd(a, deps, "setup"), newAuthStatusCmd(a, deps), newAuthResetCmd(a))
	return cmd
}

// newSetupCmd is `locations-worker setup`, the name TypeScript worker users
// know, doing the same as `auth setup`.
func newSetupCmd(a *app) *cobra.Command { return newAuthSetupCmd(a, defaultAuthDeps(), "setup") }

type setupFlags struct {
	port        int
	timeout     time.Duration
	noBrowser   bool
	manual      bool
	credentials string
}

func newAuthSetupCmd(a *app, deps authDeps, use string) *cobra.Command {
	var f setupFlags
	cmd := &cobra.Command{
		Use:   use,
		Short: "Sign in with Google and save the token for the daily export",
		Long: `setup signs locations-worker in to your Google account for the Data
Portability API and saves the token, so exports can run every day.

It opens Google's sign-in page in your browser and waits (up to --timeout) for
Google to send the browser back to http://127.0.0.1:PORT/oauth2callback (or the
localhost redirect URI registered for your OAuth client), a listener on this
machine only. The request uses state and PKCE, asks for offline access and
for the resource groups in EXPORT_RESOURCES.

On Google's page you choose how long the worker may export:
  - one time: a single export; the daily export stops after the first one;
  - 30 or 180 days: the daily export runs until then.
Choose 30 or 180 days. setup asks Google which one you granted and says so.

On a machine without a browser use --manual: open the printed URL on any
machine, then paste back the address Google redirects to (it will not load)
or just its code= value.

--credentials FILE copies a client file downloaded from the Google Cloud
console to GOOGLE_CREDENTIALS_FILE (default <data dir>/credentials.json) first.
"locations-worker setup" is the same command.`,
		Example: `  locations-worker auth setup --credentials ~/Downloads/client_secret_XXXX.json
  locations-worker auth setup
  locations-worker auth setup --no-browser --port 5000
  locations-worker auth setup --manual          # headless machine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAuthSetup(cmd, a, deps, f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.port, "port", auth.DefaultPort, "callback port on 127.0.0.1 (0 picks a free one; Desktop app clients only)")
	fl.DurationVar(&f.timeout, "timeout", auth.DefaultTimeout, "how long to wait for the sign-in")
	fl.BoolVar(&f.noBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	fl.BoolVar(&f.manual, "manual", false, "headless: print the URL and read the redirect URL (or code) pasted on standard input")
	fl.StringVar(&f.credentials, "credentials", "", "OAuth client file downloaded from the Google Cloud console, copied to GOOGLE_CREDENTIALS_FILE")
	config.BindFlags(fl, "token-file", "dataportability-url", "resources")
	return cmd
}

func runAuthSetup(cmd *cobra.Command, a *app, deps authDeps, f setupFlags) error {
	if f.timeout <= 0 {
		return fmt.Errorf("invalid --timeout %s: must be more than 0", f.timeout)
	}
	if f.port < 0 || f.port > 65535 {
		return fmt.Errorf("invalid --port %d: use 0-65535", f.port)
	}
	// --credentials here names the file to install, not the installed one.
	cfg, err := configExcept(a, cmd, "credentials")
	if err != nil {
		return err
	}
	log := a.logger(cfg, a.stderr)

	var client *auth.Client
	if f.credentials != "" {
		client, err = auth.InstallCredentials(f.credentials, cfg.CredentialsFile)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Using the OAuth client from %s (copied to %s).\n\n", f.credentials, cfg.CredentialsFile)
	} else {
		client, err = auth.LoadClient(cfg.CredentialsFile)
		if err != nil {
			return err
		}
	}
	opts := auth.SetupOptions{
		Client:         client,
		Resources:      cfg.Resources,
		TokenFile:      cfg.TokenFile,
		PortabilityURL: cfg.PortabilityURL,
		Port:           f.port,
		Timeout:        f.timeout,
		Manual:         f.manual,
		In:             a.stdin,
		Out:            a.stdout,
		Logger:         log,
		Now:            deps.now,
	}
	if !f.noBrowser && !f.manual {
		opts.OpenBrowser = deps.openBrowser
	}
	_, err = auth.Setup(cmd.Context(), opts)
	if errors.Is(err, auth.ErrTimeout) {
		return withHint(err, "on a machine without a browser, use `locations-worker auth setup --manual`")
	}
	return err
}

// configExcept resolves the configuration like a.config, ignoring the named
// flags of cmd (which mean something else on that command).
func configExcept(a *app, cmd *cobra.Command, skip ...string) (*config.Config, error) {
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		for _, s := range skip {
			if f.Name == s {
				return
			}
		}
		fs.AddFlag(f)
	})
	dotenv, err := config.ReadDotEnv(".env")
	if err != nil {
		return nil, err
	}
	return config.Load(config.Source{Getenv: a.getenv, DotEnv: dotenv, Flags: fs})
}

func newAuthStatusCmd(a *app, deps authDeps) *cobra.Command {
	var asJSON, quiet bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the saved Google sign-in; exit 0 when exports can run",
		Long: `status reads the saved token (no network) and shows whether it is there,
whether it has a refresh token, when the access token expires, which resource
groups were granted, the access type (one-time or time-based) and when access
was granted.

It exits 0 when the worker can export with it and 2 otherwise, so scripts and
health checks can use it. --json prints the same as the worker's /status;
--quiet prints nothing but the reason when exports cannot run.`,
		Example: `  locations-worker auth status
  locations-worker auth status --json
  locations-worker auth status --quiet || locations-worker auth setup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config(cmd)
			if err != nil {
				return err
			}
			st, err := auth.Status(cfg.TokenFile, cfg.Resources, deps.now())
			if err != nil {
				return &exitError{code: 2, err: withHint(err, "run `locations-worker auth setup` again")}
			}
			switch {
			case quiet:
			case asJSON:
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			default:
				printStatus(a.stdout, st, deps.now())
			}
			if !st.CanExport {
				return &exitError{code: 2, err: errors.New(st.Problem)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors: the exit code says whether exports can run")
	config.BindFlags(cmd.Flags(), "token-file", "resources")
	return cmd
}

func printStatus(w io.Writer, st auth.StatusInfo, now time.Time) {
	yesNo := func(b bool) string {
		if b {
			return "present"
		}
		return "missing"
	}
	fmt.Fprintf(w, "Token file:     %s (%s)\n", st.TokenFile, yesNo(st.TokenPresent))
	if st.TokenPresent {
		fmt.Fprintf(w, "Refresh token:  %s\n", yesNo(st.RefreshTokenPresent))
		switch {
		case st.AccessTokenExpiry == nil:
			fmt.Fprintln(w, "Access token:   no expiry recorded")
		case st.AccessTokenValid:
			fmt.Fprintf(w, "Access token:   valid until %s (in %s)\n", st.AccessTokenExpiry.Local().Format(time.RFC3339), st.AccessTokenExpiry.Sub(now).Round(time.Minute))
		default:
			fmt.Fprintf(w, "Access token:   expired %s (refreshed when needed)\n", st.AccessTokenExpiry.Local().Format(time.RFC3339))
		}
		scopes := strings.Join(st.Scopes, ", ")
		if scopes == "" {
			scopes = "not recorded"
		}
		fmt.Fprintf(w, "Granted:        %s\n", scopes)
		if len(st.MissingScopes) > 0 {
			fmt.Fprintf(w, "Not granted:    %s\n", strings.Join(st.MissingScopes, ", "))
		}
		fmt.Fprintf(w, "Access type:    %s\n", st.AccessType)
		if st.GrantedAt != nil {
			fmt.Fprintf(w, "Signed in:      %s\n", st.GrantedAt.Local().Format(time.RFC3339))
		}
	}
	if st.CanExport {
		fmt.Fprintln(w, "Export:         ready")
	} else {
		fmt.Fprintf(w, "Export:         NOT READY: %s\n", st.Problem)
	}
	for _, warn := range st.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warn)
	}
}

func newAuthResetCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Revoke the Google sign-in and remove the saved token",
		Long: `reset asks the Data Portability API to revoke this OAuth client's access to
your Google account (authorization:reset) and removes the saved token.

When Google cannot be reached, the token is removed all the same and a warning
says so; you can then remove the access by hand at
https://myaccount.google.com/permissions.`,
		Example: `  locations-worker auth reset`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config(cmd)
			if err != nil {
				return err
			}
			log := a.logger(cfg, a.stderr)
			oc, cerr := auth.LoadCredentials(cfg.CredentialsFile)
			if cerr != nil {
				oc = nil
			}
			res, err := auth.Reset(cmd.Context(), oc, cfg.TokenFile, cfg.PortabilityURL, nil, log)
			if err != nil {
				return err
			}
			switch {
			case !res.HadToken:
				fmt.Fprintf(a.stdout, "No saved token at %s: nothing to reset.\n", cfg.TokenFile)
			case res.Revoked:
				fmt.Fprintf(a.stdout, "Google access revoked and %s removed.\n", cfg.TokenFile)
			case errors.Is(res.RevokeErr, auth.ErrGrantRevoked):
				fmt.Fprintf(a.stdout, "Google had already revoked this sign-in; %s removed.\n", cfg.TokenFile)
			default:
				fmt.Fprintf(a.stderr, "Warning: could not revoke the access at Google (%v).\n", res.RevokeErr)
				fmt.Fprintln(a.stderr, "Remove it by hand at https://myaccount.google.com/permissions if you want it gone.")
				fmt.Fprintf(a.stdout, "%s removed.\n", cfg.TokenFile)
			}
			return nil
		},
	}
	config.BindFlags(cmd.Flags(), "credentials", "token-file", "dataportability-url")
	return cmd
}

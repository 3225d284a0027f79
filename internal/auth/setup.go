package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

// DefaultTimeout is how long Setup waits for the user to sign in.
const DefaultTimeout = 5 * time.Minute

// ErrTimeout means the user did not finish signing in within the time limit.
var ErrTimeout = errors.New("timed out waiting for the Google sign-in")

// ErrAccessDenied means the user declined on Google's consent page.
var ErrAccessDenied = errors.New("Google did not grant access")

// ErrStateMismatch means an authorization response did not carry the state
// of the running setup: it belongs to another attempt or was forged.
var ErrStateMismatch = errors.New("the sign-in response does not belong to this setup (wrong or missing state)")

// SetupOptions configures Setup.
type SetupOptions struct {
	Client         *Client
	Resources      []string // Data Portability resource groups, like "saved.collections"
	TokenFile      string
	PortabilityURL string        // base URL of the Data Portability API
	Port           int           // callback port on 127.0.0.1; 0 picks a free one (Desktop clients only)
	Timeout        time.Duration // time limit for signing in; 0 means DefaultTimeout
	Manual         bool          // no listener: the user pastes the redirect URL (or the code) on In

	// OpenBrowser opens a URL in the user's browser; nil only prints it.
	OpenBrowser func(url string) error
	In          io.Reader // read in Manual mode
	Out         io.Writer // messages for the user

	// HTTPClient makes the token and Data Portability requests; nil uses a
	// client with a 30 second timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
}

// SetupResult is what a successful Setup saved and learned.
type SetupResult struct {
	TokenFile     string
	RedirectURL   string
	Scopes        []string   // resource groups granted
	MissingScopes []string   // requested but not granted
	Access        AccessInfo // the accessType:check answer
	AccessType    string     // AccessOneTime, AccessTimeBased or AccessUnknown
	AccessErr     error      // why the access type could not be checked, if it could not
}

// Setup runs the authorization code flow with state and PKCE (S256), asks for
// offline access with a consent prompt, saves the token to opts.TokenFile,
// checks the access type and tells the user on opts.Out what was granted.
func Setup(ctx context.Context, opts SetupOptions) (*SetupResult, error) {
	if opts.Client == nil || opts.Client.Config == nil {
		return nil, errors.New("setup: no OAuth client")
	}
	if len(opts.Resources) == 0 {
		return nil, errors.New("setup: no resource groups to ask for")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	log := opts.Logger
	out := opts.Out

	state, err := randomState()
	if err != nil {
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()

	var ln net.Listener
	port := opts.Port
	if opts.Manual {
		if port == 0 {
			port = DefaultPort
		}
	} else {
		if port == 0 && opts.Client.Kind == KindWeb {
			return nil, fmt.Errorf("--port 0 needs a Desktop app OAuth client: a Web application client only accepts its registered redirect URIs (%s)", strings.Join(opts.Client.RedirectURIs, ", "))
		}
		ln, err = ListenLoopback(port)
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		port = ln.Addr().(*net.TCPAddr).Port
	}
	redirect, warning, err := opts.Client.RedirectURL(port)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		fmt.Fprintf(out, "Warning: %s\n\n", warning)
	}

	cfg := *opts.Client.Config
	cfg.RedirectURL = redirect
	cfg.Scopes = Scopes(opts.Resources)
	authURL := cfg.AuthCodeURL(state,
		oauth2.AccessTypeOffline,
		oauth2.ApprovalForce, // prompt=consent: Google sends a refresh token every time
		oauth2.S256ChallengeOption(verifier),
	)
	log.Debug("starting Google sign-in", "redirect_uri", redirect, "scopes", cfg.Scopes, "manual", opts.Manual)

	waitCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	var code string
	if opts.Manual {
		fmt.Fprintf(out, "Open this URL in a browser on any machine and sign in:\n\n  %s\n\n", authURL)
		fmt.Fprintf(out, "Google then sends the browser to %s, which will not load\n", redirect)
		fmt.Fprintf(out, "there. Copy the whole address from the browser's address bar (or just the\ncode= value) and paste it here, then press Enter:\n")
		code, err = readPasted(waitCtx, opts.In, state)
	} else {
		code, err = waitForCallback(waitCtx, ln, state, func() {
			opened := false
			if opts.OpenBrowser != nil {
				if oerr := opts.OpenBrowser(authURL); oerr != nil {
					log.Debug("could not open a browser", "err", oerr)
				} else {
					opened = true
				}
			}
			if opened {
				fmt.Fprintf(out, "Opened your browser to sign in with Google. If it did not open, visit:\n\n  %s\n\n", authURL)
			} else {
				fmt.Fprintf(out, "Open this URL in a browser on this machine and sign in with Google:\n\n  %s\n\n", authURL)
			}
			fmt.Fprintf(out, "Waiting for Google to send the browser back to %s (time limit %s)...\n", redirect, opts.Timeout)
		}, log)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			hint := "run setup again; pass --timeout to wait longer"
			if !opts.Manual {
				hint += ", or --manual on a machine without a browser"
			}
			return nil, fmt.Errorf("%w: no answer within %s: %s", ErrTimeout, opts.Timeout, hint)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("setup interrupted: %w", ctx.Err())
		}
		return nil, err
	}
	log.Debug("authorization response received; exchanging the code")

	httpCtx := context.WithValue(ctx, oauth2.HTTPClient, opts.HTTPClient)
	tok, err := cfg.Exchange(httpCtx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, exchangeError(err)
	}
	if tok.RefreshToken == "" {
		fmt.Fprintln(out, "Warning: Google sent no refresh token; exports will stop when the access token expires (about an hour).")
	}
	now := opts.Now().UTC()
	s := &stored{
		Token:    tok,
		Scope:    scopeOf(tok),
		ClientID: cfg.ClientID,
		Grant:    &Grant{GrantedAt: now, AccessType: AccessUnknown},
	}
	if err := writeTokenFile(opts.TokenFile, s); err != nil {
		return nil, err
	}
	log.Debug("saved the Google token", "file", opts.TokenFile, "expiry", tok.Expiry.Format(time.RFC3339))

	res := &SetupResult{TokenFile: opts.TokenFile, RedirectURL: redirect, AccessType: AccessUnknown}
	granted := strings.Fields(s.Scope)
	for _, r := range opts.Resources {
		if s.Scope == "" || slices.Contains(granted, ScopePrefix+r) {
			res.Scopes = append(res.Scopes, r)
		} else {
			res.MissingScopes = append(res.MissingScopes, r)
		}
	}

	client := oauth2.NewClient(httpCtx, oauth2.StaticTokenSource(tok))
	info, err := CheckAccessType(ctx, client, opts.PortabilityURL)
	if err != nil {
		res.AccessErr = err
		log.Debug("could not check the access type", "err", err)
	} else {
		res.Access = info
		res.AccessType = info.Type()
		checked := opts.Now().UTC()
		s.Grant.AccessType = res.AccessType
		s.Grant.OneTimeResources = info.OneTimeResources
		s.Grant.TimeBasedResources = info.TimeBasedResources
		s.Grant.CheckedAt = &checked
		if err := writeTokenFile(opts.TokenFile, s); err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(out, "\nSigned in. Token saved to %s.\n", opts.TokenFile)
	fmt.Fprintln(out, DescribeAccess(res.AccessType, res.AccessErr))
	if len(res.MissingScopes) > 0 {
		return res, fmt.Errorf("Google granted access to %s but not to %s: run setup again and allow every item on Google's page (or set EXPORT_RESOURCES to what you granted)",
			strings.Join(res.Scopes, ", "), strings.Join(res.MissingScopes, ", "))
	}
	return res, nil
}

// DescribeAccess explains an access type in plain words.
func DescribeAccess(accessType string, checkErr error) string {
	switch accessType {
	case AccessOneTime:
		return "Access: ONE-TIME. Google allows a single export with this sign-in, so the daily\n" +
			"export will stop working after the first export. To keep daily exports, run\n" +
			"`locations-worker auth setup` again and, on Google's page, choose to allow\n" +
			"access for 30 or 180 days."
	case AccessTimeBased:
		return "Access: time-based. The daily export can run until the period you chose on\n" +
			"Google's page (30 or 180 days from today) ends; then run\n" +
			"`locations-worker auth setup` again."
	}
	if checkErr != nil {
		return fmt.Sprintf("Access: unknown; the Data Portability API could not be asked (%v).\n"+
			"`locations-worker auth status` shows what is known.", checkErr)
	}
	return "Access: unknown; Google's answer listed none of the requested data."
}

// ListenLoopback listens on 127.0.0.1:port, and nowhere else: the callback
// carries an authorization code, so it must not be reachable from the
// network. Port 0 picks a free port.
func ListenLoopback(port int) (net.Listener, error) {
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("port %d is not a port number", port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("port %d on 127.0.0.1 is in use: stop what uses it, or pass --port with another port registered for your OAuth client", port)
		}
		return nil, fmt.Errorf("listen for the sign-in callback: %w", err)
	}
	return ln, nil
}

// waitForCallback serves the callback on ln until a response with the right
// state arrives or ctx ends. ready runs once the listener serves.
func waitForCallback(ctx context.Context, ln net.Listener, state string, ready func(), log *slog.Logger) (string, error) {
	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	send := func(r result) {
		select {
		case results <- r:
		default:
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(CallbackPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			log.Warn("ignored a sign-in callback with a wrong or missing state")
			page(w, http.StatusBadRequest, "Not from this setup",
				"This sign-in response does not belong to the setup running now (wrong or missing state), so it was ignored. Use the link printed by the running `locations-worker auth setup`.")
			return
		}
		if e := q.Get("error"); e != "" {
			page(w, http.StatusForbidden, "Access not granted",
				"Google did not grant access ("+e+"). Nothing was saved. Run `locations-worker auth setup` again to retry.")
			send(result{err: fmt.Errorf("%w (%s): nothing was saved; run setup again to retry", ErrAccessDenied, safeParam(e))})
			return
		}
		code := q.Get("code")
		if code == "" {
			page(w, http.StatusBadRequest, "No code", "Google's answer carried no authorization code. Run `locations-worker auth setup` again.")
			send(result{err: errors.New("Google's answer carried no authorization code")})
			return
		}
		page(w, http.StatusOK, "Signed in", "locations-worker received your sign-in. You can close this tab and go back to the terminal.")
		send(result{code: code})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // lets the last page reach the browser
		<-served
	}()
	log.Debug("listening for the sign-in callback", "addr", ln.Addr().String())
	ready()
	select {
	case r := <-results:
		return r.code, r.err
	case err := <-served:
		return "", fmt.Errorf("sign-in callback server stopped: %w", err)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>locations-worker: %[1]s</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;line-height:1.5}</style>
</head><body><h1>%[1]s</h1><p>%[2]s</p></body></html>
`, html.EscapeString(title), html.EscapeString(msg))
}

// readPasted reads one line from in and extracts the code from it.
func readPasted(ctx context.Context, in io.Reader, state string) (string, error) {
	if in == nil {
		return "", errors.New("manual mode needs standard input")
	}
	type line struct {
		s   string
		err error
	}
	lines := make(chan line, 1)
	go func() {
		s, err := bufio.NewReaderSize(in, 16<<10).ReadString('\n')
		lines <- line{s, err}
	}()
	select {
	case l := <-lines:
		if l.err != nil && !errors.Is(l.err, io.EOF) {
			return "", fmt.Errorf("read the pasted answer: %w", l.err)
		}
		return parsePasted(l.s, state)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// parsePasted extracts the authorization code from what the user pasted: the
// redirect URL, its query string, or the bare code. A URL must carry the
// setup's state. Errors never repeat the input, which holds the code.
func parsePasted(input, state string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", errors.New("nothing was pasted: paste the address Google sent the browser to, or its code= value")
	}
	if len(s) > 8192 {
		return "", errors.New("the pasted text is too long to be a redirect URL or a code")
	}
	looksLikeURL := strings.Contains(s, "://") || strings.ContainsAny(s, "?&=")
	if !looksLikeURL {
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/-_.~+%", r)) {
				return "", errors.New("the pasted text is neither a redirect URL nor an authorization code")
			}
		}
		code, err := url.QueryUnescape(s)
		if err != nil {
			return "", errors.New("the pasted code is not validly escaped")
		}
		return code, nil
	}
	query := s
	if i := strings.IndexByte(s, '?'); i >= 0 {
		query = s[i+1:]
	}
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query = query[:i]
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", errors.New("the pasted URL cannot be parsed: copy the whole address from the browser")
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
		return "", ErrStateMismatch
	}
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("%w (%s): nothing was saved; run setup again to retry", ErrAccessDenied, safeParam(e))
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("the pasted URL has no code= value: copy the whole address from the browser")
	}
	return code, nil
}

// safeParam shortens an error parameter from Google for messages.
func safeParam(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// exchangeError describes a failed code exchange without the response body.
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		switch re.ErrorCode {
		case "invalid_grant":
			return errors.New("Google refused the authorization code (invalid_grant): it expired, was already used, or the PKCE check failed; run setup again")
		case "invalid_client", "unauthorized_client":
			return fmt.Errorf("Google refused the OAuth client (%s): check that credentials.json is the current file for this client", re.ErrorCode)
		case "redirect_uri_mismatch":
			return errors.New("Google refused the redirect URI (redirect_uri_mismatch): register it for the OAuth client in the console")
		}
		code := re.ErrorCode
		if code == "" {
			code = "no error code"
		}
		return fmt.Errorf("exchange the authorization code: HTTP %d (%s)", status, code)
	}
	return fmt.Errorf("exchange the authorization code: %w", err)
}

func randomState() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

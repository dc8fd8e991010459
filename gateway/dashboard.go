package gateway

// The node's local web dashboard: configuration, the server's lifecycle,
// routing and the middleware every response goes through. Logins, sessions
// and CSRF are in dashboard_auth.go, the HTML pages in dashboard_pages.go,
// the JSON API in dashboard_api.go, the QR code in dashboard_qr.go.

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/toxmail/toxmail/internal/loglimit"
)

// Defaults and limits of DashboardConfig.
const (
	DefaultDashboardAddr             = "127.0.0.1:8025"
	DefaultDashboardSessionTTL       = 12 * time.Hour
	DefaultDashboardAuthFailureDelay = time.Second
	DashboardMinTokenLen             = 32

	dashMaxTokenLen       = 1024
	dashMaxSessionTTL     = 30 * 24 * time.Hour
	dashMaxFailureDelay   = 30 * time.Second
	dashFailureDelayCap   = 5 * time.Second  // the escalated delay never exceeds this
	dashMaxFailureQueue   = 30 * time.Second // wrong tokens due later than this are refused (429)
	dashMaxBody           = 64 << 10         // bytes of a form or JSON request
	dashMaxSessions       = 64               // the oldest session goes beyond this
	dashMaxFailureIPs     = 4096             // remote addresses tracked for failed logins
	dashFailureMemory     = 15 * time.Minute
	dashBackendTimeout    = 20 * time.Second // AddContact (DNS)
	dashReadHeaderTimeout = 10 * time.Second
)

// DashboardConfig configures a Dashboard. Every zero field takes the
// default named after it; Validate reports the first field out of range.
type DashboardConfig struct {
	// Addr is the TCP address ListenAndServe binds. Default
	// "127.0.0.1:8025". The dashboard speaks plain HTTP, so Validate
	// refuses an address that is not loopback (an IP in 127.0.0.0/8 or
	// ::1, or "localhost") unless AllowRemote is set. Without AllowRemote
	// the dashboard also answers only requests whose Host is loopback,
	// which defeats DNS rebinding.
	Addr string
	// AllowRemote lets Addr be a non-loopback address. RISK: the token and
	// the session cookie then cross the network in the clear.
	AllowRemote bool
	// Token is the login secret, typed into the login page or sent as
	// "Authorization: Bearer <token>" to /api/. Required: at least 32
	// and at most 1024 characters, printable ASCII without spaces.
	Token string
	// Logger receives the dashboard's log. The token and session ids are
	// never logged. Nil discards.
	Logger *slog.Logger
	// Now is the clock for ages, session expiry and login throttling; nil
	// means time.Now.
	Now func() time.Time
	// SessionTTL is how long a login lasts. Default 12 h, range
	// [1 min, 30 days].
	SessionTTL time.Duration
	// AuthFailureDelay throttles token guessing: the answer to the n-th
	// wrong token in a row from one remote address is delayed by
	// AuthFailureDelay × 2^(n-1), at most 5 s, after the answer to the
	// one before, so parallel guesses are answered one at a time; a wrong
	// token that would wait more than 30 s is refused at once (429). The
	// right token is always accepted at once: on loopback every local
	// program shares one address, and a stray wrong token must not lock
	// the user out. Default 1 s; negative turns it off (tests); at most
	// 30 s.
	AuthFailureDelay time.Duration
}

func (c DashboardConfig) withDefaults() DashboardConfig {
	if c.Addr == "" {
		c.Addr = DefaultDashboardAddr
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultDashboardSessionTTL
	}
	if c.AuthFailureDelay == 0 {
		c.AuthFailureDelay = DefaultDashboardAuthFailureDelay
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks c after filling in defaults and names the first field
// out of range. It never prints the token.
func (c DashboardConfig) Validate() error {
	c = c.withDefaults()
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("gateway: DashboardConfig.Addr %q: want host:port: %v", c.Addr, err)
	}
	if !c.AllowRemote && !isLoopbackHost(host) {
		return fmt.Errorf("gateway: DashboardConfig.Addr %q is not a loopback address: the dashboard has no TLS, "+
			"so the token and session would cross the network in the clear; listen on 127.0.0.1, "+
			"or set AllowRemote if you accept that risk", c.Addr)
	}
	switch {
	case len(c.Token) < DashboardMinTokenLen:
		return fmt.Errorf("gateway: DashboardConfig.Token is %d characters, want at least %d (a long random secret)",
			len(c.Token), DashboardMinTokenLen)
	case len(c.Token) > dashMaxTokenLen:
		return fmt.Errorf("gateway: DashboardConfig.Token is %d characters, at most %d", len(c.Token), dashMaxTokenLen)
	case strings.IndexFunc(c.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		return errors.New("gateway: DashboardConfig.Token must be printable ASCII without spaces")
	case c.SessionTTL < time.Minute || c.SessionTTL > dashMaxSessionTTL:
		return fmt.Errorf("gateway: DashboardConfig.SessionTTL %v out of range [1m, 720h]", c.SessionTTL)
	case c.AuthFailureDelay > dashMaxFailureDelay:
		return fmt.Errorf("gateway: DashboardConfig.AuthFailureDelay %v out of range (at most 30s; negative: none)",
			c.AuthFailureDelay)
	}
	return nil
}

//go:embed templates/*.html
var dashTemplateFS embed.FS

//go:embed static/*.css
var dashStaticFS embed.FS

// Dashboard is the node's local web dashboard: the node's Tox ID (as text
// and QR code), contacts and friend requests, the outbox and what the node
// holds for others, as HTML pages that work without JavaScript, and the
// same as JSON under /api/ for the CLI.
//
// Pages need a login with the token, which starts a server-side session
// (an HttpOnly, SameSite=Strict cookie). Every form carries the session's
// CSRF token; /api/ also takes "Authorization: Bearer <token>". It is safe
// for concurrent use.
type Dashboard struct {
	cfg      DashboardConfig
	b        DashboardBackend
	log      *slog.Logger
	tokenSum [sha256.Size]byte
	pages    map[string]*template.Template
	handler  http.Handler
	srv      *http.Server

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]*dashSession
	failures map[string]*dashFailures
	// refusedLog spaces out the warnings of wrong tokens refused at once
	// (429), which cost an attacker nothing to send.
	refusedLog loglimit.Limit
	addr       net.Addr
}

// NewDashboard returns a dashboard over b with cfg (zero fields take
// defaults).
func NewDashboard(cfg DashboardConfig, b DashboardBackend) (*Dashboard, error) {
	if b == nil {
		return nil, errors.New("gateway: NewDashboard needs a DashboardBackend")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pages, err := parseDashboardPages()
	if err != nil {
		return nil, err
	}
	d := &Dashboard{
		cfg:      cfg,
		b:        b,
		log:      log.With("component", "dashboard"),
		tokenSum: sha256.Sum256([]byte(cfg.Token)),
		pages:    pages,
		sessions: make(map[[sha256.Size]byte]*dashSession),
		failures: make(map[string]*dashFailures),
	}
	d.handler = d.routes()
	d.srv = &http.Server{
		Addr:              cfg.Addr,
		Handler:           d.handler,
		ReadHeaderTimeout: dashReadHeaderTimeout,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    dashMaxBody,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	return d, nil
}

// Handler returns the dashboard's HTTP handler, for tests or to mount it
// in another server.
func (d *Dashboard) Handler() http.Handler { return d.handler }

// ListenAndServe listens on the configured Addr and serves it until
// Shutdown, when it returns http.ErrServerClosed.
func (d *Dashboard) ListenAndServe() error {
	l, err := net.Listen("tcp", d.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gateway: dashboard listen: %w", err)
	}
	return d.Serve(l)
}

// Serve serves HTTP on l until Shutdown, when it returns
// http.ErrServerClosed. It does not check l's address: AllowRemote guards
// only Addr.
func (d *Dashboard) Serve(l net.Listener) error {
	d.mu.Lock()
	if d.addr == nil {
		d.addr = l.Addr()
	}
	d.mu.Unlock()
	d.log.Info("dashboard listening", "addr", l.Addr().String())
	return d.srv.Serve(l)
}

// Shutdown stops the server gracefully: it stops accepting connections and
// waits, until ctx ends, for requests in progress; then it closes the
// connections still open and returns ctx's error.
func (d *Dashboard) Shutdown(ctx context.Context) error {
	err := d.srv.Shutdown(ctx)
	if ctx.Err() != nil {
		d.srv.Close()
	}
	return err
}

// Addr returns the address of the first listener Serve was given, or nil
// before that.
func (d *Dashboard) Addr() net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.addr
}

// routes builds the handler: every route, behind the common middleware.
func (d *Dashboard) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(dashStaticFS, "static") // cannot fail: the directory is embedded
	mux.Handle("GET /static/", staticHandler(http.StripPrefix("/static/", http.FileServerFS(static))))

	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.login)
	mux.HandleFunc("POST /logout", d.page(d.logout))

	mux.HandleFunc("GET /{$}", d.page(d.overviewPage))
	mux.HandleFunc("GET /contacts", d.page(d.contactsPage))
	mux.HandleFunc("GET /outbox", d.page(d.outboxPage))
	mux.HandleFunc("GET /relay", d.page(d.relayPage))
	mux.HandleFunc("GET /qr.svg", d.page(d.qrSVG))
	mux.HandleFunc("GET /qr.png", d.page(d.qrPNG))
	mux.HandleFunc("POST /contacts", d.page(d.addContactForm))
	mux.HandleFunc("POST /contacts/remove", d.page(d.removeContactForm))
	mux.HandleFunc("POST /requests/approve", d.page(d.requestForm(true)))
	mux.HandleFunc("POST /requests/deny", d.page(d.requestForm(false)))

	mux.HandleFunc("GET /api/status", d.api(d.apiStatus))
	mux.HandleFunc("GET /api/contacts", d.api(d.apiContacts))
	mux.HandleFunc("POST /api/contacts", d.api(d.apiAddContact))
	mux.HandleFunc("DELETE /api/contacts/{name}", d.api(d.apiRemoveContact))
	mux.HandleFunc("GET /api/requests", d.api(d.apiRequests))
	mux.HandleFunc("POST /api/requests/{key}/approve", d.api(d.apiRequest(true)))
	mux.HandleFunc("POST /api/requests/{key}/deny", d.api(d.apiRequest(false)))
	mux.HandleFunc("GET /api/outbox", d.api(d.apiOutbox))
	mux.HandleFunc("GET /api/relay", d.api(d.apiRelay))
	mux.HandleFunc("/api/", d.api(func(w http.ResponseWriter, r *http.Request, _ *dashSession) {
		if allow := allowedMethods(mux, r); allow != "" {
			w.Header().Set("Allow", allow)
			writeAPIError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+": use "+allow)
			return
		}
		writeAPIError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	}))
	mux.HandleFunc("/", d.notFound)
	return d.common(mux)
}

// allowedMethods lists the methods that another API route takes on r's
// path ("" if none), for a JSON 405 in place of the catch-all's 404.
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/api/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// common wraps every response: security headers, the Host check, a body
// size limit, and recovery from a panicking backend.
func (d *Dashboard) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; "+
			"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if !d.cfg.AllowRemote && !isLoopbackHost(requestHostname(r.Host)) {
			// A page on another site whose name now resolves to 127.0.0.1
			// (DNS rebinding) sends its own name as Host.
			http.Error(w, "this dashboard answers only on a loopback address", http.StatusMisdirectedRequest)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, dashMaxBody)
		}
		rw := &dashWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				d.log.Error("dashboard handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(v))
				if !rw.wrote {
					if strings.HasPrefix(r.URL.Path, "/api/") {
						writeAPIError(rw, http.StatusInternalServerError, "internal error")
					} else {
						http.Error(rw, "internal error", http.StatusInternalServerError)
					}
				}
			}
		}()
		next.ServeHTTP(rw, r)
	})
}

// dashWriter records whether a response has begun.
type dashWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *dashWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *dashWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *dashWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// staticHandler serves the embedded files (no directory listing), and
// lets the browser keep them but check them again.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// requestHostname returns the host part of a Host header, without port or
// IPv6 brackets.
func requestHostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// now reads the configured clock.
func (d *Dashboard) now() time.Time { return d.cfg.Now() }

// parseDashboardPages parses one template set per page: the layout plus
// the page's own "content".
func parseDashboardPages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(dashFuncs).ParseFS(dashTemplateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("gateway: dashboard templates: %w", err)
	}
	pages := make(map[string]*template.Template)
	for _, name := range []string{"login", "overview", "contacts", "outbox", "relay", "notfound"} {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(dashTemplateFS, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: dashboard template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

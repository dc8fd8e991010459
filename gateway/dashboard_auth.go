package gateway

// Logins, sessions, CSRF and login throttling for the dashboard.
//
// A login compares the SHA-256 of the typed token with that of the
// configured one in constant time, and starts a session: a random 32-byte
// id in an HttpOnly, SameSite=Strict cookie, looked up by its SHA-256 in a
// server-side map, with an absolute expiry. Each session has its own CSRF
// token (synchronizer token pattern), a hidden input in every form and the
// X-CSRF-Token header for cookie-authenticated API calls. The login form,
// which has no session yet, uses a double-submit cookie instead. State-
// changing requests are also refused when the browser says they come from
// another site (Sec-Fetch-Site, Origin, Referer).

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	dashSessionCookie = "toxmail_session"
	dashLoginCookie   = "toxmail_login" // the login form's double-submit CSRF token
	dashCSRFField     = "csrf"
	dashCSRFHeader    = "X-CSRF-Token"
)

// dashSession is one login. Its fields other than the immutable ones are
// guarded by Dashboard.mu.
type dashSession struct {
	csrf    string // immutable
	expires time.Time
	created time.Time
	flash   *dashFlash
}

// dashFlash is a message shown once, on the page after a redirect.
type dashFlash struct {
	Error bool
	Text  string
	// Name, ID and Address refill the add-contact form after a failed add.
	Name, ID, Address string
}

// dashFailures counts one remote address's failed logins in a row.
type dashFailures struct {
	n     int
	last  time.Time
	until time.Time // when the answer to the latest failure is due
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenOK compares a presented token with the configured one in constant
// time (over their hashes, so the length does not leak either).
func (d *Dashboard) tokenOK(presented string) bool {
	sum := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(sum[:], d.tokenSum[:]) == 1
}

// session returns the request's valid session, or nil.
func (d *Dashboard) session(r *http.Request) *dashSession {
	c, err := r.Cookie(dashSessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	key := sha256.Sum256([]byte(c.Value))
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sessions[key]
	if s != nil && !d.now().Before(s.expires) {
		delete(d.sessions, key)
		s = nil
	}
	return s
}

// newSession starts a session and sets its cookie on w.
func (d *Dashboard) newSession(w http.ResponseWriter, r *http.Request) {
	id := randomToken()
	now := d.now()
	s := &dashSession{csrf: randomToken(), created: now, expires: now.Add(d.cfg.SessionTTL)}
	d.mu.Lock()
	for k, old := range d.sessions {
		if !now.Before(old.expires) {
			delete(d.sessions, k)
		}
	}
	for len(d.sessions) >= dashMaxSessions {
		var oldest [sha256.Size]byte
		var first *dashSession
		for k, old := range d.sessions {
			if first == nil || old.created.Before(first.created) {
				oldest, first = k, old
			}
		}
		delete(d.sessions, oldest)
	}
	d.sessions[sha256.Sum256([]byte(id))] = s
	d.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: dashSessionCookie, Value: id, Path: "/", MaxAge: int(d.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// dropSession forgets the request's session, if any.
func (d *Dashboard) dropSession(r *http.Request) {
	if c, err := r.Cookie(dashSessionCookie); err == nil {
		key := sha256.Sum256([]byte(c.Value))
		d.mu.Lock()
		delete(d.sessions, key)
		d.mu.Unlock()
	}
}

// endSession forgets the request's session and clears its cookie.
func (d *Dashboard) endSession(w http.ResponseWriter, r *http.Request) {
	d.dropSession(r)
	http.SetCookie(w, &http.Cookie{Name: dashSessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// setFlash keeps a message for the session's next page.
func (d *Dashboard) setFlash(s *dashSession, f dashFlash) {
	d.mu.Lock()
	s.flash = &f
	d.mu.Unlock()
}

// takeFlash returns and clears the session's message.
func (d *Dashboard) takeFlash(s *dashSession) *dashFlash {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

// sameOrigin reports whether a state-changing request may have come from
// the dashboard's own pages: the browser's Sec-Fetch-Site, Origin and
// Referer, when present, must name this origin. Clients that send none of
// them (the CLI, curl) pass; they still need a token.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	// With Referrer-Policy no-referrer, browsers send "Origin: null" for
	// the dashboard's own forms; the CSRF token decides then.
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	return true
}

// csrfOK compares a presented CSRF token with the session's.
func csrfOK(presented, want string) bool {
	return presented != "" && subtle.ConstantTimeCompare([]byte(presented), []byte(want)) == 1
}

// remoteIP is the throttling key of a request: its remote address without
// the port.
func remoteIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// failureWait records a wrong token from ip and returns how long to wait
// before answering it: AuthFailureDelay × 2^(n-1) for the n-th failure in
// a row (at most 5 s), counted from the answer to the previous failure, so
// that wrong tokens sent at once are answered one after another and
// guessing in parallel gains nothing. queued is false, and the failure not
// recorded, when the answer would be more than dashMaxFailureQueue away:
// the caller refuses it at once (429) instead of holding the request.
//
// The right token is never delayed, and it does not clear the record: a
// success says nothing about who sent the wrong ones. Every loopback
// address counts as one (failureSource): a local program may send from
// any of 127.0.0.0/8, and counted apart each address got its own quick
// first guesses.
func (d *Dashboard) failureWait(ip string) (wait time.Duration, queued bool) {
	if d.cfg.AuthFailureDelay < 0 {
		return 0, true
	}
	ip = failureSource(ip)
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.failures[ip]
	if f == nil {
		if len(d.failures) >= dashMaxFailureIPs {
			d.pruneFailures(now)
		}
		f = &dashFailures{}
		d.failures[ip] = f
	}
	if now.Sub(f.last) > dashFailureMemory {
		f.n = 0
	}
	delay := dashFailureDelayCap
	if f.n < 16 {
		delay = min(d.cfg.AuthFailureDelay<<f.n, dashFailureDelayCap)
	}
	due := now
	if f.until.After(now) {
		due = f.until
	}
	due = due.Add(delay)
	if due.Sub(now) > dashMaxFailureQueue {
		return f.until.Sub(now), false
	}
	f.n++
	f.last = now
	f.until = due
	return due.Sub(now), true
}

// failureSource is the key wrong tokens are counted under: "loopback" for
// any loopback address, else the address.
func failureSource(ip string) string {
	if a := net.ParseIP(ip); a != nil && a.IsLoopback() {
		return "loopback"
	}
	return ip
}

// pruneFailures forgets old failures, and if that is not enough, all of
// them; the caller holds d.mu.
func (d *Dashboard) pruneFailures(now time.Time) {
	for ip, f := range d.failures {
		if now.Sub(f.last) > dashFailureMemory {
			delete(d.failures, ip)
		}
	}
	if len(d.failures) >= dashMaxFailureIPs {
		clear(d.failures)
	}
}

// checkToken checks a presented token. The right one is accepted at once
// (status 0), whatever wrong ones came before. A wrong one is answered
// 401 after failureWait's delay, or 429 with the wait to retry after when
// too many wrong ones are already waiting; ctx ending cuts the delay
// short.
func (d *Dashboard) checkToken(ctx context.Context, ip, presented string) (status int, retry time.Duration) {
	if d.tokenOK(presented) {
		return 0, 0
	}
	wait, queued := d.failureWait(ip)
	if !queued {
		if ok, held := d.refusedLog.Allow(d.now()); ok {
			d.log.Warn("dashboard login refused: too many wrong tokens at once", "remote", ip, "not_logged_since_the_last", held)
		}
		return http.StatusTooManyRequests, wait
	}
	d.log.Warn("dashboard login failed", "remote", ip)
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return http.StatusUnauthorized, 0
}

// loginPage shows the login form, or sends a logged-in user home.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if d.session(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.renderLogin(w, r, http.StatusOK, "")
}

// renderLogin renders the login form with a fresh double-submit token.
func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: dashLoginCookie, Value: tok, Path: "/login", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	d.render(w, status, "login", &pageData{Title: "Log in", CSRF: tok, Error: msg})
}

// login checks the token typed into the login form.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		d.forbidden(w, "This login did not come from the dashboard's own page.")
		return
	}
	if err := r.ParseForm(); err != nil {
		d.badForm(w, err)
		return
	}
	c, err := r.Cookie(dashLoginCookie)
	if err != nil || !csrfOK(r.PostFormValue(dashCSRFField), c.Value) {
		d.renderLogin(w, r, http.StatusForbidden, "The login form had expired. Please enter the token again.")
		return
	}
	ip := remoteIP(r)
	switch status, wait := d.checkToken(r.Context(), ip, r.PostFormValue("token")); status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfter(wait))
		d.renderLogin(w, r, status, "Too many wrong tokens at once. Wait "+retryAfter(wait)+" s and try again.")
		return
	case http.StatusUnauthorized:
		d.renderLogin(w, r, status, "Wrong token. Use the token in the [dashboard] section of the node's config file.")
		return
	}
	d.dropSession(r) // a new id at every login: no session fixation
	d.newSession(w, r)
	http.SetCookie(w, &http.Cookie{Name: dashLoginCookie, Value: "", Path: "/login", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	d.log.Info("dashboard login", "remote", ip)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, _ *dashSession) {
	d.endSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// retryAfter formats a wait in whole seconds, rounded up.
func retryAfter(wait time.Duration) string {
	s := int((wait + time.Second - 1) / time.Second)
	return strconv.Itoa(max(s, 1))
}

// page wraps a page or form handler: it needs a session (else redirects to
// /login), and for POST the same origin and the session's CSRF token.
func (d *Dashboard) page(h func(http.ResponseWriter, *http.Request, *dashSession)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := d.session(r)
		if s == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) {
				d.forbidden(w, "This request did not come from the dashboard's own pages.")
				return
			}
			if err := r.ParseForm(); err != nil {
				d.badForm(w, err)
				return
			}
			if !csrfOK(r.PostFormValue(dashCSRFField), s.csrf) {
				d.forbidden(w, "The form had expired or did not come from this dashboard. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, s)
	}
}

// api wraps a JSON handler: it needs "Authorization: Bearer <token>" or a
// session cookie; with the cookie, a state-changing request also needs the
// session's CSRF token in X-CSRF-Token.
func (d *Dashboard) api(h func(http.ResponseWriter, *http.Request, *dashSession)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "" {
			scheme, tok, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="toxmail"`)
				writeAPIError(w, http.StatusUnauthorized, "unsupported Authorization scheme: use Bearer <token>")
				return
			}
			switch status, wait := d.checkToken(r.Context(), remoteIP(r), strings.TrimSpace(tok)); status {
			case http.StatusTooManyRequests:
				w.Header().Set("Retry-After", retryAfter(wait))
				writeAPIError(w, status, "too many wrong tokens at once: wait "+retryAfter(wait)+" s")
				return
			case http.StatusUnauthorized:
				w.Header().Set("WWW-Authenticate", `Bearer realm="toxmail", error="invalid_token"`)
				writeAPIError(w, status, "wrong token")
				return
			}
			h(w, r, nil)
			return
		}
		s := d.session(r)
		if s == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="toxmail"`)
			writeAPIError(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) || !csrfOK(r.Header.Get(dashCSRFHeader), s.csrf) {
				writeAPIError(w, http.StatusForbidden, "missing or wrong "+dashCSRFHeader+" header")
				return
			}
		}
		h(w, r, s)
	}
}

// badForm answers a form that could not be read (too large, malformed).
func (d *Dashboard) badForm(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		d.renderError(w, http.StatusRequestEntityTooLarge, "The form was too large.")
		return
	}
	d.renderError(w, http.StatusBadRequest, "The form could not be read.")
}

// forbidden answers a request that failed the CSRF or origin check.
func (d *Dashboard) forbidden(w http.ResponseWriter, msg string) {
	d.log.Warn("dashboard refused a cross-site or stale request")
	d.renderError(w, http.StatusForbidden, msg)
}

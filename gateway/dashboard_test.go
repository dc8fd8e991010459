package gateway_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
)

func TestDashboardConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gateway.DashboardConfig
		want string // "" for valid
	}{
		{"defaults", gateway.DashboardConfig{Token: dashToken}, ""},
		{"loopback v6", gateway.DashboardConfig{Addr: "[::1]:0", Token: dashToken}, ""},
		{"localhost", gateway.DashboardConfig{Addr: "localhost:8025", Token: dashToken}, ""},
		{"public address", gateway.DashboardConfig{Addr: "192.0.2.1:8025", Token: dashToken}, "not a loopback address"},
		{"all interfaces", gateway.DashboardConfig{Addr: ":8025", Token: dashToken}, "not a loopback address"},
		{"remote allowed", gateway.DashboardConfig{Addr: "0.0.0.0:8025", AllowRemote: true, Token: dashToken}, ""},
		{"no port", gateway.DashboardConfig{Addr: "127.0.0.1", Token: dashToken}, "want host:port"},
		{"no token", gateway.DashboardConfig{}, "Token is 0 characters"},
		{"short token", gateway.DashboardConfig{Token: strings.Repeat("x", 31)}, "at least 32"},
		{"token with space", gateway.DashboardConfig{Token: strings.Repeat("x", 31) + " "}, "printable ASCII"},
		{"short session", gateway.DashboardConfig{Token: dashToken, SessionTTL: time.Second}, "SessionTTL"},
		{"long delay", gateway.DashboardConfig{Token: dashToken, AuthFailureDelay: time.Minute}, "AuthFailureDelay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), dashToken):
				t.Fatalf("error shows the token: %v", err)
			}
			_, nerr := gateway.NewDashboard(tc.cfg, newFakeBackend(time.Now()))
			if (nerr == nil) != (err == nil) {
				t.Fatalf("NewDashboard: got %v, Validate %v", nerr, err)
			}
		})
	}
	if _, err := gateway.NewDashboard(gateway.DashboardConfig{Token: dashToken}, nil); err == nil {
		t.Fatal("NewDashboard without a backend: no error")
	}
}

// Pages redirect to the login form, the API answers 401 in JSON.
func TestDashboardLoginRequired(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	for _, path := range []string{"/", "/contacts", "/outbox", "/relay", "/qr.svg", "/qr.png"} {
		resp, _ := c.get(path)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET %s: got %d to %q, want 303 to /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, _ := c.post("/contacts", url.Values{"name": {"x"}, "id": {resolveTestID(1).String()}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("POST /contacts: got %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/api/status", "/api/contacts", "/api/requests", "/api/outbox", "/api/relay", "/api/nothing"} {
		resp, body := c.api("GET", path, "", "")
		var e struct{ Error string }
		if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("GET %s: got %d %q, want 401 with a JSON error", path, resp.StatusCode, body)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: Content-Type %q", path, resp.Header.Get("Content-Type"))
		}
	}
	if len(f.b.Calls()) != 0 {
		t.Errorf("backend changed without a login: %v", f.b.Calls())
	}
}

func TestDashboardLogin(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	resp, body := c.get("/login")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="token"`) || !strings.Contains(body, `type="password"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}

	resp, body = c.post("/login", url.Values{"csrf": {c.csrf}, "token": {dashToken + "x"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong token") {
		t.Fatalf("wrong token: got %d, want 401 with a message\n%s", resp.StatusCode, body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "toxmail_session" && ck.MaxAge >= 0 {
			t.Fatalf("wrong token set a session cookie")
		}
	}
	// The login form's own CSRF token (a double-submit cookie) is needed.
	resp, _ = c.post("/login", url.Values{"csrf": {"forged"}, "token": {dashToken}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login with a wrong form token: got %d, want 403", resp.StatusCode)
	}
	resp, _ = c.post("/login", url.Values{"csrf": {c.csrf}, "token": {dashToken}}, "Origin", "http://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login from another origin: got %d, want 403", resp.StatusCode)
	}

	resp, _ = c.post("/login", url.Values{"csrf": {c.csrf}, "token": {dashToken}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("right token: got %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "toxmail_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || len(session.Value) < 43 {
		t.Errorf("session cookie: %+v, want HttpOnly, SameSite=Strict, Path=/, 32 random bytes", session)
	}
	if resp, body := c.get("/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, resolveTestID(0xA1).String()) {
		t.Fatalf("overview after login: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/login"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login page when logged in: got %d, want 303 home", resp.StatusCode)
	}

	// Log out: the session is gone on the server, not just the cookie.
	old := session.Value
	resp, _ = c.post("/logout", url.Values{"csrf": {c.csrf}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: "toxmail_session", Value: old})
	if resp, _ := f.client().do(req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session after logout: got %d, want 303 to /login", resp.StatusCode)
	}
}

func TestDashboardSessionExpires(t *testing.T) {
	f := newDashFixture(t, func(c *gateway.DashboardConfig) { c.SessionTTL = time.Hour })
	c := f.client()
	c.login()
	f.clock.Advance(59 * time.Minute)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("before expiry: got %d", resp.StatusCode)
	}
	f.clock.Advance(time.Minute)
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after expiry: got %d, want 303 to /login", resp.StatusCode)
	}
}

func TestDashboardCSRF(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	good := c.csrf
	add := url.Values{"name": {"bob"}, "id": {resolveTestID(0xB0).String()}}
	withToken := func(tok string) url.Values {
		v := url.Values{}
		for k, x := range add {
			v[k] = x
		}
		if tok != "" {
			v.Set("csrf", tok)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"missing token", withToken(""), nil},
		{"wrong token", withToken(good + "x"), nil},
		{"other session's token", withToken("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil},
		{"cross-site Origin", withToken(good), []string{"Origin", "http://evil.example"}},
		{"cross-site Referer", withToken(good), []string{"Referer", "http://evil.example/page"}},
		{"Sec-Fetch-Site cross-site", withToken(good), []string{"Sec-Fetch-Site", "cross-site"}},
		{"Sec-Fetch-Site same-site", withToken(good), []string{"Sec-Fetch-Site", "same-site"}},
	} {
		resp, _ := c.post("/contacts", tc.form, tc.hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if calls := f.b.Calls(); len(calls) != 0 {
		t.Fatalf("backend called despite failed CSRF checks: %v", calls)
	}
	// The dashboard's own form, as a browser sends it with no-referrer.
	resp, _ := c.post("/contacts", withToken(good), "Origin", "null", "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good form: got %d, want 303", resp.StatusCode)
	}
	resp, _ = c.post("/requests/deny", url.Values{"csrf": {good}, "key": {resolveTestID(0xF0).PublicKey().String()}},
		"Origin", f.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form with own Origin: got %d, want 303", resp.StatusCode)
	}

	// The API with a session cookie needs the token in X-CSRF-Token.
	body := `{"name":"eve","id":"` + resolveTestID(0xEE).String() + `"}`
	if resp, _ := c.api("POST", "/api/contacts", "", body); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cookie API POST without X-CSRF-Token: got %d, want 403", resp.StatusCode)
	}
	if resp, _ := c.api("POST", "/api/contacts", "", body, "X-CSRF-Token", "nope"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cookie API POST with a wrong X-CSRF-Token: got %d, want 403", resp.StatusCode)
	}
	if resp, b := c.api("POST", "/api/contacts", "", body, "X-CSRF-Token", good); resp.StatusCode != http.StatusCreated {
		t.Errorf("cookie API POST with X-CSRF-Token: got %d %s, want 201", resp.StatusCode, b)
	}
	if resp, _ := c.api("GET", "/api/contacts", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("cookie API GET: got %d, want 200", resp.StatusCode)
	}
}

func TestDashboardAddContactForm(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	bob := resolveTestID(0xB0)
	resp, _ := c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {" bob "}, "id": {bob.String()}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts" {
		t.Fatalf("add: got %d to %q, want 303 to /contacts", resp.StatusCode, resp.Header.Get("Location"))
	}
	if calls := f.b.Calls(); len(calls) != 1 || calls[0] != "add bob "+bob.String() {
		t.Fatalf("backend calls: %q", calls)
	}
	_, body := c.get("/contacts")
	if !strings.Contains(body, "Added bob") || !strings.Contains(body, `title="`+bob.String()+`"`) {
		t.Fatalf("contacts page after add lacks the message or the new row:\n%s", body)
	}
	if _, body := c.get("/contacts"); strings.Contains(body, "Added bob") {
		t.Error("the message is shown twice")
	}

	// A Tox ID with a mail address beside it reaches the backend whole.
	erin := resolveTestID(0xE0)
	c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {"erin"}, "id": {erin.String()}, "address": {" erin@example.org "}})
	if calls := f.b.Calls(); calls[len(calls)-1] != "add erin "+erin.String()+" erin@example.org" {
		t.Fatalf("add with an address: backend calls %q", calls)
	}

	// By address: the DNS warning.
	c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {"dora"}, "id": {"dora@example.org"}})
	if _, body := c.get("/contacts"); !strings.Contains(body, "not authenticated") || !strings.Contains(body, "tox1 DNS") {
		t.Errorf("DNS contact: no warning:\n%s", body)
	}

	// Errors are shown, and the form keeps what was typed.
	for _, tc := range []struct{ name, id, want string }{
		{"zed", bob.String()[:70], "76 hex digits"},
		{"bob", resolveTestID(0xB1).String(), "already in the address book"},
		{"yan", "yan@nowhere.test", "no tox1 record"},
		{"", bob.String(), "Give both"},
	} {
		c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {tc.name}, "id": {tc.id}})
		_, body := c.get("/contacts")
		if !strings.Contains(body, "flash-error") || !strings.Contains(body, tc.want) {
			t.Errorf("add %q %q: no error %q shown", tc.name, tc.id, tc.want)
		}
		if tc.name != "" && !strings.Contains(body, `value="`+tc.name+`"`) {
			t.Errorf("add %q: the form lost the name", tc.name)
		}
	}

	// Remove.
	resp, _ = c.post("/contacts/remove", url.Values{"csrf": {c.csrf}, "key": {"bob"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: got %d", resp.StatusCode)
	}
	if _, body := c.get("/contacts"); !strings.Contains(body, "Removed bob") || strings.Contains(body, `title="`+bob.String()+`"`) {
		t.Errorf("after remove:\n%s", body)
	}
	c.post("/contacts/remove", url.Values{"csrf": {c.csrf}, "key": {"nobody"}})
	if _, body := c.get("/contacts"); !strings.Contains(body, "no such contact") {
		t.Error("removing an unknown contact: no error shown")
	}
}

func TestDashboardRequestsForm(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	_, body := c.get("/contacts")
	frank := resolveTestID(0xF0).PublicKey().String()
	if !strings.Contains(body, `value="`+frank+`"`) || !strings.Contains(body, "hi, it&#39;s &lt;b&gt;frank&lt;/b&gt;") {
		t.Fatalf("contacts page lacks the request (escaped):\n%s", body)
	}
	resp, _ := c.post("/requests/approve", url.Values{"csrf": {c.csrf}, "key": {strings.ToLower(frank)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: got %d", resp.StatusCode)
	}
	if _, body := c.get("/contacts"); !strings.Contains(body, "Approved") || !strings.Contains(body, "No friend requests") {
		t.Errorf("after approve:\n%s", body)
	}
	c.post("/requests/deny", url.Values{"csrf": {c.csrf}, "key": {frank}})
	if _, body := c.get("/contacts"); !strings.Contains(body, "no such friend request") {
		t.Errorf("deny of an answered request: no error shown")
	}
	c.post("/requests/deny", url.Values{"csrf": {c.csrf}, "key": {"xyz"}})
	if _, body := c.get("/contacts"); !strings.Contains(body, "malformed public key") {
		t.Errorf("deny of a malformed key: no error shown")
	}
	want := []string{"approve " + frank, "deny " + frank}
	if got := f.b.Calls(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("backend calls: got %q, want %q", got, want)
	}
}

func TestDashboardPages(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"My Tox ID", resolveTestID(0xA1).String(), `src="/qr.svg"`, "alice-node", "contacts online",
			"friend request waiting", "Recent mail", "badge-delivered", `<span class="num">2</span><span class="lbl">mails in the inbox · 3.0 MiB of 4.0 GiB</span>`}},
		{"/contacts", []string{"carol", "carol@example.org", resolveTestID(0xC0).String(), "badge-online", "badge-mesh",
			"badge-plain", "tox1 DNS", "friend", "3 h ago", "never", "Add contact", "Approve", "Deny"}},
		{"/outbox", []string{`http-equiv="refresh" content="5"`, ">delivered<", ">offered<", ">queued<", ">expired<",
			"carol", resolveTestID(0x99).PublicKey().Short(), "1.5 KiB", "&lt;m0@example.org&gt;"}},
		{"/relay", []string{`<span class="num">3</span>`, "envelopes held", "7.0 KiB", "&lt; 1 h", "1–6 h", "&gt; 3 d", "frames in", "relayed", "mesh peers"}},
	} {
		resp, body := c.get(tc.path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: got %d %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", tc.path, w)
			}
		}
		if strings.Contains(body, dashToken) {
			t.Errorf("GET %s shows the token", tc.path)
		}
	}
	if resp, body := c.get("/static/style.css"); resp.StatusCode != http.StatusOK || !strings.Contains(body, ".badge-delivered") {
		t.Errorf("style sheet: %d", resp.StatusCode)
	}
	if resp, _ := c.get("/static/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("static directory listing: got %d, want 404", resp.StatusCode)
	}
	if resp, _ := c.get("/nothing-here"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown page: got %d", resp.StatusCode)
	}
}

// The overview warns when the inbox is nearly full, and says what a full
// one means.
func TestDashboardInboxTile(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	for _, tc := range []struct {
		usage inbox.Usage
		want  string
	}{
		{inbox.Usage{Mails: 1, Bytes: 100}, `<div class="tile" id="inbox"><span class="num">1</span><span class="lbl">mail in the inbox · 100 B</span>`},
		{inbox.Usage{Mails: 9, Bytes: 950, Quota: 1000}, `<div class="tile tile-alert" id="inbox"><span class="num">9</span><span class="lbl">mails in the inbox · 950 B of 1000 B: nearly full</span>`},
		{inbox.Usage{Mails: 9, Bytes: 1000, Quota: 1000}, `<div class="tile tile-bad" id="inbox"><span class="num">9</span><span class="lbl">mails in the inbox · 1000 B of 1000 B: full, so mail for you waits with its senders until you delete some</span>`},
		// A large mail that does not fit, far from full.
		{inbox.Usage{Mails: 2, Bytes: 10 << 20, Quota: 16 << 20, Short: 2 << 20}, `<div class="tile tile-bad" id="inbox"><span class="num">2</span><span class="lbl">mails in the inbox · 10.0 MiB of 16.0 MiB: a mail for you does not fit and waits with its senders until you delete at least 2.0 MiB</span>`},
	} {
		f.b.setInbox(tc.usage)
		if _, body := c.get("/"); !strings.Contains(body, tc.want) {
			i := strings.Index(body, `id="inbox"`)
			t.Errorf("inbox %+v: the overview lacks\n%s\nit has\n%s", tc.usage, tc.want, body[max(i-40, 0):min(i+300, len(body))])
		}
	}
}

func TestDashboardSecurityHeaders(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	check := func(what string, resp *http.Response, noStore bool) {
		t.Helper()
		for h, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"X-Content-Type-Options":  "nosniff",
		} {
			if got := resp.Header.Get(h); !strings.Contains(got, want) {
				t.Errorf("%s: %s is %q, want %q", what, h, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'none'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", what, csp)
		}
		if noStore && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", what, resp.Header.Get("Cache-Control"))
		}
	}
	resp, _ := c.get("/login")
	check("login page", resp, true)
	resp, _ = c.post("/login", url.Values{"csrf": {c.csrf}, "token": {"wrong"}})
	check("failed login", resp, true)
	resp, _ = c.api("GET", "/api/status", "", "")
	check("API 401", resp, true)
	c.login()
	for _, p := range []string{"/", "/contacts", "/outbox", "/relay", "/qr.svg"} {
		resp, _ := c.get(p)
		check(p, resp, true)
	}
	resp, _ = c.get("/static/style.css")
	check("style sheet", resp, false)
	resp, _ = c.api("GET", "/api/status", dashToken, "")
	check("API", resp, true)
}

func TestDashboardAPI(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	get := func(path string, v any) {
		t.Helper()
		resp, body := c.api("GET", path, dashToken, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
	}

	var status struct {
		Identity struct{ Name, ToxID, PublicKey string } `json:"identity"`
		Counts   struct {
			Contacts, Friends, Online, Requests int
			Outbox                              map[string]int
		} `json:"counts"`
		Held struct {
			Count int
			Bytes int64
			ByAge []struct {
				Label string
				Count int
			} `json:"by_age"`
		} `json:"held"`
		Inbox struct {
			Mails        int
			Bytes, Quota int64
			Full         bool
		} `json:"inbox"`
		Stats map[string]int64 `json:"stats"`
	}
	get("/api/status", &status)
	_, raw := c.api("GET", "/api/status", dashToken, "")
	for _, k := range []string{`"tox_id": "` + resolveTestID(0xA1).String(), `"public_key": "` + resolveTestID(0xA1).PublicKey().String(), `"refusing": false`, `"short_bytes": 0`} {
		if !strings.Contains(raw, k) {
			t.Errorf("/api/status lacks %s:\n%s", k, raw)
		}
	}
	if status.Identity.Name != "alice-node" || status.Counts.Contacts != 2 || status.Counts.Friends != 1 || status.Counts.Online != 1 || status.Counts.Requests != 1 {
		t.Errorf("status: %+v", status)
	}
	if o := status.Counts.Outbox; o["queued"] != 1 || o["offered"] != 1 || o["delivered"] != 1 || o["expired"] != 1 {
		t.Errorf("outbox counts: %v", o)
	}
	if status.Held.Count != 3 || status.Held.Bytes != 7144 || len(status.Held.ByAge) != 5 || status.Held.ByAge[4].Label != "> 3 d" {
		t.Errorf("held: %+v", status.Held)
	}
	if in := status.Inbox; in.Mails != 2 || in.Bytes != 3<<20 || in.Quota != 4<<30 || in.Full {
		t.Errorf("inbox: %+v", in)
	}
	if status.Stats["frames_in"] != 12 || status.Stats["mesh_peers"] != 1 || status.Stats["held_bytes"] != 7144 {
		t.Errorf("stats: %v", status.Stats)
	}

	var outbox []map[string]any
	get("/api/outbox", &outbox)
	if len(outbox) != 4 {
		t.Fatalf("outbox: %v", outbox)
	}
	first := outbox[0]
	if first["status"] != "delivered" || first["to_name"] != "carol" || first["to"] != resolveTestID(0xC0).PublicKey().String() ||
		first["id"] != "01"+strings.Repeat("00", 30)+"ee" || first["label"] != "<m0@example.org>" {
		t.Errorf("outbox[0]: %v", first)
	}
	for _, k := range []string{"created", "expiry", "offered", "delivered"} {
		if _, err := time.Parse(time.RFC3339, first[k].(string)); err != nil {
			t.Errorf("outbox[0].%s: %v", k, err)
		}
	}
	if _, ok := outbox[1]["delivered"]; ok || outbox[1]["status"] != "offered" || outbox[2]["status"] != "queued" ||
		outbox[3]["status"] != "expired" || outbox[3]["to_name"] != nil {
		t.Errorf("outbox: %v", outbox)
	}

	var contacts []map[string]any
	get("/api/contacts", &contacts)
	if len(contacts) != 3 || contacts[0]["name"] != "carol" || contacts[0]["tox_id"] != resolveTestID(0xC0).String() ||
		contacts[0]["kind"] != "mesh" || contacts[0]["online"] != true || contacts[1]["source"] != "dns" ||
		contacts[2]["public_key"] != resolveTestID(0xE0).PublicKey().String() || contacts[2]["tox_id"] != nil {
		t.Errorf("contacts: %v", contacts)
	}
	var requests []map[string]any
	get("/api/requests", &requests)
	if len(requests) != 1 || requests[0]["message"] != "hi, it's <b>frank</b>" {
		t.Errorf("requests: %v", requests)
	}
	var relay map[string]any
	get("/api/relay", &relay)
	if relay["held"] == nil || relay["stats"] == nil {
		t.Errorf("relay: %v", relay)
	}

	// Changes.
	bob := resolveTestID(0xB0)
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/api/contacts", `{"name":"bob","id":"` + bob.String() + `"}`, 201, `"tox_id": "` + bob.String()},
		{"POST", "/api/contacts", `{"name":"bob","id":"` + bob.String() + `"}`, 409, "already in the address book"},
		{"POST", "/api/contacts", `{"name":"zed","id":"` + bob.String()[:75] + `"}`, 400, "76 hex digits"},
		{"POST", "/api/contacts", `{"name":"dora","id":"dora@example.org"}`, 201, `"source": "dns"`},
		{"POST", "/api/contacts", `{"name":"erin","id":"` + resolveTestID(0xE0).String() + `","address":"erin@example.org"}`, 201, `"address": "erin@example.org"`},
		{"POST", "/api/contacts", `{"name":"x"}`, 400, "required"},
		{"POST", "/api/contacts", `{"name":"x","id":"y","extra":1}`, 400, "unknown field"},
		{"POST", "/api/contacts", `not json`, 400, "JSON"},
		{"POST", "/api/contacts", `{"name":"zz","id":"nope"} GARBAGE`, 400, "nothing after it"},
		{"POST", "/api/contacts", `{"name":"zz","id":"nope"}{"name":"yy","id":"nope"}`, 400, "nothing after it"},
		{"POST", "/api/contacts", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too large"},
		{"DELETE", "/api/contacts/bob", "", 200, `"removed": "bob"`},
		{"DELETE", "/api/contacts/bob", "", 404, "no such contact"},
		{"DELETE", "/api/contacts/dora@example.org", "", 200, "dora@example.org"},
		{"POST", "/api/requests/" + resolveTestID(0xF0).PublicKey().String() + "/approve", "", 200, `"status": "approved"`},
		{"POST", "/api/requests/" + resolveTestID(0xF0).PublicKey().String() + "/deny", "", 404, "no such friend request"},
		{"POST", "/api/requests/zz/deny", "", 400, "malformed public key"},
		{"GET", "/api/requests/x/approve", "", 405, "use POST"},
		{"PUT", "/api/contacts", "{}", 405, "use GET, POST"},
		{"GET", "/api/nothing", "", 404, "no such API endpoint"},
	} {
		resp, body := c.api(tc.method, tc.path, dashToken, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: got %d %s, want %d with %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
		if tc.status >= 400 {
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("%s %s: error body is not {\"error\": ...}: %s", tc.method, tc.path, body)
			}
		}
	}
	for _, auth := range []string{"Bearer wrong", "Basic " + dashToken, "Bearer"} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/status", nil)
		req.Header.Set("Authorization", auth)
		if resp, _ := c.do(req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: got %d, want 401", strings.Fields(auth)[0], resp.StatusCode)
		}
	}
}

func TestDashboardQR(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	resp, body := c.get("/qr.svg")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("SVG: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var svg struct {
		XMLName xml.Name
		ViewBox string `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(body), &svg); err != nil {
		t.Fatalf("SVG does not parse: %v", err)
	}
	// "tox:" and 76 hex digits need QR version 5 at level M: 37 modules
	// and the quiet zone, 45; the overview shows it 5 px a module.
	if svg.XMLName.Local != "svg" || svg.XMLName.Space != "http://www.w3.org/2000/svg" || svg.ViewBox != "0 0 45 45" ||
		strings.Count(svg.Path.D, "M") < 100 {
		t.Fatalf("SVG: %s %q, %d runs", svg.XMLName.Local, svg.ViewBox, strings.Count(svg.Path.D, "M"))
	}
	resp, body = c.get("/qr.png")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("PNG: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() < 200 {
		t.Fatalf("PNG is %v", b)
	}
	if got := gateway.ToxURI(resolveTestID(0xA1)); got != "tox:"+resolveTestID(0xA1).String() {
		t.Errorf("ToxURI: got %q", got)
	}
}

// Without AllowRemote the dashboard answers only loopback Host names,
// which defeats DNS rebinding.
func TestDashboardHostCheck(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	for _, tc := range []struct {
		host string
		want int
	}{
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:8025", http.StatusMisdirectedRequest},
		{"localhost:8025", http.StatusOK},
		{"127.0.0.1", http.StatusOK},
		{"[::1]:8025", http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/login", nil)
		req.Host = tc.host
		if resp, _ := c.do(req); resp.StatusCode != tc.want {
			t.Errorf("Host %q: got %d, want %d", tc.host, resp.StatusCode, tc.want)
		}
	}
	g := newDashFixture(t, func(c *gateway.DashboardConfig) { c.AllowRemote = true })
	req, _ := http.NewRequest("GET", g.srv.URL+"/login", nil)
	req.Host = "node.example"
	if resp, _ := g.client().do(req); resp.StatusCode != http.StatusOK {
		t.Errorf("AllowRemote, Host node.example: got %d, want 200", resp.StatusCode)
	}
}

// A panicking backend costs one 500, not the server.
func TestDashboardBackendPanic(t *testing.T) {
	f := newDashFixture(t, nil)
	c := f.client()
	c.login()
	f.b.mu.Lock()
	f.b.panics = true
	f.b.mu.Unlock()
	if resp, _ := c.get("/contacts"); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("page: got %d, want 500", resp.StatusCode)
	}
	if resp, body := c.api("GET", "/api/contacts", dashToken, ""); resp.StatusCode != http.StatusInternalServerError ||
		!strings.Contains(body, `"error"`) {
		t.Errorf("API: got %d %s, want 500 JSON", resp.StatusCode, body)
	}
	if resp, _ := c.get("/relay"); resp.StatusCode != http.StatusOK {
		t.Errorf("after the panics: got %d", resp.StatusCode)
	}
}

// The token and session ids never reach the log.
func TestDashboardLogDiscretion(t *testing.T) {
	var logBuf syncBuffer
	f := newDashFixture(t, func(c *gateway.DashboardConfig) {
		c.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c := f.client()
	c.get("/login")
	c.post("/login", url.Values{"csrf": {c.csrf}, "token": {dashToken + "typo"}})
	c.login()
	c.post("/contacts", url.Values{"csrf": {c.csrf}, "name": {"bob"}, "id": {resolveTestID(0xB0).String()}})
	c.api("GET", "/api/status", "wrong-"+dashToken, "")
	log := logBuf.String()
	if !strings.Contains(log, "login failed") || !strings.Contains(log, "contact added") {
		t.Fatalf("log lacks the events:\n%s", log)
	}
	u, _ := url.Parse(f.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if strings.Contains(log, ck.Value) {
			t.Errorf("log holds cookie %s", ck.Name)
		}
	}
	if strings.Contains(log, dashToken) || strings.Contains(log, c.csrf) {
		t.Errorf("log holds a secret:\n%s", log)
	}
}

func TestDashboardServe(t *testing.T) {
	d, err := gateway.NewDashboard(gateway.DashboardConfig{Addr: "127.0.0.1:0", Token: dashToken}, newFakeBackend(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if d.Addr() != nil {
		t.Fatal("Addr before listening")
	}
	done := make(chan error, 1)
	go func() { done <- d.ListenAndServe() }()
	deadline := time.Now().Add(5 * time.Second)
	for d.Addr() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if d.Addr() == nil {
		t.Fatal("not listening")
	}
	resp, err := http.Get("http://" + d.Addr().String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /login: %d", resp.StatusCode)
	}
	if err := d.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != http.ErrServerClosed {
		t.Fatalf("ListenAndServe after Shutdown: %v", err)
	}
}

func TestDashboardHeldBuckets(t *testing.T) {
	var h gateway.DashboardHeld // the zero value works too
	for _, age := range []time.Duration{-time.Second, 0, 59 * time.Minute, time.Hour, 6 * time.Hour, 23 * time.Hour,
		24 * time.Hour, 71 * time.Hour, 72 * time.Hour, 1000 * time.Hour} {
		h.Add(age, 10)
	}
	want := []int{3, 1, 2, 2, 2}
	if h.Count != 10 || h.Bytes != 100 || len(h.ByAge) != 5 {
		t.Fatalf("got %+v", h)
	}
	for i, b := range h.ByAge {
		if b.Label != gateway.DashboardAgeLabels[i] || b.Count != want[i] || b.Bytes != int64(10*want[i]) {
			t.Errorf("bucket %d: got %+v, want %q with %d", i, b, gateway.DashboardAgeLabels[i], want[i])
		}
	}
}

// The CLI reads the node's state from the JSON API with the token.
func ExampleDashboard_api() {
	backend := newFakeBackend(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	d, err := gateway.NewDashboard(gateway.DashboardConfig{Token: "0123456789abcdef0123456789abcdef"}, backend)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(d.Handler()) // in the node: d.ListenAndServe() on 127.0.0.1:8025
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var status struct {
		Identity struct {
			Name  string `json:"name"`
			ToxID string `json:"tox_id"`
		} `json:"identity"`
		Counts struct {
			Outbox map[string]int `json:"outbox"`
		} `json:"counts"`
	}
	json.NewDecoder(resp.Body).Decode(&status)
	fmt.Println(resp.StatusCode, status.Identity.Name, status.Identity.ToxID[:8])
	fmt.Println("delivered:", status.Counts.Outbox["delivered"], "queued:", status.Counts.Outbox["queued"])
	// Output:
	// 200 alice-node A1A1A1A1
	// delivered: 1 queued: 1
}

// A friend's Tox nickname is its own to choose: a friend that calls
// itself "carol" (an address-book name) gets a Remove button of its own,
// naming its key, not one that removes carol; and its name is shown
// without bidi controls or line breaks.
func TestDashboardFriendNicknameRow(t *testing.T) {
	f := newDashFixture(t, nil)
	impostor := resolveTestID(0x1B).PublicKey()
	f.b.mu.Lock()
	f.b.contacts = append(f.b.contacts, gateway.DashboardContact{Name: "carol\u202e\nx", PublicKey: impostor,
		Source: gateway.DashboardSourceFriend, Kind: gateway.DashboardKindMesh})
	f.b.mu.Unlock()
	c := f.client()
	c.login()
	_, body := c.get("/contacts")
	for _, want := range []string{
		`name="key" value="` + resolveTestID(0xC0).PublicKey().String() + `"`, // the real carol
		`name="key" value="` + impostor.String() + `"`,                        // the impostor
	} {
		if !strings.Contains(body, want) {
			t.Errorf("contacts page lacks %s", want)
		}
	}
	if strings.Contains(body, `name="key" value="carol`) {
		t.Error("a Remove button names a row by its name")
	}
	if strings.Contains(body, "\u202e") || strings.Contains(body, "carol\nx") {
		t.Error("a friend's nickname is shown with a bidi control or a line break")
	}
	// Removing by key names the row as the page showed it.
	c.post("/contacts/remove", url.Values{"csrf": {c.csrf}, "key": {resolveTestID(0xC0).PublicKey().String()}})
	if _, body := c.get("/contacts"); !strings.Contains(body, "Removed carol (") {
		t.Errorf("after removing carol by key, no message naming her:\n%s", body)
	}
}

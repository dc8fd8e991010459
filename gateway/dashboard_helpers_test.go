package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// dashToken is the login token of the test dashboards.
const dashToken = "test-token-0123456789abcdefghijklmnopqrstuvwxyz"

// dashClock is a settable clock for DashboardConfig.Now.
type dashClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *dashClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *dashClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeBackend is a DashboardBackend that records what it is asked to do.
type fakeBackend struct {
	mu       sync.Mutex
	id       gateway.DashboardIdentity
	contacts []gateway.DashboardContact
	requests []gateway.DashboardRequest
	outbox   []mesh.OutboxEntry
	held     gateway.DashboardHeld
	stats    mesh.Stats
	inbox    inbox.Usage
	calls    []string
	panics   bool // Contacts panics
}

var _ gateway.DashboardBackend = (*fakeBackend)(nil)

func newFakeBackend(now time.Time) *fakeBackend {
	held := gateway.NewDashboardHeld()
	held.Add(10*time.Minute, 2048)
	held.Add(3*time.Hour, 4096)
	held.Add(100*time.Hour, 1000)
	b := &fakeBackend{
		id: gateway.DashboardIdentity{Name: "alice-node", ToxID: resolveTestID(0xA1)},
		contacts: []gateway.DashboardContact{
			{Name: "carol", Address: "carol@example.org", ToxID: resolveTestID(0xC0), Source: gateway.DashboardSourceToxID,
				Online: true, Kind: gateway.DashboardKindMesh, LastSeen: now},
			{Name: "dave", ToxID: resolveTestID(0xD0), Source: gateway.DashboardSourceDNS, Kind: gateway.DashboardKindPlain,
				LastSeen: now.Add(-3 * time.Hour)},
			{PublicKey: resolveTestID(0xE0).PublicKey(), Source: gateway.DashboardSourceFriend, Kind: gateway.DashboardKindUnknown},
		},
		requests: []gateway.DashboardRequest{
			{PublicKey: resolveTestID(0xF0).PublicKey(), Message: "hi, it's <b>frank</b>", Received: now.Add(-5 * time.Minute)},
		},
		held:  held,
		inbox: inbox.Usage{Mails: 2, Bytes: 3 << 20, Quota: 4 << 30},
		stats: mesh.Stats{FramesIn: 12, FramesOut: 34, Relayed: 3, Delivered: 2, Submitted: 4, Held: 3, HeldBytes: 7144, Peers: 3, Online: 1, MeshPeers: 1},
	}
	for i, st := range []mesh.Status{mesh.StatusDelivered, mesh.StatusOffered, mesh.StatusQueued, mesh.StatusExpired} {
		var id envelope.ID
		id[0], id[31] = byte(i+1), 0xEE
		e := mesh.OutboxEntry{ID: id, To: resolveTestID(0xC0).PublicKey(), Created: now.Add(-time.Duration(i) * time.Hour).UnixMilli(),
			Expiry: now.Add(7 * 24 * time.Hour).Unix(), Size: 1500 + i, Status: st, Label: fmt.Sprintf("<m%d@example.org>", i)}
		if st == mesh.StatusDelivered {
			e.Offered, e.Delivered = e.Created+1000, e.Created+60_000
		}
		if i == 3 {
			e.To = resolveTestID(0x99).PublicKey() // not a contact
		}
		b.outbox = append(b.outbox, e)
	}
	return b
}

func (b *fakeBackend) record(format string, args ...any) {
	b.mu.Lock()
	b.calls = append(b.calls, fmt.Sprintf(format, args...))
	b.mu.Unlock()
}

func (b *fakeBackend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *fakeBackend) Identity() gateway.DashboardIdentity { return b.id }

func (b *fakeBackend) Contacts() []gateway.DashboardContact {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.panics {
		panic("backend exploded")
	}
	return append([]gateway.DashboardContact(nil), b.contacts...)
}

func (b *fakeBackend) AddContact(ctx context.Context, name, idOrAddress, address string) (gateway.DashboardContact, error) {
	if address != "" {
		b.record("add %s %s %s", name, idOrAddress, address)
	} else {
		b.record("add %s %s", name, idOrAddress)
	}
	c := gateway.DashboardContact{Name: name, Address: address, Kind: gateway.DashboardKindUnknown}
	if strings.Contains(idOrAddress, "@") {
		if strings.HasSuffix(idOrAddress, "@dnsdown.example") {
			// What the daemon's Resolver returns when dns.server answers
			// nothing: a chain down to the socket error.
			name := strings.TrimSuffix(idOrAddress, "@dnsdown.example") + "._tox.dnsdown.example"
			sock := &net.OpError{Op: "read", Net: "udp", Err: errors.New("read: connection refused")}
			return c, &gateway.ResolveError{Address: idOrAddress, Temp: true, Name: name,
				Reason: "tox1 DNS lookup of " + name + " failed (connection refused), try again later",
				Err:    &gateway.DNSError{Name: name + ".", Server: "127.0.0.1:1", Reason: "connection refused", Err: sock}}
		}
		if !strings.HasSuffix(idOrAddress, "@example.org") {
			return c, &gateway.ResolveError{Address: idOrAddress, Reason: "no tox1 record for " + idOrAddress}
		}
		c.Address, c.ToxID, c.Source = idOrAddress, resolveTestID(0x42), gateway.DashboardSourceDNS
	} else {
		id, err := gateway.ParseToxID(idOrAddress)
		if err != nil {
			return c, err
		}
		c.ToxID, c.Source = id, gateway.DashboardSourceToxID
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, old := range b.contacts {
		if strings.EqualFold(old.Name, name) {
			return c, fmt.Errorf("%w: %q", gateway.ErrContactExists, name)
		}
	}
	b.contacts = append(b.contacts, c)
	return c, nil
}

func (b *fakeBackend) RemoveContact(key string) error {
	b.record("remove %s", key)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, c := range b.contacts {
		if c.Name == key || c.Address == key || c.Key().String() == key {
			b.contacts = append(b.contacts[:i], b.contacts[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%w: %s", gateway.ErrNoSuchContact, key)
}

func (b *fakeBackend) Requests() []gateway.DashboardRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]gateway.DashboardRequest(nil), b.requests...)
}

func (b *fakeBackend) answer(verb, key string) error {
	b.record("%s %s", verb, key)
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, q := range b.requests {
		if q.PublicKey.String() == key {
			b.requests = append(b.requests[:i], b.requests[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("%w from %s", gateway.ErrNoSuchRequest, key)
}

func (b *fakeBackend) Approve(key string) error { return b.answer("approve", key) }
func (b *fakeBackend) Deny(key string) error    { return b.answer("deny", key) }

func (b *fakeBackend) Outbox() []mesh.OutboxEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mesh.OutboxEntry(nil), b.outbox...)
}

func (b *fakeBackend) Held() gateway.DashboardHeld { return b.held }
func (b *fakeBackend) Stats() mesh.Stats           { return b.stats }

func (b *fakeBackend) Inbox() inbox.Usage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inbox
}

func (b *fakeBackend) setInbox(u inbox.Usage) {
	b.mu.Lock()
	b.inbox = u
	b.mu.Unlock()
}

// dashFixture is a dashboard over a fakeBackend behind an httptest server
// on 127.0.0.1.
type dashFixture struct {
	t     *testing.T
	clock *dashClock
	b     *fakeBackend
	d     *gateway.Dashboard
	srv   *httptest.Server
}

func newDashFixture(t *testing.T, mod func(*gateway.DashboardConfig)) *dashFixture {
	t.Helper()
	clock := &dashClock{now: time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)}
	b := newFakeBackend(clock.Now())
	cfg := gateway.DashboardConfig{Token: dashToken, Now: clock.Now, AuthFailureDelay: -1}
	if mod != nil {
		mod(&cfg)
	}
	d, err := gateway.NewDashboard(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(srv.Close)
	return &dashFixture{t: t, clock: clock, b: b, d: d, srv: srv}
}

// dashClient is a browser-like client: a cookie jar, no redirects
// followed, and the last CSRF token seen on a page.
type dashClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (f *dashFixture) client() *dashClient {
	jar, _ := cookiejar.New(nil)
	return &dashClient{t: f.t, base: f.srv.URL, hc: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var dashCSRFRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends a request and returns the response with its body read.
func (c *dashClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if m := dashCSRFRe.FindStringSubmatch(string(body)); m != nil {
		c.csrf = m[1]
	}
	return resp, string(body)
}

func (c *dashClient) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post submits a form; hdr adds headers.
func (c *dashClient) post(path string, form url.Values, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

// login logs in through the form and loads the overview, so that c.csrf
// is the session's token.
func (c *dashClient) login() {
	c.t.Helper()
	c.get("/login")
	resp, body := c.post("/login", url.Values{"csrf": {c.csrf}, "token": {dashToken}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		c.t.Fatalf("login: got %d %q, want 303 to /\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, _ := c.get("/"); resp.StatusCode != http.StatusOK {
		c.t.Fatalf("overview after login: got %d", resp.StatusCode)
	}
}

// api sends an API request with a bearer token (if token is not empty)
// and a JSON body (if body is not empty).
func (c *dashClient) api(method, path, token, body string, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

// meshBackend is a DashboardBackend over a real mesh.Node on a MemNetwork,
// with a ContactBook for the address book and the network for presence: a
// small model of what the daemon does over Tox.
type meshBackend struct {
	node    *mesh.Node
	network *mesh.MemNetwork
	clock   mesh.Clock
	id      gateway.ToxID
	book    *gateway.ContactBook

	mu       sync.Mutex
	requests []gateway.DashboardRequest
	lastSeen map[envelope.PublicKey]time.Time
}

var _ gateway.DashboardBackend = (*meshBackend)(nil)

func (b *meshBackend) Identity() gateway.DashboardIdentity {
	return gateway.DashboardIdentity{Name: "alice", ToxID: b.id}
}

func (b *meshBackend) Contacts() []gateway.DashboardContact {
	peers := make(map[envelope.PublicKey]mesh.PeerInfo)
	for _, p := range b.node.Peers() {
		peers[p.Key] = p
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	kind := func(pk envelope.PublicKey) (bool, string) {
		p, ok := peers[pk]
		switch {
		case ok && p.MeshPeer:
			b.lastSeen[pk] = now
			return p.Online, gateway.DashboardKindMesh
		case ok && p.Online:
			b.lastSeen[pk] = now
			return true, gateway.DashboardKindUnknown
		}
		return false, gateway.DashboardKindUnknown
	}
	var out []gateway.DashboardContact
	inBook := make(map[envelope.PublicKey]bool)
	for _, c := range b.book.List() {
		pk := c.ID.PublicKey()
		inBook[pk] = true
		src := gateway.DashboardSourceToxID
		if c.Source == gateway.SourceDNS {
			src = gateway.DashboardSourceDNS
		}
		online, k := kind(pk)
		out = append(out, gateway.DashboardContact{Name: c.Name, Address: c.Address, ToxID: c.ID, Source: src,
			Online: online, Kind: k, LastSeen: b.lastSeen[pk]})
	}
	for pk := range peers {
		if !inBook[pk] {
			online, k := kind(pk)
			out = append(out, gateway.DashboardContact{PublicKey: pk, Source: gateway.DashboardSourceFriend,
				Online: online, Kind: k, LastSeen: b.lastSeen[pk]})
		}
	}
	return out
}

func (b *meshBackend) AddContact(ctx context.Context, name, idOrAddress, address string) (gateway.DashboardContact, error) {
	if strings.Contains(idOrAddress, "@") {
		return gateway.DashboardContact{}, &gateway.ResolveError{Address: idOrAddress, Reason: "this test node has no DNS"}
	}
	id, err := gateway.ParseToxID(idOrAddress)
	if err != nil {
		return gateway.DashboardContact{}, err
	}
	c := gateway.Contact{Name: name, ID: id, Source: gateway.SourceToxID, Added: b.clock.Now()}
	if err := b.book.Add(c); err != nil {
		return gateway.DashboardContact{}, err
	}
	return gateway.DashboardContact{Name: name, ToxID: id, Source: gateway.DashboardSourceToxID, Kind: gateway.DashboardKindUnknown}, nil
}

func (b *meshBackend) RemoveContact(key string) error {
	if !b.book.Remove(key) {
		return fmt.Errorf("%w: %s", gateway.ErrNoSuchContact, key)
	}
	return nil
}

func (b *meshBackend) Requests() []gateway.DashboardRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]gateway.DashboardRequest(nil), b.requests...)
}

func (b *meshBackend) take(key string) (gateway.DashboardRequest, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, q := range b.requests {
		if q.PublicKey.String() == key {
			b.requests = append(b.requests[:i], b.requests[i+1:]...)
			return q, nil
		}
	}
	return gateway.DashboardRequest{}, gateway.ErrNoSuchRequest
}

func (b *meshBackend) Approve(key string) error {
	q, err := b.take(key)
	if err == nil {
		b.network.Befriend(b.node.Key(), q.PublicKey)
	}
	return err
}

func (b *meshBackend) Deny(key string) error {
	_, err := b.take(key)
	return err
}

func (b *meshBackend) Outbox() []mesh.OutboxEntry { return b.node.Outbox() }

// Held counts the relay copies by how long the node has held them.
func (b *meshBackend) Held() gateway.DashboardHeld {
	h := gateway.NewDashboardHeld()
	now := b.clock.Now()
	for _, e := range b.node.Held() {
		if !e.Own {
			h.Add(now.Sub(e.Since), e.Size)
		}
	}
	return h
}

func (b *meshBackend) Stats() mesh.Stats { return b.node.Stats() }

func (b *meshBackend) Inbox() inbox.Usage { return inbox.Usage{} }

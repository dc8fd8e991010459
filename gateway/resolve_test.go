package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"
	"github.com/miekg/dns"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
)

// resolveFixture is a Resolver with an address book and tox1 DNS over a
// go-mockdns server on 127.0.0.1, plus the IDs it knows.
type resolveFixture struct {
	r                            *gateway.Resolver
	queries                      *atomic.Int64
	raw, bob, carol, dave, alice gateway.ToxID
}

func newResolveFixture(t *testing.T) *resolveFixture {
	t.Helper()
	f := &resolveFixture{
		raw: resolveTestID(1), bob: resolveTestID(2), carol: resolveTestID(3), dave: resolveTestID(4),
		alice: resolveTestID(5),
	}
	// The raw ID's key is also a contact's, under another nospam.
	rawContact := gateway.NewToxID(f.raw.PublicKey(), [4]byte{7, 7, 7, 7})
	book := newTestBook(t,
		gateway.Contact{Name: "rawfriend", ID: rawContact},
		gateway.Contact{Name: "bob", Address: "bob@example.org", ID: f.bob, Source: gateway.SourceToxID},
		gateway.Contact{Name: "carol", ID: f.carol},
		gateway.Contact{Address: "dave@example.org", ID: f.dave, Source: gateway.SourceDNS},
	)
	addr, queries := startMockDNS(t, map[string]mockdns.Zone{
		"alice._tox.example.org.":  {TXT: []string{"v=spf1 -all", "v=tox1;id=" + f.alice.String()}},
		"bob._tox.example.org.":    {TXT: []string{"v=tox1;id=" + resolveTestID(66).String()}}, // the book wins
		"old._tox.example.org.":    {TXT: []string{"v=tox2;pub=00;check=00"}},
		"broken._tox.example.org.": {TXT: []string{"v=tox1;id=" + f.alice.String()[:75] + "0"}},
		"twice._tox.example.org.": {TXT: []string{
			"v=tox1;id=" + f.alice.String(), "v=tox1;id=" + f.bob.String(),
		}},
	})
	cache := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), newResolveTestClock(), nil)
	f.r = &gateway.Resolver{Contacts: book, DNS: cache}
	f.queries = queries
	return f
}

func TestResolveOrder(t *testing.T) {
	f := newResolveFixture(t)
	tests := []struct {
		address string
		want    gateway.ToxID
		source  gateway.Source
		normal  string // Resolution.Address
		detail  string // Detail contains this
		queries int64  // DNS queries so far
	}{
		{f.raw.String() + "@tox", f.raw, gateway.SourceToxID, f.raw.Address(), "checksum verified", 0},
		{strings.ToLower(f.raw.String()) + "@TOX", f.raw, gateway.SourceToxID, f.raw.Address(), "raw Tox ID", 0},
		{"<" + f.raw.String() + "@tox>", f.raw, gateway.SourceToxID, f.raw.Address(), "raw Tox ID", 0},
		{"Friend <" + f.raw.String() + "@Tox>", f.raw, gateway.SourceToxID, f.raw.Address(), "raw Tox ID", 0},
		{"<bob@example.org>", f.bob, gateway.SourceContacts, "bob@example.org", "address book", 0},
		{"bob@example.org", f.bob, gateway.SourceContacts, "bob@example.org", `"bob" <bob@example.org>`, 0},
		{"bob@EXAMPLE.ORG", f.bob, gateway.SourceContacts, "bob@example.org", "address book", 0},
		{"Bob <bob@example.org>", f.bob, gateway.SourceContacts, "bob@example.org", "address book", 0},
		{"bob", f.bob, gateway.SourceContacts, "bob", `address book entry "bob"`, 0},
		{"CAROL", f.carol, gateway.SourceContacts, "CAROL", `"carol"`, 0},
		// A contact's name at the Tox pseudo-domain, which mail clients
		// take where they refuse a bare name.
		{"carol@tox", f.carol, gateway.SourceContacts, "carol@tox", `address book entry "carol"`, 0},
		{"<Carol@TOX>", f.carol, gateway.SourceContacts, "Carol@tox", `"carol"`, 0},
		{"bob@tox", f.bob, gateway.SourceContacts, "bob@tox", `"bob" <bob@example.org>`, 0},
		{"dave@example.org", f.dave, gateway.SourceContacts, "dave@example.org", "first learned from tox1 DNS (unauthenticated)", 0},
		{"alice@example.org", f.alice, gateway.SourceDNS, "alice@example.org",
			"TXT alice._tox.example.org, unsigned tox1 record (unauthenticated)", 1},
		{"Alice@Example.org", f.alice, gateway.SourceDNS, "Alice@example.org", "TXT alice._tox.example.org", 1}, // cached
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			res, err := f.r.Resolve(testCtx(t), tt.address)
			if err != nil {
				t.Fatal(err)
			}
			if res.ID != tt.want || res.Key != tt.want.PublicKey() {
				t.Errorf("ID: got %q, want %q", res.ID, tt.want)
			}
			if res.Source != tt.source {
				t.Errorf("Source: got %q, want %q", res.Source, tt.source)
			}
			if res.Address != tt.normal {
				t.Errorf("Address: got %q, want %q", res.Address, tt.normal)
			}
			if !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("Detail: got %q, want it to contain %q", res.Detail, tt.detail)
			}
			if got := f.queries.Load(); got != tt.queries {
				t.Errorf("DNS queries: got %d, want %d", got, tt.queries)
			}
		})
	}
}

func TestResolveErrorsClassify(t *testing.T) {
	f := newResolveFixture(t)
	id := resolveTestID(1).String()
	tests := []struct {
		address string
		temp    bool
		reason  string // the SMTP message contains this
		is      error  // errors.Is target, if any
	}{
		{"", false, "empty address", nil},
		{"dave", false, `no contact named "dave"`, nil},
		{"nobody", false, "<76 hex Tox ID>@tox", nil},
		{"x y", false, "not a mail address or contact name", nil},
		{id[:75] + "0@tox", false, "checksum does not match", gateway.ErrToxIDChecksum},
		{id[:70] + "@tox", false, "76 hex digits, got 70", gateway.ErrToxIDLength},
		{"alice@tox", false, `no contact named "alice", and a Tox address is <76 hex Tox ID>@tox`, nil},
		{"dave@tox", false, `no contact named "dave"`, nil}, // dave is known by address only
		{"x\x01y@tox", false, "malformed mail address", nil},
		{strings.Repeat("ab", 20) + "@tox", false, "bad Tox ID in @tox address", gateway.ErrToxIDLength},
		{resolveTestID(0x77).PublicKey().String() + "@tox", false, "bare public key", nil}, // no contact's key
		{strings.Repeat("0", 76) + "@tox", false, "names no one", nil},
		{"a@@b", false, `malformed mail address "a@@b": more than one @`, gateway.ErrMalformedAddress},
		// What is wrong is named, not net/mail's "missing '@' or angle-addr".
		{"zz@", false, `malformed mail address "zz@": nothing after the @`, gateway.ErrMalformedAddress},
		{"@example.org", false, `malformed mail address "@example.org": nothing before the @`, gateway.ErrMalformedAddress},
		{"a b@example.org", false, `malformed mail address "a b@example.org": a space outside quotes`, gateway.ErrMalformedAddress},
		{"a@b..c", false, `malformed mail address "a@b..c": an empty label in the domain`, gateway.ErrMalformedAddress},
		{"a\xff@example.org", false, "malformed mail address \"a\ufffd@example.org\": not valid UTF-8", gateway.ErrMalformedAddress},
		// A long malformed address is repeated only in part.
		{strings.Repeat("a", 100) + "@", false, `malformed mail address "` + strings.Repeat("a", 80) + `…": nothing after the @`, gateway.ErrMalformedAddress},
		// Lengths are not the parser's business: a book may hold long
		// local parts and IDN labels, and tox1 DNS checks its own limits.
		{strings.Repeat("a", 70) + "@example.org", false, "must be 1 to 63 characters for tox1 DNS", nil},
		{"nobody@example.org.", false, "no tox1 DNS record at nobody._tox.example.org", gateway.ErrDNSNotFound}, // a trailing dot is the same domain
		{"john.doe@example.org", false, "cannot have a tox1 DNS record", nil},
		{"nobody@example.org", false, "no tox1 DNS record at nobody._tox.example.org", gateway.ErrDNSNotFound},
		{"old@example.org", false, "unsupported tox DNS record version", gateway.ErrTox1Version},
		{"broken@example.org", false, "checksum", gateway.ErrToxIDChecksum},
		{"twice@example.org", false, "conflicting tox1 records", gateway.ErrTox1Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			_, err := f.r.Resolve(testCtx(t), tt.address)
			checkResolveError(t, err, tt.address, tt.temp, tt.reason)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want it to wrap %v", err, tt.is)
			}
		})
	}
}

// checkResolveError finds the ResolveError under a wrapped err and checks
// its class and SMTP reply.
func checkResolveError(t *testing.T, err error, address string, temp bool, reason string) {
	t.Helper()
	wrapped := fmt.Errorf("RCPT TO: %w", err) // as the SMTP layer might wrap it
	var re *gateway.ResolveError
	if !errors.As(wrapped, &re) {
		t.Fatalf("got %v, want a *ResolveError", err)
	}
	if re.Temporary() != temp {
		t.Errorf("Temporary: got %v, want %v", re.Temporary(), temp)
	}
	if re.Address != address {
		t.Errorf("Address: got %q, want %q", re.Address, address)
	}
	code, enh, msg := re.SMTPStatus()
	wantCode, wantEnh := 550, [3]int{5, 1, 1}
	switch {
	case temp:
		wantCode, wantEnh = 451, [3]int{4, 4, 3}
	case strings.HasPrefix(reason, "malformed mail address"):
		wantCode, wantEnh = 501, [3]int{5, 1, 3} // bad address syntax
	}
	if code != wantCode || enh != wantEnh {
		t.Errorf("SMTPStatus: got %d %v, want %d %v", code, enh, wantCode, wantEnh)
	}
	if !strings.Contains(msg, reason) {
		t.Errorf("SMTP message: got %q, want it to contain %q", msg, reason)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("SMTP message %q is not one line", msg)
	}
}

func TestResolveTemporaryDNSFailure(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler dns.Handler
		timeout time.Duration
	}{
		{"SERVFAIL", rcodeHandler(dns.RcodeServerFailure), 2 * time.Second},
		{"REFUSED", rcodeHandler(dns.RcodeRefused), 2 * time.Second},
		{"no answer", dns.HandlerFunc(func(dns.ResponseWriter, *dns.Msg) {}), 50 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, queries := startTestDNS(t, tt.handler)
			cache := newTestCache(t, newTestDNSResolver(t, addr, tt.timeout), newResolveTestClock(), nil)
			r := &gateway.Resolver{DNS: cache}
			for range 2 {
				_, err := r.Resolve(testCtx(t), "alice@example.org")
				checkResolveError(t, err, "alice@example.org", true, "tox1 DNS lookup of alice._tox.example.org failed (")
			}
			if queries.Load() < 2 {
				t.Errorf("got %d queries, want the failure not cached", queries.Load())
			}
		})
	}
}

func TestResolveWithoutDNSOrContacts(t *testing.T) {
	var r gateway.Resolver // the zero Resolver: raw IDs only
	id := resolveTestID(8)
	res, err := r.Resolve(context.Background(), id.String()+"@tox")
	if err != nil || res.ID != id || res.Source != gateway.SourceToxID {
		t.Fatalf("got %+v, %v, want the raw ID", res, err)
	}
	_, err = r.Resolve(context.Background(), "alice@example.org")
	checkResolveError(t, err, "alice@example.org", false, "tox1 DNS lookups are off")
	_, err = r.Resolve(context.Background(), "alice")
	checkResolveError(t, err, "alice", false, `no contact named "alice"`)
}

func TestResolveSystemResolverErrors(t *testing.T) {
	// A TXTResolver whose errors are not this package's: context errors are
	// temporary, anything unknown too.
	for _, tt := range []struct {
		err  error
		temp bool
	}{
		{context.DeadlineExceeded, true},
		{errors.New("something odd"), true},
		{&gateway.DNSError{Name: "x", Reason: "NXDOMAIN", NotFound: true}, false},
	} {
		r := &gateway.Resolver{DNS: gateway.TXTResolverFunc(func(context.Context, string) ([]gateway.TXT, error) {
			return nil, tt.err
		})}
		_, err := r.Resolve(context.Background(), "alice@example.org")
		var re *gateway.ResolveError
		if !errors.As(err, &re) || re.Temporary() != tt.temp {
			t.Errorf("%v: got %v, want temporary %v", tt.err, err, tt.temp)
		}
	}
}

// TestResolveBareKey: "<64 hex>@tox" is taken for the key of an address
// book contact or of a Tox friend, and refused otherwise (no checksum).
func TestResolveBareKey(t *testing.T) {
	bob, dave, stranger := resolveTestID(2), resolveTestID(4), resolveTestID(5)
	r := gateway.Resolver{
		Contacts: newTestBook(t, gateway.Contact{Name: "bob", ID: bob, Source: gateway.SourceToxID}),
		IsFriend: func(pk envelope.PublicKey) bool { return pk == dave.PublicKey() || pk == bob.PublicKey() },
	}
	ctx := context.Background()
	res, err := r.Resolve(ctx, strings.ToLower(bob.PublicKey().String())+"@TOX")
	if err != nil || res.Key != bob.PublicKey() || res.Source != gateway.SourceContacts || !strings.Contains(res.Detail, `"bob"`) {
		t.Errorf("bob's bare key: %+v, %v; want his address book entry", res, err)
	}
	res, err = r.Resolve(ctx, dave.PublicKey().String()+"@tox")
	if err != nil || res.Key != dave.PublicKey() || res.Source != gateway.SourceFriend || res.ID.PublicKey() != dave.PublicKey() {
		t.Errorf("dave's bare key: %+v, %v; want a Tox friend's", res, err)
	}
	addr := stranger.PublicKey().String() + "@tox"
	_, err = r.Resolve(ctx, addr)
	checkResolveError(t, err, addr, false, "no contact's and no Tox friend's here; use the full 76-hex-digit Tox ID")
	r.IsFriend = nil // the CLI's resolver knows no friends
	_, err = r.Resolve(ctx, dave.PublicKey().String()+"@tox")
	checkResolveError(t, err, dave.PublicKey().String()+"@tox", false, "no address book contact has it")
}

func TestResolveSourceText(t *testing.T) {
	tests := []struct {
		s               gateway.Source
		token, describe string
		authenticated   bool
	}{
		{gateway.SourceUnknown, "unknown", "unknown source", false},
		{gateway.SourceToxID, "toxid", "raw Tox ID", true},
		{gateway.SourceContacts, "contacts", "address book", true},
		{gateway.SourceDNS, "dns", "tox1 DNS, unauthenticated", false},
		{gateway.SourceFriend, "friend", "Tox friend", true},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.token {
			t.Errorf("String: got %q, want %q", got, tt.token)
		}
		if got := tt.s.Describe(); got != tt.describe {
			t.Errorf("Describe: got %q, want %q", got, tt.describe)
		}
		if got := tt.s.Authenticated(); got != tt.authenticated {
			t.Errorf("%s Authenticated: got %v, want %v", tt.s, got, tt.authenticated)
		}
		back, err := gateway.ParseSource(strings.ToUpper(tt.token))
		if err != nil || back != tt.s {
			t.Errorf("ParseSource(%q): got %v, %v", tt.token, back, err)
		}
	}
	if _, err := gateway.ParseSource("ldap"); err == nil {
		t.Errorf("ParseSource(ldap): no error")
	}
}

// A DNS server that cannot be reached, even one named by a host name that
// does not resolve, is a temporary failure (451), never "no such record"
// (550): only an answer from the server queried says a record does not
// exist. The errors are built as the resolvers return them; no real
// resolver is asked.
func TestResolveServerFailureIsNotNotFound(t *testing.T) {
	serverName := &net.DNSError{Err: "no such host", Name: "bogus", IsNotFound: true}
	dial := &net.OpError{Op: "dial", Net: "udp", Err: serverName}
	for _, tt := range []struct {
		name string
		err  error
		temp bool
	}{
		// DNSResolver dialling "bogus:53" (as before dns.server had to be an IP).
		{"DNSResolver, server name unknown", &gateway.DNSError{Name: "carol._tox.example.org.", Server: "bogus:53",
			Reason: "query failed", Err: dial}, true},
		// A resolver that reports the server's failure as a bare net error.
		{"bare dial error", dial, true},
		// net.Resolver over a custom Dial: its error is about the name asked,
		// not found, only when the server said so.
		{"net.Resolver, server name unknown", &net.DNSError{Err: "dial failed", Name: "carol._tox.example.org",
			UnwrapErr: serverName}, true},
		{"net.Resolver, NXDOMAIN", &net.DNSError{Err: "no such host", Name: "carol._tox.example.org.", IsNotFound: true}, false},
		{"DNSResolver, NXDOMAIN", &gateway.DNSError{Name: "carol._tox.example.org.", Reason: "NXDOMAIN", NotFound: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &gateway.Resolver{DNS: gateway.TXTResolverFunc(func(context.Context, string) ([]gateway.TXT, error) {
				return nil, tt.err
			})}
			_, err := r.Resolve(context.Background(), "carol@example.org")
			var re *gateway.ResolveError
			if !errors.As(err, &re) || re.Temporary() != tt.temp {
				t.Fatalf("got %v, want temporary %v", err, tt.temp)
			}
			code, _, msg := re.SMTPStatus()
			if want := map[bool]int{true: 451, false: 550}[tt.temp]; code != want {
				t.Errorf("SMTP reply %d %q, want %d", code, msg, want)
			}
		})
	}
	// Through NetResolver, the adapter of *net.Resolver, too.
	nr := &gateway.NetResolver{Resolver: netLookupFunc(func(ctx context.Context, name string) ([]string, error) {
		return nil, &net.DNSError{Err: "dial failed", Name: name, UnwrapErr: serverName}
	})}
	if _, err := nr.LookupTXT(context.Background(), "carol._tox.example.org"); errors.Is(err, gateway.ErrDNSNotFound) {
		t.Errorf("NetResolver: a server that could not be reached gave %v, want a temporary error", err)
	}
}

// netLookupFunc adapts a function to gateway.NetTXTLookup.
type netLookupFunc func(ctx context.Context, name string) ([]string, error)

func (f netLookupFunc) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return f(ctx, name)
}

// Summary is one line for people: no error chain, no socket addresses,
// the user's input shortened.
func TestResolveErrorSummary(t *testing.T) {
	refused, _ := startTestDNS(t, rcodeHandler(dns.RcodeServerFailure))
	silent, _ := startTestDNS(t, dns.HandlerFunc(func(dns.ResponseWriter, *dns.Msg) {}))
	closed := closedUDPAddr(t)
	long := strings.Repeat("x", 3000) + "@example.org"
	for _, tt := range []struct {
		name, server, addr string
		want               []string
	}{
		{"no answer", silent, "carol@example.org",
			[]string{"could not look up carol@example.org: the DNS server did not answer; try again later"}},
		{"connection refused", closed, "carol@example.org",
			[]string{"could not look up carol@example.org: the DNS server could not be reached (connection refused)", "dns.server", "try again later"}},
		{"SERVFAIL", refused, "carol@example.org",
			[]string{"could not look up carol@example.org: the DNS server failed (SERVFAIL); try again later"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &gateway.Resolver{DNS: newTestDNSResolver(t, tt.server, 100*time.Millisecond)}
			_, err := r.Resolve(testCtx(t), tt.addr)
			var re *gateway.ResolveError
			if !errors.As(err, &re) || !re.Temp {
				t.Fatalf("got %v, want a temporary ResolveError", err)
			}
			got := re.Summary()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Summary() = %q, want it to contain %q", got, w)
				}
			}
			if strings.Contains(got, "127.0.0.1") || strings.Contains(got, "read udp") || len(got) > 300 {
				t.Errorf("Summary() = %q: socket details or too long", got)
			}
		})
	}
	notFound := &gateway.Resolver{DNS: gateway.TXTResolverFunc(func(context.Context, string) ([]gateway.TXT, error) {
		return nil, &gateway.DNSError{Name: "dave._tox.example.org.", Reason: "NXDOMAIN", NotFound: true}
	})}
	_, err := notFound.Resolve(context.Background(), long)
	var re *gateway.ResolveError
	if !errors.As(err, &re) {
		t.Fatal(err)
	}
	if got := re.Summary(); !strings.HasPrefix(got, "could not use xxxx") || !strings.Contains(got, "…") || len(got) > 300 {
		t.Errorf("Summary() of a 3000-character address = %q, want it shortened", got)
	}
	_, err = notFound.Resolve(context.Background(), "dave@example.org")
	if !errors.As(err, &re) {
		t.Fatal(err)
	}
	if got, want := re.Summary(), "no tox1 DNS record at dave._tox.example.org: check the address, or ask its owner for their Tox ID"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

// closedUDPAddr is a loopback UDP address nothing listens on.
func closedUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// An address book an older toxmail saved may hold a Tox ID whose key no
// Tox node can have; it loads, but mail to that contact is refused at
// RCPT TO (550) instead of waiting for a friend that can never be.
func TestResolveRefusesInvalidStoredKey(t *testing.T) {
	stored, err := gateway.ParseStoredToxID(gateway.NewToxID(topBitKey(), [4]byte{1, 2, 3, 4}).String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.ParseToxID(stored.String()); !errors.Is(err, gateway.ErrToxIDKey) {
		t.Fatalf("ParseToxID of the stored ID: %v, want ErrToxIDKey", err)
	}
	r := &gateway.Resolver{Contacts: newTestBook(t, gateway.Contact{Name: "old", Address: "old@example.org", ID: stored})}
	for _, addr := range []string{"old", "old@tox", "old@example.org"} {
		_, err := r.Resolve(context.Background(), addr)
		var re *gateway.ResolveError
		if !errors.As(err, &re) || re.Temp || !strings.Contains(err.Error(), "no Tox node can have") {
			t.Errorf("Resolve(%q): %v, want a permanent error about the key", addr, err)
		}
	}
}

package gateway_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"
	"github.com/miekg/dns"

	"github.com/toxmail/toxmail/gateway"
)

// dnsTestLogger sends go-mockdns's log to the test log.
type dnsTestLogger struct{ t testing.TB }

func (l dnsTestLogger) Printf(f string, args ...any) {
	if !strings.HasPrefix(f, "DNS TRACE") { // go-mockdns traces every query
		l.t.Logf("mockdns: "+f, args...)
	}
}

// startMockDNS serves zones on 127.0.0.1 with go-mockdns and returns its
// HOST:PORT and the number of queries it has answered.
func startMockDNS(t testing.TB, zones map[string]mockdns.Zone) (string, *atomic.Int64) {
	t.Helper()
	srv, err := mockdns.NewServerWithLogger(zones, dnsTestLogger{t}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return startTestDNS(t, srv)
}

// startTestDNS serves h over UDP and TCP on one loopback port and returns
// the HOST:PORT and a count of queries.
func startTestDNS(t testing.TB, h dns.Handler) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	counted := dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		n.Add(1)
		h.ServeDNS(w, m)
	})
	var tcpL net.Listener
	var udpC net.PacketConn
	for attempt := 0; ; attempt++ { // the UDP port may be taken; a few tries
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.ListenPacket("udp4", l.Addr().String())
		if err == nil {
			tcpL, udpC = l, c
			break
		}
		l.Close()
		if attempt == 10 {
			t.Fatalf("no loopback port free for both TCP and UDP: %v", err)
		}
	}
	for _, srv := range []*dns.Server{
		{Listener: tcpL, Handler: counted},
		{PacketConn: udpC, Handler: counted},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("DNS test server did not start")
		}
		t.Cleanup(func() { srv.Shutdown() })
	}
	return tcpL.Addr().String(), &n
}

// rcodeHandler answers every query with rcode and no records.
func rcodeHandler(rcode int) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		r := new(dns.Msg)
		r.SetRcode(m, rcode)
		w.WriteMsg(r)
	})
}

// txtHandler answers every TXT query with texts at the given TTL.
func txtHandler(ttl uint32, texts ...string) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(m)
		for _, s := range texts {
			r.Answer = append(r.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: m.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl},
				Txt: []string{s},
			})
		}
		w.WriteMsg(r)
	})
}

func newTestDNSResolver(t testing.TB, addr string, timeout time.Duration) *gateway.DNSResolver {
	t.Helper()
	r, err := gateway.NewDNSResolver(addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDNSResolverMockDNS(t *testing.T) {
	alice := resolveTestID(1)
	long := "v=tox1;id=" + alice.String() + ";pad=" + strings.Repeat("x", 300) // > 255: several strings
	addr, _ := startMockDNS(t, map[string]mockdns.Zone{
		"alice._tox.example.org.": {TXT: []string{"v=tox1;id=" + alice.String()}},
		"multi._tox.example.org.": {TXT: []string{"v=spf1 -all", long}},
		"host.example.org.":       {A: []string{"127.0.0.1"}},
	})
	r := newTestDNSResolver(t, addr, 2*time.Second)
	ctx := testCtx(t)

	t.Run("found", func(t *testing.T) {
		txts, err := r.LookupTXT(ctx, "alice._tox.example.org")
		if err != nil {
			t.Fatal(err)
		}
		if len(txts) != 1 {
			t.Fatalf("got %d records, want 1", len(txts))
		}
		if got, want := txts[0].Text, "v=tox1;id="+alice.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		if got, want := txts[0].TTL, 9999*time.Second; got != want { // go-mockdns's TTL
			t.Errorf("TTL: got %v, want %v", got, want)
		}
	})
	t.Run("case and final dot", func(t *testing.T) {
		if _, err := r.LookupTXT(ctx, "ALICE._tox.Example.org."); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("long record joined", func(t *testing.T) {
		txts, err := r.LookupTXT(ctx, "multi._tox.example.org.")
		if err != nil {
			t.Fatal(err)
		}
		if len(txts) != 2 || txts[1].Text != long {
			t.Fatalf("got %q, want the spf record and %q", txts, long)
		}
	})
	for _, name := range []string{"bob._tox.example.org", "host.example.org"} {
		t.Run("not found "+name, func(t *testing.T) {
			_, err := r.LookupTXT(ctx, name)
			if !errors.Is(err, gateway.ErrDNSNotFound) {
				t.Fatalf("got %v, want ErrDNSNotFound", err)
			}
			var de *gateway.DNSError
			if !errors.As(err, &de) || de.Temporary() || !de.NotFound {
				t.Fatalf("got %#v, want a permanent not-found DNSError", err)
			}
		})
	}
	t.Run("NXDOMAIN negative TTL", func(t *testing.T) {
		_, err := r.LookupTXT(ctx, "bob._tox.example.org")
		var de *gateway.DNSError
		if !errors.As(err, &de) {
			t.Fatalf("got %v, want a DNSError", err)
		}
		// go-mockdns's SOA: TTL 9999, MINIMUM 60; RFC 2308 takes the smaller.
		if got, want := de.NegativeTTL, 60*time.Second; got != want {
			t.Errorf("got %v, want %v", got, want)
		}
		if got, want := de.Reason, "NXDOMAIN"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestDNSResolverServfailIsTemporary(t *testing.T) {
	addr, _ := startTestDNS(t, rcodeHandler(dns.RcodeServerFailure))
	_, err := newTestDNSResolver(t, addr, 2*time.Second).LookupTXT(testCtx(t), "alice._tox.example.org")
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Temporary() || errors.Is(err, gateway.ErrDNSNotFound) {
		t.Fatalf("got %v, want a temporary DNSError", err)
	}
	if got, want := de.Reason, "SERVFAIL"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDNSResolverTimeoutIsTemporary(t *testing.T) {
	release := make(chan struct{})
	addr, queries := startTestDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		select { // answer late: after the test, or 5 s at most
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before the server's Shutdown
	_, err := newTestDNSResolver(t, addr, 100*time.Millisecond).LookupTXT(testCtx(t), "slow._tox.example.org")
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Temporary() || !de.Timeout() {
		t.Fatalf("got %v, want a temporary timeout DNSError", err)
	}
	if queries.Load() < 1 {
		t.Errorf("server saw no query")
	}
}

// The timeout bounds a whole lookup, both UDP tries included, each of
// which waits half of it. Before, each try waited the whole timeout, so the
// configured 5 s became 10 s at RCPT TO.
func TestDNSResolverTimeoutBoundsTheLookup(t *testing.T) {
	release := make(chan struct{})
	addr, queries := startTestDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		select { // never answer in time: after the test, or 5 s at most
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(func() { close(release) })
	const timeout = time.Second
	start := time.Now()
	_, err := newTestDNSResolver(t, addr, timeout).LookupTXT(testCtx(t), "slow._tox.example.org")
	took := time.Since(start)
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Timeout() {
		t.Fatalf("got %v, want a timeout DNSError", err)
	}
	// Behaviour, not speed: the deadline is the timeout (two tries that
	// each waited it would take 2 s).
	if took >= timeout*19/10 {
		t.Errorf("a lookup with timeout %v took %v: the tries together must stay within it", timeout, took)
	}
	waitQueries(t, queries, 2) // both UDP tries were sent
}

// waitQueries waits (5 s at most) for a test DNS server to have seen n
// queries.
func waitQueries(t *testing.T, queries *atomic.Int64, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); queries.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("the server saw %d queries, want %d", queries.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// NetResolver.Timeout bounds a lookup of the wrapped resolver (the
// system's, whose own retries resolv.conf sets), as a timeout.
func TestNetResolverTimeout(t *testing.T) {
	slow := slowTXT{}
	r := &gateway.NetResolver{Resolver: slow, Timeout: 50 * time.Millisecond}
	_, err := r.LookupTXT(testCtx(t), "slow._tox.example.org")
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Timeout() || !de.Temporary() {
		t.Fatalf("got %v, want a temporary timeout DNSError", err)
	}
	if got := gateway.SystemResolver(3 * time.Second).Timeout; got != 3*time.Second {
		t.Errorf("SystemResolver(3s).Timeout = %v", got)
	}
	if got := gateway.SystemResolver(0).Timeout; got != gateway.DefaultDNSTimeout {
		t.Errorf("SystemResolver(0).Timeout = %v, want DefaultDNSTimeout", got)
	}
}

// slowTXT is a NetTXTLookup that answers only when its context ends.
type slowTXT struct{}

func (slowTXT) LookupTXT(ctx context.Context, name string) ([]string, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(10 * time.Second):
		return []string{"late"}, nil
	}
}

func TestDNSResolverContextCancelIsTemporary(t *testing.T) {
	addr, _ := startTestDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := newTestDNSResolver(t, addr, 5*time.Second).LookupTXT(ctx, "slow._tox.example.org")
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Temporary() {
		t.Fatalf("got %v, want a temporary DNSError", err)
	}
}

func TestDNSResolverTruncatedRetriesOverTCP(t *testing.T) {
	id := resolveTestID(3)
	full := txtHandler(300, "v=tox1;id="+id.String())
	var sawTCP atomic.Bool
	addr, _ := startTestDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
			sawTCP.Store(true)
			full.ServeDNS(w, m)
			return
		}
		r := new(dns.Msg)
		r.SetReply(m)
		r.Truncated = true
		w.WriteMsg(r)
	}))
	txts, err := newTestDNSResolver(t, addr, 2*time.Second).LookupTXT(testCtx(t), "big._tox.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if !sawTCP.Load() {
		t.Errorf("no TCP query after a truncated UDP answer")
	}
	if len(txts) != 1 || txts[0].TTL != 300*time.Second {
		t.Fatalf("got %v, want one record with TTL 5m0s", txts)
	}
	if got, want := txts[0].Text, "v=tox1;id="+id.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDNSResolverFollowsCNAME(t *testing.T) {
	// go-mockdns writes its CNAME records backwards, so this server is ours.
	id := resolveTestID(4)
	addr, _ := startTestDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(m)
		hdr := func(name string, typ uint16, ttl uint32) dns.RR_Header {
			return dns.RR_Header{Name: name, Rrtype: typ, Class: dns.ClassINET, Ttl: ttl}
		}
		r.Answer = []dns.RR{
			&dns.TXT{Hdr: hdr("unrelated.example.org.", dns.TypeTXT, 3600), Txt: []string{"v=tox1;id=" + resolveTestID(9).String()}},
			&dns.TXT{Hdr: hdr("real._tox.example.net.", dns.TypeTXT, 3600), Txt: []string{"v=tox1;id=" + id.String()}},
			&dns.CNAME{Hdr: hdr("Alias._tox.example.org.", dns.TypeCNAME, 120), Target: "real._tox.example.net."},
		}
		w.WriteMsg(r)
	}))
	txts, err := newTestDNSResolver(t, addr, 2*time.Second).LookupTXT(testCtx(t), "alias._tox.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(txts) != 1 || txts[0].Text != "v=tox1;id="+id.String() {
		t.Fatalf("got %v, want only the record behind the CNAME", txts)
	}
	if got, want := txts[0].TTL, 120*time.Second; got != want {
		t.Errorf("TTL: got %v, want the CNAME's %v", got, want)
	}
}

func TestDNSResolverNoServerIsTemporary(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close() // nothing listens here now
	_, err = newTestDNSResolver(t, addr, 200*time.Millisecond).LookupTXT(testCtx(t), "alice._tox.example.org")
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Temporary() {
		t.Fatalf("got %v, want a temporary DNSError", err)
	}
}

func TestNewDNSResolverServer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:5353", "127.0.0.1:5353"},
		{"127.0.0.1", "127.0.0.1:53"},
		{"dns.example.org", ""}, // an IP address only: nothing looks the server up
		{"bogus:53", ""},
		{"::1", "[::1]:53"},
		{"[::1]", "[::1]:53"},
		{"[::1]:5353", "[::1]:5353"},
		{"", ""},
		{"127.0.0.1:", ""},
		{"127.0.0.1:0", ""},
		{"127.0.0.1:99999", ""},
		{"127.0.0.1:dns", ""},
		{":53", ""},
	}
	for _, tt := range tests {
		r, err := gateway.NewDNSResolver(tt.in, 0)
		got := ""
		if err == nil {
			got = r.Server()
		}
		if got != tt.want {
			t.Errorf("NewDNSResolver(%q): got %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := gateway.NewDNSResolver("127.0.0.1:53", -time.Second); err == nil {
		t.Errorf("negative timeout accepted")
	}
}

func TestNetResolverMockDNS(t *testing.T) {
	alice := resolveTestID(5)
	srv, err := mockdns.NewServerWithLogger(map[string]mockdns.Zone{
		"alice._tox.example.org.":  {TXT: []string{"v=tox1;id=" + alice.String()}},
		"broken._tox.example.org.": {Err: errors.New("the zone is broken")},
		"host.example.org.":        {A: []string{"127.0.0.1"}},
	}, dnsTestLogger{t}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := &gateway.NetResolver{Resolver: srv.NewResolver(), TTL: 2 * time.Minute}
	ctx := testCtx(t)

	txts, err := r.LookupTXT(ctx, "alice._tox.example.org.")
	if err != nil {
		t.Fatal(err)
	}
	if len(txts) != 1 || txts[0].Text != "v=tox1;id="+alice.String() || txts[0].TTL != 2*time.Minute {
		t.Fatalf("got %v, want the record with the configured TTL", txts)
	}
	for _, name := range []string{"bob._tox.example.org.", "host.example.org."} { // NXDOMAIN, NODATA
		if _, err := r.LookupTXT(ctx, name); !errors.Is(err, gateway.ErrDNSNotFound) {
			t.Errorf("%s: got %v, want ErrDNSNotFound", name, err)
		}
	}
	_, err = r.LookupTXT(ctx, "broken._tox.example.org.")
	var de *gateway.DNSError
	if !errors.As(err, &de) || !de.Temporary() {
		t.Errorf("SERVFAIL: got %v, want a temporary DNSError", err)
	}
	if got, want := gateway.SystemResolver(0).TTL, gateway.DefaultSystemTTL; got != want {
		t.Errorf("SystemResolver TTL: got %v, want %v", got, want)
	}
}

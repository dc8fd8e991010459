package daemon

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/toxmail/toxmail/gateway"
)

// TestTox1KeysPinned: the node pins the key an address first resolves to by
// tox1 DNS in its data directory, and after a restart refuses an answer
// that gives the address another key.
func TestTox1KeysPinned(t *testing.T) {
	var id atomic.Pointer[gateway.ToxID]
	first, second := randomID(t), randomID(t)
	id.Store(&first)
	addr, _ := startTox1Server(t, func(name string) (gateway.ToxID, bool) {
		return *id.Load(), strings.EqualFold(name, "erin._tox.example.org.")
	})

	n := newTestNode(t, "pins")
	n.cfg.DNS.Server = addr
	n.start(t)
	ctx := context.Background()
	if res, err := n.d.resolve.Resolve(ctx, "erin@example.org"); err != nil || res.ID != first {
		t.Fatalf("first resolution: %v, %v", res.ID, err)
	}
	data, err := os.ReadFile(filepath.Join(n.cfg.DataDir, PinsFile))
	if err != nil || !strings.Contains(string(data), "erin@example.org "+first.PublicKey().String()) {
		t.Fatalf("pin file: %q, %v", data, err)
	}
	n.stop(t)

	id.Store(&second)
	n.start(t)
	if _, err := n.d.resolve.Resolve(ctx, "erin@example.org"); !errors.Is(err, gateway.ErrKeyChanged) {
		t.Fatalf("after the record changed: %v, want ErrKeyChanged", err)
	}

	// Deleting the pin by hand takes effect on the running node.
	if err := os.WriteFile(filepath.Join(n.cfg.DataDir, PinsFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new key to be taken once the pin is deleted", func() bool {
		res, err := n.d.resolve.Resolve(ctx, "erin@example.org")
		return err == nil && res.ID == second
	})
}

// startTox1Server serves tox1 TXT records on a loopback UDP port: answer
// gives the ID for a queried name, or false for NXDOMAIN. It returns the
// server's address and a count of the queries it has had.
func startTox1Server(t *testing.T, answer func(name string) (gateway.ToxID, bool)) (string, *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var queries atomic.Int32
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		if len(q.Question) != 1 {
			m.Rcode = dns.RcodeFormatError
		} else if id, ok := answer(q.Question[0].Name); ok {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: []string{"v=tox1;id=" + id.String()}})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String(), &queries
}

// The node keeps tox1 answers as long as the [dns] cache settings say,
// not the built-in defaults: with both TTL bounds at 1 s, an answer 60 s
// long is asked again 1.5 s later, and so is a name that was not found.
// Before, only `toxmail lookup` used these settings.
func TestDNSCacheSettingsApply(t *testing.T) {
	id := randomID(t)
	addr, queries := startTox1Server(t, func(name string) (gateway.ToxID, bool) {
		return id, strings.EqualFold(name, "erin._tox.example.org.")
	})
	n := newTestNode(t, "dnscache")
	n.cfg.DNS.Server = addr
	n.cfg.DNS.CacheMinTTL, n.cfg.DNS.CacheMaxTTL = time.Second, time.Second
	n.cfg.DNS.CacheNegativeTTL, n.cfg.DNS.CacheMaxNegTTL = time.Second, time.Second
	n.start(t)
	ctx := context.Background()
	for _, addr := range []string{"erin@example.org", "nobody@example.org"} {
		before := queries.Load()
		for i := range 2 {
			if i > 0 {
				time.Sleep(1500 * time.Millisecond) // past the 1 s the settings allow
			}
			_, err := n.d.resolve.Resolve(ctx, addr)
			if (addr == "erin@example.org") != (err == nil) {
				t.Fatalf("%s: %v", addr, err)
			}
		}
		if got := queries.Load() - before; got != 2 {
			t.Errorf("%s resolved twice 1.5 s apart: %d DNS queries, want 2 (the cache's TTL is 1 s)", addr, got)
		}
	}
}

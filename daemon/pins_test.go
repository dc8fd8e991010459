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
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		if len(q.Question) == 1 && strings.EqualFold(q.Question[0].Name, "erin._tox.example.org.") {
			m.Answer = append(m.Answer, &dns.TXT{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60},
				Txt: []string{"v=tox1;id=" + id.Load().String()}})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })

	n := newTestNode(t, "pins")
	n.cfg.DNS.Server = pc.LocalAddr().String()
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

package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foxcpp/go-mockdns"
	"github.com/miekg/dns"

	"github.com/toxmail/toxmail/gateway"
)

// resolveTestClock is a manual clock for the cache.
type resolveTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func newResolveTestClock() *resolveTestClock {
	return &resolveTestClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *resolveTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *resolveTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestCache(t testing.TB, next gateway.TXTResolver, clock *resolveTestClock, tweak func(*gateway.DNSCacheConfig)) *gateway.TXTCache {
	t.Helper()
	cfg := gateway.DefaultDNSCacheConfig()
	cfg.Now = clock.Now
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := gateway.NewTXTCache(next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lookupStep is one lookup at a time offset in a cache scenario.
type lookupStep struct {
	advance time.Duration // clock moves this far first
	queries int64         // the server's query count after the lookup
	ttl     time.Duration // for positive answers: the TTL the cache reports
}

func runCacheSteps(t *testing.T, c *gateway.TXTCache, clock *resolveTestClock, queries *atomic.Int64,
	name string, wantErr error, steps []lookupStep) {
	t.Helper()
	for i, s := range steps {
		clock.Advance(s.advance)
		txts, err := c.LookupTXT(testCtx(t), name)
		if wantErr == nil && err != nil || wantErr != nil && !errors.Is(err, wantErr) {
			t.Fatalf("step %d: got error %v, want %v", i, err, wantErr)
		}
		if got := queries.Load(); got != s.queries {
			t.Errorf("step %d (+%v): got %d queries, want %d", i, s.advance, got, s.queries)
		}
		if wantErr == nil && (len(txts) == 0 || txts[0].TTL != s.ttl) {
			t.Errorf("step %d: got %v, want TTL %v", i, txts, s.ttl)
		}
	}
}

func TestDNSCacheHonoursTTL(t *testing.T) {
	addr, queries := startMockDNS(t, map[string]mockdns.Zone{ // records have TTL 9999 s
		"alice._tox.example.org.": {TXT: []string{"v=tox1;id=" + resolveTestID(1).String()}},
	})
	clock := newResolveTestClock()
	c := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), clock, nil)
	runCacheSteps(t, c, clock, queries, "alice._tox.example.org", nil, []lookupStep{
		{advance: 0, queries: 1, ttl: 9999 * time.Second},
		{advance: 0, queries: 1, ttl: 9999 * time.Second},
		{advance: time.Hour, queries: 1, ttl: 9999*time.Second - time.Hour},
		{advance: 9999*time.Second - time.Hour - time.Second, queries: 1, ttl: time.Second},
		{advance: time.Second, queries: 2, ttl: 9999 * time.Second}, // expired: asked again
		{advance: time.Second, queries: 2, ttl: 9998 * time.Second},
	})
	// The cache key ignores case and the final dot.
	if _, err := c.LookupTXT(testCtx(t), "ALICE._tox.example.ORG."); err != nil || queries.Load() != 2 {
		t.Errorf("got %v and %d queries, want a cache hit", err, queries.Load())
	}
}

func TestDNSCacheClampsTTL(t *testing.T) {
	record := "v=tox1;id=" + resolveTestID(2).String()
	for _, tt := range []struct {
		name     string
		ttl      uint32
		cachedAs time.Duration
	}{
		{"zero TTL kept MinTTL", 0, 30 * time.Second},
		{"short TTL kept MinTTL", 5, 30 * time.Second},
		{"week TTL kept MaxTTL", 7 * 86400, 24 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, queries := startTestDNS(t, txtHandler(tt.ttl, record))
			clock := newResolveTestClock()
			c := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), clock, nil)
			runCacheSteps(t, c, clock, queries, "x._tox.example.org", nil, []lookupStep{
				{advance: 0, queries: 1, ttl: time.Duration(tt.ttl) * time.Second},
				{advance: tt.cachedAs - time.Second, queries: 1, ttl: time.Second},
				{advance: time.Second, queries: 2, ttl: time.Duration(tt.ttl) * time.Second},
			})
		})
	}
}

func TestDNSCacheNegative(t *testing.T) {
	t.Run("SOA minimum", func(t *testing.T) {
		addr, queries := startMockDNS(t, nil) // NXDOMAIN with an SOA: TTL 9999, MINIMUM 60
		clock := newResolveTestClock()
		c := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), clock, nil)
		runCacheSteps(t, c, clock, queries, "nobody._tox.example.org", gateway.ErrDNSNotFound, []lookupStep{
			{advance: 0, queries: 1},
			{advance: 59 * time.Second, queries: 1},
			{advance: time.Second, queries: 2},
		})
	})
	t.Run("no SOA", func(t *testing.T) {
		addr, queries := startTestDNS(t, rcodeHandler(dns.RcodeNameError))
		clock := newResolveTestClock()
		c := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), clock, func(cfg *gateway.DNSCacheConfig) {
			cfg.NegativeTTL = 2 * time.Minute
		})
		runCacheSteps(t, c, clock, queries, "nobody._tox.example.org", gateway.ErrDNSNotFound, []lookupStep{
			{advance: 0, queries: 1},
			{advance: 119 * time.Second, queries: 1},
			{advance: time.Second, queries: 2},
		})
	})
	t.Run("MaxNegativeTTL", func(t *testing.T) {
		addr, queries := startTestDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, m *dns.Msg) {
			r := new(dns.Msg)
			r.SetRcode(m, dns.RcodeNameError)
			r.Ns = []dns.RR{&dns.SOA{
				Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 86400},
				Ns:  "ns.example.org.", Mbox: "hostmaster.example.org.", Serial: 1, Minttl: 86400,
			}}
			w.WriteMsg(r)
		}))
		clock := newResolveTestClock()
		c := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), clock, nil)
		runCacheSteps(t, c, clock, queries, "nobody._tox.example.org", gateway.ErrDNSNotFound, []lookupStep{
			{advance: 0, queries: 1},
			{advance: time.Hour - time.Second, queries: 1},
			{advance: time.Second, queries: 2}, // one day allowed, one hour kept
		})
	})
}

func TestDNSCacheTemporaryNotCached(t *testing.T) {
	addr, queries := startTestDNS(t, rcodeHandler(dns.RcodeServerFailure))
	clock := newResolveTestClock()
	c := newTestCache(t, newTestDNSResolver(t, addr, 2*time.Second), clock, nil)
	for i := range 3 {
		_, err := c.LookupTXT(testCtx(t), "alice._tox.example.org")
		var de *gateway.DNSError
		if !errors.As(err, &de) || !de.Temporary() {
			t.Fatalf("lookup %d: got %v, want a temporary DNSError", i, err)
		}
	}
	if got, want := queries.Load(), int64(3); got != want {
		t.Errorf("got %d queries, want %d", got, want)
	}
	if got := c.Len(); got != 0 {
		t.Errorf("got %d cached names, want 0", got)
	}
}

func TestDNSCacheBounded(t *testing.T) {
	var asked []string
	next := gateway.TXTResolverFunc(func(_ context.Context, name string) ([]gateway.TXT, error) {
		asked = append(asked, name)
		return []gateway.TXT{{Text: "v=tox1;id=" + vectorID, TTL: time.Hour}}, nil
	})
	clock := newResolveTestClock()
	c := newTestCache(t, next, clock, func(cfg *gateway.DNSCacheConfig) { cfg.MaxEntries = 2 })
	for _, name := range []string{"a", "b", "a", "c", "a", "b"} {
		if _, err := c.LookupTXT(testCtx(t), name); err != nil {
			t.Fatal(err)
		}
	}
	// c evicts b, the least recently used; a stays.
	if got, want := strings.Join(asked, ","), "a,b,c,b"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := c.Len(); got != 2 {
		t.Errorf("got %d cached names, want 2", got)
	}
	c.Purge()
	if got := c.Len(); got != 0 {
		t.Errorf("after Purge: got %d cached names, want 0", got)
	}
}

func TestDNSCacheConcurrent(t *testing.T) {
	var calls atomic.Int64
	next := gateway.TXTResolverFunc(func(_ context.Context, name string) ([]gateway.TXT, error) {
		calls.Add(1)
		if strings.HasPrefix(name, "missing") {
			return nil, &gateway.DNSError{Name: name, Reason: "NXDOMAIN", NotFound: true}
		}
		return []gateway.TXT{{Text: name, TTL: time.Minute}}, nil
	})
	clock := newResolveTestClock()
	c := newTestCache(t, next, clock, func(cfg *gateway.DNSCacheConfig) { cfg.MaxEntries = 16 })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				name := fmt.Sprintf("n%d", (g+i)%24)
				if i%5 == 0 {
					name = "missing" + name
				}
				txts, err := c.LookupTXT(context.Background(), name)
				switch {
				case strings.HasPrefix(name, "missing") && !errors.Is(err, gateway.ErrDNSNotFound):
					t.Errorf("%s: got %v, want ErrDNSNotFound", name, err)
				case !strings.HasPrefix(name, "missing") && (err != nil || len(txts) != 1 || txts[0].Text != name):
					t.Errorf("%s: got %v, %v", name, txts, err)
				}
				if i%50 == 0 {
					clock.Advance(time.Minute)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 16 {
		t.Errorf("got %d cached names, want at most 16", c.Len())
	}
}

func TestDNSCacheConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(*gateway.DNSCacheConfig)
		msg   string // "" when valid
	}{
		{"default", func(*gateway.DNSCacheConfig) {}, ""},
		{"zero means default", func(c *gateway.DNSCacheConfig) { *c = gateway.DNSCacheConfig{} }, ""},
		{"negative MinTTL", func(c *gateway.DNSCacheConfig) { c.MinTTL = -1 }, "MinTTL"},
		{"MaxTTL below MinTTL", func(c *gateway.DNSCacheConfig) { c.MaxTTL = time.Second }, "MaxTTL 1s: want >= MinTTL (30s)"},
		{"negative NegativeTTL", func(c *gateway.DNSCacheConfig) { c.NegativeTTL = -time.Second }, "NegativeTTL"},
		{"MaxNegativeTTL below MinTTL", func(c *gateway.DNSCacheConfig) { c.MaxNegativeTTL = time.Second }, "MaxNegativeTTL"},
		{"negative MaxEntries", func(c *gateway.DNSCacheConfig) { c.MaxEntries = -1 }, "MaxEntries"},
	}
	for _, tt := range tests {
		cfg := gateway.DefaultDNSCacheConfig()
		tt.tweak(&cfg)
		err := cfg.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.msg == "" && err != nil || tt.msg != "" && !strings.Contains(got, tt.msg) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.msg)
		}
	}
	if _, err := gateway.NewTXTCache(nil, gateway.DefaultDNSCacheConfig()); err == nil {
		t.Errorf("NewTXTCache(nil): no error")
	}
}

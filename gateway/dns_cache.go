package gateway

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// DNSCacheConfig configures TXTCache. Zero fields take the defaults of
// DefaultDNSCacheConfig.
type DNSCacheConfig struct {
	// MinTTL and MaxTTL clamp how long any answer is kept, whatever its
	// TTL says: a record with TTL 0 is still kept MinTTL, so a flood of
	// mail to one recipient is one query; a record with a week's TTL is
	// asked again after MaxTTL, so a changed key is noticed.
	// Defaults 30 s and 24 h.
	MinTTL, MaxTTL time.Duration
	// NegativeTTL is how long a "no such record" answer is kept when the
	// answer carries no SOA record to say (RFC 2308). Default 1 min.
	NegativeTTL time.Duration
	// MaxNegativeTTL caps negative caching even when the SOA allows more,
	// so a record published after a failed lookup is found soon.
	// Default 1 h (RFC 2308 suggests 1 to 3 hours).
	MaxNegativeTTL time.Duration
	// MaxEntries bounds the cache; the least recently used name goes
	// first. Default 1024.
	MaxEntries int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultDNSCacheConfig returns the defaults documented on DNSCacheConfig.
func DefaultDNSCacheConfig() DNSCacheConfig {
	return DNSCacheConfig{
		MinTTL:         30 * time.Second,
		MaxTTL:         24 * time.Hour,
		NegativeTTL:    time.Minute,
		MaxNegativeTTL: time.Hour,
		MaxEntries:     1024,
	}
}

// withDefaults fills zero fields.
func (c DNSCacheConfig) withDefaults() DNSCacheConfig {
	d := DefaultDNSCacheConfig()
	if c.MinTTL == 0 {
		c.MinTTL = d.MinTTL
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = d.MaxTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = d.NegativeTTL
	}
	if c.MaxNegativeTTL == 0 {
		c.MaxNegativeTTL = d.MaxNegativeTTL
	}
	if c.MaxEntries == 0 {
		c.MaxEntries = d.MaxEntries
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first field out of range, after defaults.
func (c DNSCacheConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MinTTL < 0:
		return fmt.Errorf("gateway: DNS cache MinTTL %v: want >= 0", c.MinTTL)
	case c.MaxTTL < c.MinTTL:
		return fmt.Errorf("gateway: DNS cache MaxTTL %v: want >= MinTTL (%v)", c.MaxTTL, c.MinTTL)
	case c.NegativeTTL < 0:
		return fmt.Errorf("gateway: DNS cache NegativeTTL %v: want >= 0", c.NegativeTTL)
	case c.MaxNegativeTTL < c.MinTTL:
		return fmt.Errorf("gateway: DNS cache MaxNegativeTTL %v: want >= MinTTL (%v)", c.MaxNegativeTTL, c.MinTTL)
	case c.MaxEntries < 0:
		return fmt.Errorf("gateway: DNS cache MaxEntries %d: want >= 1", c.MaxEntries)
	}
	return nil
}

// TXTCache is a TXTResolver that remembers another's answers, positive and
// negative, for their TTL clamped to [MinTTL, MaxTTL]; negative answers for
// the SOA's negative TTL, or NegativeTTL, capped at MaxNegativeTTL.
// Temporary failures are never cached. It is bounded (least recently used
// names go first) and safe for concurrent use. Concurrent misses for the
// same name each ask the underlying resolver.
type TXTCache struct {
	next TXTResolver
	cfg  DNSCacheConfig

	mu      sync.Mutex
	entries map[string]*list.Element // of *cacheEntry
	lru     list.List                // front: most recently used
}

type cacheEntry struct {
	name    string
	txts    []TXT // positive answer
	err     error // negative answer: matches ErrDNSNotFound
	expires time.Time
}

var _ TXTResolver = (*TXTCache)(nil)

// NewTXTCache caches next's answers.
func NewTXTCache(next TXTResolver, cfg DNSCacheConfig) (*TXTCache, error) {
	if next == nil {
		return nil, errors.New("gateway: DNS cache: nil resolver")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &TXTCache{next: next, cfg: cfg.withDefaults(), entries: make(map[string]*list.Element)}, nil
}

// LookupTXT answers from the cache, or asks the underlying resolver and
// remembers a positive or not-found answer. Records from the cache carry
// the TTL they have left.
func (c *TXTCache) LookupTXT(ctx context.Context, name string) ([]TXT, error) {
	key := strings.TrimSuffix(strings.ToLower(name), ".")
	if hit, ok := c.get(key); ok {
		return hit.txts, hit.err
	}
	txts, err := c.next.LookupTXT(ctx, name)
	switch {
	case err == nil:
		ttl := c.cfg.MaxTTL
		for _, t := range txts {
			ttl = min(ttl, t.TTL)
		}
		c.put(key, copyTXT(txts), nil, clampTTL(ttl, c.cfg.MinTTL, c.cfg.MaxTTL))
	case errors.Is(err, ErrDNSNotFound):
		ttl := c.cfg.NegativeTTL
		var de *DNSError
		if errors.As(err, &de) && de.NegativeTTL > 0 {
			ttl = de.NegativeTTL
		}
		c.put(key, nil, err, clampTTL(ttl, c.cfg.MinTTL, c.cfg.MaxNegativeTTL))
	}
	return txts, err
}

// Len returns the number of names cached, expired ones included until they
// are next looked at.
func (c *TXTCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Purge forgets everything.
func (c *TXTCache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.lru.Init()
}

// get returns the live entry for key, its records' TTLs set to the time left.
func (c *TXTCache) get(key string) (cacheEntry, bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return cacheEntry{}, false
	}
	e := el.Value.(*cacheEntry)
	left := e.expires.Sub(now)
	if left <= 0 {
		c.lru.Remove(el)
		delete(c.entries, key)
		return cacheEntry{}, false
	}
	c.lru.MoveToFront(el)
	hit := *e
	hit.txts = copyTXT(e.txts)
	for i := range hit.txts {
		hit.txts[i].TTL = left
	}
	return hit, true
}

func (c *TXTCache) put(key string, txts []TXT, err error, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	e := &cacheEntry{name: key, txts: txts, err: err, expires: c.cfg.Now().Add(ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key] = c.lru.PushFront(e)
	for len(c.entries) > c.cfg.MaxEntries {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).name)
	}
}

func clampTTL(d, lo, hi time.Duration) time.Duration { return max(lo, min(d, hi)) }

func copyTXT(txts []TXT) []TXT { return append([]TXT(nil), txts...) }

package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// TXT is one TXT record: its strings joined into one, and how long it may be
// cached.
type TXT struct {
	Text string
	TTL  time.Duration
}

// TXTResolver looks up TXT records. It is the seam tests and the CLI's
// "--dns HOST:PORT" use (after maddy's framework/dns): DNSResolver asks one
// server directly, NetResolver wraps *net.Resolver, TXTCache caches either.
//
// A name that does not exist, or has no TXT records, is an error that
// matches ErrDNSNotFound (errors.Is). Any other error is taken as temporary.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]TXT, error)
}

// TXTResolverFunc adapts a function to TXTResolver.
type TXTResolverFunc func(ctx context.Context, name string) ([]TXT, error)

// LookupTXT calls f.
func (f TXTResolverFunc) LookupTXT(ctx context.Context, name string) ([]TXT, error) {
	return f(ctx, name)
}

// ErrDNSNotFound matches (errors.Is) a lookup whose answer is that the name
// does not exist (NXDOMAIN) or has no TXT records (NODATA). It is permanent.
var ErrDNSNotFound = errors.New("no such DNS record")

// DNSError is a failed TXT lookup.
type DNSError struct {
	Name   string // the name looked up
	Server string // HOST:PORT asked, or "" for the system resolver
	// Reason is "NXDOMAIN", "no TXT record", "SERVFAIL", "timeout", ...
	Reason string
	// NotFound is set for NXDOMAIN and NODATA answers: the record does not
	// exist. Everything else is temporary.
	NotFound bool
	// NegativeTTL is, for NotFound, how long the answer may be cached, from
	// the SOA record of the answer (RFC 2308); 0 when unknown.
	NegativeTTL time.Duration
	Err         error // underlying network or protocol error, if any
}

func (e *DNSError) Error() string {
	var b strings.Builder
	b.WriteString("dns: TXT ")
	b.WriteString(strings.TrimSuffix(e.Name, "."))
	if e.Server != "" {
		b.WriteString(" at ")
		b.WriteString(e.Server)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DNSError) Unwrap() error { return e.Err }

// Is makes a NotFound DNSError match ErrDNSNotFound.
func (e *DNSError) Is(target error) bool { return target == ErrDNSNotFound && e.NotFound }

// Temporary reports whether the lookup may succeed later: every failure but
// a definite "does not exist".
func (e *DNSError) Temporary() bool { return !e.NotFound }

// Timeout reports whether the server did not answer in time.
func (e *DNSError) Timeout() bool { return e.Reason == "timeout" }

// DefaultDNSTimeout is how long one lookup of NewDNSResolver may take in
// all when it is given 0.
const DefaultDNSTimeout = 5 * time.Second

// dnsUDPAttempts is how often a UDP query is sent before giving up on a
// server that does not answer: a lost datagram should not bounce a mail to
// the 4xx path.
const dnsUDPAttempts = 2

// ednsSize is the EDNS0 UDP payload size advertised: the DNS flag day 2020
// value, which avoids IP fragmentation.
const ednsSize = 1232

// DNSResolver asks one DNS server directly with miekg/dns: UDP, again over
// TCP when the answer is truncated. It reports record TTLs and the SOA
// negative TTL, which *net.Resolver cannot. Safe for concurrent use.
type DNSResolver struct {
	server  string
	timeout time.Duration
}

var _ TXTResolver = (*DNSResolver)(nil)

// NewDNSResolver returns a resolver that asks server (HOST:PORT; HOST alone
// means port 53), a recursive resolver or the authoritative server of the
// domains asked about. HOST must be an IP address: a host name would have
// to be looked up by some other DNS server first, and its failure would
// then look like the server's answer. A lookup takes at most timeout in
// all (DefaultDNSTimeout when 0): it is tried twice over UDP, each try
// waiting half of it, and when the answer is truncated once over TCP in
// what is left.
func NewDNSResolver(server string, timeout time.Duration) (*DNSResolver, error) {
	if server == "" {
		return nil, errors.New("gateway: DNS server: empty, want HOST:PORT")
	}
	host, port, err := net.SplitHostPort(server)
	if err != nil { // no port: HOST, IPv6 literal, or [IPv6 literal]
		host = strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
		if strings.Count(host, ":") == 1 || strings.ContainsAny(host, "[]") {
			return nil, fmt.Errorf("gateway: DNS server %q: want HOST:PORT: %w", server, err)
		}
		port = "53"
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("gateway: DNS server %q: want HOST:PORT with a port from 1 to 65535", server)
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("gateway: DNS server %q: want an IP address as HOST, e.g. 127.0.0.1:53 "+
			"(finding a server by its host name would need another DNS server)", server)
	}
	server = net.JoinHostPort(host, port)
	if timeout < 0 {
		return nil, fmt.Errorf("gateway: DNS timeout %v: want >= 0", timeout)
	}
	if timeout == 0 {
		timeout = DefaultDNSTimeout
	}
	return &DNSResolver{server: server, timeout: timeout}, nil
}

// Server returns the HOST:PORT asked.
func (r *DNSResolver) Server() string { return r.server }

// LookupTXT asks for the TXT records of name, following CNAMEs in the answer.
func (r *DNSResolver) LookupTXT(ctx context.Context, name string) ([]TXT, error) {
	fqdn := dns.Fqdn(strings.ToLower(name))
	fail := func(reason string, notFound bool, err error) *DNSError {
		return &DNSError{Name: fqdn, Server: r.server, Reason: reason, NotFound: notFound, Err: err}
	}
	if _, ok := dns.IsDomainName(fqdn); !ok || fqdn == "." {
		return nil, fail("not a valid domain name", true, nil)
	}
	q := new(dns.Msg)
	q.SetQuestion(fqdn, dns.TypeTXT)
	q.SetEdns0(ednsSize, false)

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var in *dns.Msg
	var err error
	for attempt := 0; attempt < dnsUDPAttempts; attempt++ {
		in, err = r.exchange(ctx, q, "udp", r.timeout/dnsUDPAttempts)
		if err == nil || !isDNSTimeout(err) || ctx.Err() != nil {
			break
		}
	}
	if err == nil && in.Truncated {
		in, err = r.exchange(ctx, q, "tcp", r.timeout) // capped by what ctx has left
	}
	if err != nil {
		return nil, fail(exchangeReason(err), false, err)
	}
	if len(in.Question) != 1 || !strings.EqualFold(in.Question[0].Name, fqdn) || in.Question[0].Qtype != dns.TypeTXT {
		return nil, fail("answer does not match the question", false, nil)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		e := fail("NXDOMAIN", true, nil)
		e.NegativeTTL = negativeTTL(in)
		return nil, e
	default:
		reason := dns.RcodeToString[in.Rcode]
		if reason == "" {
			reason = fmt.Sprintf("rcode %d", in.Rcode)
		}
		return nil, fail(reason, false, nil)
	}
	txts := answerTXT(in, fqdn)
	if len(txts) == 0 {
		e := fail("no TXT record", true, nil)
		e.NegativeTTL = negativeTTL(in)
		return nil, e
	}
	return txts, nil
}

// exchange sends q once over network and waits at most wait (or what ctx
// has left) for the answer.
func (r *DNSResolver) exchange(ctx context.Context, q *dns.Msg, network string, wait time.Duration) (*dns.Msg, error) {
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c := &dns.Client{Net: network, Timeout: wait, UDPSize: ednsSize}
	in, _, err := c.ExchangeContext(ctx, q, r.server)
	return in, err
}

// Reasons of a DNSError for a query that got no answer.
const (
	dnsReasonRefused     = "connection refused"
	dnsReasonUnreachable = "server unreachable"
	dnsReasonHostName    = "the server's host name does not resolve"
	dnsReasonQueryFailed = "query failed"
)

// exchangeReason words why a query got no answer at all.
func exchangeReason(err error) string {
	var nerr *net.DNSError
	switch {
	case isDNSTimeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return dnsReasonRefused // over UDP: the ICMP port unreachable of a closed port
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return dnsReasonUnreachable
	case errors.As(err, &nerr):
		return dnsReasonHostName // dialling a server given by a name that did not resolve
	}
	return dnsReasonQueryFailed
}

func isDNSTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// answerTXT returns the TXT records of name in the answer section, following
// CNAMEs there; each TTL is capped by the CNAMEs that led to it.
func answerTXT(in *dns.Msg, name string) []TXT {
	chainTTL := ^uint32(0)
	for range in.Answer { // each round follows one CNAME; bounded by the answer's size
		next := ""
		for _, rr := range in.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
				next = c.Target
				chainTTL = min(chainTTL, c.Hdr.Ttl)
				break
			}
		}
		if next == "" {
			break
		}
		name = next
	}
	var out []TXT
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok && strings.EqualFold(t.Hdr.Name, name) {
			out = append(out, TXT{
				Text: strings.Join(t.Txt, ""),
				TTL:  time.Duration(min(t.Hdr.Ttl, chainTTL)) * time.Second,
			})
		}
	}
	return out
}

// negativeTTL is how long a negative answer may be cached: the smaller of
// the SOA record's TTL and its MINIMUM field (RFC 2308 section 5); 0 when
// the answer carries no SOA.
func negativeTTL(in *dns.Msg) time.Duration {
	for _, rr := range in.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return 0
}

// DefaultSystemTTL is the TTL NetResolver gives records, since *net.Resolver
// does not report one.
const DefaultSystemTTL = 5 * time.Minute

// NetTXTLookup is the TXT lookup of *net.Resolver (and of go-mockdns's
// Resolver).
type NetTXTLookup interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// NetResolver adapts a *net.Resolver to TXTResolver. The standard library
// reports no TTLs, so every record gets TTL, and not-found answers no
// negative TTL (TXTCache then uses its default).
type NetResolver struct {
	Resolver NetTXTLookup  // nil: net.DefaultResolver
	TTL      time.Duration // 0: DefaultSystemTTL
	// Timeout bounds one lookup in all, whatever the system's resolver
	// would retry (resolv.conf's timeout and attempts); 0: only the
	// caller's context bounds it.
	Timeout time.Duration
}

var _ TXTResolver = (*NetResolver)(nil)

// SystemResolver returns a NetResolver over the system's resolver
// (/etc/resolv.conf) with DefaultSystemTTL, whose lookups take at most
// timeout in all (DefaultDNSTimeout when 0).
func SystemResolver(timeout time.Duration) *NetResolver {
	if timeout <= 0 {
		timeout = DefaultDNSTimeout
	}
	return &NetResolver{Resolver: net.DefaultResolver, TTL: DefaultSystemTTL, Timeout: timeout}
}

// LookupTXT asks the wrapped resolver. *net.DNSError not-found answers
// become ErrDNSNotFound; everything else is a temporary DNSError.
func (r *NetResolver) LookupTXT(ctx context.Context, name string) ([]TXT, error) {
	lr := r.Resolver
	if lr == nil {
		lr = net.DefaultResolver
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultSystemTTL
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	texts, err := lr.LookupTXT(ctx, name)
	if err != nil {
		e := &DNSError{Name: dns.Fqdn(name), Reason: "lookup failed", Err: err}
		var nerr *net.DNSError
		switch {
		case errors.As(err, &nerr) && nerr.IsNotFound && sameDNSName(nerr.Name, name):
			e.Reason, e.NotFound = "not found", true
		case isDNSTimeout(err):
			e.Reason = "timeout"
		}
		return nil, e
	}
	if len(texts) == 0 {
		return nil, &DNSError{Name: dns.Fqdn(name), Reason: "no TXT record", NotFound: true}
	}
	out := make([]TXT, len(texts))
	for i, t := range texts {
		out[i] = TXT{Text: t, TTL: ttl}
	}
	return out, nil
}

// sameDNSName compares two domain names without case and trailing dot.
func sameDNSName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

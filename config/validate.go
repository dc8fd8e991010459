package config

// Validation: each value against its range, the values that must agree,
// and the errors of the owning packages' own Validate mapped to keys.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/sim"
	"github.com/toxmail/toxmail/tox"
)

// Validate checks c: every value against its allowed range, and the values
// that must agree with each other. It reports every problem, each an
// *Error with Key and Value set, joined as Parse does. It does not insist
// on secrets: Default has no dashboard token and no SMTP user and is
// valid (Parse and Load refuse a file without a token).
func (c *Config) Validate() error {
	errs := c.check()
	for _, e := range errs {
		e.File = c.Path
	}
	if len(errs) == 0 {
		return nil
	}
	return join(redact(errs))
}

// check returns the problems with c, in schema order.
func (c *Config) check() []*Error {
	v := checker{c: c}
	if c.DataDir == "" {
		v.bad("data_dir", `empty: want a directory ("." is the folder of the config file)`)
	}
	if err := CheckName(c.Name); err != nil {
		v.bad("name", err.Error())
	}
	v.owner("mesh", func(c *Config) error { return c.Mesh.Validate() })
	v.checkTox()
	v.checkSMTP()
	v.listen("pop3", c.POP3.Listen, c.POP3.AllowRemote, "the POP3 server has no TLS and takes passwords in the clear")
	if c.POP3.IdleTimeout <= 0 || c.POP3.IdleTimeout > 24*time.Hour {
		v.bad("pop3.idle_timeout", "out of range: want (0s, 24h]")
	}
	v.checkQuota()
	v.backstop("pop3", c.POP3Config().Validate())
	v.checkDashboard()
	v.checkDNS()
	if !slices.ContainsFunc(levelNames, func(n namedLevel) bool { return n.level == c.Log.Level }) {
		v.bad("log.level", `want "debug", "info", "warn" or "error"`)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		v.bad("log.format", `want "text" or "json"`)
	}
	v.owner("sim", func(c *Config) error { return c.Sim.Validate() })
	v.distinctListen()
	return v.errs
}

type checker struct {
	c    *Config
	errs []*Error
	// failed counts the errors per section, so a backstop check by the
	// owning package runs only when ours found nothing.
	failed map[string]int
}

// bad records a problem with key, showing its current value.
func (v *checker) bad(key, msg string) {
	v.errs = append(v.errs, &Error{Key: key, Value: valueOf(v.c, key), Msg: msg})
	if v.failed == nil {
		v.failed = make(map[string]int)
	}
	section, _, _ := strings.Cut(key, ".")
	v.failed[section]++
}

// backstop reports an error of the owning package's Validate (e.g.
// gateway.POP3Config.Validate) against the section, if ours missed it.
func (v *checker) backstop(section string, err error) {
	if err != nil && v.failed[section] == 0 {
		v.errs = append(v.errs, &Error{Key: section, Msg: section + ": " + err.Error()})
	}
}

// ownerErr parses the errors of mesh.Config.Validate and sim.Config.Validate:
// "mesh: TTL = 0 is out of range: want 1..MaxHops (8)", "sim: churn = "x"
// is not one of ...", "sim: ttl is empty; ...".
var ownerErr = regexp.MustCompile(`(?s)^(?:mesh|sim): ([A-Za-z_]+)(?:/[A-Za-z_/]+)?.*? is (.*)$`)

var goName = regexp.MustCompile(`\b[A-Z][A-Za-z]*\b`)
var goDuration = regexp.MustCompile(`\b(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?(?:s|ms|µs|ns)\b`)

// owner runs the Validate of the package that owns a section (mesh, sim)
// and maps its errors to the keys they name. Such a Validate reports only
// its first problem, so owner sets that knob back to its default and asks
// again, until no problem is left.
func (v *checker) owner(section string, validate func(*Config) error) {
	c, def := *v.c, Default()
	seen := make(map[string]bool)
	for {
		err := validate(&c)
		if err == nil {
			return
		}
		// The knob at fault and what is wrong with it: from a
		// *sim.KnobError as it is, else parsed from the error's text.
		var name, msg string
		if ke := (*sim.KnobError)(nil); errors.As(err, &ke) {
			name, msg = ke.Knob, simKnobMsg(ke)
		} else if m := ownerErr.FindStringSubmatch(err.Error()); m != nil {
			name, msg = m[1], ownerMsg(section, m[2])
		}
		var k *knob
		if name != "" {
			k = findKnob(section, name)
		}
		if k == nil {
			v.errs = append(v.errs, &Error{Key: section, Msg: err.Error()})
			return
		}
		if seen[k.key] {
			return // its default clashes with another value: reported once
		}
		seen[k.key] = true
		v.bad(section+"."+k.key, msg)
		reflect.ValueOf(k.ptr(&c)).Elem().Set(reflect.ValueOf(k.ptr(&def)).Elem())
	}
}

// simKnobMsg is what a config file's error says of a value sim refuses:
// its problem in this file's terms, naming a list's item at fault.
func simKnobMsg(ke *sim.KnobError) string {
	msg := ownerMsg("sim", ke.Problem)
	if ke.Item {
		msg = ke.Value + " is " + msg
	}
	return msg
}

// SimKnobError is the *Error of the config file at path for a value of
// its [sim] section that sim refuses: at the value's line, in the words
// Validate uses for it ("sim.seeds = 0: out of range: want 1..1000").
func SimKnobError(path string, ke *sim.KnobError) *Error {
	key := ke.Knob
	if k := findKnob("sim", ke.Knob); k != nil {
		key = k.key
	}
	return ErrorAt(path, "sim."+key, simKnobMsg(ke))
}

// ownerMsg rewrites the tail of an owner's error in this file's terms:
// keys for Go field names, durations as the file writes them.
func ownerMsg(section, msg string) string {
	if r, ok := strings.CutPrefix(msg, "out of range ("); ok && strings.HasSuffix(r, ")") {
		msg = "out of range: want " + strings.TrimSuffix(r, ")")
	}
	msg = goName.ReplaceAllStringFunc(msg, func(w string) string {
		if k := findKnob(section, w); k != nil && k.field == w {
			return k.key
		}
		return w
	})
	return goDuration.ReplaceAllStringFunc(msg, func(s string) string {
		if d, err := time.ParseDuration(s); err == nil {
			return FormatDuration(d)
		}
		return s
	})
}

// findKnob finds a knob of a section by its key or by the name its owner's
// Validate uses.
func findKnob(section, name string) *knob {
	if section == "sim" && name == "strategy" {
		name = "strategies"
	}
	for i := range schema {
		if schema[i].name != section {
			continue
		}
		for j, k := range schema[i].knobs {
			if k.key == name || k.field == name {
				return &schema[i].knobs[j]
			}
		}
	}
	return nil
}

func (v *checker) checkTox() {
	t := &v.c.Tox
	switch t.Proxy {
	case tox.ProxyNone:
		if t.ProxyHost != "" {
			v.bad("tox.proxy_host", `want "" with proxy_type "none"`)
		}
		if t.ProxyPort != 0 {
			v.bad("tox.proxy_port", `want 0 with proxy_type "none"`)
		}
	case tox.ProxyHTTP, tox.ProxySOCKS5:
		if msg := hostProblem(t.ProxyHost); msg != "" {
			v.bad("tox.proxy_host", fmt.Sprintf("%s, with proxy_type %q", msg, t.Proxy))
		}
		if t.ProxyPort == 0 {
			v.bad("tox.proxy_port", fmt.Sprintf("want 1..65535 with proxy_type %q", t.Proxy))
		}
		if t.UDP {
			v.bad("tox.udp", fmt.Sprintf("want false with proxy_type %q: UDP traffic would bypass the proxy", t.Proxy))
		}
	default:
		v.bad("tox.proxy_type", `want "none", "http" or "socks5"`)
	}
	if t.UDPPortStart != 0 && t.UDPPortEnd != 0 && t.UDPPortEnd < t.UDPPortStart {
		v.bad("tox.udp_port_end", fmt.Sprintf("want at least udp_port_start (%d), or 0", t.UDPPortStart))
	}
	if t.FriendRequests > tox.Manual {
		v.bad("tox.friend_requests", `want "known", "all" or "manual"`)
	}
	if t.Profile == "" {
		v.bad("tox.profile", "empty: want a file name")
	}
	for i, n := range t.Bootstrap {
		key := fmt.Sprintf("tox.bootstrap[%d].", i)
		if msg := hostProblem(n.Host); msg != "" {
			v.bad(key+"host", msg)
		}
		if n.Port == 0 {
			v.bad(key+"port", "want 1..65535")
		}
		if n.PublicKey.IsZero() {
			v.bad(key+"public_key", "want the node's DHT public key, 64 hex digits, not zero")
		}
	}
	v.backstop("tox", v.c.ToxOptions().Validate())
}

// hostProblem says what is wrong with h as a host for libtoxcore (an IP
// address or a DNS host name, no port), or "" if nothing is. A bad name
// would otherwise be taken, fail to resolve at every start, and leave the
// node off the network with only a warning in its log.
func hostProblem(h string) string {
	want := fmt.Sprintf("want an IP address or a host name of 1..%d bytes", tox.MaxHostnameLength-1)
	switch {
	case h == "" || len(h) >= tox.MaxHostnameLength:
		return want
	case net.ParseIP(h) != nil:
		return ""
	case strings.Contains(h, "://"):
		return want + ", not a URL"
	case strings.Count(h, ":") == 1:
		return want + ": the port goes in port, not here"
	}
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	numeric := true
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return want + " (dot-separated labels of 1..63 letters, digits and inner hyphens)"
		}
		for _, c := range []byte(l) {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				numeric = false
			default:
				return want + " (letters, digits, hyphens and dots only)"
			}
		}
	}
	if numeric {
		return want + ": this is not a valid IP address"
	}
	return ""
}

// checkQuota checks pop3.max_mailbox_bytes against mesh.max_envelope_size,
// unless the latter is itself wrong.
func (v *checker) checkQuota() {
	q := v.c.POP3.MaxMailboxBytes
	if q < 0 {
		v.bad("pop3.max_mailbox_bytes", "out of range: want 0 (no limit) or a size")
		return
	}
	if least := LargestStoredMail(v.c.Mesh.MaxEnvelopeSize); q != 0 && q < least && v.failed["mesh"] == 0 {
		v.bad("pop3.max_mailbox_bytes", fmt.Sprintf("out of range: want 0 (no limit), or at least %d bytes (twice mesh.max_envelope_size and 64 KiB, so that the largest mail fits)", least))
	}
}

func (v *checker) checkSMTP() {
	s := &v.c.SMTP
	v.listen("smtp", s.Listen, s.AllowRemote, "the SMTP server has no TLS and takes passwords in the clear")
	if err := checkToken(s.Domain, 255); err != nil {
		v.bad("smtp.domain", err.Error())
	}
	if limit := gateway.LargestSealableBody(v.c.Mesh.MaxEnvelopeSize); s.MaxMessageBytes < 0 || s.MaxMessageBytes > limit {
		v.bad("smtp.max_message_bytes", fmt.Sprintf("out of range: want 0 (what fits one envelope), or 1..%d (what fits one envelope of mesh.max_envelope_size)", limit))
	}
	if s.MaxRecipients < 1 || s.MaxRecipients > 10000 {
		v.bad("smtp.max_recipients", "out of range: want 1..10000")
	}
	seen := make(map[string]bool)
	for i, u := range s.Users {
		key := fmt.Sprintf("smtp.users[%d].", i)
		if err := checkToken(u.Name, MaxUserName); err != nil {
			v.bad(key+"name", err.Error())
		} else if seen[u.Name] {
			v.bad(key+"name", "listed twice: want each user once")
		}
		seen[u.Name] = true
		if err := gateway.CheckPasswordHash(u.PasswordHash); err != nil {
			v.bad(key+"password_hash", err.Error())
		}
	}
	// The SMTP limits derive from mesh.max_envelope_size: a bad one is
	// reported there, not again here under the gateway's field names.
	if len(s.Users) > 0 && v.failed["mesh"] == 0 {
		v.backstop("smtp", v.c.SMTPConfig().Validate())
	}
}

// CheckName checks a node's nickname, the name Tox friends see: at most
// tox.MaxNameLength bytes of UTF-8, without control characters (a new
// line or a tab would garble a friend's contact list), and not blanks
// alone. Empty is allowed: no nickname.
func CheckName(name string) error {
	if len(name) > tox.MaxNameLength || !utf8.ValidString(name) {
		return fmt.Errorf("want at most %d bytes of UTF-8", tox.MaxNameLength)
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("has the control character %q: want printable text", r)
	}
	if name != "" && strings.TrimSpace(name) == "" {
		return errors.New("only blanks: want a nickname, or nothing")
	}
	return nil
}

// checkToken accepts 1..max printable ASCII characters without spaces.
func checkToken(s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%d characters: want 1..%d printable ASCII characters without spaces", len(s), max)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Errorf("character %q at %d: want printable ASCII characters without spaces", r, i+1)
	}
	return nil
}

func (v *checker) checkDashboard() {
	d := &v.c.Dashboard
	v.listen("dashboard", d.Listen, d.AllowRemote, "the dashboard has no TLS, so the token would cross the network in the clear")
	if d.Token != "" {
		if err := checkToken(d.Token, 1024); err != nil || len(d.Token) < gateway.DashboardMinTokenLen {
			v.bad("dashboard.token", fmt.Sprintf("%d characters: want %d..1024 printable ASCII characters without spaces (a long random secret)",
				len(d.Token), gateway.DashboardMinTokenLen))
		} else {
			v.backstop("dashboard", v.c.DashboardConfig().Validate())
		}
	}
}

func (v *checker) checkDNS() {
	d := &v.c.DNS
	if d.Server != "" && net.ParseIP(d.Server) == nil { // an IP address alone means port 53
		if host, err := splitHostPort(d.Server, false); err != nil {
			v.bad("dns.server", strings.Replace(err.Error(), `"HOST:PORT", e.g. "127.0.0.1:1025"`, `"IP:PORT", e.g. "127.0.0.1:53"`, 1))
		} else if net.ParseIP(host) == nil {
			v.bad("dns.server", `want "IP:PORT" with an IP address, e.g. "127.0.0.1:53": a host name would need another DNS server to find this one`)
		}
	}
	if d.Timeout <= 0 || d.Timeout > 30*time.Second {
		v.bad("dns.timeout", "out of range: want (0s, 30s]: a mail client waits for the answer to RCPT TO")
	}
	if d.CacheMinTTL < time.Second {
		v.bad("dns.cache_min_ttl", "out of range: want at least 1s")
	}
	if d.CacheMaxTTL < d.CacheMinTTL {
		v.bad("dns.cache_max_ttl", fmt.Sprintf("out of range: want at least cache_min_ttl (%s)", FormatDuration(d.CacheMinTTL)))
	}
	if d.CacheNegativeTTL < time.Second {
		v.bad("dns.cache_negative_ttl", "out of range: want at least 1s")
	}
	if d.CacheMaxNegTTL < d.CacheMinTTL {
		v.bad("dns.cache_max_negative_ttl", fmt.Sprintf("out of range: want at least cache_min_ttl (%s)", FormatDuration(d.CacheMinTTL)))
	}
	if d.CacheMaxEntries < 1 {
		v.bad("dns.cache_max_entries", "out of range: want at least 1")
	}
	v.backstop("dns", v.c.DNSCacheConfig().Validate())
}

// listen checks a server's listen address: HOST:PORT, and loopback unless
// allowRemote.
func (v *checker) listen(section, addr string, allowRemote bool, risk string) {
	key := section + ".listen"
	host, err := splitHostPort(addr, true)
	switch {
	case err != nil:
		v.bad(key, err.Error())
	case !allowRemote && !isLoopback(host):
		v.bad(key, fmt.Sprintf("not a loopback address: %s; listen on 127.0.0.1, or set %s.allow_remote = true if you accept that risk", risk, section))
	}
}

// distinctListen refuses two servers on one address.
func (v *checker) distinctListen() {
	keys := []string{"smtp.listen", "pop3.listen", "dashboard.listen"}
	addrs := []string{v.c.SMTP.Listen, v.c.POP3.Listen, v.c.Dashboard.Listen}
	for i := range addrs {
		for j := range i {
			if listenClash(addrs[i], addrs[j]) {
				v.bad(keys[i], "already used by "+keys[j]+": want another address or port")
			}
		}
	}
}

// listenClash reports whether listening on a and on b would take the same
// port: the same port (not 0, any free one) on hosts that overlap, where
// "localhost" is 127.0.0.1 and ::1, and an empty or unspecified host
// (0.0.0.0, ::) is every address.
func listenClash(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return a == b && !strings.HasSuffix(a, ":0")
	}
	na, e1 := strconv.Atoi(pa)
	nb, e2 := strconv.Atoi(pb)
	if e1 != nil || e2 != nil {
		return a == b
	}
	if na != nb || na == 0 { // "01025" is port 1025; 0 is any free port
		return false
	}
	hosts := func(h string) []string {
		if strings.EqualFold(h, "localhost") {
			return []string{"127.0.0.1", "::1"}
		}
		if ip := net.ParseIP(h); ip != nil {
			return []string{ip.String()}
		}
		return []string{strings.ToLower(h)}
	}
	wildcard := func(h string) bool {
		ip := net.ParseIP(h)
		return h == "" || ip != nil && ip.IsUnspecified()
	}
	if wildcard(ha) || wildcard(hb) {
		return true
	}
	for _, x := range hosts(ha) {
		if slices.Contains(hosts(hb), x) {
			return true
		}
	}
	return false
}

// splitHostPort checks "HOST:PORT" with a numeric port (0 allowed when
// zeroPort: any free port) and returns HOST.
func splitHostPort(addr string, zeroPort bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf(`want "HOST:PORT", e.g. "127.0.0.1:1025": %v`, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (n == 0 && !zeroPort) {
		lo := 1
		if zeroPort {
			lo = 0
		}
		return "", fmt.Errorf("port %q: want a number %d..65535", port, lo)
	}
	if !zeroPort && host == "" {
		return "", errors.New(`want "HOST:PORT" with a host`)
	}
	return host, nil
}

// isLoopback reports whether host names only this machine: "localhost" or
// an address in 127.0.0.0/8 or ::1, as the gateway's servers require.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// valueOf formats the value of key in c, for errors; "" for a section.
func valueOf(c *Config, key string) string {
	if k, ok := keyIndex[key]; ok {
		return format(k.ptr(c), k.size)
	}
	// tox.bootstrap[1].port
	var section, rest string
	section, rest, _ = strings.Cut(key, ".")
	name, rest, _ := strings.Cut(rest, "[")
	idx, sub, _ := strings.Cut(rest, "].")
	i, err := strconv.Atoi(idx)
	if err != nil {
		return ""
	}
	for _, s := range schema {
		for _, t := range s.tables {
			if s.name != section || t.key != name || i < 0 || i >= t.len(c) {
				continue
			}
			for _, f := range t.fields {
				if f.key == sub {
					return format(f.ptr(c, i), false)
				}
			}
		}
	}
	return ""
}

// keyIndex finds a knob by its dotted key.
var keyIndex = func() map[string]*knob {
	m := make(map[string]*knob)
	for i := range schema {
		for j := range schema[i].knobs {
			m[dotted(schema[i].name, schema[i].knobs[j].key)] = &schema[i].knobs[j]
		}
	}
	return m
}()

func dotted(section, key string) string {
	if section == "" {
		return key
	}
	return section + "." + key
}

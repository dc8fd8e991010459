package config

// Reading toxmail.toml: strict decoding with go-toml, conversion of each
// value through the schema, validation, and errors that point at the line.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/tox"
)

// Error is one problem in a config file (or, from Validate, in a Config).
//
// Its text is "FILE:LINE: KEY = VALUE: MSG", e.g.
//
//	toxmail.toml:12: mesh.ttl = 300: out of range: want 1..max_hops
//
// or "FILE:LINE: MSG" when there is no value to show (unknown keys), or
// "FILE:LINE:COL: MSG" for TOML syntax errors. Parts that are unknown are
// left out: a Config that came from no file has no FILE and no LINE.
type Error struct {
	File   string // the path given to Load or Parse
	Line   int    // 1-based; 0 when the key is not in the file
	Column int    // 1-based, syntax errors only
	// Key is the dotted key, e.g. "mesh.ttl", "tox.bootstrap[0].port"
	// (entries of an array of tables count from 0), or "" for syntax
	// errors.
	Key string
	// Value is the value as written in the file (or, when the key is not
	// in the file, its value followed by " (default)"), "" if none.
	Value string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	pos := e.File
	if e.Line > 0 {
		if pos == "" {
			pos = "line"
		} else {
			pos += ":"
		}
		pos += strconv.Itoa(e.Line)
		if e.Column > 0 {
			pos += ":" + strconv.Itoa(e.Column)
		}
	}
	if pos != "" {
		b.WriteString(pos + ": ")
	}
	if e.Value != "" {
		b.WriteString(e.Key + " = " + e.Value + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads the config file at path, parses it strictly and validates it;
// see Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config: %s does not exist; `toxmail init --dir DIR` writes a new one", path)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a config file's contents; path is the file's name, for
// errors and to resolve a relative data_dir (against the working directory
// when path is ""). Keys absent from the file keep their defaults.
//
// Every problem found is reported, each an *Error, in line order: one
// alone is returned as it is, several are joined with errors.Join (one per
// line of the text; errors.As finds the first). A TOML syntax error stops
// at the first. Besides Validate's checks, Parse insists on a dashboard
// token.
func Parse(data []byte, path string) (*Config, error) {
	doc := reflect.New(fileType)
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(doc.Interface())
	var errs []*Error
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		for i := range strict.Errors {
			errs = append(errs, unknownKey(&strict.Errors[i], data))
		}
	case errors.As(err, &de):
		return nil, decodeError(de, data, path)
	case err != nil:
		return nil, &Error{File: path, Msg: err.Error()}
	}

	errs = append(errs, caseErrors(data)...)

	c := Default()
	c.Path = path
	bad := fill(&c, doc.Elem())
	errs = append(errs, bad...)
	if c.DataDir != "" && !filepath.IsAbs(c.DataDir) {
		base, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, fmt.Errorf("config: resolving data_dir: %w", err)
		}
		c.DataDir = filepath.Join(base, c.DataDir)
	}
	for _, e := range c.check() {
		// A value that could not be read kept its default; do not report
		// that default as well.
		if !slices.ContainsFunc(bad, func(b *Error) bool { return b.Key == e.Key }) {
			errs = append(errs, e)
		}
	}
	if c.Dashboard.Token == "" {
		errs = append(errs, &Error{Key: "dashboard.token",
			Msg: "not set: the dashboard needs a login secret; `toxmail init` writes a config with a random one, " +
				fmt.Sprintf("or set one yourself (at least %d random characters)", gateway.DashboardMinTokenLen)})
	}
	if len(errs) == 0 {
		return &c, nil
	}
	locs := locate(data)
	for _, e := range errs {
		e.File = path
		if e.Line != 0 {
			continue
		}
		if l, ok := locs[e.Key]; ok {
			e.Line = l.line
			if isKey(e.Key) {
				e.Value = l.raw
			}
			continue
		}
		if strings.Contains(e.Key, "].") {
			e.Value, e.Msg = "", e.Key+" is missing: "+e.Msg
		} else if e.Value != "" {
			e.Value += " (default)"
		}
		for k := e.Key; k != ""; {
			k = parentKey(k)
			if l, ok := locs[k]; ok {
				e.Line = l.line
				break
			}
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		li, lj := errs[i].Line, errs[j].Line
		return li != 0 && (lj == 0 || li < lj)
	})
	return nil, join(redact(errs))
}

// isSecret reports whether key holds a secret, whose value errors never
// show.
func isSecret(key string) bool {
	return key == "dashboard.token" || strings.HasSuffix(key, ".password_hash")
}

// redact drops the values of secret keys from errs; their messages name
// the key instead.
func redact(errs []*Error) []*Error {
	for _, e := range errs {
		if isSecret(e.Key) {
			e.Value = ""
			if !strings.HasPrefix(e.Msg, e.Key+" ") {
				e.Msg = e.Key + ": " + e.Msg
			}
		}
	}
	return errs
}

// parentKey drops the last part of a dotted key: "tox.bootstrap[1].port"
// gives "tox.bootstrap[1]", then "tox.bootstrap", then "tox", then "".
func parentKey(k string) string {
	if strings.HasSuffix(k, "]") {
		return k[:strings.LastIndexByte(k, '[')]
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// isKey reports whether k names a key rather than a section.
func isKey(k string) bool {
	_, ok := keyIndex[k]
	return ok || strings.Contains(k, "].")
}

func join(errs []*Error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	es := make([]error, len(errs))
	for i, e := range errs {
		es[i] = e
	}
	return errors.Join(es...)
}

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
	if len(c.Name) > tox.MaxNameLength || !utf8.ValidString(c.Name) {
		v.bad("name", fmt.Sprintf("want at most %d bytes of UTF-8", tox.MaxNameLength))
	}
	v.owner("mesh", func(c *Config) error { return c.Mesh.Validate() })
	v.checkTox()
	v.checkSMTP()
	v.listen("pop3", c.POP3.Listen, c.POP3.AllowRemote, "the POP3 server has no TLS and takes passwords in the clear")
	if c.POP3.IdleTimeout <= 0 || c.POP3.IdleTimeout > 24*time.Hour {
		v.bad("pop3.idle_timeout", "out of range: want (0s, 24h]")
	}
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
	if c.Sim.Seed > math.MaxInt64 {
		v.bad("sim.seed", "out of range: want 0..9223372036854775807")
	}
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
		m := ownerErr.FindStringSubmatch(err.Error())
		var k *knob
		if m != nil {
			k = findKnob(section, m[1])
		}
		if k == nil {
			v.errs = append(v.errs, &Error{Key: section, Msg: err.Error()})
			return
		}
		if seen[k.key] {
			return // its default clashes with another value: reported once
		}
		seen[k.key] = true
		v.bad(section+"."+k.key, ownerMsg(section, m[2]))
		reflect.ValueOf(k.ptr(&c)).Elem().Set(reflect.ValueOf(k.ptr(&def)).Elem())
	}
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
			return formatDuration(d)
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
		if !hostOK(t.ProxyHost) {
			v.bad("tox.proxy_host", fmt.Sprintf("want a host name or address of 1..%d bytes with proxy_type %q", tox.MaxHostnameLength-1, t.Proxy))
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
		if !hostOK(n.Host) {
			v.bad(key+"host", fmt.Sprintf("want an IP address or host name of 1..%d bytes", tox.MaxHostnameLength-1))
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

func hostOK(h string) bool {
	return h != "" && len(h) < tox.MaxHostnameLength && !strings.ContainsRune(h, 0)
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
		if err := checkToken(u.Name, 255); err != nil {
			v.bad(key+"name", err.Error())
		} else if seen[u.Name] {
			v.bad(key+"name", "listed twice: want each user once")
		}
		seen[u.Name] = true
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			v.bad(key+"password_hash", "not a bcrypt hash (`toxmail init` makes one)")
		}
	}
	if len(s.Users) > 0 {
		v.backstop("smtp", v.c.SMTPConfig().Validate())
	}
}

// checkToken accepts 1..max printable ASCII characters without spaces.
func checkToken(s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%d characters: want 1..%d printable ASCII characters without spaces", len(s), max)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }); i >= 0 {
		return fmt.Errorf("character %q at %d: want printable ASCII characters without spaces", s[i], i+1)
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
	if d.Server != "" {
		if _, err := splitHostPort(d.Server, false); err != nil {
			v.bad("dns.server", err.Error())
		}
	}
	if d.Timeout <= 0 || d.Timeout > time.Minute {
		v.bad("dns.timeout", "out of range: want (0s, 1m]")
	}
	if d.CacheMinTTL < time.Second {
		v.bad("dns.cache_min_ttl", "out of range: want at least 1s")
	}
	if d.CacheMaxTTL < d.CacheMinTTL {
		v.bad("dns.cache_max_ttl", fmt.Sprintf("out of range: want at least cache_min_ttl (%s)", formatDuration(d.CacheMinTTL)))
	}
	if d.CacheNegativeTTL < time.Second {
		v.bad("dns.cache_negative_ttl", "out of range: want at least 1s")
	}
	if d.CacheMaxNegTTL < d.CacheMinTTL {
		v.bad("dns.cache_max_negative_ttl", fmt.Sprintf("out of range: want at least cache_min_ttl (%s)", formatDuration(d.CacheMinTTL)))
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
			if addrs[i] == addrs[j] && !strings.HasSuffix(addrs[i], ":0") {
				v.bad(keys[i], "already used by "+keys[j]+": want another address or port")
			}
		}
	}
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

// fileType is the struct go-toml decodes into, built from the schema: a
// field of type any per key (so that this package, not go-toml, reads each
// value and words the error), a struct per section and a slice of structs
// per array of tables. go-toml's strict mode then reports every key the
// schema lacks.
var fileType = func() reflect.Type {
	anyType := reflect.TypeFor[any]()
	tag := func(key string) reflect.StructTag { return reflect.StructTag(`toml:"` + key + `"`) }
	var top []reflect.StructField
	for _, s := range schema {
		var fields []reflect.StructField
		for _, k := range s.knobs {
			fields = append(fields, reflect.StructField{Name: "K_" + k.key, Type: anyType, Tag: tag(k.key)})
		}
		for _, t := range s.tables {
			var es []reflect.StructField
			for _, f := range t.fields {
				es = append(es, reflect.StructField{Name: "K_" + f.key, Type: anyType, Tag: tag(f.key)})
			}
			fields = append(fields, reflect.StructField{Name: "T_" + t.key, Type: reflect.SliceOf(reflect.StructOf(es)), Tag: tag(t.key)})
		}
		if s.name == "" {
			top = append(top, fields...)
		} else {
			top = append(top, reflect.StructField{Name: "S_" + s.name, Type: reflect.StructOf(fields), Tag: tag(s.name)})
		}
	}
	return reflect.StructOf(top)
}()

// fill sets c from the decoded file: each key present replaces the default.
func fill(c *Config, doc reflect.Value) []*Error {
	var errs []*Error
	for _, s := range schema {
		sv := doc
		if s.name != "" {
			sv = doc.FieldByName("S_" + s.name)
		}
		for _, k := range s.knobs {
			raw := sv.FieldByName("K_" + k.key).Interface()
			if raw == nil {
				continue
			}
			if err := decode(k.ptr(c), raw, k.size, k.rng); err != nil {
				errs = append(errs, &Error{Key: dotted(s.name, k.key), Msg: err.Error()})
			}
		}
		for _, t := range s.tables {
			tv := sv.FieldByName("T_" + t.key)
			if tv.Len() == 0 {
				continue
			}
			t.resize(c, tv.Len())
			for i := range tv.Len() {
				for _, f := range t.fields {
					raw := tv.Index(i).FieldByName("K_" + f.key).Interface()
					if raw == nil {
						continue
					}
					if err := decode(f.ptr(c, i), raw, false, f.rng); err != nil {
						errs = append(errs, &Error{Key: fmt.Sprintf("%s.%s[%d].%s", s.name, t.key, i, f.key), Msg: err.Error()})
					}
				}
			}
		}
	}
	return errs
}

// decode stores raw, a value as go-toml decoded it into an any, where p
// points. rng, the allowed values, goes into the error.
func decode(p, raw any, size bool, rng string) error {
	want := func(what string) error { return fmt.Errorf("want %s (allowed: %s)", what, rng) }
	str, isStr := raw.(string)
	switch p := p.(type) {
	case *bool:
		b, ok := raw.(bool)
		if !ok {
			return errors.New("want true or false")
		}
		*p = b
	case *string:
		if !isStr {
			return want("a string")
		}
		*p = str
	case *time.Duration:
		if !isStr {
			return want(`a duration such as "90s", "10m", "2h" or "7d"`)
		}
		d, err := parseDuration(str)
		if err != nil {
			return want(`a duration such as "90s", "10m", "2h" or "7d"`)
		}
		*p = d
	case *uint8:
		return decodeInt(p, raw, size, rng)
	case *uint16:
		return decodeInt(p, raw, size, rng)
	case *int:
		return decodeInt(p, raw, size, rng)
	case *int64:
		return decodeInt(p, raw, size, rng)
	case *uint64:
		return decodeInt(p, raw, size, rng)
	case *float64:
		switch x := raw.(type) {
		case float64:
			*p = x
		case int64:
			*p = float64(x)
		case string:
			n, err := parseSize(x)
			if !size || err != nil {
				return want("a number")
			}
			*p = float64(n)
		default:
			return want("a number")
		}
	case *[]int:
		list, ok := raw.([]any)
		if !ok {
			return want("an array of integers, such as [1, 2, 3]")
		}
		out := make([]int, len(list))
		for i, x := range list {
			n, ok := x.(int64)
			if !ok || n < math.MinInt32 || n > math.MaxInt32 {
				return want("an array of integers, such as [1, 2, 3]")
			}
			out[i] = int(n)
		}
		*p = out
	case *[]string:
		list, ok := raw.([]any)
		if !ok {
			return want(`an array of strings, such as ["a", "b"]`)
		}
		out := make([]string, len(list))
		for i, x := range list {
			if out[i], ok = x.(string); !ok {
				return want(`an array of strings, such as ["a", "b"]`)
			}
		}
		*p = out
	case *tox.ProxyType:
		for _, t := range []tox.ProxyType{tox.ProxyNone, tox.ProxyHTTP, tox.ProxySOCKS5} {
			if isStr && str == t.String() {
				*p = t
				return nil
			}
		}
		return errors.New("want " + rng)
	case *tox.RequestPolicy:
		if !isStr {
			return errors.New("want " + rng)
		}
		r, err := tox.ParseRequestPolicy(str)
		if err != nil {
			return errors.New("want " + rng)
		}
		*p = r
	case *slog.Level:
		for _, n := range levelNames {
			if isStr && str == n.name {
				*p = n.level
				return nil
			}
		}
		return errors.New("want " + rng)
	case *tox.PublicKey:
		if !isStr {
			return want("a string")
		}
		k, err := tox.ParsePublicKey(str)
		if err != nil {
			return errors.New("want " + rng)
		}
		*p = k
	default:
		panic(fmt.Sprintf("config: no decoder for %T", p))
	}
	return nil
}

type integer interface {
	~uint8 | ~uint16 | ~int | ~int64 | ~uint64
}

func decodeInt[T integer](p *T, raw any, size bool, rng string) error {
	what := "an integer"
	if size {
		what = `a size in bytes, such as 1048576 or "1MiB"`
	}
	var n int64
	switch x := raw.(type) {
	case int64:
		n = x
	case string:
		var err error
		if n, err = parseSize(x); !size || err != nil {
			return fmt.Errorf("want %s (allowed: %s)", what, rng)
		}
	default:
		return fmt.Errorf("want %s (allowed: %s)", what, rng)
	}
	t := T(n)
	if int64(t) != n || (t >= 0) != (n >= 0) {
		return errors.New("out of range: want " + rng)
	}
	*p = t
	return nil
}

// parseDuration reads a Go duration ("1h30m", "90s", "-1h") that may start
// with a number of days ("7d", "1.5d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	sign := time.Duration(1)
	rest := s
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		sign, rest = -1, r
	} else if r, ok := strings.CutPrefix(rest, "+"); ok {
		rest = r
	}
	var total time.Duration
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		num := rest[:i]
		if num == "" || strings.Trim(num, "0123456789.") != "" {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		h, err := time.ParseDuration(num + "h")
		if err != nil || h > math.MaxInt64/24 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		total, rest = 24*h, rest[i+1:]
		if rest == "" {
			return sign * total, nil
		}
	}
	if rest == "" || rest[0] == '-' || rest[0] == '+' {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d > math.MaxInt64-total {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return sign * (total + d), nil
}

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1000, "kb": 1000, "m": 1000 * 1000, "mb": 1000 * 1000,
	"g": 1000 * 1000 * 1000, "gb": 1000 * 1000 * 1000, "t": 1000 * 1000 * 1000 * 1000, "tb": 1000 * 1000 * 1000 * 1000,
	"ki": 1 << 10, "kib": 1 << 10, "mi": 1 << 20, "mib": 1 << 20,
	"gi": 1 << 30, "gib": 1 << 30, "ti": 1 << 40, "tib": 1 << 40,
}

// parseSize reads "8MiB", "1.5 GB", "64kib", "4096" as a whole number of
// bytes.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mul, ok := sizeUnits[unit]
	r, ok2 := new(big.Rat).SetString(num)
	if num == "" || !ok || !ok2 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mul))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return r.Num().Int64(), nil
}

// loc is where a key is in the file, and its value as written.
type loc struct {
	line int
	raw  string
}

// locate maps every dotted key of a (syntactically valid) document to its
// line: "mesh.ttl", "tox.bootstrap[0].port", and sections ("mesh") to their
// header's line.
func locate(data []byte) map[string]loc {
	m := make(map[string]loc)
	var p unstable.Parser
	p.Reset(data)
	line := func(n *unstable.Node) int { return p.Shape(n.Raw).Start.Line }
	var firstKey func(prefix string, kv *unstable.Node) string
	// keyOf joins a node's key parts onto prefix, recording the lines of
	// the implicit tables on the way (a.b.c = 1 defines a and a.b).
	keyOf := func(prefix string, n *unstable.Node) (string, int) {
		it := n.Key()
		key, first := prefix, 0
		for it.Next() {
			k := it.Node()
			if first == 0 {
				first = line(k)
			}
			if key != "" {
				if _, ok := m[key]; !ok {
					m[key] = loc{line: first}
				}
				key += "."
			}
			key += string(k.Data)
		}
		return key, first
	}
	firstKey = func(prefix string, kv *unstable.Node) string {
		it := kv.Key()
		it.Next()
		return prefix + "." + string(it.Node().Data)
	}
	var keyval func(prefix string, kv *unstable.Node)
	keyval = func(prefix string, kv *unstable.Node) {
		key, l := keyOf(prefix, kv)
		val := kv.Value()
		m[key] = loc{line: l, raw: rawValue(&p, kv, val)}
		switch val.Kind {
		case unstable.InlineTable:
			for it := val.Children(); it.Next(); {
				keyval(key, it.Node())
			}
		case unstable.Array:
			i := 0
			for it := val.Children(); it.Next(); i++ {
				el := it.Node()
				if el.Kind != unstable.InlineTable {
					continue
				}
				ek := fmt.Sprintf("%s[%d]", key, i)
				m[ek] = loc{line: l}
				for kt := el.Children(); kt.Next(); {
					keyval(ek, kt.Node())
				}
				if first := el.Child(); first.Valid() {
					m[ek] = loc{line: m[firstKey(ek, first)].line}
				}
			}
		}
	}
	prefix := ""
	tables := make(map[string]int)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			key, l := keyOf("", e)
			if _, ok := m[key]; !ok || m[key].raw == "" {
				m[key] = loc{line: l}
			}
			prefix = key
		case unstable.ArrayTable:
			key, l := keyOf("", e)
			if _, ok := m[key]; !ok {
				m[key] = loc{line: l}
			}
			prefix = fmt.Sprintf("%s[%d]", key, tables[key])
			tables[key]++
			m[prefix] = loc{line: l}
		case unstable.KeyValue:
			keyval(prefix, e)
		}
	}
	return m
}

// rawValue returns a key-value's value as written, on one line and
// shortened if long.
func rawValue(p *unstable.Parser, kv, val *unstable.Node) string {
	var raw []byte
	if val.Kind != unstable.InlineTable && val.Kind != unstable.Array {
		raw = p.Raw(val.Raw)
	} else if kv.Raw.Length > 0 {
		// The value starts after the "=" that follows the key and runs to
		// the end of the expression (as go-toml's own decoder finds it).
		var last unstable.Range
		for it := kv.Key(); it.Next(); {
			last = it.Node().Raw
		}
		data := p.Data()
		start := int(last.Offset + last.Length)
		end := int(kv.Raw.Offset + kv.Raw.Length)
		if start < end && end <= len(data) {
			raw = bytes.TrimLeft(data[start:end], " \t")
			raw = bytes.TrimLeft(bytes.TrimPrefix(raw, []byte("=")), " \t")
		}
	}
	s := strings.Join(strings.Fields(string(raw)), " ")
	if len(s) > 100 { // a Tox ID fits
		s = s[:97] + "..."
	}
	return s
}

// decodeError turns go-toml's error for a malformed document into an
// *Error: a syntax error with line and column, or a section written as a
// plain value.
func decodeError(de *toml.DecodeError, data []byte, path string) *Error {
	line, col := de.Position()
	key := strings.Join(de.Key(), ".")
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if sectionKind(key) != "" && strings.HasPrefix(msg, "cannot ") {
		e := &Error{File: path, Line: line, Key: key, Msg: "want " + sectionKind(key)}
		if l, ok := locate(data)[key]; ok && l.raw != "" {
			e.Value = l.raw
		} else {
			e.Msg = key + ": want " + sectionKind(key)
		}
		return e
	}
	return &Error{File: path, Line: line, Column: col, Key: key, Msg: "invalid TOML: " + msg}
}

// sectionKind describes what a section or array of tables key must be, or
// returns "" if key is neither.
func sectionKind(key string) string {
	for _, s := range schema {
		if s.name != "" && s.name == key {
			return "a table: a [" + key + "] section with its keys below it"
		}
		for _, t := range s.tables {
			if s.name+"."+t.key == key {
				return "an array of tables: one [[" + key + "]] section per entry"
			}
		}
	}
	return ""
}

// unknownKey words go-toml's report of a key the schema lacks, with a
// suggestion when one is close.
func unknownKey(de *toml.DecodeError, data []byte) *Error {
	line, _ := de.Position()
	key := strings.Join(de.Key(), ".")
	// go-toml loses the path of a key in an inline table inside an array
	// ("tox.key" for bootstrap = [{key = ...}]): take it from the document.
	if locs := locate(data); strings.Contains(key, ".") {
		if _, ok := locs[key]; !ok {
			last := key[strings.LastIndexByte(key, '.')+1:]
			for k, l := range locs {
				if l.line == line && strings.HasSuffix(k, "."+last) && strings.HasSuffix(parentKey(k), "]") {
					key = stripIndexes(k)
				}
			}
		}
	}
	what := "key " + key
	section := strings.HasSuffix(de.Error(), "missing table")
	if section {
		what = "section [" + key + "]"
	}
	msg := "unknown " + what
	if s := suggest(key); len(s) > 0 {
		if section {
			for i, k := range s {
				switch kind := sectionKind(k); {
				case strings.HasPrefix(kind, "a table"):
					s[i] = "[" + k + "]"
				case kind != "":
					s[i] = "[[" + k + "]]"
				}
			}
		}
		msg += " (did you mean " + orList(s) + "?)"
	}
	return &Error{Line: line, Key: key, Msg: msg}
}

// stripIndexes turns "tox.bootstrap[0].host" into "tox.bootstrap.host".
func stripIndexes(k string) string { return indexes.ReplaceAllString(k, "") }

var indexes = regexp.MustCompile(`\[\d+\]`)

// allKeys lists every dotted key and section of the schema.
func allKeys() []string {
	var all []string
	for _, s := range schema {
		if s.name != "" {
			all = append(all, s.name)
		}
		for _, k := range s.knobs {
			all = append(all, dotted(s.name, k.key))
		}
		for _, t := range s.tables {
			all = append(all, s.name+"."+t.key)
			for _, f := range t.fields {
				all = append(all, s.name+"."+t.key+"."+f.key)
			}
		}
	}
	return all
}

// caseErrors reports keys that differ from the schema's only in case
// ("TTL"), which go-toml would quietly accept.
func caseErrors(data []byte) []*Error {
	known := make(map[string]bool)
	lower := make(map[string]string)
	for _, k := range allKeys() {
		known[k] = true
		lower[strings.ToLower(k)] = k
	}
	var errs []*Error
	for k, l := range locate(data) {
		k = stripIndexes(k)
		want, ok := lower[strings.ToLower(k)]
		if !ok || known[k] || (parentKey(k) != "" && !known[parentKey(k)]) {
			continue // right, unknown (go-toml reports it), or inside a miswritten table
		}
		msg := "unknown key " + k + " (did you mean " + want + "?)"
		if sectionKind(want) != "" {
			msg = "unknown section [" + k + "] (did you mean [" + want + "]?)"
		}
		errs = append(errs, &Error{Line: l.line, Key: k, Msg: msg})
	}
	return errs
}

// suggest returns the known keys closest to an unknown one: the nearest by
// edit distance if it is near enough, else keys of the same table that
// contain it or that it contains, else those with the same last part in
// other tables.
func suggest(key string) []string {
	all := allKeys()
	best, bestD := "", math.MaxInt
	for _, k := range all {
		if d := editDistance(strings.ToLower(key), k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(1, min(3, len(key)/4)) {
		return []string{best}
	}
	last := strings.ToLower(key[strings.LastIndexByte(key, '.')+1:])
	var out []string
	for _, k := range all {
		kl := k[strings.LastIndexByte(k, '.')+1:]
		if parentKey(k) == parentKey(key) && (strings.Contains(kl, last) || strings.Contains(last, kl)) {
			out = append(out, k)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, k := range all {
		if k[strings.LastIndexByte(k, '.')+1:] == last {
			out = append(out, k)
		}
	}
	return out
}

func orList(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent bytes cost 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

package config

import (
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
	"github.com/toxmail/toxmail/sim"
	"github.com/toxmail/toxmail/tox"
)

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultComesFromOwners(t *testing.T) {
	c := Default()
	if !reflect.DeepEqual(c.Mesh, mesh.DefaultConfig()) {
		t.Errorf("Mesh = %+v, want mesh.DefaultConfig()", c.Mesh)
	}
	if !reflect.DeepEqual(c.Sim, sim.DefaultConfig()) {
		t.Errorf("Sim = %+v, want sim.DefaultConfig()", c.Sim)
	}
	if got, want := c.ToxOptions(), tox.DefaultOptions(); !reflect.DeepEqual(got, want) {
		t.Errorf("ToxOptions() = %+v, want tox.DefaultOptions() %+v", got, want)
	}
	if got := c.RequestPolicy(); got != tox.AcceptKnown {
		t.Errorf("RequestPolicy() = %v, want known", got)
	}
	if len(c.Tox.Bootstrap) != 0 {
		t.Errorf("default bootstrap list = %v, want empty", c.Tox.Bootstrap)
	}
	s, ds := c.SMTPConfig(), gateway.DefaultSMTPConfig()
	if s.Addr != ds.Addr || s.Domain != ds.Domain || s.MaxMessageBytes != ds.MaxMessageBytes || s.MaxRecipients != ds.MaxRecipients || s.AllowRemote {
		t.Errorf("SMTPConfig() = %+v, want the gateway's defaults %+v", s, ds)
	}
	p, dp := c.POP3Config(), gateway.DefaultPOP3Config()
	if p.Addr != dp.Addr || p.IdleTimeout != dp.IdleTimeout || p.AllowRemote {
		t.Errorf("POP3Config() = %+v, want the gateway's defaults", p)
	}
	if got := c.DNSCacheConfig(); !reflect.DeepEqual(got, gateway.DefaultDNSCacheConfig()) {
		t.Errorf("DNSCacheConfig() = %+v, want gateway.DefaultDNSCacheConfig()", got)
	}
	if c.DNS.Timeout != gateway.DefaultDNSTimeout {
		t.Errorf("DNS.Timeout = %v, want %v", c.DNS.Timeout, gateway.DefaultDNSTimeout)
	}
	if c.Dashboard.Listen != gateway.DefaultDashboardAddr || c.Dashboard.Token != "" {
		t.Errorf("Dashboard = %+v", c.Dashboard)
	}
	if c.LogLevel() != slog.LevelInfo || c.Log.Format != "text" {
		t.Errorf("Log = %+v", c.Log)
	}
}

func TestAccessors(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/toxmail"
	c.Mesh.MaxEnvelopeSize = 1 << 20
	c.SMTP.Users = []User{{"alice", "h1"}, {"bob", "h2"}}
	c.Tox.Proxy, c.Tox.ProxyHost, c.Tox.ProxyPort, c.Tox.UDP = tox.ProxySOCKS5, "127.0.0.1", 9050, false
	c.Tox.UDPPortStart, c.Tox.UDPPortEnd, c.Tox.TCPPort = 40000, 40010, 3389
	c.Tox.FriendRequests = tox.Manual
	c.Log.Level = slog.LevelDebug

	if got := c.ProfilePath(); got != "/srv/toxmail/toxmail.tox" {
		t.Errorf("ProfilePath() = %q", got)
	}
	c.Tox.Profile = "/keys/me.tox"
	if got := c.ProfilePath(); got != "/keys/me.tox" {
		t.Errorf("ProfilePath() with an absolute profile = %q", got)
	}
	if got := ContactsPath(&c); got != "/srv/toxmail/contacts.toml" {
		t.Errorf("ContactsPath() = %q", got)
	}
	s := c.SMTPConfig()
	if want := gateway.LargestSealableBody(1 << 20); s.MaxMessageBytes != want {
		t.Errorf("SMTPConfig().MaxMessageBytes = %d, want %d (derived from mesh.max_envelope_size)", s.MaxMessageBytes, want)
	}
	if !reflect.DeepEqual(s.Users, map[string]string{"alice": "h1", "bob": "h2"}) {
		t.Errorf("SMTPConfig().Users = %v", s.Users)
	}
	c.SMTP.MaxMessageBytes = 1000
	if got := c.SMTPConfig().MaxMessageBytes; got != 1000 {
		t.Errorf("SMTPConfig().MaxMessageBytes = %d, want 1000", got)
	}
	o := c.ToxOptions()
	if o.Proxy != tox.ProxySOCKS5 || o.ProxyHost != "127.0.0.1" || o.ProxyPort != 9050 || o.UDP ||
		o.StartPort != 40000 || o.EndPort != 40010 || o.TCPPort != 3389 {
		t.Errorf("ToxOptions() = %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("ToxOptions().Validate() = %v", err)
	}
	if c.RequestPolicy() != tox.Manual || c.LogLevel() != slog.LevelDebug {
		t.Errorf("RequestPolicy() = %v, LogLevel() = %v", c.RequestPolicy(), c.LogLevel())
	}
	if c.MeshConfig() != c.Mesh {
		t.Errorf("MeshConfig() differs from Mesh")
	}
}

func TestProfilePathRelativeIsAbsolute(t *testing.T) {
	c := Default()
	got := c.ProfilePath()
	if !filepath.IsAbs(got) || filepath.Base(got) != DefaultProfile {
		t.Errorf("ProfilePath() = %q, want an absolute path ending in %s", got, DefaultProfile)
	}
}

// Every field of mesh.Config and sim.Config must be a key of the file: a
// field added there must be added to the schema too.
func TestSchemaCoversOwners(t *testing.T) {
	for _, tc := range []struct {
		section string
		typ     reflect.Type
	}{
		{"mesh", reflect.TypeFor[mesh.Config]()},
		{"sim", reflect.TypeFor[sim.Config]()},
	} {
		for i := range tc.typ.NumField() {
			f := tc.typ.Field(i)
			if tc.section == "mesh" && f.Name == "NoAcks" {
				continue // the simulator's baseline; "a real node never sets it"
			}
			k := findKnob(tc.section, f.Name)
			if k == nil || k.field != f.Name {
				t.Errorf("%s.Config.%s has no key in [%s]", tc.section, f.Name, tc.section)
				continue
			}
			// The knob must point at that very field.
			c := Default()
			want := reflect.ValueOf(&c).Elem().FieldByName(map[string]string{"mesh": "Mesh", "sim": "Sim"}[tc.section]).Field(i).Addr().Pointer()
			if got := reflect.ValueOf(k.ptr(&c)).Pointer(); got != want {
				t.Errorf("%s.%s does not point at %s.Config.%s", tc.section, k.key, tc.section, f.Name)
			}
		}
	}
}

// The ranges the template states for other packages' knobs are the ones
// their Validate enforces: the bounds pass, one step beyond fails.
func TestStatedRangesMatchOwners(t *testing.T) {
	type probe struct {
		key           string
		lo, hi        int64
		set           func(c *Config, v int64)
		zeroIsDefault bool // the owner reads 0 as "the default"
	}
	probes := []probe{
		{key: "mesh.max_hops", lo: 1, hi: 64, set: func(c *Config, v int64) { c.Mesh.MaxHops = uint8(v); c.Mesh.TTL = 1 }},
		{key: "sim.jobs", lo: 0, hi: 256, set: func(c *Config, v int64) { c.Sim.Jobs = int(v) }},
		{key: "mesh.max_inflight", lo: 1, hi: 1048576, set: func(c *Config, v int64) { c.Mesh.MaxInflight = int(v); c.Mesh.MaxInflightPerFriend = 1 }},
		{key: "mesh.max_batch", lo: 1, hi: int64(mesh.MaxBatchLimit), set: func(c *Config, v int64) { c.Mesh.MaxBatch = int(v) }},
		{key: "sim.nodes", lo: 2, hi: 10000000, set: func(c *Config, v int64) { c.Sim.Nodes = int(v); c.Sim.Degree = 1 }},
		{key: "sim.messages", lo: 1, hi: 1000000, set: func(c *Config, v int64) { c.Sim.Messages = int(v) }},
		{key: "sim.distance", lo: 0, hi: 64, set: func(c *Config, v int64) { c.Sim.Distance = int(v) }},
		{key: "sim.size_max", lo: 1, hi: 8387584, set: func(c *Config, v int64) { c.Sim.SizeMax = int(v); c.Sim.SizeMedian = 1 }},
		{key: "sim.seeds", lo: 1, hi: 1000, set: func(c *Config, v int64) { c.Sim.Seeds = int(v) }},
		{key: "smtp.max_recipients", lo: 1, hi: 10000, set: func(c *Config, v int64) { c.SMTP.MaxRecipients = int(v) }, zeroIsDefault: true},
	}
	for _, p := range probes {
		k := keyIndex[p.key]
		if k == nil {
			t.Fatalf("no key %s", p.key)
		}
		if want := formatRange(p.lo, p.hi); !strings.HasPrefix(k.rng, want) {
			t.Errorf("%s: stated range %q, want it to start %q", p.key, k.rng, want)
		}
		for _, tc := range []struct {
			v  int64
			ok bool
		}{{p.lo, true}, {p.hi, true}, {p.lo - 1, false}, {p.hi + 1, false}} {
			c := Default()
			p.set(&c, tc.v)
			ownerErr := ownerValidate(&c, p.key)
			ourErr := c.Validate()
			if (ownerErr == nil) != tc.ok && !(p.zeroIsDefault && tc.v == 0) {
				t.Errorf("%s = %d: the owner's Validate says %v, but the stated range is %d..%d", p.key, tc.v, ownerErr, p.lo, p.hi)
			}
			if (ourErr == nil) != tc.ok {
				t.Errorf("%s = %d: Validate() = %v, want ok = %v", p.key, tc.v, ourErr, tc.ok)
			}
		}
	}
}

func formatRange(lo, hi int64) string {
	return strconv.FormatInt(lo, 10) + ".." + strconv.FormatInt(hi, 10)
}

// ownerValidate runs the Validate of the package that owns key's section.
func ownerValidate(c *Config, key string) error {
	switch strings.SplitN(key, ".", 2)[0] {
	case "mesh":
		return c.Mesh.Validate()
	case "sim":
		return c.Sim.Validate()
	case "smtp":
		s := c.SMTPConfig()
		s.Users = map[string]string{"u": "$2a$04$" + strings.Repeat("a", 53)}
		return s.Validate()
	}
	panic(key)
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) < gateway.DashboardMinTokenLen {
		t.Fatalf("NewToken() = %q, %q", a, b)
	}
	c := Default()
	c.Dashboard.Token = a
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.DashboardConfig().Validate(); err != nil {
		t.Fatalf("the gateway refuses the token: %v", err)
	}
}

func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Mesh.TTL = 0
	c.Log.Format = "xml"
	c.DNS.Timeout = time.Hour
	err := c.Validate()
	want := []string{
		"dns.timeout = \"1h\": out of range: want (0s, 30s]",
		"log.format = \"xml\": want \"text\" or \"json\"",
		"mesh.ttl = 0: out of range: want 1..max_hops (8)",
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("Validate() = %q, want it to contain %q", got, w)
		}
	}
	var e *Error
	if !errors.As(err, &e) || e.File != "" || e.Line != 0 {
		t.Errorf("errors.As(*Error) = %+v", e)
	}
}

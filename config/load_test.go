package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/toxmail/toxmail/tox"
)

const testToken = "0123456789abcdef0123456789abcdef-test"

// withToken appends the dashboard token every file needs, after doc, so
// that doc's line numbers stay as written.
func withToken(doc string) []byte {
	return []byte(doc + "\n[dashboard]\ntoken = \"" + testToken + "\"\n")
}

func testHash(t testing.TB) string {
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// fullDoc sets every key to a value other than its default.
func fullDoc(hash string) string {
	return `data_dir = "state"
name = "alice's node"

[tox]
udp = false
ipv6 = false
lan_discovery = true
hole_punching = false
dht_announcements = false
udp_port_start = 40000
udp_port_end = 40009
tcp_port = 3389
proxy_type = "socks5"
proxy_host = "127.0.0.1"
proxy_port = 9050
friend_requests = "manual"
profile = "keys/alice.tox"

[[tox.bootstrap]]
host = "tox.example.org"
port = 33445
public_key = "` + strings.Repeat("AB", 32) + `"

[[tox.bootstrap]]
host = "127.0.0.1"
port = 33446
tcp_port = 3389
public_key = "` + strings.Repeat("0c", 32) + `"

[smtp]
listen = "127.0.0.1:2525"
domain = "alice.example"
max_message_bytes = "1MiB"
max_recipients = 10
allow_remote = true
non_delivery_reports = false

[[smtp.users]]
name = "alice"
password_hash = "` + hash + `"

[[smtp.users]]
name = "bob"
password_hash = "` + hash + `"

[pop3]
listen = "[::1]:1995"
allow_remote = true
idle_timeout = "30m"
max_mailbox_bytes = "100MiB"

[dashboard]
listen = "localhost:8080"
token = "` + testToken + `"
allow_remote = true

[dns]
server = "127.0.0.1:5353"
timeout = "2s"
cache_min_ttl = "10s"
cache_max_ttl = "12h"
cache_negative_ttl = "30s"
cache_max_negative_ttl = "2h"
cache_max_entries = 99

[log]
level = "debug"
format = "json"

[mesh]
ttl = 3
max_hops = 6
lifetime = "36h"
max_lifetime = "3d"
clock_skew = "5m"
max_envelope_size = "4MiB"
max_held_bytes = "1GB"
friend_share = 0.5
dedupe_size = 1024
max_acks = 5000
max_seen = 70000
request_timeout = "90s"
max_inflight = 100
max_inflight_per_friend = 10
offer_delay = "0s"
max_batch = 64
sweep_interval = "30m"
outbox_retention = "1d12h"
deliver_retry = "1m"

[sim]
graph = "ws"
nodes = 500
degree = 10
rewire = 0.2
triad = 0.25
churn = "exp"
mean_on = "2h"
mean_off = "6h"
on_shape = 0.5
on_scale = "3h"
off_shape = 0.7
off_scale = "9h"
always_on = 0.1
latency = "100ms"
bandwidth = "512KiB"
connect_delay = "5s"
messages = 50
days = 3.5
window = "12h"
distance = 2
size_median = 2048
size_sigma = 0.5
size_max = "512KB"
lifetime = "2d"
max_held_bytes = "64MiB"
ttl = [2, 4]
strategies = ["flood", "direct"]
seeds = 3
seed = 42
graph_seed = 7
jobs = 2
`
}

func TestParseEveryKey(t *testing.T) {
	hash := testHash(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "toxmail.toml")
	got, err := Parse([]byte(fullDoc(hash)), path)
	if err != nil {
		t.Fatal(err)
	}

	want := Default()
	want.Path = path
	want.DataDir = filepath.Join(dir, "state")
	want.Name = "alice's node"
	k1, _ := tox.ParsePublicKey(strings.Repeat("AB", 32))
	k2, _ := tox.ParsePublicKey(strings.Repeat("0c", 32))
	want.Tox = Tox{
		LANDiscovery: true, UDPPortStart: 40000, UDPPortEnd: 40009, TCPPort: 3389,
		Proxy: tox.ProxySOCKS5, ProxyHost: "127.0.0.1", ProxyPort: 9050,
		FriendRequests: tox.Manual, Profile: "keys/alice.tox",
		Bootstrap: []BootstrapNode{{"tox.example.org", 33445, 0, k1}, {"127.0.0.1", 33446, 3389, k2}},
	}
	want.SMTP = SMTP{Listen: "127.0.0.1:2525", Domain: "alice.example", MaxMessageBytes: 1 << 20, MaxRecipients: 10,
		AllowRemote: true, Users: []User{{"alice", hash}, {"bob", hash}}}
	want.POP3 = POP3{Listen: "[::1]:1995", AllowRemote: true, IdleTimeout: 30 * time.Minute, MaxMailboxBytes: 100 << 20}
	want.Dashboard = Dashboard{Listen: "localhost:8080", Token: testToken, AllowRemote: true}
	want.DNS = DNS{Server: "127.0.0.1:5353", Timeout: 2 * time.Second, CacheMinTTL: 10 * time.Second, CacheMaxTTL: 12 * time.Hour,
		CacheNegativeTTL: 30 * time.Second, CacheMaxNegTTL: 2 * time.Hour, CacheMaxEntries: 99}
	want.Log = Log{Level: slog.LevelDebug, Format: "json"}
	m := &want.Mesh
	m.TTL, m.MaxHops, m.Lifetime, m.MaxLifetime, m.ClockSkew = 3, 6, 36*time.Hour, 3*day, 5*time.Minute
	m.MaxEnvelopeSize, m.MaxHeldBytes, m.FriendShare, m.DedupeSize, m.MaxAcks, m.MaxSeen = 4<<20, 1e9, 0.5, 1024, 5000, 70000
	m.RequestTimeout, m.MaxInflight, m.MaxInflightPerFriend, m.OfferDelay, m.MaxBatch = 90*time.Second, 100, 10, 0, 64
	m.SweepInterval, m.OutboxRetention, m.DeliverRetry = 30*time.Minute, 36*time.Hour, time.Minute
	s := &want.Sim
	s.Graph, s.Nodes, s.Degree, s.Rewire, s.Triad = "ws", 500, 10, 0.2, 0.25
	s.Churn, s.MeanOn, s.MeanOff, s.OnShape, s.OnScale, s.OffShape, s.OffScale, s.AlwaysOn = "exp", 2*time.Hour, 6*time.Hour, 0.5, 3*time.Hour, 0.7, 9*time.Hour, 0.1
	s.Latency, s.Bandwidth, s.ConnectDelay = 100*time.Millisecond, 512<<10, 5*time.Second
	s.Messages, s.Days, s.Window, s.Distance, s.SizeMedian, s.SizeSigma, s.SizeMax = 50, 3.5, 12*time.Hour, 2, 2048, 0.5, 512000
	s.Lifetime, s.MaxHeldBytes, s.TTLs, s.Strategies, s.Seeds, s.Seed, s.GraphSeed = 2*day, 64<<20, []int{2, 4}, []string{"flood", "direct"}, 3, 42, 7
	s.Jobs = 2

	if !reflect.DeepEqual(got, &want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, &want)
	}
	// The document sets every key to something other than its default, so
	// a key the parser skipped shows here.
	def := Default()
	for key, k := range keyIndex {
		if format(k.ptr(got), k.size) == format(k.ptr(&def), k.size) {
			t.Errorf("%s kept its default %s", key, format(k.ptr(&def), k.size))
		}
	}
}

// errorOf parses doc (with a token appended) and returns the only error.
func errorOf(t *testing.T, doc string) *Error {
	t.Helper()
	_, err := Parse(withToken(doc), "toxmail.toml")
	if err == nil {
		t.Fatalf("Parse(%q) succeeded", doc)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%q) = %v, not an *Error", doc, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Parse(%q) gave several errors:\n%v", doc, err)
	}
	return e
}

func TestBadValues(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		key  string
		line int
		want string // the whole message
	}{
		{"[mesh]\nttl = 0", "mesh.ttl", 2, `toxmail.toml:2: mesh.ttl = 0: out of range: want 1..max_hops (8)`},
		{"[mesh]\nttl = 300", "mesh.ttl", 2, `toxmail.toml:2: mesh.ttl = 300: out of range: want 1..max_hops`},
		{"[mesh]\nttl = \"four\"", "mesh.ttl", 2, `toxmail.toml:2: mesh.ttl = "four": want an integer (allowed: 1..max_hops)`},
		{"[mesh]\nmax_hops = 2", "mesh.ttl", 1, `toxmail.toml:1: mesh.ttl = 4 (default): out of range: want 1..max_hops (2)`},
		{"[mesh]\n\nfriend_share = 1.5", "mesh.friend_share", 3, `toxmail.toml:3: mesh.friend_share = 1.5: out of range: want (0, 1]`},
		{"[mesh]\nlifetime = \"-1h\"", "mesh.lifetime", 2, `toxmail.toml:2: mesh.lifetime = "-1h": out of range: want 1m..max_lifetime (14d)`},
		{"[mesh]\nrequest_timeout = \"soon\"", "mesh.request_timeout", 2, `toxmail.toml:2: mesh.request_timeout = "soon": want a duration such as "90s", "10m", "2h" or "7d" (allowed: 1s..1h)`},
		{"[mesh]\nrequest_timeout = 120", "mesh.request_timeout", 2, `toxmail.toml:2: mesh.request_timeout = 120: want a duration such as "90s", "10m", "2h" or "7d" (allowed: 1s..1h)`},
		{"[mesh]\nmax_held_bytes = \"lots\"", "mesh.max_held_bytes", 2, `toxmail.toml:2: mesh.max_held_bytes = "lots": want a size in bytes, such as 1048576 or "1MiB" (allowed: max_envelope_size..1TiB)`},
		{"[mesh]\nmax_held_bytes = \"-1MiB\"", "mesh.max_held_bytes", 2, `want a size in bytes`},
		{"[mesh]\nmax_held_bytes = \"1.5B\"", "mesh.max_held_bytes", 2, `want a size in bytes`},
		{"[mesh]\nmax_held_bytes = 1024", "mesh.max_held_bytes", 2, `toxmail.toml:2: mesh.max_held_bytes = 1024: out of range: want max_envelope_size (8388608)..1 TiB`},
		// One error, for the key given: not a second one for the SMTP limit
		// derived from it, under the gateway's field names.
		{"[mesh]\nmax_envelope_size = \"1TiB\"\n[[smtp.users]]\nname = \"alice\"\npassword_hash = \"" + testHash(t) + "\"", "mesh.max_envelope_size", 2, `toxmail.toml:2: mesh.max_envelope_size = "1TiB": out of range`},
		{"mesh = 5", "mesh", 1, `toxmail.toml:1: mesh = 5: want a table: a [mesh] section with its keys below it`},
		{"[tox]\nudp = \"yes\"", "tox.udp", 2, `toxmail.toml:2: tox.udp = "yes": want true or false`},
		{"[tox]\nproxy_type = \"tor\"", "tox.proxy_type", 2, `toxmail.toml:2: tox.proxy_type = "tor": want "none", "http" or "socks5"`},
		{"[tox]\nproxy_type = \"socks5\"\nproxy_host = \"127.0.0.1\"\nproxy_port = 9050", "tox.udp", 1, `toxmail.toml:1: tox.udp = true (default): want false with proxy_type "socks5": UDP traffic would bypass the proxy`},
		{"[tox]\nfriend_requests = \"maybe\"", "tox.friend_requests", 2, `toxmail.toml:2: tox.friend_requests = "maybe": want "known", "all" or "manual"`},
		{"[tox]\nudp_port_start = 70000", "tox.udp_port_start", 2, `toxmail.toml:2: tox.udp_port_start = 70000: out of range: want 0..65535`},
		{"[tox]\nudp_port_start = 40010\nudp_port_end = 40000", "tox.udp_port_end", 3, `toxmail.toml:3: tox.udp_port_end = 40000: want at least udp_port_start (40010), or 0`},
		{"[[tox.bootstrap]]\nhost = \"h\"\nport = 1\npublic_key = \"xyz\"", "tox.bootstrap[0].public_key", 4, `toxmail.toml:4: tox.bootstrap[0].public_key = "xyz": want 64 hex digits`},
		{"[[tox.bootstrap]]\nhost = \"h\"\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].port", 1, `toxmail.toml:1: tox.bootstrap[0].port is missing: want 1..65535`},
		{"[tox]\nbootstrap = [{host = \"h\", port = 0, public_key = \"" + strings.Repeat("AB", 32) + "\"}]", "tox.bootstrap[0].port", 2, `toxmail.toml:2: tox.bootstrap[0].port = 0: want 1..65535`},
		{"[tox.bootstrap]\nhost = \"h\"\nport = 0\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].port", 3, `toxmail.toml:3: tox.bootstrap[0].port = 0: want 1..65535`},
		{"[[tox.bootstrap]]\nhost = \"127.0.0.1:33445\"\nport = 33445\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].host", 2, `the port goes in port`},
		{"[[tox.bootstrap]]\nhost = \"http://node.example\"\nport = 33445\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].host", 2, `not a URL`},
		{"[[tox.bootstrap]]\nhost = \"a b\"\nport = 33445\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].host", 2, `letters, digits, hyphens and dots only`},
		{"[[tox.bootstrap]]\nhost = \"256.1.1.1\"\nport = 33445\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].host", 2, `not a valid IP address`},
		{"[[tox.bootstrap]]\nhost = \"-node.example\"\nport = 33445\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].host", 2, `inner hyphens`},
		{"[[tox.bootstrap]]\nhost = \"node..example\"\nport = 33445\npublic_key = \"" + strings.Repeat("AB", 32) + "\"", "tox.bootstrap[0].host", 2, `inner hyphens`},
		{"[tox]\nudp = false\nproxy_type = \"socks5\"\nproxy_host = \"127.0.0.1:9050\"\nproxy_port = 9050", "tox.proxy_host", 4, `the port goes in port, not here, with proxy_type "socks5"`},
		{"[[smtp.users]]\nname = \"alice\"\npassword_hash = \"" + testHash(t)[:59] + "\"", "smtp.users[0].password_hash", 3, `toxmail.toml:3: smtp.users[0].password_hash: not a bcrypt hash: 59 characters`},
		{"[log]\nlevel = \"loud\"", "log.level", 2, `toxmail.toml:2: log.level = "loud": want "debug", "info", "warn" or "error"`},
		{"[log]\nformat = \"xml\"", "log.format", 2, `toxmail.toml:2: log.format = "xml": want "text" or "json"`},
		{"[smtp]\nlisten = \"0.0.0.0:25\"", "smtp.listen", 2, `toxmail.toml:2: smtp.listen = "0.0.0.0:25": not a loopback address: the SMTP server has no TLS and takes passwords in the clear; listen on 127.0.0.1, or set smtp.allow_remote = true if you accept that risk`},
		{"[smtp]\nlisten = \"localhost\"", "smtp.listen", 2, `want "HOST:PORT"`},
		{"[smtp]\nmax_recipients = 0", "smtp.max_recipients", 2, `toxmail.toml:2: smtp.max_recipients = 0: out of range: want 1..10000`},
		{"[smtp]\nmax_message_bytes = \"100MiB\"", "smtp.max_message_bytes", 2, `toxmail.toml:2: smtp.max_message_bytes = "100MiB": out of range: want 0 (what fits one envelope), or 1..8257362`},
		{"[smtp]\ndomain = \"a b\"", "smtp.domain", 2, `want printable ASCII characters without spaces`},
		{"[smtp]\ndomain = \"é.example\"", "smtp.domain", 2, `character 'é' at 1: want printable ASCII`},
		{"[[smtp.users]]\nname = \"alice\"\npassword_hash = \"hunter2\"", "smtp.users[0].password_hash", 3, `toxmail.toml:3: smtp.users[0].password_hash: not a bcrypt hash`},
		{"[[smtp.users]]\nname = \"" + strings.Repeat("n", 129) + "\"\npassword_hash = \"" + testHash(t) + "\"", "smtp.users[0].name", 2, `129 characters: want 1..128 printable ASCII`},
		{"[[smtp.users]]\nname = \"alice\"\npassword_hash = \"$2a$31$VYqZ24BPC2.cpkEpHKbbp.XB5Dg9yZyn13R9v8GrdU/PxCUBCTBQO\"", "smtp.users[0].password_hash", 3,
			`toxmail.toml:3: smtp.users[0].password_hash: bcrypt cost 31 is too slow: each login would take 2097152 times as long as at cost 10, which toxmail passwd uses; want 4..15`},
		{"[pop3]\nlisten = \"127.0.0.1:1025\"", "pop3.listen", 2, `toxmail.toml:2: pop3.listen = "127.0.0.1:1025": already used by smtp.listen`},
		{"[pop3]\nidle_timeout = \"0s\"", "pop3.idle_timeout", 2, `toxmail.toml:2: pop3.idle_timeout = "0s": out of range: want (0s, 24h]`},
		{"[pop3]\nmax_mailbox_bytes = \"8MiB\"", "pop3.max_mailbox_bytes", 2, `toxmail.toml:2: pop3.max_mailbox_bytes = "8MiB": out of range: want 0 (no limit), or at least 16842752 bytes (twice mesh.max_envelope_size and 64 KiB`},
		{"[pop3]\nmax_mailbox_bytes = -1", "pop3.max_mailbox_bytes", 2, `toxmail.toml:2: pop3.max_mailbox_bytes = -1: out of range: want 0 (no limit) or a size`},
		{"[dns]\nserver = \"nope\"", "dns.server", 2, `toxmail.toml:2: dns.server = "nope": want "IP:PORT"`},
		{"[dns]\nserver = \"bogus:53\"", "dns.server", 2, `toxmail.toml:2: dns.server = "bogus:53": want "IP:PORT" with an IP address`},
		{"[dns]\ncache_max_ttl = \"1s\"", "dns.cache_max_ttl", 2, `toxmail.toml:2: dns.cache_max_ttl = "1s": out of range: want at least cache_min_ttl (30s)`},
		{"[sim]\nchurn = \"x\"", "sim.churn", 2, `toxmail.toml:2: sim.churn = "x": not one of none, exp, weibull, kad`},
		{"[sim]\nttl = [0]", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = [0]: out of range: want 1..64`},
		{"[sim]\nttl = [1, \"2\"]", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = [1, "2"]: want an array of integers`},
		{"[sim]\nttl = \"3-1\"", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = "3-1": ttl "3-1" in "3-1": range runs backwards (3 > 1): want hop limits such as [1, 2, 4] or "1-6"`},
		{"[sim]\nttl = [1, 9999]", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = [1, 9999]: 9999 is out of range: want 1..64`},
		{"[sim]\nttl = \"1-3,9999\"", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = "1-3,9999": 9999 is out of range: want 1..64`},
		{"[sim]\nttl = \"1-70\"", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = "1-70": 70 is out of range: want 1..64`},
		{"[sim]\nttl = [3, 0, 99]", "sim.ttl", 2, `toxmail.toml:2: sim.ttl = [3, 0, 99]: 0 is out of range: want 1..64`},
		{"[sim]\nstrategies = \"gossip\"", "sim.strategies", 2, `toxmail.toml:2: sim.strategies = "gossip": not one of`},
		{"[sim]\nstrategies = [\"flood\", \"x is y\"]", "sim.strategies", 2, `toxmail.toml:2: sim.strategies = ["flood", "x is y"]: "x is y" is not one of [`},
		{"[sim]\nstrategies = \"flood, gossip\"", "sim.strategies", 2, `toxmail.toml:2: sim.strategies = "flood, gossip": "gossip" is not one of`},
		{"[sim]\nstrategies = [\"flood\", \"gossip\"]", "sim.strategies", 2, `toxmail.toml:2: sim.strategies = ["flood", "gossip"]: "gossip" is not one of`},
		{"[sim]\nstrategies = \"flood,,relay\"", "sim.strategies", 2, `toxmail.toml:2: sim.strategies = "flood,,relay": missing one: an empty item ("", or a stray comma)`},
		{"[sim]\nnodes = 1", "sim.nodes", 2, `toxmail.toml:2: sim.nodes = 1: out of range: want 2..10000000`},
		{"[sim]\nseed = -1", "sim.seed", 2, `toxmail.toml:2: sim.seed = -1: out of range: want 0..9223372036854775807`},
		{"data_dir = 5", "data_dir", 1, `toxmail.toml:1: data_dir = 5: want a string (allowed: a directory; relative to the folder of this file)`},
		{"name = \"" + strings.Repeat("x", tox.MaxNameLength+1) + "\"", "name", 1, `want at most 128 bytes of UTF-8`},
		{"name = \"a\\nb\"", "name", 1, `toxmail.toml:1: name = "a\nb": has the control character '\n': want printable text`},
		{"name = \" \"", "name", 1, `toxmail.toml:1: name = " ": only blanks: want a nickname, or nothing`},
	} {
		t.Run(tc.key, func(t *testing.T) {
			e := errorOf(t, tc.doc)
			if e.Key != tc.key || e.Line != tc.line || e.File != "toxmail.toml" {
				t.Errorf("got key %q line %d file %q, want key %q line %d (%v)", e.Key, e.Line, e.File, tc.key, tc.line, e)
			}
			if !strings.Contains(e.Error(), tc.want) {
				t.Errorf("got %q, want %q", e.Error(), tc.want)
			}
		})
	}
}

func TestSecretsNotShown(t *testing.T) {
	if _, err := Parse([]byte("[dashboard]\ntoken = 12345"), "toxmail.toml"); err == nil ||
		err.Error() != "toxmail.toml:2: dashboard.token: want a string (allowed: 32..1024 printable ASCII characters without spaces)" {
		t.Errorf("token = 12345: %v", err)
	}
	_, err := Parse([]byte("[dashboard]\ntoken = \"short secret\"\n"), "toxmail.toml")
	if err == nil || strings.Contains(err.Error(), "short secret") {
		t.Fatalf("Parse = %v, want an error that does not show the token", err)
	}
	if want := "toxmail.toml:2: dashboard.token: 12 characters: want 32..1024"; !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestTokenRequired(t *testing.T) {
	for _, doc := range []string{"", "[dashboard]\nlisten = \"127.0.0.1:9000\"\n", "[dashboard]\ntoken = \"\"\n"} {
		_, err := Parse([]byte(doc), "toxmail.toml")
		var e *Error
		if !errors.As(err, &e) || e.Key != "dashboard.token" || !strings.Contains(e.Msg, "toxmail init") {
			t.Errorf("Parse(%q) = %v, want a missing-token error mentioning toxmail init", doc, err)
		}
		if doc != "" && e != nil && e.Line == 0 {
			t.Errorf("Parse(%q): no line in %v", doc, err)
		}
	}
	c := Default()
	if err := c.Validate(); err != nil {
		t.Errorf("Validate requires the token: %v", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	doc := "name = \"n\"\n[smtp]\nlisen = \"127.0.0.1:25\"\n\n[smpt]\nlisten = \"x\"\n[mesh]\nTTL = 3\nlisten = 1\n[[tox.boostrap]]\nhost = \"h\"\n[tox]\nbootstrap = [{host = \"h\", port = 1, key = \"k\"}]\n"
	_, err := Parse(withToken(doc), "toxmail.toml")
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"toxmail.toml:3: unknown key smtp.lisen (did you mean smtp.listen?)",
		"toxmail.toml:5: unknown section [smpt] (did you mean [smtp]?)",
		"toxmail.toml:8: unknown key mesh.TTL (did you mean mesh.ttl?)",
		"toxmail.toml:9: unknown key mesh.listen (did you mean smtp.listen, pop3.listen or dashboard.listen?)",
		"toxmail.toml:10: unknown section [tox.boostrap] (did you mean [[tox.bootstrap]]?)",
		"toxmail.toml:13: unknown key tox.bootstrap.key (did you mean tox.bootstrap.public_key?)",
		"toxmail.toml:13: tox.bootstrap[0].public_key is missing: want the node's DHT public key, 64 hex digits, not zero",
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var e *Error
	if !errors.As(err, &e) || e.Key != "smtp.lisen" || e.Line != 3 {
		t.Errorf("errors.As gives %+v, want the first error", e)
	}
	e = errorOf(t, "ttl = 4")
	if want := "toxmail.toml:1: unknown key ttl (did you mean mesh.ttl or sim.ttl?)"; e.Error() != want {
		t.Errorf("got %q, want %q", e, want)
	}
}

func TestSeveralErrorsInLineOrder(t *testing.T) {
	_, err := Parse(withToken("[sim]\nnodes = 1\n[mesh]\nttl = 0\nfriend_share = 2.0\nlifetime = \"x\"\n"), "toxmail.toml")
	want := []string{
		"toxmail.toml:2: sim.nodes = 1: out of range: want 2..10000000",
		"toxmail.toml:4: mesh.ttl = 0: out of range: want 1..max_hops (8)",
		"toxmail.toml:5: mesh.friend_share = 2.0: out of range: want (0, 1]",
		`toxmail.toml:6: mesh.lifetime = "x": want a duration such as "90s", "10m", "2h" or "7d" (allowed: 1m..max_lifetime)`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

func TestSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		doc       string
		line, col int
	}{
		{"name = \"n\"\n[mesh]\nttl = = 4\n", 3, 7},
		{"[mesh\nttl = 4\n", 1, 6},
		{"[mesh]\nttl = 4\nttl = 5\n", 3, 1},
		{"name = \"unterminated\n", 1, 0},
	} {
		_, err := Parse([]byte(tc.doc), "dir/toxmail.toml")
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse(%q) = %v", tc.doc, err)
		}
		prefix := fmt.Sprintf("dir/toxmail.toml:%d:", tc.line)
		if e.Line != tc.line || (tc.col > 0 && e.Column != tc.col) || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), "invalid TOML") {
			t.Errorf("Parse(%q) = %q (line %d col %d), want line %d col %d", tc.doc, err, e.Line, e.Column, tc.line, tc.col)
		}
	}
}

func TestDataDirResolution(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "toxmail.toml")
	for _, tc := range []struct{ dataDir, want string }{
		{".", filepath.Join(dir, "conf")},
		{"state", filepath.Join(dir, "conf", "state")},
		{"../var", filepath.Join(dir, "var")},
		{"/srv/toxmail", "/srv/toxmail"},
	} {
		c, err := Parse(withToken("data_dir = \""+tc.dataDir+"\""), path)
		if err != nil {
			t.Fatal(err)
		}
		if c.DataDir != tc.want {
			t.Errorf("data_dir %q: DataDir = %q, want %q", tc.dataDir, c.DataDir, tc.want)
		}
		if want := filepath.Join(tc.want, "toxmail.tox"); c.ProfilePath() != want {
			t.Errorf("data_dir %q: ProfilePath() = %q, want %q", tc.dataDir, c.ProfilePath(), want)
		}
	}
	// Load from a relative path resolves against the working directory.
	wd, _ := os.Getwd()
	c, err := Parse(withToken(""), filepath.Join("rel", "toxmail.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "rel"); c.DataDir != want || c.Path != filepath.Join("rel", "toxmail.toml") {
		t.Errorf("DataDir = %q, Path = %q; want %q", c.DataDir, c.Path, want)
	}
	// An empty data_dir is refused, not resolved.
	if e := errorOf(t, `data_dir = ""`); e.Key != "data_dir" {
		t.Errorf("empty data_dir: %v", e)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "toxmail.toml")
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "toxmail init") {
		t.Errorf("Load(missing) = %v, want an error naming the file and toxmail init", err)
	}
	if err := os.WriteFile(path, withToken("[mesh]\nttl = 2"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mesh.TTL != 2 || c.Path != path || c.DataDir != dir {
		t.Errorf("Load: TTL %d, Path %q, DataDir %q", c.Mesh.TTL, c.Path, c.DataDir)
	}
	os.WriteFile(path, withToken("[mesh]\n\nttl = 0"), 0o600)
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+":3: mesh.ttl = 0") {
		t.Errorf("Load(bad) = %v", err)
	}
}

// The config holds the dashboard token and password hashes: Load refuses
// a file group or others may read or write, as the Tox profile is
// refused; LoadSettings (for [sim] and [dns] alone) reads it anyway.
func TestLoadRefusesInsecureMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "toxmail.toml")
	if err := os.WriteFile(path, withToken("[mesh]\nttl = 2"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o660, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "chmod 600 "+path) ||
			!strings.Contains(err.Error(), fmt.Sprintf("%04o", mode)) {
			t.Errorf("mode %04o: Load = %v, want ErrInsecureFile saying chmod 600 %s", mode, err, path)
		}
		if err := CheckMode(path); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("mode %04o: CheckMode = %v, want ErrInsecureFile", mode, err)
		}
		if c, err := LoadSettings(path); err != nil || c.Mesh.TTL != 2 {
			t.Errorf("mode %04o: LoadSettings = %v", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(path, mode)
		if _, err := Load(path); err != nil {
			t.Errorf("mode %04o: Load = %v", mode, err)
		}
		if err := CheckMode(path); err != nil {
			t.Errorf("mode %04o: CheckMode = %v", mode, err)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "is a directory") || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) {
		t.Errorf("Load(a directory) = %v, want it to say so and name %s", err, filepath.Join(dir, FileName))
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"smtp", "smpt", 1}, {"lisen", "listen", 1}, {"", "abc", 3}, {"ttl", "ttl", 0}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// An edge list named in [sim] is found beside the file, as data_dir is; a
// generator's name and an absolute path stay as they are.
func TestParseSimGraphBesideFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ graph, want string }{
		{"friends.txt", filepath.Join(dir, "friends.txt")},
		{"sub/edges.txt.gz", filepath.Join(dir, "sub", "edges.txt.gz")},
		{"/srv/edges.txt", "/srv/edges.txt"},
		{"ws", "ws"},
	} {
		c, err := Parse(withToken("[sim]\ngraph = \""+tc.graph+"\"\n"), filepath.Join(dir, "toxmail.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if c.Sim.Graph != tc.want {
			t.Errorf("graph = %q: %q, want %q", tc.graph, c.Sim.Graph, tc.want)
		}
	}
}

// [sim] takes ttl and strategies as the flags do, as strings, besides
// arrays.
func TestParseSimListsAsStrings(t *testing.T) {
	c, err := Parse(withToken("[sim]\nttl = \"1-3,6\"\nstrategies = \"flood, relay\"\n"), "toxmail.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Sim.TTLs, []int{1, 2, 3, 6}) || !slices.Equal(c.Sim.Strategies, []string{"flood", "relay"}) {
		t.Errorf("ttl %v, strategies %q; want [1 2 3 6] and [flood relay]", c.Sim.TTLs, c.Sim.Strategies)
	}
}

// Hosts libtoxcore can use pass: IP addresses and DNS host names.
func TestHostProblemAccepts(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "::1", "127.0.0.2", "localhost", "node.example.org", "node.example.org.", "tox-1.example", "h"} {
		if msg := hostProblem(h); msg != "" {
			t.Errorf("hostProblem(%q) = %q, want none", h, msg)
		}
	}
}

// "warning" is the warn level in the file as it is for --log-level.
func TestLogLevelWarning(t *testing.T) {
	c, err := Parse(withToken("[log]\nlevel = \"warning\""), "toxmail.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel() != slog.LevelWarn {
		t.Fatalf("level = \"warning\" gave %v", c.LogLevel())
	}
}

// A bcrypt hash written where a table was wanted is not echoed in the
// error: it names the key instead.
func TestHashNotEchoed(t *testing.T) {
	h := testHash(t)
	_, err := Parse(withToken("[smtp]\nusers = \""+h+"\""), "toxmail.toml")
	if err == nil || strings.Contains(err.Error(), h[7:]) || !strings.Contains(err.Error(), "smtp.users") {
		t.Fatalf("got %v: want an error naming smtp.users without the hash", err)
	}
}

// A DNS server given by its IP address alone is asked on port 53, as
// `toxmail lookup --dns IP` does.
func TestDNSServerWithoutPort(t *testing.T) {
	for _, server := range []string{"127.0.0.1", "::1", "127.0.0.1:5353", "[::1]:53"} {
		if _, err := Parse(withToken("[dns]\nserver = \""+server+"\""), "toxmail.toml"); err != nil {
			t.Errorf("dns.server = %q: %v", server, err)
		}
	}
}

func TestListenClash(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		clash bool
	}{
		{"127.0.0.1:8025", "127.0.0.1:8025", true},
		{"localhost:8025", "127.0.0.1:8025", true},
		{"[::1]:8025", "localhost:8025", true},
		{"0.0.0.0:8025", "127.0.0.1:8025", true},
		{":8025", "[::1]:8025", true},
		{"127.0.0.1:8025", "127.0.0.2:8025", false},
		{"127.0.0.1:8025", "127.0.0.1:1025", false},
		{"127.0.0.1:0", "127.0.0.1:0", false}, // any free port: two different ones
		{"127.0.0.1:01025", "127.0.0.1:1025", true},
	} {
		if got := listenClash(tc.a, tc.b); got != tc.clash {
			t.Errorf("listenClash(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.clash)
		}
	}
}

package config

// The schema of toxmail.toml — every section and key, where its value lives
// in Config, its comment and its allowed values — and the commented file
// Template writes from it. Parse reads with the same schema, so a key has
// one name, one comment and one place in Config.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/mesh"
	"github.com/toxmail/toxmail/sim"
	"github.com/toxmail/toxmail/tox"
)

// A knob is one key of the file.
type knob struct {
	key string // within its section, e.g. "ttl"
	// field is the name mesh's or sim's Validate gives the knob in its
	// errors, when that is not key (mesh names Go fields: "MaxHops").
	field string
	size  bool   // a number of bytes, also written "8MiB"
	doc   string // what it does and its unit; "\n" starts a new comment line
	rng   string // the values allowed
	ptr   func(c *Config) any
}

// A table is an array of tables, [[tox.bootstrap]] or [[smtp.users]],
// written after its section's knobs.
type table struct {
	key     string
	doc     string
	example []string // commented out when the list is empty
	fields  []field
	len     func(c *Config) int
	resize  func(c *Config, n int)
}

// A field is one key of an array of tables' entries.
type field struct {
	key, doc, rng string
	ptr           func(c *Config, i int) any
}

type section struct {
	name   string // "" for the keys before the first table
	doc    string
	knobs  []knob
	tables []table
}

// bound formats a size limit the way the template writes sizes.
func bound(n int) string { return formatSize(int64(n)) }

var schema = []section{
	{
		name: "",
		knobs: []knob{
			{key: "data_dir", rng: "a directory; relative to the folder of this file",
				doc: `Where the node keeps its state: the Tox profile, the mesh store, the mailbox and contacts.toml (the address book). "." is the folder this file is in.`,
				ptr: func(c *Config) any { return &c.DataDir }},
			{key: "name", rng: fmt.Sprintf("0..%d bytes of UTF-8, no control characters (tab, new line)", tox.MaxNameLength),
				doc: `The nickname your Tox friends see next to your Tox ID.`,
				ptr: func(c *Config) any { return &c.Name }},
		},
	},
	{
		name: "tox",
		doc:  `The Tox instance: how it reaches the Tox network, and who may become a friend.`,
		knobs: []knob{
			{key: "udp", rng: "true or false; false with a proxy",
				doc: `Use UDP. Without it every connection goes through TCP relays (slower). Turn it off with a proxy, or UDP traffic would bypass the proxy.`,
				ptr: func(c *Config) any { return &c.Tox.UDP }},
			{key: "ipv6", rng: "true or false",
				doc: `Open a dual-stack socket (IPv6 and IPv4); false binds IPv4 only.`,
				ptr: func(c *Config) any { return &c.Tox.IPv6 }},
			{key: "lan_discovery", rng: "true or false",
				doc: `Broadcast on the local network to find other Tox nodes. Off by default: a mail node should not announce itself to every host of whatever network it joins.`,
				ptr: func(c *Config) any { return &c.Tox.LANDiscovery }},
			{key: "hole_punching", rng: "true or false",
				doc: `Use UDP hole punching to reach friends behind NATs.`,
				ptr: func(c *Config) any { return &c.Tox.HolePunching }},
			{key: "dht_announcements", rng: "true or false",
				doc: `Store and answer DHT announcements for others (used by new-style group chats).`,
				ptr: func(c *Config) any { return &c.Tox.DHTAnnouncements }},
			{key: "udp_port_start", rng: "0..65535",
				doc: `First UDP port to try. udp_port_start and udp_port_end both 0 mean libtoxcore's default range, 33445..33545; one of them 0 means just the other port.`,
				ptr: func(c *Config) any { return &c.Tox.UDPPortStart }},
			{key: "udp_port_end", rng: "0..65535, at least udp_port_start unless 0",
				doc: `Last UDP port to try (inclusive); see udp_port_start.`,
				ptr: func(c *Config) any { return &c.Tox.UDPPortEnd }},
			{key: "tcp_port", rng: "0 (off) or 1..65535",
				doc: `Run a TCP relay server for other Tox nodes on this port. It costs bandwidth; 0 turns it off.`,
				ptr: func(c *Config) any { return &c.Tox.TCPPort }},
			{key: "proxy_type", rng: `"none", "http" or "socks5"`,
				doc: `Send Tox's TCP connections through a proxy: "http" (CONNECT) or "socks5" (e.g. Tor on 127.0.0.1:9050). With a proxy set udp = false.`,
				ptr: func(c *Config) any { return &c.Tox.Proxy }},
			{key: "proxy_host", rng: fmt.Sprintf(`"" with proxy_type "none", else 1..%d bytes`, tox.MaxHostnameLength-1),
				doc: `The proxy's host name or IP address.`,
				ptr: func(c *Config) any { return &c.Tox.ProxyHost }},
			{key: "proxy_port", rng: `0 with proxy_type "none", else 1..65535`,
				doc: `The proxy's TCP port.`,
				ptr: func(c *Config) any { return &c.Tox.ProxyPort }},
			{key: "friend_requests", rng: `"known", "all" or "manual"`,
				doc: "What to do with friend requests:\n" +
					`  "known": accept requests from people in the address book (contacts.toml), keep the others pending until you approve them on the dashboard;` + "\n" +
					`  "all": accept every request (anyone who knows your Tox ID can then relay through you);` + "\n" +
					`  "manual": keep every request pending for approval.`,
				ptr: func(c *Config) any { return &c.Tox.FriendRequests }},
			{key: "profile", rng: "a file name or path; relative to data_dir",
				doc: `The Tox profile: your Tox keys and friends list, written with mode 0600. Keep it secret and back it up: whoever has it can read your mail.`,
				ptr: func(c *Config) any { return &c.Tox.Profile }},
		},
		tables: []table{{
			key: "bootstrap",
			doc: "Bootstrap nodes: the Tox DHT nodes this node asks first for the rest of the network. No public node is built into toxmail, so the list starts empty: add at least one, or the node cannot reach anyone. " +
				"The Tox community keeps a list of public nodes at https://nodes.tox.chat; copy a node's address, port and public key from there, or run your own tox-bootstrapd. " +
				"Add one [[tox.bootstrap]] table per node, like this:",
			example: []string{
				`[[tox.bootstrap]]`,
				`host = "tox.example.org"`,
				`port = 33445`,
				`public_key = "<64 hex digits>"`,
			},
			fields: []field{
				{key: "host", rng: fmt.Sprintf("1..%d bytes", tox.MaxHostnameLength-1),
					doc: "The node's IP address or host name (an IP address avoids a DNS lookup).",
					ptr: func(c *Config, i int) any { return &c.Tox.Bootstrap[i].Host }},
				{key: "port", rng: "1..65535",
					doc: "The node's UDP port.",
					ptr: func(c *Config, i int) any { return &c.Tox.Bootstrap[i].Port }},
				{key: "tcp_port", rng: "0..65535; 0 means the same as port",
					doc: "The node's TCP relay port (nodes.tox.chat lists it as a TCP port; most nodes relay on 33445). The node is also used as a TCP relay: that is how a node with udp = false, or behind a firewall that drops UDP, reaches the network.",
					ptr: func(c *Config, i int) any { return &c.Tox.Bootstrap[i].TCPPort }},
				{key: "public_key", rng: "64 hex digits",
					doc: "The node's DHT public key.",
					ptr: func(c *Config, i int) any { return &c.Tox.Bootstrap[i].PublicKey }},
			},
			len:    func(c *Config) int { return len(c.Tox.Bootstrap) },
			resize: func(c *Config, n int) { c.Tox.Bootstrap = make([]BootstrapNode, n) },
		}},
	},
	{
		name: "smtp",
		doc:  `The SMTP submission server your mail client sends mail to. It has no TLS and takes passwords in the clear, which is safe only on this machine.`,
		knobs: []knob{
			{key: "listen", rng: `"HOST:PORT"; a loopback address unless allow_remote`,
				doc: `The TCP address the server listens on. Point your mail client's outgoing (SMTP) server here.`,
				ptr: func(c *Config) any { return &c.SMTP.Listen }},
			{key: "domain", rng: "1..255 printable ASCII characters without spaces",
				doc: `The server's name in its greeting and EHLO reply.`,
				ptr: func(c *Config) any { return &c.SMTP.Domain }},
			{key: "max_message_bytes", size: true,
				rng: fmt.Sprintf("0, or 1 up to what fits one envelope of mesh.max_envelope_size (%d bytes with the default)", gateway.LargestSealableBody(mesh.DefaultConfig().MaxEnvelopeSize)),
				doc: `The largest mail accepted, in bytes as the client sends it (advertised as SIZE). 0 means the largest mail that fits one envelope of mesh.max_envelope_size.`,
				ptr: func(c *Config) any { return &c.SMTP.MaxMessageBytes }},
			{key: "max_recipients", rng: "1..10000",
				doc: `The most recipients of one mail. Each recipient costs one envelope.`,
				ptr: func(c *Config) any { return &c.SMTP.MaxRecipients }},
			{key: "allow_remote", rng: "true or false",
				doc: `Let listen be an address other machines can reach. RISK: passwords then cross the network in base64 and your mail in the clear, before it is sealed; anyone on the path can read both, and anyone who reaches the port can guess passwords. Set it only on a network you trust as much as this machine, or behind a TLS tunnel.`,
				ptr: func(c *Config) any { return &c.SMTP.AllowRemote }},
			{key: "non_delivery_reports", rng: "true or false",
				doc: `When mail you sent expires before its recipient received it (see mesh.lifetime), put a report of it in your inbox, from MAILER-DAEMON, as mail servers do. The report names the mail's Message-ID, and your mail client shows it in the mail's thread.`,
				ptr: func(c *Config) any { return &c.SMTP.NonDeliveryReports }},
		},
		tables: []table{{
			key: "users",
			doc: "Users: who may log in. SMTP needs a login before it takes mail, and POP3 logins use these same names and passwords. " +
				"The node has one mailbox, that of its Tox ID: every user is a login to it, not a mailbox of its own. " +
				"One [[smtp.users]] table per user; the password is stored only as a bcrypt hash (`toxmail init` makes one), like this:",
			example: []string{
				`[[smtp.users]]`,
				`name = "you"`,
				`password_hash = "$2a$10$<bcrypt hash>"`,
			},
			fields: []field{
				{key: "name", rng: fmt.Sprintf("1..%d printable ASCII characters without spaces", MaxUserName),
					doc: "The login name.",
					ptr: func(c *Config, i int) any { return &c.SMTP.Users[i].Name }},
				{key: "password_hash", rng: "a bcrypt hash of cost 4..15",
					doc: "The bcrypt hash of the password.",
					ptr: func(c *Config, i int) any { return &c.SMTP.Users[i].PasswordHash }},
			},
			len:    func(c *Config) int { return len(c.SMTP.Users) },
			resize: func(c *Config, n int) { c.SMTP.Users = make([]User, n) },
		}},
	},
	{
		name: "pop3",
		doc:  `The POP3 server your mail client fetches mail from. Logins are the [[smtp.users]]. Like SMTP it has no TLS.`,
		knobs: []knob{
			{key: "listen", rng: `"HOST:PORT"; a loopback address unless allow_remote`,
				doc: `The TCP address the server listens on. Point your mail client's incoming (POP3) server here.`,
				ptr: func(c *Config) any { return &c.POP3.Listen }},
			{key: "allow_remote", rng: "true or false",
				doc: `Let listen be an address other machines can reach. RISK: passwords and your mail then cross the network in the clear.`,
				ptr: func(c *Config) any { return &c.POP3.AllowRemote }},
			{key: "idle_timeout", rng: "(0s, 24h]; RFC 1939 asks for at least 10m",
				doc: `How long the server waits for the client's next command before it hangs up.`,
				ptr: func(c *Config) any { return &c.POP3.IdleTimeout }},
			{key: "max_mailbox_bytes", size: true, rng: "0 (no limit), or at least twice mesh.max_envelope_size and 64 KiB",
				doc: `The inbox's quota: mail from others is taken only while the stored mail, with it, stays within this many bytes. A mail that does not fit is not taken: it waits with its sender and relays and arrives after you delete mail (the node tries it again after mesh.deliver_retry, then at doubling intervals up to once an hour, and at once when you delete mail and it may now fit), unless it expires first. Your own mail to yourself and non-delivery reports are always taken, and count, so they can take the inbox past the quota. A text message from a plain Tox client that does not fit is lost, and its sender is told so (at most once an hour). 0 means no limit.`,
				ptr: func(c *Config) any { return &c.POP3.MaxMailboxBytes }},
		},
	},
	{
		name: "dashboard",
		doc:  `The web dashboard: your Tox ID, contacts, friend requests, sent mail and what the node holds for others. Open http://LISTEN/ in a browser and log in with the token.`,
		knobs: []knob{
			{key: "listen", rng: `"HOST:PORT"; a loopback address unless allow_remote`,
				doc: `The TCP address the dashboard listens on (plain HTTP).`,
				ptr: func(c *Config) any { return &c.Dashboard.Listen }},
			{key: "token", rng: fmt.Sprintf("%d..1024 printable ASCII characters without spaces", gateway.DashboardMinTokenLen),
				doc: "The dashboard's login secret, typed into its login page or sent as \"Authorization: Bearer <token>\". Required: `toxmail init` writes a random one. Keep this file private (mode 0600).",
				ptr: func(c *Config) any { return &c.Dashboard.Token }},
			{key: "allow_remote", rng: "true or false",
				doc: `Let listen be an address other machines can reach. RISK: the token and the session cookie then cross the network in the clear.`,
				ptr: func(c *Config) any { return &c.Dashboard.AllowRemote }},
		},
	},
	{
		name: "dns",
		doc:  `tox1 DNS lookups: mail to name@domain is sent to the Tox ID in the TXT record name._tox.domain. Such records are not authenticated: whoever controls the answer controls the key.`,
		knobs: []knob{
			{key: "server", rng: `"", "IP" or "IP:PORT"`,
				doc: `The DNS server asked, by IP address (a host name would need another DNS server to find it), port 53 unless given; "" means the system's resolver.`,
				ptr: func(c *Config) any { return &c.DNS.Server }},
			{key: "timeout", rng: "(0s, 30s]",
				doc: `How long one lookup may take in all: the question goes twice over UDP, each try waiting half of it (then over TCP, in what is left, if the answer is too long for UDP). It also bounds the system's resolver.`,
				ptr: func(c *Config) any { return &c.DNS.Timeout }},
			{key: "cache_min_ttl", rng: "1s..cache_max_ttl",
				doc: `Answers are kept at least this long, whatever their TTL says, so a burst of mail to one recipient is one query.`,
				ptr: func(c *Config) any { return &c.DNS.CacheMinTTL }},
			{key: "cache_max_ttl", rng: "at least cache_min_ttl",
				doc: `Answers are asked again after this long at most, so a changed key is noticed.`,
				ptr: func(c *Config) any { return &c.DNS.CacheMaxTTL }},
			{key: "cache_negative_ttl", rng: "at least 1s",
				doc: `How long a "no such record" answer is kept when the answer does not say (no SOA record).`,
				ptr: func(c *Config) any { return &c.DNS.CacheNegativeTTL }},
			{key: "cache_max_negative_ttl", rng: "at least cache_min_ttl",
				doc: `The longest a "no such record" answer is kept, so a record published after a failed lookup is found soon.`,
				ptr: func(c *Config) any { return &c.DNS.CacheMaxNegTTL }},
			{key: "cache_max_entries", rng: "at least 1",
				doc: `The most names cached; the least recently used go first.`,
				ptr: func(c *Config) any { return &c.DNS.CacheMaxEntries }},
		},
	},
	{
		name: "log",
		doc:  `The node's log, written to standard error.`,
		knobs: []knob{
			{key: "level", rng: `"debug", "info", "warn" or "error"`,
				doc: `The least severe records written. "debug" adds the mesh's per-envelope decisions; secrets and mail are never logged.`,
				ptr: func(c *Config) any { return &c.Log.Level }},
			{key: "format", rng: `"text" or "json"`,
				doc: `"text" is key=value lines for people; "json" is one JSON object per line for log collectors.`,
				ptr: func(c *Config) any { return &c.Log.Format }},
		},
	},
	{
		name: "mesh",
		doc:  `The mesh: how envelopes flood from friend to friend, how long they live, and how much the node holds for others. Every node of a mesh may choose its own values.`,
		knobs: []knob{
			{key: "ttl", field: "TTL", rng: "1..max_hops",
				doc: `Hop limit of your own mail: it travels at most this many friend links (1 = only to your friends). More reaches further, at the cost of more copies held by more nodes.`,
				ptr: func(c *Config) any { return &c.Mesh.TTL }},
			{key: "max_hops", field: "MaxHops", rng: fmt.Sprintf("1..%d", mesh.MaxHopsLimit),
				doc: `Cap on the hop counter of envelopes from friends, so that no friend can make mail flood further than any sender may ask.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxHops }},
			{key: "lifetime", field: "Lifetime", rng: "1m..max_lifetime",
				doc: `How long your own mail lives: if the recipient has not received it by then, it expires undelivered and relays drop it.`,
				ptr: func(c *Config) any { return &c.Mesh.Lifetime }},
			{key: "max_lifetime", field: "MaxLifetime", rng: "1h..365d",
				doc: `The furthest expiry accepted from friends: envelopes expiring later than now + max_lifetime + clock_skew are refused.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxLifetime }},
			{key: "clock_skew", field: "ClockSkew", rng: "0s..1d",
				doc: `How far apart clocks may be on expiry checks.`,
				ptr: func(c *Config) any { return &c.Mesh.ClockSkew }},
			{key: "max_envelope_size", field: "MaxEnvelopeSize", size: true,
				rng: fmt.Sprintf("%s..%s", bound(envelope.SealedSize(0)), bound(envelope.HeaderSize+envelope.MaxCiphertext)),
				doc: `The largest envelope sent, requested or held, in bytes. It also bounds your mail: see smtp.max_message_bytes.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxEnvelopeSize }},
			{key: "max_held_bytes", field: "MaxHeldBytes", size: true, rng: "max_envelope_size..1TiB",
				doc: `Disk budget for envelopes held: others' mail in transit and your own outbox. When it is full, the relay copy expiring first is dropped; your own outbox never is.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxHeldBytes }},
			{key: "friend_share", field: "FriendShare", rng: "(0, 1], and at least max_envelope_size / max_held_bytes",
				doc: `The fraction of max_held_bytes that envelopes from any one friend may fill, so a flooding friend cannot crowd out the rest.`,
				ptr: func(c *Config) any { return &c.Mesh.FriendShare }},
			{key: "dedupe_size", field: "DedupeSize", rng: "0 (no cache) or 16..16777216",
				doc: `Envelope IDs remembered in memory (an LRU in front of the store's persistent "seen" set), so duplicates are recognised without a disk read. 0 turns the cache off: every duplicate not held right now costs a disk read.`,
				ptr: func(c *Config) any { return &c.Mesh.DedupeSize }},
			{key: "max_acks", field: "MaxAcks", rng: "1024..67108864",
				doc: `Acks of delivered mail remembered (about 150 bytes of memory each), to answer offers of it so other relays drop their copies. Past this many the ack expiring first is forgotten, so a friend that floods acks cannot fill the memory; no mail is lost, other copies just live until they expire.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxAcks }},
			{key: "max_seen", field: "MaxSeen", rng: "1024..1073741824",
				doc: `Envelope IDs kept on disk (about 120 bytes each) so that mail already seen is never fetched again. Past this many the IDs expiring soonest are forgotten, so a friend that floods envelopes cannot fill the disk; no mail is lost, and mail to you is never delivered twice.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxSeen }},
			{key: "request_timeout", field: "RequestTimeout", rng: "1s..1h",
				doc: `How long to wait for a requested envelope before asking another friend that offered it.`,
				ptr: func(c *Config) any { return &c.Mesh.RequestTimeout }},
			{key: "max_inflight", field: "MaxInflight", rng: "1..1048576",
				doc: `Envelopes requested and not yet received, from all friends together; offers past it are deferred and offered again later.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxInflight }},
			{key: "max_inflight_per_friend", field: "MaxInflightPerFriend", rng: "1..max_inflight",
				doc: `The same, from any one friend.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxInflightPerFriend }},
			{key: "offer_delay", field: "OfferDelay", rng: "0s..10s",
				doc: `New offers to a friend wait up to this long to share one frame; acks and requests never wait. 0s sends at once.`,
				ptr: func(c *Config) any { return &c.Mesh.OfferDelay }},
			{key: "max_batch", field: "MaxBatch", rng: fmt.Sprintf("1..%d", mesh.MaxBatchLimit),
				doc: `The most envelope IDs in one offer, request or ack frame.`,
				ptr: func(c *Config) any { return &c.Mesh.MaxBatch }},
			{key: "sweep_interval", field: "SweepInterval", rng: "0s..1d",
				doc: `The longest the node goes without sweeping expired records out of its store (held envelopes are dropped exactly at expiry regardless). 0s sweeps only at expiries.`,
				ptr: func(c *Config) any { return &c.Mesh.SweepInterval }},
			{key: "outbox_retention", field: "OutboxRetention", rng: "0s..3650d",
				doc: `How long sent mail stays listed in the outbox after its envelope expired. With 0s, mail that expires undelivered leaves the outbox at once, before its non-delivery report (smtp.non_delivery_reports) can be made.`,
				ptr: func(c *Config) any { return &c.Mesh.OutboxRetention }},
			{key: "deliver_retry", field: "DeliverRetry", rng: "1s..1h",
				doc: `How long to wait before retrying to store received mail after the mailbox failed for now (disk or inbox full); each further refusal doubles the wait, up to an hour, and deleting mail retries at once what may now fit.`,
				ptr: func(c *Config) any { return &c.Mesh.DeliverRetry }},
		},
	},
	{
		name: "sim",
		doc:  "The simulator (`toxmail sim`): it runs the real mesh code over many virtual nodes on a social graph with on/off churn, and measures delivery, latency, overhead and storage for each strategy and TTL. `toxmail run` does not use this section, though a value out of range here is an error for every command, as anywhere in this file.",
		knobs: []knob{
			{key: "graph", field: "Graph", rng: `"er", "ws", "ba", "hk" or a file path (relative to the folder of this file)`,
				doc: "The friendship graph:\n" +
					`  "er": Erdős–Rényi, every pair of nodes friends with the same probability;` + "\n" +
					`  "ws": Watts–Strogatz small world, a ring lattice whose edges are rewired with probability rewire;` + "\n" +
					`  "ba": Barabási–Albert preferential attachment, scale-free (a few nodes have many friends);` + "\n" +
					`  "hk": Holme–Kim, preferential attachment plus triad formation with probability triad: scale-free and clustered, like real social networks;` + "\n" +
					`  or the path of a SNAP edge-list file (one "a b" pair per line, # comments), e.g. from https://snap.stanford.edu/data/.`,
				ptr: func(c *Config) any { return &c.Sim.Graph }},
			{key: "nodes", field: "Nodes", rng: "2..10000000",
				doc: `Number of nodes of a generated graph (ignored for an edge-list file).`,
				ptr: func(c *Config) any { return &c.Sim.Nodes }},
			{key: "degree", field: "Degree", rng: "1..nodes-1",
				doc: `Mean number of friends per node (er, ws); ba and hk attach degree/2 edges per new node.`,
				ptr: func(c *Config) any { return &c.Sim.Degree }},
			{key: "rewire", field: "Rewire", rng: "0..1",
				doc: `ws: probability of rewiring each edge.`,
				ptr: func(c *Config) any { return &c.Sim.Rewire }},
			{key: "triad", field: "Triad", rng: "0..1",
				doc: `hk: probability of a triad-formation step (befriend a friend's friend) after each attachment.`,
				ptr: func(c *Config) any { return &c.Sim.Triad }},
			{key: "churn", field: "Churn", rng: `"none", "exp", "weibull" or "kad"`,
				doc: "When nodes are online:\n" +
					`  "none": always;` + "\n" +
					`  "exp": exponential online sessions and offline periods with means mean_on and mean_off;` + "\n" +
					`  "weibull": Weibull sessions (on_shape, on_scale) and offline periods (off_shape, off_scale);` + "\n" +
					fmt.Sprintf(`  "kad": Weibull with the parameters measured in the KAD DHT by Steiner, En-Najjary and Biersack ("Long term study of peer behavior in the KAD DHT", IEEE/ACM ToN 2009): sessions shape %v scale %s, offline shape %v scale %s.`,
						sim.KadOnShape, FormatDuration(sim.KadOnScale), sim.KadOffShape, FormatDuration(sim.KadOffScale)),
				ptr: func(c *Config) any { return &c.Sim.Churn }},
			{key: "mean_on", field: "MeanOn", rng: "more than 0s (exp)",
				doc: `exp: mean online session.`,
				ptr: func(c *Config) any { return &c.Sim.MeanOn }},
			{key: "mean_off", field: "MeanOff", rng: "more than 0s (exp)",
				doc: `exp: mean offline period.`,
				ptr: func(c *Config) any { return &c.Sim.MeanOff }},
			{key: "on_shape", field: "OnShape", rng: "more than 0 (weibull)",
				doc: `weibull: shape of online sessions (below 1: many short sessions and a few very long ones).`,
				ptr: func(c *Config) any { return &c.Sim.OnShape }},
			{key: "on_scale", field: "OnScale", rng: "more than 0s (weibull)",
				doc: `weibull: scale of online sessions.`,
				ptr: func(c *Config) any { return &c.Sim.OnScale }},
			{key: "off_shape", field: "OffShape", rng: "more than 0 (weibull)",
				doc: `weibull: shape of offline periods.`,
				ptr: func(c *Config) any { return &c.Sim.OffShape }},
			{key: "off_scale", field: "OffScale", rng: "more than 0s (weibull)",
				doc: `weibull: scale of offline periods.`,
				ptr: func(c *Config) any { return &c.Sim.OffScale }},
			{key: "always_on", field: "AlwaysOn", rng: "0..1",
				doc: `Fraction of nodes that never go offline (servers, always-on phones).`,
				ptr: func(c *Config) any { return &c.Sim.AlwaysOn }},
			{key: "latency", field: "Latency", rng: "0s..1h",
				doc: `One-way latency of a frame on a friend link.`,
				ptr: func(c *Config) any { return &c.Sim.Latency }},
			{key: "bandwidth", field: "Bandwidth", size: true, rng: "at least 0 (0: unlimited)",
				doc: `Bytes per second on each direction of a friend link.`,
				ptr: func(c *Config) any { return &c.Sim.Bandwidth }},
			{key: "connect_delay", field: "ConnectDelay", rng: "0s..1h",
				doc: `From both ends being online to their friend link being up (Tox takes about 10s).`,
				ptr: func(c *Config) any { return &c.Sim.ConnectDelay }},
			{key: "messages", field: "Messages", rng: "1..1000000",
				doc: `Mails sent per run.`,
				ptr: func(c *Config) any { return &c.Sim.Messages }},
			{key: "days", field: "Days", rng: "(0, 365]",
				doc: `Simulated time per run, in days (a number, not a duration).`,
				ptr: func(c *Config) any { return &c.Sim.Days }},
			{key: "window", field: "Window", rng: "0s, or (0s, days]",
				doc: `Mails are sent at uniformly random times in [0, window). 0s, the default, means the first day, or all of a shorter run.`,
				ptr: func(c *Config) any { return &c.Sim.Window }},
			{key: "distance", field: "Distance", rng: "0..64",
				doc: `0: random sender and recipient; d > 0: the recipient is exactly d friend links from the sender.`,
				ptr: func(c *Config) any { return &c.Sim.Distance }},
			{key: "size_median", field: "SizeMedian", size: true, rng: "1..size_max",
				doc: `Mail sizes are log-normal with this median, in bytes.`,
				ptr: func(c *Config) any { return &c.Sim.SizeMedian }},
			{key: "size_sigma", field: "SizeSigma", rng: "0..5",
				doc: `Sigma of the log-normal mail size (0: every mail is size_median).`,
				ptr: func(c *Config) any { return &c.Sim.SizeSigma }},
			{key: "size_max", field: "SizeMax", size: true, rng: "1..8387584",
				doc: `The largest mail, in bytes.`,
				ptr: func(c *Config) any { return &c.Sim.SizeMax }},
			{key: "lifetime", field: "Lifetime", rng: "1m..14d",
				doc: `Envelope lifetime of the simulated nodes (mesh.lifetime).`,
				ptr: func(c *Config) any { return &c.Sim.Lifetime }},
			{key: "max_held_bytes", field: "MaxHeldBytes", size: true, rng: "at least 1MiB and four times the largest sealed mail (size_max)",
				doc: `Budget of each simulated node for held envelopes (mesh.max_held_bytes).`,
				ptr: func(c *Config) any { return &c.Sim.MaxHeldBytes }},
			{key: "ttl", field: "TTLs", rng: fmt.Sprintf("each 1..%d; at least one with a flood strategy", sim.MaxTTL),
				doc: `The hop limits compared by the flood strategies: an array, or a string as --ttl takes it ("1-6", "1-3,8"); sorted, each once. The simulated nodes' max_hops is raised to each; real nodes keep theirs (mesh.max_hops, 8 by default), so a TTL above it models a network that raised it.`,
				ptr: func(c *Config) any { return &c.Sim.TTLs }},
			{key: "strategies", field: "Strategies", rng: "a non-empty subset of " + quoteList(sim.Strategies),
				doc: "The delivery strategies compared (an array, or a comma-separated string as --strategies takes it):\n" +
					`  "direct": the sender befriends each recipient and retries until both are online; nobody relays;` + "\n" +
					`  "relay": one always-on relay that every node is friends with, and nothing else;` + "\n" +
					`  "flood": the toxmail mesh over the social graph, once per ttl;` + "\n" +
					`  "flood-noack": the mesh without acks, so relays hold copies until they expire.`,
				ptr: func(c *Config) any { return &c.Sim.Strategies }},
			{key: "seeds", field: "Seeds", rng: "1..1000",
				doc: `Runs per strategy and TTL, with seeds seed, seed+1, ...`,
				ptr: func(c *Config) any { return &c.Sim.Seeds }},
			{key: "seed", field: "Seed", rng: "0..9223372036854775807",
				doc: `The first random seed. The same seed gives the same graph, churn and mail.`,
				ptr: func(c *Config) any { return &c.Sim.Seed }},
			{key: "graph_seed", field: "GraphSeed", rng: "-1..9223372036854775807 (-1: the first seed)",
				doc: `The seed that draws a generated graph; -1 is the first seed. Every seed of a study runs on the one graph, so run k of a study is seed + k with graph_seed = seed alone.`,
				ptr: func(c *Config) any { return &c.Sim.GraphSeed }},
			{key: "jobs", field: "Jobs", rng: "0..256 (0: one per CPU)",
				doc: `Runs simulated at once, each on its own core; 0 is one per CPU, fewer if their estimated memory would not fit in three quarters of this machine's. The report is the same whatever it is; memory grows with it.`,
				ptr: func(c *Config) any { return &c.Sim.Jobs }},
		},
	},
}

const header = `# toxmail.toml: the configuration of a toxmail node.
#
# Every setting is listed with its value. The comment above each one says
# what it does, its default and the values allowed. Durations are strings:
# "500ms", "90s", "10m", "2h", "7d" (d = 24h). Sizes are a number of bytes,
# or a string such as "64KiB", "8MiB" or "1GB" (KiB = 1024, KB = 1000).
#
# This file holds secrets (the dashboard token and the password hashes):
# keep it readable by you alone (mode 0600).
`

// Template returns a complete toxmail.toml for c: every key, with its
// value, under comments saying what it does, its default and its allowed
// range. The dashboard token and the users' password hashes are written
// from c as they are. Parse(Template(c), c.Path) gives back c.
func Template(c *Config) []byte {
	def := Default()
	var b bytes.Buffer
	b.WriteString(header)
	for _, s := range schema {
		if s.name != "" {
			b.WriteString("\n# " + strings.Repeat("=", 72) + "\n")
			comment(&b, s.doc)
			b.WriteString("[" + s.name + "]\n")
		}
		for _, k := range s.knobs {
			b.WriteString("\n")
			comment(&b, k.doc)
			comment(&b, "Default: "+format(k.ptr(&def), k.size)+". Allowed: "+k.rng+".")
			b.WriteString(k.key + " = " + format(k.ptr(c), k.size) + "\n")
		}
		for _, t := range s.tables {
			b.WriteString("\n")
			comment(&b, t.doc)
			b.WriteString("#\n")
			for _, line := range t.example {
				b.WriteString("#   " + line + "\n")
			}
			for i := range t.len(c) {
				b.WriteString("\n[[" + s.name + "." + t.key + "]]\n")
				for _, f := range t.fields {
					comment(&b, f.doc+" Allowed: "+f.rng+".")
					b.WriteString(f.key + " = " + format(f.ptr(c, i), false) + "\n")
				}
			}
		}
	}
	return b.Bytes()
}

// comment writes text as "# " lines of at most 76 columns (unless a word
// is longer). A "\n" in text starts a new line; a line that starts with
// spaces keeps them, and its continuation lines are indented two more.
func comment(b *bytes.Buffer, text string) {
	const width = 76
	for _, para := range strings.Split(text, "\n") {
		indent := para[:len(para)-len(strings.TrimLeft(para, " "))]
		line := "# " + indent
		cont := indent // continuation lines of an indented line go two further
		if indent != "" {
			cont += "  "
		}
		empty := true
		for _, w := range strings.Fields(para) {
			if !empty && len(line)+1+len(w) > width {
				b.WriteString(line + "\n")
				line = "# " + cont
				empty = true
			}
			if !empty {
				line += " "
			}
			line += w
			empty = false
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

// WriteNew writes Template(c) to path with mode 0600. It never overwrites:
// if path exists, it fails and says so.
func WriteNew(path string, c *Config) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("config: %s already exists; not overwriting it (move it away, or edit it instead)", path)
	}
	if err != nil {
		return fmt.Errorf("config: creating %s: %w", path, err)
	}
	err = f.Chmod(0o600) // whatever the umask
	if err == nil {
		_, err = f.Write(Template(c))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("config: writing %s: %w", path, err)
	}
	return nil
}

package mesh

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// The virtual clocks of these tests start in 2030, after any real "now",
// so that badger's real-time TTLs never remove what the virtual clock still
// considers live.
var epoch2030 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// seedReader is deterministic randomness for keys.
type seedReader struct{ r *rand.ChaCha8 }

func (s seedReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func keyFor(name string) envelope.KeyPair {
	kp, err := envelope.GenerateKeyPair(seedReader{rand.NewChaCha8(sha256.Sum256([]byte(name)))})
	if err != nil {
		panic(err)
	}
	return kp
}

// seededKeyring seals with randomness seeded by the node's name and start
// count: runs repeat exactly, and a restarted node never reuses a nonce.
func seededKeyring(n *testNode) *envelope.Keyring {
	n.starts++
	seed := sha256.Sum256([]byte(fmt.Sprintf("%s/rand/%d", n.name, n.starts)))
	return envelope.NewKeyring(envelope.Config{Identity: n.kp, Rand: seedReader{rand.NewChaCha8(seed)}})
}

// testMailbox records deliveries.
type testMailbox struct {
	mu    sync.Mutex
	got   []*Delivery
	count map[envelope.ID]int
	fail  error
	tries int // deliveries refused with fail
}

func (m *testMailbox) Deliver(d *Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		m.tries++
		return m.fail
	}
	if m.count == nil {
		m.count = make(map[envelope.ID]int)
	}
	m.count[d.Letter.ID]++
	if m.count[d.Letter.ID] == 1 {
		m.got = append(m.got, d)
	}
	return nil
}

// setFail makes the mailbox refuse every delivery with err (nil: take
// them) and returns how many it has refused so far.
func (m *testMailbox) setFail(err error) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
	return m.tries
}

func (m *testMailbox) deliveries() []*Delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Delivery(nil), m.got...)
}

func (m *testMailbox) times(id envelope.ID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.count[id]
}

// countingTransport counts envelope bodies per directed link.
type countingTransport struct {
	Transport
	from   FriendKey
	bodies map[[2]FriendKey]int
	perID  map[linkID]int
	mu     *sync.Mutex
	hook   *func(from, to FriendKey, frame []byte)
}

// linkID is one envelope on one undirected link.
type linkID struct {
	a, b FriendKey
	id   envelope.ID
}

func undirected(a, b FriendKey, id envelope.ID) linkID {
	if string(a[:]) > string(b[:]) {
		a, b = b, a
	}
	return linkID{a, b, id}
}

func (c *countingTransport) Send(to FriendKey, f []byte) error {
	err := c.Transport.Send(to, f)
	if err == nil && *c.hook != nil {
		(*c.hook)(c.from, to, f)
	}
	if err == nil && len(f) > 1 && f[1] == frameEnvelope {
		c.mu.Lock()
		c.bodies[[2]FriendKey{c.from, to}]++
		c.perID[undirected(c.from, to, envelope.ComputeID(f[2:]))]++
		c.mu.Unlock()
	}
	return err
}

// FrameBuffer passes the MemNetwork's buffers through, so that the nodes
// of these tests build frames in reused buffers as the simulator's do.
func (c *countingTransport) FrameBuffer(n int) []byte {
	if p, ok := c.Transport.(FramePool); ok {
		return p.FrameBuffer(n)
	}
	return make([]byte, 0, n)
}

// countingCarrier is countingTransport for a MemNetwork that shares
// envelopes: bodies travel through SendEnvelope, and are counted there.
type countingCarrier struct {
	*countingTransport
	mem *MemTransport
}

var _ EnvelopeCarrier = (*countingCarrier)(nil)

func (c *countingCarrier) SendEnvelope(to FriendKey, env SharedEnvelope, hops uint8) error {
	err := c.mem.SendEnvelope(to, env, hops)
	if err == nil {
		if *c.hook != nil {
			(*c.hook)(c.from, to, encodeEnvelope(env.Bytes, hops))
		}
		c.mu.Lock()
		c.bodies[[2]FriendKey{c.from, to}]++
		c.perID[undirected(c.from, to, env.ID)]++
		c.mu.Unlock()
	}
	return err
}

type testNode struct {
	starts int // how many times started: seeds its keyring afresh each time
	name   string
	kp     envelope.KeyPair
	cfg    Config
	node   *Node
	store  Store
	box    *testMailbox
	log    *slog.Logger // nil: discard
}

type testNet struct {
	t      testing.TB
	clock  *VirtualClock
	net    *MemNetwork
	nodes  map[string]*testNode
	order  []string
	mu     sync.Mutex
	bodies map[[2]FriendKey]int
	perID  map[linkID]int
	// onSend, if set, sees every frame a node sends successfully.
	onSend func(from, to FriendKey, frame []byte)
}

func newTestNet(t testing.TB, mc MemConfig) *testNet {
	clock := NewVirtualClock(epoch2030)
	return &testNet{t: t, clock: clock, net: NewMemNetwork(clock, mc), nodes: map[string]*testNode{}, bodies: map[[2]FriendKey]int{}, perID: map[linkID]int{}}
}

// testConfig is DefaultConfig with no periodic sweep (fewer timer events).
func testConfig() Config {
	c := DefaultConfig()
	c.SweepInterval = 0
	return c
}

// add creates and starts a node (offline) with a MemStore unless store is given.
func (tn *testNet) add(name string, cfg Config, store Store) *testNode {
	tn.t.Helper()
	if store == nil {
		store = NewMemStore()
	}
	n := &testNode{name: name, kp: keyFor(name), cfg: cfg, store: store, box: &testMailbox{}}
	tn.nodes[name] = n
	tn.order = append(tn.order, name)
	tn.start(n)
	return n
}

func (tn *testNet) start(n *testNode) {
	tn.t.Helper()
	mem := tn.net.Transport(n.kp.Public)
	ct := &countingTransport{Transport: mem, from: n.kp.Public, bodies: tn.bodies, perID: tn.perID, mu: &tn.mu, hook: &tn.onSend}
	var tr Transport = ct
	if tn.net.cfg.ShareEnvelopes {
		tr = &countingCarrier{countingTransport: ct, mem: mem}
	}
	node, err := NewNode(n.cfg, Deps{Identity: n.kp, Transport: tr, Store: n.store, Mailbox: n.box, Clock: tn.clock, Keyring: seededKeyring(n), Logger: n.log})
	if err != nil {
		tn.t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		tn.t.Fatal(err)
	}
	n.node = node
}

// restart stops a node and starts a fresh one on store (reopened by the caller).
func (tn *testNet) restart(name string, store Store) *testNode {
	tn.t.Helper()
	n := tn.nodes[name]
	tn.net.SetOnline(n.kp.Public, false)
	n.node.Close()
	n.store = store
	tn.start(n)
	return n
}

func (tn *testNet) friends(a, b string) {
	tn.net.Befriend(tn.nodes[a].kp.Public, tn.nodes[b].kp.Public)
}

func (tn *testNet) online(names ...string) {
	for _, s := range names {
		tn.net.SetOnline(tn.nodes[s].kp.Public, true)
	}
}

func (tn *testNet) offline(names ...string) {
	for _, s := range names {
		tn.net.SetOnline(tn.nodes[s].kp.Public, false)
	}
}

// run advances virtual time by d (bounded: at most a million events).
func (tn *testNet) run(d time.Duration) {
	tn.t.Helper()
	deadline := tn.clock.Now().Add(d)
	for i := 0; i < 1_000_000; i++ {
		if tn.clock.Pending() == 0 {
			break
		}
		before := tn.clock.Fired()
		tn.clock.RunUntil(deadline)
		if tn.clock.Fired() == before {
			break
		}
	}
	tn.clock.RunUntil(deadline)
}

func (tn *testNet) send(from, to string, body string, opt ...func(*Outgoing)) envelope.ID {
	tn.t.Helper()
	o := Outgoing{To: tn.nodes[to].kp.Public, Body: []byte(body)}
	for _, f := range opt {
		f(&o)
	}
	ids, err := tn.nodes[from].node.Submit(o)
	if err != nil {
		tn.t.Fatalf("%s submit: %v", from, err)
	}
	return ids[0]
}

func withTTL(ttl uint8) func(*Outgoing) { return func(o *Outgoing) { o.TTL = ttl } }

func withLifetime(d time.Duration) func(*Outgoing) { return func(o *Outgoing) { o.Lifetime = d } }

// bodyCount returns how many times an envelope body crossed a->b.
func (tn *testNet) bodyCount(a, b string) int {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return tn.bodies[[2]FriendKey{tn.nodes[a].kp.Public, tn.nodes[b].kp.Public}]
}

// maxPerLink returns the most times one envelope crossed one link (either
// way), and how many link crossings there were in all.
func (tn *testNet) maxPerLink() (most, total int) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	for _, c := range tn.perID {
		most = max(most, c)
		total += c
	}
	return most, total
}

func (tn *testNet) status(name string, id envelope.ID) Status {
	o, ok := tn.nodes[name].node.OutboxEntry(id)
	if !ok {
		return 0
	}
	return o.Status
}

// wantDelivered checks that name received exactly one mail with body from sender.
func (tn *testNet) wantDelivered(name, from, body string, id envelope.ID) {
	tn.t.Helper()
	n := tn.nodes[name]
	for _, d := range n.box.deliveries() {
		if d.Letter.ID == id {
			if !bytes.Equal(d.Letter.Body, []byte(body)) {
				tn.t.Fatalf("%s got body %q, want %q", name, d.Letter.Body, body)
			}
			if d.Letter.Sender != tn.nodes[from].kp.Public {
				tn.t.Fatalf("%s got sender %v, want %s", name, d.Letter.Sender, from)
			}
			if c := n.box.times(id); c != 1 {
				tn.t.Fatalf("%s delivered %d times, want 1", name, c)
			}
			return
		}
	}
	tn.t.Fatalf("%s has not received mail %v (has %d mails)", name, id, len(n.box.deliveries()))
}

func (tn *testNet) String() string {
	var b bytes.Buffer
	for _, name := range tn.order {
		s := tn.nodes[name].node.Stats()
		fmt.Fprintf(&b, "%s: held=%d acks=%d delivered=%d in=%d out=%d evicted=%d\n", name, s.Held, s.AcksKept, s.Delivered, s.EnvelopesIn, s.EnvelopesOut, s.Evicted)
	}
	return b.String()
}

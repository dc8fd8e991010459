package tox

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// meshBox records deliveries to a mesh node.
type meshBox struct {
	mu  sync.Mutex
	got []*mesh.Delivery
}

func (b *meshBox) Deliver(d *mesh.Delivery) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, g := range b.got {
		if g.Letter.ID == d.Letter.ID {
			return nil
		}
	}
	b.got = append(b.got, d)
	return nil
}

func (b *meshBox) list() []*mesh.Delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*mesh.Delivery(nil), b.got...)
}

// meshPeer is a whole toxmail node minus the mail gateway: Tox, transport
// and mesh engine.
type meshPeer struct {
	name  string
	x     *Tox
	tr    *Transport
	node  *mesh.Node
	store mesh.Store
	box   *meshBox
	save  []byte
}

// startPeer starts a node from savedata (nil: a new identity) on store.
func startPeer(t *testing.T, name string, savedata []byte, store mesh.Store, tc TransportConfig) *meshPeer {
	t.Helper()
	opts := pairOptions(t)
	opts.Savedata = savedata
	x := pairNewOwnPort(t, opts)
	p := &meshPeer{name: name, x: x, store: store, box: &meshBox{}}
	tc.Logger = opts.Logger
	p.tr = NewTransport(tc)
	if err := p.tr.Attach(x); err != nil {
		t.Fatal(err)
	}
	sk, err := x.SecretKey()
	if err != nil {
		t.Fatal(err)
	}
	kp, err := envelope.KeyPairFromSecret(envelope.SecretKey(sk))
	if err != nil {
		t.Fatal(err)
	}
	if kp.Public != x.PublicKey() {
		t.Fatalf("the envelope key pair derived from the Tox secret key has another public key")
	}
	p.node, err = mesh.NewNode(mesh.DefaultConfig(), mesh.Deps{Identity: kp, Transport: p.tr, Store: store, Mailbox: p.box, Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop shuts the node down as `toxmail run` does, keeping its savedata.
func (p *meshPeer) stop(t *testing.T) {
	if p.node == nil {
		return
	}
	p.node.Close()
	if s, err := p.x.Savedata(); err == nil {
		p.save = s
	}
	p.x.Close()
	p.tr.Close()
	p.node = nil
}

func befriend(t *testing.T, a, b *Tox) {
	t.Helper()
	if _, err := a.AddFriendNoRequest(b.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddFriendNoRequest(a.PublicKey()); err != nil {
		t.Fatal(err)
	}
}

func (p *meshPeer) connectedTo(q PublicKey) bool {
	for _, i := range p.tr.Peers() {
		if i.Key == q && i.Connection.Online() {
			return true
		}
	}
	return false
}

// TestTransportRelayToOfflineRecipient is the scenario over real Tox on
// loopback: A mails C while C is offline; A stops; C (a friend of B only)
// starts and receives the mail through B; A, restarted, sees it delivered.
func TestTransportRelayToOfflineRecipient(t *testing.T) {
	t.Parallel()
	// A loopback tox-bootstrapd is the DHT everyone joins, as a public
	// bootstrap node would be.
	port, dht := pairBootstrapd(t)
	// C's identity exists (with B as its friend) before C ever runs.
	xa := pairNew(t, pairOptions(t))
	xb := pairNew(t, pairOptions(t))
	xc := pairNew(t, pairOptions(t))
	befriend(t, xa, xb)
	befriend(t, xb, xc)
	saves := map[string][]byte{}
	for name, x := range map[string]*Tox{"A": xa, "B": xb, "C": xc} {
		s, err := x.Savedata()
		if err != nil {
			t.Fatal(err)
		}
		saves[name] = s
		x.Close()
	}
	join := func(p *meshPeer) {
		t.Helper()
		pairJoin(t, p.x, port, dht)
	}
	storeA := mesh.NewMemStore()
	a := startPeer(t, "A", saves["A"], storeA, TransportConfig{})
	b := startPeer(t, "B", saves["B"], mesh.NewMemStore(), TransportConfig{})
	join(a)
	join(b)
	waitFor(t, dhtConnectTimeout, "A and B connected", func() bool { return a.connectedTo(b.x.PublicKey()) })

	body := "From: a@tox\r\nTo: c@tox\r\nSubject: over real Tox\r\n\r\n" + strings.Repeat("relayed while you slept. ", 400) + "\r\n"
	ids, err := a.node.Submit(mesh.Outgoing{To: xc.PublicKey(), Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	waitFor(t, 30*time.Second, "B holds the mail", func() bool { return b.node.Holds(id) })
	a.stop(t)

	c := startPeer(t, "C", saves["C"], mesh.NewMemStore(), TransportConfig{})
	join(c)
	cameAt := time.Now()
	for len(c.box.list()) != 1 && time.Since(cameAt) < 60*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("C took %v to receive the mail", time.Since(cameAt).Round(time.Millisecond))
	if len(c.box.list()) != 1 {
		t.Logf("B peers %+v\nC peers %+v\nB mesh %+v\nC mesh %+v\nB stats %+v\nC stats %+v\nB tr %+v\nC tr %+v",
			b.tr.Peers(), c.tr.Peers(), b.node.Peers(), c.node.Peers(), b.node.Stats(), c.node.Stats(), b.tr.Stats(), c.tr.Stats())
		t.Fatal("C did not receive the mail")
	}
	got := c.box.list()[0]
	if !bytes.Equal(got.Letter.Body, []byte(body)) || got.Letter.Sender != xa.PublicKey() || got.From != b.x.PublicKey() {
		t.Fatalf("C got a different mail: sender %v via %v, %d bytes", got.Letter.Sender, got.From, len(got.Letter.Body))
	}
	if got.Letter.PathLength() != 2 {
		t.Errorf("path length %d, want 2", got.Letter.PathLength())
	}
	waitFor(t, 30*time.Second, "B drops its copy on the ack", func() bool { return !b.node.Holds(id) && b.node.HasAck(id) })

	a2 := startPeer(t, "A", a.save, storeA, TransportConfig{})
	join(a2)
	waitFor(t, 60*time.Second, "A sees the mail delivered", func() bool {
		o, _ := a2.node.OutboxEntry(id)
		return o.Status == mesh.StatusDelivered
	})
}

// TestTransportPlainPeer: a plain libtoxcore peer that speaks no mesh
// protocol is classified as a plain contact; text flows both ways.
func TestTransportPlainPeer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var texts []string
	tc := TransportConfig{HelloTimeout: 2 * time.Second, OnText: func(from PublicKey, name, text string) {
		mu.Lock()
		texts = append(texts, text)
		mu.Unlock()
	}}
	rec := newPairRecorder()
	popts := pairOptions(t)
	popts.Callbacks = rec.Callbacks()
	plain := pairNew(t, popts)
	m := startPeer(t, "M", nil, mesh.NewMemStore(), tc)
	if err := m.tr.AddFriendNoRequest(plain.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.AddFriendNoRequest(m.x.PublicKey()); err != nil {
		t.Fatal(err)
	}
	pairBootstrap(t, m.x, plain)
	waitFor(t, dhtConnectTimeout, "plain peer connected", func() bool { return m.connectedTo(plain.PublicKey()) })
	waitFor(t, 10*time.Second, "plain peer classified", func() bool { return m.tr.Kind(plain.PublicKey()) == PeerPlain })
	waitFor(t, 5*time.Second, "the mesh to see the plain client go away", func() bool {
		for _, p := range m.node.Peers() {
			if p.Key == plain.PublicKey() {
				return !p.Online && !p.MeshPeer
			}
		}
		return false
	})
	for _, f := range m.tr.Friends() {
		if f.Key == plain.PublicKey() {
			t.Fatal("Friends() lists a plain client to the mesh")
		}
	}

	fn, err := plain.FriendByPublicKey(m.x.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.SendMessage(fn, MessageNormal, "hello from a plain client"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "text reaches the node", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(texts) == 1 && texts[0] == "hello from a plain client"
	})

	mail := "From: M <m@tox>\r\nSubject: long one\r\n\r\n" + strings.Repeat("0123456789 ", 300) + "\r\n"
	text, err := TextFromMail([]byte(mail))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.tr.SendText(plain.PublicKey(), text); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "text reaches the plain client", func() bool {
		var b strings.Builder
		_, _, _, msgs, _ := rec.snapshot()
		for _, msg := range msgs {
			b.WriteString(msg.Text)
		}
		return b.String() == text
	})
	if _, _, _, msgs, _ := rec.snapshot(); len(msgs) < 3 {
		n := len(msgs)
		t.Errorf("a %d-byte text went out as %d messages", len(text), n)
	}
}

// frameRec is a mesh.Handler that records frames and online events.
type frameRec struct {
	mu     sync.Mutex
	frames [][]byte
	online []bool
}

func (r *frameRec) HandleFrame(from mesh.FriendKey, f []byte) {
	r.mu.Lock()
	r.frames = append(r.frames, f)
	r.mu.Unlock()
}

func (r *frameRec) HandleOnline(friend mesh.FriendKey, online bool) {
	r.mu.Lock()
	r.online = append(r.online, online)
	r.mu.Unlock()
}

func (r *frameRec) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// TestTransportFrameCutByDisconnect: a large frame cut off by a
// disconnect is discarded on both sides; after reconnecting, the next
// frame arrives whole and nothing of the first one leaks into it.
func TestTransportFrameCutByDisconnect(t *testing.T) {
	t.Parallel()
	p := pairConnect(t, pairOptions(t), pairOptions(t))
	ta, tb := NewTransport(TransportConfig{}), NewTransport(TransportConfig{})
	t.Cleanup(func() { ta.Close(); tb.Close() })
	rec := &frameRec{}
	tb.SetHandler(rec)
	if err := ta.Attach(p.A); err != nil {
		t.Fatal(err)
	}
	if err := tb.Attach(p.B); err != nil {
		t.Fatal(err)
	}
	first := bytes.Repeat([]byte{'1'}, 3<<20)
	if err := ta.Send(p.B.PublicKey(), first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "part of the frame arrives", func() bool { return tb.Stats().PacketsIn > 50 })
	if err := ta.DeleteFriend(p.B.PublicKey()); err != nil { // the link goes down mid-frame
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "B sees the cut", func() bool { return tb.Stats().PartialsLost == 1 })
	if st := ta.Stats(); st.FramesLost != 1 {
		t.Errorf("A lost %d queued frames, want 1", st.FramesLost)
	}
	if err := ta.AddFriendNoRequest(p.B.PublicKey()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, dhtConnectTimeout, "reconnected", func() bool {
		for _, i := range ta.Peers() {
			if i.Key == p.B.PublicKey() && i.Connection.Online() {
				return true
			}
		}
		return false
	})
	second := bytes.Repeat([]byte{'2'}, 200<<10)
	if err := ta.Send(p.B.PublicKey(), second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the second frame arrives", func() bool { return rec.count() == 1 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !bytes.Equal(rec.frames[0], second) {
		t.Fatalf("B got %d bytes that are not the second frame", len(rec.frames[0]))
	}
}

package mesh

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/toxmail/toxmail/envelope"
)

// craftShortPayload builds an envelope from `from` to `to` whose inner
// payload is exactly 97 bytes (no TTL byte): every check up to the TTL read
// passes, since the sender really sealed it.
func craftShortPayload(from envelope.KeyPair, to envelope.PublicKey, exp int64) []byte {
	tag := envelope.TagFor(to, exp)
	var secret envelope.AckSecret
	ah := envelope.HashAckSecret(secret)
	payload := []byte{1}
	payload = binary.BigEndian.AppendUint64(payload, uint64(exp))
	payload = append(payload, tag[:]...)
	payload = append(payload, ah[:]...)
	payload = append(payload, secret[:]...)
	payload = binary.BigEndian.AppendUint64(payload, 0) // created; TTL byte missing
	var innerNonce, outerNonce [24]byte
	innerLen := 32 + 24 + box.Overhead + len(payload)
	outer := make([]byte, 4, envelope.PaddedSize(4+innerLen))
	binary.BigEndian.PutUint32(outer, uint32(innerLen))
	outer = append(outer, from.Public[:]...)
	outer = append(outer, innerNonce[:]...)
	outer = box.Seal(outer, payload, &innerNonce, (*[32]byte)(&to), (*[32]byte)(&from.Secret))
	outer = outer[:cap(outer)]
	eph := keyFor("ephemeral")
	e := &envelope.Envelope{Header: envelope.Header{Hops: 3, Expiry: exp, Tag: tag, EphemeralKey: eph.Public, AckHash: ah, Nonce: outerNonce}}
	e.Ciphertext = box.Seal(nil, outer, &outerNonce, (*[32]byte)(&to), (*[32]byte)(&eph.Secret))
	return e.Encode()
}

// Any friend (indeed anyone whose envelope floods to the victim) crashes the
// recipient's node: Open panics inside HandleFrame.
func TestRegressionRemoteCrashViaShortPayload(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	eve := keyFor("eve") // not even a friend: A merely relays it
	env := craftShortPayload(eve, tn.nodes["B"].kp.Public, epoch2030.Add(time.Hour).Unix())
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("node B panicked handling an envelope frame: %v", r)
		}
	}()
	tn.nodes["B"].node.HandleFrame(tn.nodes["A"].kp.Public, encodeEnvelope(env, 2))
}

// A body lost in flight (the link drops during the transfer) is never
// offered again on that link: the sender marked the friend "known" when
// Send returned. On a line A-B-C the mail never reaches C.
func TestRegressionBodyLostMidTransferNeverReoffered(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond, Bandwidth: 20 << 10})
	for _, n := range []string{"A", "B", "C"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(time.Second)
	big := string(make([]byte, 200<<10)) // ~10 s on the link
	id := tn.send("A", "C", big)
	tn.run(2 * time.Minute)
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatal("B does not hold it")
	}
	tn.online("C")
	tn.run(3 * time.Second) // B is sending the body to C
	if tn.nodes["B"].node.Stats().EnvelopesOut == 0 {
		t.Fatal("B has not started sending to C")
	}
	tn.offline("C") // C's connection drops mid-transfer
	tn.run(time.Minute)
	tn.online("C")
	tn.run(time.Hour)
	if n := len(tn.nodes["C"].box.deliveries()); n != 1 {
		t.Fatalf("C has %d mails an hour after reconnecting, want 1; B stats %+v", n, tn.nodes["B"].node.Stats())
	}
}

// flakyTransport refuses frames of one type with ErrBackpressure a number of times.
type flakyTransport struct {
	Transport
	mu      sync.Mutex
	typ     byte
	refuses int
}

func (f *flakyTransport) Send(to FriendKey, frame []byte) error {
	f.mu.Lock()
	if len(frame) > 1 && frame[1] == f.typ && f.refuses > 0 {
		f.refuses--
		f.mu.Unlock()
		return fmt.Errorf("tox: %w", ErrBackpressure)
	}
	f.mu.Unlock()
	return f.Transport.Send(to, frame)
}

func startWith(t *testing.T, tn *testNet, name string, wrap func(Transport) Transport) *testNode {
	n := &testNode{name: name, kp: keyFor(name), cfg: testConfig(), store: NewMemStore(), box: &testMailbox{}}
	tn.nodes[name] = n
	tn.order = append(tn.order, name)
	node, err := NewNode(n.cfg, Deps{Identity: n.kp, Transport: wrap(tn.net.Transport(n.kp.Public)), Store: n.store, Mailbox: n.box, Clock: tn.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	n.node = node
	return n
}

// One ErrBackpressure on an offer frame (the Transport doc calls it
// temporary: "the mesh offers again later") and the mail never moves while
// the friend stays connected.
func TestRegressionOfferDroppedOnBackpressure(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	cfg := testConfig()
	cfg.SweepInterval = time.Hour // even with periodic sweeps
	_ = cfg
	startWith(t, tn, "A", func(tr Transport) Transport { return &flakyTransport{Transport: tr, typ: frameOffer, refuses: 1} })
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	id := tn.send("A", "B", "hello")
	tn.run(24 * time.Hour)
	if n := len(tn.nodes["B"].box.deliveries()); n != 1 {
		t.Fatalf("B got %d mails in a day after one refused offer frame; A outbox %v, A stats %+v", n, tn.status("A", id), tn.nodes["A"].node.Stats())
	}
}

// The same for the request: one refused request frame and the mail stalls.
func TestRegressionRequestDroppedOnBackpressure(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	startWith(t, tn, "B", func(tr Transport) Transport { return &flakyTransport{Transport: tr, typ: frameRequest, refuses: 1} })
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	tn.send("A", "B", "hello")
	tn.run(24 * time.Hour)
	if n := len(tn.nodes["B"].box.deliveries()); n != 1 {
		t.Fatalf("B got %d mails in a day after one refused request frame; B stats %+v", n, tn.nodes["B"].node.Stats())
	}
}

// And for the body: one refused envelope frame.
func TestRegressionBodyDroppedOnBackpressure(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	startWith(t, tn, "A", func(tr Transport) Transport { return &flakyTransport{Transport: tr, typ: frameEnvelope, refuses: 1} })
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	tn.send("A", "B", "hello")
	tn.run(24 * time.Hour)
	if n := len(tn.nodes["B"].box.deliveries()); n != 1 {
		t.Fatalf("B got %d mails in a day after one refused body frame; B stats %+v", n, tn.nodes["B"].node.Stats())
	}
}

// An ack frame lost in flight (link drops within the latency) is never
// resent: the sender's outbox never shows "delivered", and it later
// reports the delivered mail as expired.
func TestRegressionAckLostInFlight(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 100 * time.Millisecond})
	for _, n := range []string{"A", "B", "C"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(time.Second)
	id := tn.send("A", "C", "x", withLifetime(2*time.Hour))
	tn.run(time.Minute)
	b, a := tn.nodes["B"].kp.Public, tn.nodes["A"].kp.Public
	dropped := false
	tn.onSend = func(from, to FriendKey, f []byte) {
		if from == b && to == a && f[1] == frameAck && !dropped {
			dropped = true
			tn.clock.AfterFunc(time.Millisecond, func() { tn.offline("A") })
		}
	}
	tn.online("C")
	tn.run(time.Minute)
	if !dropped {
		t.Fatal("no ack B->A seen")
	}
	tn.onSend = nil
	tn.wantDelivered("C", "A", "x", id)
	tn.online("A")
	tn.run(time.Minute)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Errorf("A outbox %v a minute after reconnecting, want delivered", got)
	}
	tn.run(3 * time.Hour)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Errorf("A outbox %v after expiry; C received it", got)
	}
}

// An ack that arrives while the relay's request for that envelope is in
// flight is dropped (AcksUnknown); the body then arrives, is held and
// flooded onward for its whole lifetime, and nobody ever re-sends the ack
// (the friends that sent it think the relay has it). Topology S-B-C-R: C
// gets X from R first; B's copy from S is still on its way.
func TestRegressionAckDuringInflightLost(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	for _, n := range []string{"S", "B", "C", "R"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("S", "B")
	tn.friends("B", "C")
	tn.friends("C", "R")
	tn.online("S", "B", "C", "R")
	tn.run(time.Second)
	ks := envelope.NewKeyring(envelope.Config{Identity: tn.nodes["S"].kp})
	now := tn.clock.Now()
	e, err := ks.Seal(envelope.SealParams{To: tn.nodes["C"].kp.Public, Body: []byte("x"), Created: now, Expiry: now.Add(24 * time.Hour), Hops: 4})
	if err != nil {
		t.Fatal(err)
	}
	env := e.Encode()
	id := envelope.ComputeID(env)
	b, c := tn.nodes["B"].node, tn.nodes["C"].node
	sk, rk := tn.nodes["S"].kp.Public, tn.nodes["R"].kp.Public
	// S offers X to B; B requests it (in flight).
	b.HandleFrame(sk, encodeOffer(1, []offerItem{{id: id, hops: 3, size: uint32(len(env)), expiry: e.Expiry}}))
	// Meanwhile R hands X to C, which delivers it and floods the ack to B.
	c.HandleFrame(rk, encodeEnvelope(env, 2))
	tn.run(time.Second)
	// Now B's body from S arrives.
	b.HandleFrame(sk, encodeEnvelope(env, 3))
	tn.run(time.Hour)
	s := b.Stats()
	if b.Holds(id) {
		t.Fatalf("B still holds (and floods) X an hour after C acked it; AcksUnknown=%d OffersOut=%d", s.AcksUnknown, s.OffersOut)
	}
}

// Submit's size check must agree with what friends accept: at the padding
// bucket edge the largest accepted body is delivered and one byte more is
// refused up front (SealedSize used to undercount by one byte).
func TestRegressionSubmitSizeAtBucketEdge(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEnvelopeSize = 64 << 10
	tn := newTestNet(t, MemConfig{})
	tn.add("A", cfg, nil)
	tn.add("B", cfg, nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	n := 0
	for envelope.SealedSize(n+1) <= cfg.MaxEnvelopeSize {
		n++
	}
	if _, err := tn.nodes["A"].node.Submit(Outgoing{To: tn.nodes["B"].kp.Public, Body: make([]byte, n+1)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("body of %d bytes: got %v, want ErrTooLarge", n+1, err)
	}
	ids, err := tn.nodes["A"].node.Submit(Outgoing{To: tn.nodes["B"].kp.Public, Body: make([]byte, n)})
	if err != nil {
		t.Fatal(err)
	}
	tn.run(time.Minute)
	if len(tn.nodes["B"].box.deliveries()) != 1 {
		o, _ := tn.nodes["A"].node.OutboxEntry(ids[0])
		t.Fatalf("largest body (%d bytes, envelope %d) not delivered; outbox %v", n, o.Size, o.Status)
	}
}

// A hello that arrives before the transport's online event (or after a
// missed offline) sets p.online without sending our hello; the later
// online event then sends nothing, and the friend never offers to us.
func TestRegressionHelloBeforeOnlineEvent(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	// B sees A's hello before its transport reports A online.
	tn.nodes["B"].node.HandleFrame(tn.nodes["A"].kp.Public, encodeHello(nil, 1))
	tn.online("A", "B")
	tn.run(time.Second)
	tn.send("A", "B", "hi")
	tn.run(time.Hour)
	if n := len(tn.nodes["B"].box.deliveries()); n != 1 {
		t.Fatalf("B got %d mails; A's view of B: %+v", n, tn.nodes["A"].node.Peers())
	}
}

// A friend that restarts its node while the link stays up sends a new
// hello; it is ignored (p.ready already), so the restarted node never gets
// our hello and never offers to us.
func TestRegressionRestartWithoutLinkDrop(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	a := tn.nodes["A"]
	a.node.Close()
	tn.start(a) // same store, same transport, link never went down
	tn.run(time.Second)
	tn.send("A", "B", "after restart")
	tn.run(time.Hour)
	if n := len(tn.nodes["B"].box.deliveries()); n != 1 {
		t.Fatalf("B got %d mails after A restarted", n)
	}
}

// recTransport records frames sent.
type recTransport struct {
	Transport
	bodies int
}

func (r *recTransport) Send(to FriendKey, f []byte) error {
	if len(f) > 1 && f[1] == frameEnvelope {
		r.bodies++
	}
	return r.Transport.Send(to, f)
}

// A friend can make the node send the same body up to 1024 times per
// 38 KiB request frame: 32 bytes in, up to MaxEnvelopeSize out, per entry.
func TestRegressionRequestAmplification(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	var rt *recTransport
	startWith(t, tn, "A", func(tr Transport) Transport { rt = &recTransport{Transport: tr}; return rt })
	tn.add("M", testConfig(), nil)
	tn.add("nobody", testConfig(), nil)
	tn.friends("A", "M")
	tn.online("A", "M")
	tn.run(time.Second)
	id := tn.send("A", "nobody", string(make([]byte, 64<<10)))
	tn.run(time.Second)
	before := rt.bodies
	ids := make([]envelope.ID, MaxBatchLimit)
	for i := range ids {
		ids[i] = id
	}
	tn.nodes["A"].node.HandleFrame(tn.nodes["M"].kp.Public, encodeRequest(nil, 0, ids, nil))
	if got := rt.bodies - before; got > 1 {
		t.Fatalf("one %d-byte request frame made A send the same ~64 KiB body %d times", len(encodeRequest(nil, 0, ids, nil)), got)
	}
}

// A friend that repeats an offer of an ID already requested from someone
// else grows in.offerers without bound (and is asked again once per copy).
func TestRegressionOfferersUnbounded(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	tn.add("B", testConfig(), nil)
	for _, n := range []string{"P", "M"} {
		tn.add(n, testConfig(), nil)
		tn.friends("B", n)
	}
	tn.online("B", "P", "M")
	tn.run(time.Second)
	b := tn.nodes["B"].node
	id := envelope.ID{9}
	it := offerItem{id: id, hops: 3, size: 700, expiry: epoch2030.Add(time.Hour).Unix()}
	b.HandleFrame(tn.nodes["P"].kp.Public, encodeOffer(1, []offerItem{it})) // requested from P
	items := make([]offerItem, MaxBatchLimit)
	for i := range items {
		items[i] = it
	}
	for k := 0; k < 10; k++ {
		b.HandleFrame(tn.nodes["M"].kp.Public, encodeOffer(uint32(2+k), items))
	}
	b.mu.Lock()
	n := b.ids.get(id).in.offerers.count()
	b.mu.Unlock()
	if n > 2 {
		t.Fatalf("in.offerers holds %d entries after 10 offer frames from one friend", n)
	}
}

// orderMailbox records the order of successful deliveries; fails while fail.
type orderMailbox struct {
	fail  bool
	order []envelope.ID
}

func (m *orderMailbox) Deliver(d *Delivery) error {
	if m.fail {
		return tempErr{}
	}
	m.order = append(m.order, d.Letter.ID)
	return nil
}

// sweep ranges over the n.retry map: retries due together are delivered
// (and their acks framed) in random order, under a VirtualClock.
func TestRegressionRetryOrderNondeterministic(t *testing.T) {
	seen := map[string]bool{}
	for run := 0; run < 20; run++ {
		tn := newTestNet(t, MemConfig{})
		tn.add("A", testConfig(), nil)
		mb := &orderMailbox{fail: true}
		n := &testNode{name: "B", kp: keyFor("B"), cfg: testConfig(), store: NewMemStore(), box: &testMailbox{}}
		tn.nodes["B"] = n
		node, err := NewNode(n.cfg, Deps{Identity: n.kp, Transport: tn.net.Transport(n.kp.Public), Store: n.store, Mailbox: mb, Clock: tn.clock, Keyring: seededKeyring(n)})
		if err != nil {
			t.Fatal(err)
		}
		node.Start()
		n.node = node
		tn.friends("A", "B")
		tn.online("A", "B")
		tn.run(time.Second)
		var msgs []Outgoing
		for i := 0; i < 6; i++ {
			msgs = append(msgs, Outgoing{To: n.kp.Public, Body: []byte(fmt.Sprint("m", i))})
		}
		ids, err := tn.nodes["A"].node.Submit(msgs...)
		if err != nil {
			t.Fatal(err)
		}
		tn.run(time.Second)
		mb.fail = false
		tn.run(time.Minute)
		pos := map[envelope.ID]int{}
		for i, id := range ids {
			pos[id] = i
		}
		key := fmt.Sprint(func() []int {
			var o []int
			for _, id := range mb.order {
				o = append(o, pos[id])
			}
			return o
		}())
		seen[key] = true
	}
	if len(seen) > 1 {
		t.Fatalf("same inputs, %d different delivery orders: %v", len(seen), seen)
	}
}

// A higher-hops offer that arrives while the body is being fetched from a
// friend with fewer hops is answered as "have it" and forgotten: the copy
// is held with the lower count and never upgraded.
func TestRegressionUpgradeLostWhileInflight(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	for _, n := range []string{"B", "P", "S"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("B", "P")
	tn.friends("B", "S")
	tn.online("B", "P", "S")
	tn.run(time.Second)
	ks := envelope.NewKeyring(envelope.Config{Identity: keyFor("sender")})
	now := tn.clock.Now()
	e, _ := ks.Seal(envelope.SealParams{To: keyFor("nobody").Public, Body: []byte("x"), Created: now, Expiry: now.Add(24 * time.Hour), Hops: 4})
	env := e.Encode()
	id := envelope.ComputeID(env)
	b := tn.nodes["B"].node
	item := func(h uint8) []offerItem {
		return []offerItem{{id: id, hops: h, size: uint32(len(env)), expiry: e.Expiry}}
	}
	b.HandleFrame(tn.nodes["P"].kp.Public, encodeOffer(1, item(1))) // long path: requested
	b.HandleFrame(tn.nodes["S"].kp.Public, encodeOffer(1, item(3))) // short path, while in flight
	b.HandleFrame(tn.nodes["P"].kp.Public, encodeEnvelope(env, 1))
	tn.run(time.Minute)
	for _, h := range b.Held() {
		if h.ID == id && h.Hops != 3 {
			t.Fatalf("B holds X with %d hops; S offered it with 3", h.Hops)
		}
	}
}

// With SweepInterval 0 ("only at expiries"), Store.Expire runs only when a
// held envelope expires; a node whose copies all end by ack never sweeps
// its store, so acks and seen entries pile up forever.
func TestRegressionStoreNeverSweptWhenAllAcked(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	for i := 0; i < 5; i++ {
		tn.send("A", "B", "x", withLifetime(time.Hour))
	}
	tn.run(3 * time.Hour)
	acks := 0
	tn.nodes["A"].store.Load(nil, func(AckRecord) error { acks++; return nil }, nil)
	if acks != 0 || tn.nodes["A"].node.Stats().AcksKept != 0 {
		t.Fatalf("2 hours past expiry, A's store still keeps %d acks (in memory: %d)", acks, tn.nodes["A"].node.Stats().AcksKept)
	}
}

// A friend offering random IDs makes the node create one inflight record
// per ID, with no per-friend cap, each living RequestTimeout.
func TestRegressionInflightUnbounded(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	tn.add("B", testConfig(), nil)
	tn.add("M", testConfig(), nil)
	tn.friends("B", "M")
	tn.online("B", "M")
	tn.run(time.Second)
	b, m := tn.nodes["B"].node, tn.nodes["M"].kp.Public
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const frames = 200
	items := make([]offerItem, MaxBatchLimit)
	bytesIn := 0
	for f := 0; f < frames; f++ {
		for i := range items {
			var id envelope.ID
			binary.BigEndian.PutUint32(id[:], uint32(f*MaxBatchLimit+i))
			items[i] = offerItem{id: id, hops: 3, size: 700, expiry: epoch2030.Add(time.Hour).Unix()}
		}
		fr := encodeOffer(uint32(f+1), items)
		bytesIn += len(fr)
		b.HandleFrame(m, fr)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	s := b.Stats()
	t.Logf("%d offer bytes in -> %d inflight records, heap +%d bytes (%.1f bytes per byte received)",
		bytesIn, s.Inflight, after.HeapAlloc-before.HeapAlloc, float64(after.HeapAlloc-before.HeapAlloc)/float64(bytesIn))
	if s.Inflight > b.cfg.MaxInflightPerFriend {
		t.Fatalf("one friend created %d outstanding requests, limit %d", s.Inflight, b.cfg.MaxInflightPerFriend)
	}
	if s.Deferred == 0 {
		t.Fatal("nothing was deferred past the limit")
	}
}

// Direct friends: the sender's own body frame is lost when the link drops
// mid-transfer; A never offers it to B again, the outbox ends "expired".
func TestRegressionDirectBodyLost(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond, Bandwidth: 20 << 10})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	id := tn.send("A", "B", string(make([]byte, 200<<10)), withLifetime(2*time.Hour))
	tn.run(3 * time.Second)
	tn.offline("B")
	tn.run(time.Minute)
	tn.online("B")
	tn.run(3 * time.Hour)
	if n := len(tn.nodes["B"].box.deliveries()); n != 1 {
		t.Fatalf("B got %d mails; A's outbox says %v", n, tn.status("A", id))
	}
}

// A store may drop the held copy of the node's own mail while the node is
// down (badger's real-time TTL backstop does, an hour after expiry); on
// restart the outbox must still say "expired", not "queued" forever.
func TestRegressionOutboxExpiresWhenStoreDroppedCopy(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	a := tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	id := tn.send("A", "B", "x", withLifetime(time.Minute))
	a.node.Close()
	var b Batch
	b.DeleteHeld(id) // what the TTL did while A was down
	if err := a.store.Apply(&b); err != nil {
		t.Fatal(err)
	}
	tn.clock.Advance(2 * time.Hour)
	tn.restart("A", a.store)
	if got := tn.status("A", id); got != StatusExpired {
		t.Fatalf("outbox says %v two hours after expiry, want expired", got)
	}
	if got := tn.nodes["A"].node.Stats().OwnExpired; got != 1 {
		t.Errorf("OwnExpired = %d after the restart, want 1", got)
	}
}

// Acks are pushed to a friend once. One lost with a dropped connection is
// not pushed again on reconnection; the friend learns it when it offers the
// envelope again, and drops its copy.
func TestLostAckLearnedFromOffer(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 100 * time.Millisecond})
	for _, n := range []string{"S", "B", "R"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("S", "B")
	tn.friends("B", "R")
	tn.online("S", "B")
	tn.run(time.Second)
	id := tn.send("S", "R", "ack me", withTTL(3))
	tn.run(10 * time.Second)
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatalf("B does not hold the mail for offline R\n%v", tn)
	}
	tn.online("R")
	// Step until R has the mail, then cut B off while R's ack is in flight.
	for i := 0; i < 10000 && len(tn.nodes["R"].box.deliveries()) == 0; i++ {
		tn.clock.Advance(time.Millisecond)
	}
	if len(tn.nodes["R"].box.deliveries()) != 1 {
		t.Fatalf("R got no mail\n%v", tn)
	}
	tn.offline("B")
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatal("B got the ack although it went offline while it was in flight")
	}
	acksBefore := tn.nodes["R"].node.Stats().AcksOut
	tn.online("B")
	tn.run(time.Minute)
	if tn.nodes["B"].node.Holds(id) || !tn.nodes["B"].node.HasAck(id) {
		t.Errorf("B still holds the copy: it should have learnt the ack from R's answer to its offer\n%v", tn)
	}
	if got := tn.nodes["R"].node.Stats().AcksOut - acksBefore; got != 1 {
		t.Errorf("R sent %d acks after B came back, want 1 (the answer to B's offer)", got)
	}
	if got := len(tn.nodes["R"].box.deliveries()); got != 1 {
		t.Errorf("R got the mail %d times", got)
	}
	tn.run(time.Minute)
	if got := tn.status("S", id); got != StatusDelivered {
		t.Errorf("S's outbox says %v, want delivered", got)
	}
}

// An ack that reaches a relay after the relay evicted its copy for budget
// went no further: the relay could not check it. Found by
// TestFloodUnderChurnProperties. Line S-M-T-X; M holds one envelope. S's
// mail for T waits at M while T is away; T comes back and, at once, takes
// S's mail from M and hands M its own mail for X, which evicts S's (it
// expires first). T's ack then finds M without the copy, and S's outbox
// said "offered" until the mail expired, though T had it.
func TestRegressionAckAfterEviction(t *testing.T) {
	tn, fromS, fromT := evictionLine(t)
	tn.online("T")
	tn.run(time.Minute)
	checkEvictedForT(t, tn, fromS, fromT)
	if got := tn.status("S", fromS); got != StatusDelivered {
		t.Errorf("S's outbox says %v a minute after T received the mail, want delivered", got)
	}
	if tn.nodes["S"].node.Holds(fromS) {
		t.Error("S still holds the delivered mail")
	}
}

// evictionLine sets up TestRegressionAckAfterEviction's line until T is
// about to come back: M holds S's mail for T, and T's own mail for X waits
// at T.
func evictionLine(t *testing.T) (tn *testNet, fromS, fromT envelope.ID) {
	tn = newTestNet(t, MemConfig{Latency: time.Millisecond})
	tight := testConfig()
	tight.MaxEnvelopeSize = envelope.SealedSize(64)
	tight.MaxHeldBytes = int64(tight.MaxEnvelopeSize)
	tight.FriendShare = 1
	tight.OfferDelay = 0
	for _, n := range []string{"S", "M", "T", "X"} {
		tn.add(n, tight, nil)
	}
	tn.friends("S", "M")
	tn.friends("M", "T")
	tn.friends("T", "X")
	fromS = tn.send("S", "T", "for T", withTTL(2))
	fromT = tn.send("T", "X", "for X", withTTL(2))
	tn.online("S", "M")
	tn.run(time.Minute)
	if !tn.nodes["M"].node.Holds(fromS) {
		t.Fatal("M does not hold S's mail while T is away")
	}
	return tn, fromS, fromT
}

// checkEvictedForT checks that T has S's mail and M evicted it for T's.
func checkEvictedForT(t *testing.T, tn *testNet, fromS, fromT envelope.ID) {
	t.Helper()
	tn.wantDelivered("T", "S", "for T", fromS)
	if st := tn.nodes["M"].node.Stats(); st.Evicted == 0 || !tn.nodes["M"].node.Holds(fromT) {
		t.Fatalf("M evicted %d copies and holds T's mail: %v; want S's evicted for T's (the case under test)", st.Evicted, tn.nodes["M"].node.Holds(fromT))
	}
}

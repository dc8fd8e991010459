package mesh

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// These tests prove that a node restarted on its badger store keeps what it
// must not forget: the envelopes it holds for others, the acks it has seen,
// its seen set and its outbox. Every store is an on-disk BadgerStore that is
// closed and opened again on the same directory between the two lives of
// the node; everything runs over MemNetwork on the virtual clock.

// Friend-protocol frame types as documented in frame.go (version 1).
const (
	rtWireVersion  = 1
	rtWireOffer    = 2
	rtWireRequest  = 3
	rtWireEnvelope = 4
	rtOfferEntry   = envelope.IDSize + 1 + 4 + 8
)

// rtNet returns a test network whose nodes are all closed when the test ends.
func rtNet(t *testing.T) *testNet {
	t.Helper()
	tn := newTestNet(t, MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: 10 * time.Second})
	t.Cleanup(func() {
		for _, n := range tn.nodes {
			if n.node != nil {
				n.node.Close()
			}
		}
	})
	return tn
}

// rtOpenDiskStore opens the on-disk badger store in dir; it is closed when the
// test ends (closing twice is harmless).
func rtOpenDiskStore(t *testing.T, dir string) *BadgerStore {
	t.Helper()
	s, err := OpenBadgerStore(BadgerOptions{Dir: dir, GCInterval: -1, NoSync: true})
	if err != nil {
		t.Fatalf("OpenBadgerStore(%s): got error %v, want nil", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rtRestartOnDisk takes node name offline, closes it and its store, opens the
// store in dir again and starts a fresh node on it (offline).
func rtRestartOnDisk(t *testing.T, tn *testNet, name, dir string) *testNode {
	t.Helper()
	n := tn.nodes[name]
	tn.offline(name)
	if err := n.node.Close(); err != nil {
		t.Fatalf("closing node %s: got %v, want nil", name, err)
	}
	if err := n.store.Close(); err != nil {
		t.Fatalf("closing %s's store: got %v, want nil", name, err)
	}
	return tn.restart(name, rtOpenDiskStore(t, dir))
}

// rtStoredEnvelope returns a copy of the bytes of an envelope name holds.
func rtStoredEnvelope(t *testing.T, tn *testNet, name string, id envelope.ID) []byte {
	t.Helper()
	b, err := tn.nodes[name].store.Envelope(id)
	if err != nil {
		t.Fatalf("%s's store Envelope(%v): got error %v, want the envelope", name, id, err)
	}
	return bytes.Clone(b)
}

// rtEnvelopeFrame frames envelope bytes as a friend would send them.
func rtEnvelopeFrame(env []byte) []byte {
	return append([]byte{rtWireVersion, rtWireEnvelope}, env...)
}

// rtOfferFrame builds a one-entry offer frame for env, as a friend would.
func rtOfferFrame(t *testing.T, seq uint32, env []byte) []byte {
	t.Helper()
	h, err := envelope.ParseHeader(env)
	if err != nil {
		t.Fatalf("ParseHeader: got %v, want nil", err)
	}
	id := envelope.ComputeID(env)
	f := []byte{rtWireVersion, rtWireOffer}
	f = binary.BigEndian.AppendUint32(f, seq)
	f = binary.BigEndian.AppendUint16(f, 1)
	f = append(f, id[:]...)
	f = append(f, h.Hops)
	f = binary.BigEndian.AppendUint32(f, uint32(len(env)))
	f = binary.BigEndian.AppendUint64(f, uint64(h.Expiry))
	return f
}

// rtWireWatch counts, per envelope ID, what one node offers, requests and
// sends as bodies, as seen on the wire.
type rtWireWatch struct {
	mu       sync.Mutex
	from     FriendKey
	offers   map[envelope.ID]int
	requests map[envelope.ID]int
	bodies   map[envelope.ID]int
}

// rtWatch starts counting what name sends (replacing any other tn.onSend).
func rtWatch(tn *testNet, name string) *rtWireWatch {
	w := &rtWireWatch{from: tn.nodes[name].kp.Public, offers: map[envelope.ID]int{},
		requests: map[envelope.ID]int{}, bodies: map[envelope.ID]int{}}
	tn.onSend = w.see
	return w
}

func (w *rtWireWatch) see(from, _ FriendKey, f []byte) {
	if from != w.from || len(f) < 2 || f[0] != rtWireVersion {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch f[1] {
	case rtWireOffer, rtWireRequest:
		size := rtOfferEntry
		m := w.offers
		if f[1] == rtWireRequest {
			size, m = envelope.IDSize, w.requests
		}
		if len(f) < 8 {
			return
		}
		for p := f[8:]; len(p) >= size; p = p[size:] {
			m[envelope.ID(p[:envelope.IDSize])]++
		}
	case rtWireEnvelope:
		w.bodies[envelope.ComputeID(f[2:])]++
	}
}

// counts returns how many times id was offered, requested and sent.
func (w *rtWireWatch) counts(id envelope.ID) (offers, requests, bodies int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.offers[id], w.requests[id], w.bodies[id]
}

// TestRestartKeepsHeldEnvelopes: B holds A's mail for offline C, restarts
// on its reopened badger store while A is away, and hands C the mail from
// disk, exactly once and byte for byte.
func TestRestartKeepsHeldEnvelopes(t *testing.T) {
	tn := rtNet(t)
	dir := filepath.Join(t.TempDir(), "B")
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), rtOpenDiskStore(t, dir))
	tn.add("C", testConfig(), nil)
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(15 * time.Second)

	const body = "Subject: kept\r\n\r\nheld across a restart\r\n"
	id := tn.send("A", "C", body)
	tn.run(5 * time.Second)
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatalf("B holds the mail for offline C: got false, want true\n%v", tn)
	}
	heldBefore := tn.nodes["B"].node.Held()
	envBefore := rtStoredEnvelope(t, tn, "B", id)
	tn.offline("A")

	b := rtRestartOnDisk(t, tn, "B", dir)
	if !b.node.Holds(id) {
		t.Fatalf("restarted B holds the mail: got false, want true")
	}
	got := b.node.Held()
	for i := range got { // Since is the restart time: the store keeps no arrival time
		if i < len(heldBefore) {
			got[i].Since = heldBefore[i].Since
		}
	}
	if !reflect.DeepEqual(got, heldBefore) {
		t.Fatalf("restarted B's Held(): got %+v, want %+v", got, heldBefore)
	}
	if got := heldBefore[0].From; got != tn.nodes["A"].kp.Public {
		t.Errorf("held copy accounted to: got %v, want A", got)
	}
	if got := rtStoredEnvelope(t, tn, "B", id); !bytes.Equal(got, envBefore) {
		t.Fatalf("reopened store's envelope bytes differ from before the restart (got %d bytes, want %d)", len(got), len(envBefore))
	}
	if s := b.node.Stats(); s.Held != 1 || s.OwnHeld != 0 || s.HeldBytes != int64(len(envBefore)) {
		t.Fatalf("restarted B stats held/own/bytes: got %d/%d/%d, want 1/0/%d", s.Held, s.OwnHeld, s.HeldBytes, len(envBefore))
	}

	tn.online("B", "C") // A stays offline: only B's disk can deliver
	tn.run(30 * time.Second)
	tn.wantDelivered("C", "A", body, id)
	if got := tn.nodes["C"].box.deliveries()[0].Letter.PathLength(); got != 2 {
		t.Errorf("path length: got %d, want 2", got)
	}
	if b.node.Holds(id) || !b.node.HasAck(id) {
		t.Fatalf("B after delivery: holds %v, has ack %v; want false, true\n%v", b.node.Holds(id), b.node.HasAck(id), tn)
	}
	if got := tn.bodyCount("A", "B"); got != 1 {
		t.Errorf("body crossed A->B: got %d times, want 1", got)
	}
	if got := tn.bodyCount("B", "C"); got != 1 {
		t.Errorf("body crossed B->C: got %d times, want 1", got)
	}
	if got := tn.status("A", id); got != StatusOffered {
		t.Fatalf("A (offline) outbox: got %v, want %v", got, StatusOffered)
	}

	tn.online("A")
	tn.run(30 * time.Second)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Fatalf("A outbox after returning: got %v, want %v\n%v", got, StatusDelivered, tn)
	}
	if tn.nodes["A"].node.Holds(id) {
		t.Errorf("A holds its delivered mail: got true, want false")
	}
	if got := tn.nodes["C"].box.times(id); got != 1 {
		t.Errorf("C's deliveries of the mail: got %d, want 1", got)
	}
}

// TestRestartKeepsAcks: B drops its copy on the ack and remembers the ack
// across a restart; D, which held a copy while offline, is purged by B's
// remembered ack when it returns.
func TestRestartKeepsAcks(t *testing.T) {
	tn := rtNet(t)
	dir := filepath.Join(t.TempDir(), "B")
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), rtOpenDiskStore(t, dir))
	tn.add("C", testConfig(), nil)
	tn.add("D", testConfig(), nil)
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.friends("B", "D") // D's only friend is B
	tn.online("A", "B", "D")
	tn.run(15 * time.Second)

	id := tn.send("A", "C", "ack me")
	tn.run(5 * time.Second)
	if !tn.nodes["B"].node.Holds(id) || !tn.nodes["D"].node.Holds(id) {
		t.Fatalf("B and D hold the mail: got %v and %v, want true and true\n%v",
			tn.nodes["B"].node.Holds(id), tn.nodes["D"].node.Holds(id), tn)
	}
	tn.offline("D")
	tn.online("C")
	tn.run(30 * time.Second)
	tn.wantDelivered("C", "A", "ack me", id)
	if tn.nodes["B"].node.Holds(id) || !tn.nodes["B"].node.HasAck(id) {
		t.Fatalf("B after the ack: holds %v, has ack %v; want false, true\n%v",
			tn.nodes["B"].node.Holds(id), tn.nodes["B"].node.HasAck(id), tn)
	}
	if !tn.nodes["D"].node.Holds(id) || tn.nodes["D"].node.HasAck(id) {
		t.Fatalf("offline D: holds %v, has ack %v; want true, false", tn.nodes["D"].node.Holds(id), tn.nodes["D"].node.HasAck(id))
	}
	if got := tn.status("A", id); got != StatusDelivered {
		t.Fatalf("A outbox: got %v, want %v", got, StatusDelivered)
	}

	b := rtRestartOnDisk(t, tn, "B", dir)
	if !b.node.HasAck(id) {
		t.Fatalf("restarted B has the ack: got false, want true")
	}
	if b.node.Holds(id) {
		t.Fatalf("restarted B holds the acked mail: got true, want false")
	}
	if s := b.node.Stats(); s.AcksKept != 1 || s.Held != 0 {
		t.Fatalf("restarted B acks kept/held: got %d/%d, want 1/0", s.AcksKept, s.Held)
	}
	if got := b.node.Held(); len(got) != 0 {
		t.Fatalf("restarted B's Held(): got %+v, want none", got)
	}
	if _, err := b.store.Envelope(id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reopened store Envelope(acked id): got error %v, want %v", err, ErrNotFound)
	}

	// Only B can tell D about the ack now.
	tn.offline("A", "C")
	tn.online("B", "D")
	tn.run(30 * time.Second)
	if tn.nodes["D"].node.Holds(id) {
		t.Fatalf("D still holds the mail after meeting restarted B: got true, want false\n%v", tn)
	}
	if !tn.nodes["D"].node.HasAck(id) {
		t.Errorf("D has the ack from B: got false, want true")
	}
	if b.node.Holds(id) || !b.node.HasAck(id) {
		t.Errorf("B after meeting D: holds %v, has ack %v; want false, true", b.node.Holds(id), b.node.HasAck(id))
	}
	if got := tn.bodyCount("D", "B"); got != 0 {
		t.Errorf("body crossed D->B: got %d times, want 0", got)
	}
	if got := tn.nodes["C"].box.times(id); got != 1 {
		t.Errorf("C's deliveries of the mail: got %d, want 1", got)
	}
}

// TestRestartKeepsSeenSet: a restarted B refuses envelopes it has already
// handled, whether they are answered by a remembered ack or only by the
// store's seen set, even after more than DedupeSize other envelopes have
// gone through its in-memory LRU.
func TestRestartKeepsSeenSet(t *testing.T) {
	t.Run("acked", testRestartSeenAcked)
	t.Run("evicted", func(t *testing.T) { testRestartSeenEvicted(t, false) })
	// The control restarts B on an empty store instead: B must then take the
	// envelope again, which shows the "evicted" case can fail.
	t.Run("evicted-control-fresh-store", func(t *testing.T) { testRestartSeenEvicted(t, true) })
}

// rtSeenConfig is testConfig with the smallest dedupe LRU.
func rtSeenConfig() Config {
	c := testConfig()
	c.DedupeSize = 16
	return c
}

// rtRefuses offers and sends env to node name from friend and checks that it
// neither asks for it, holds it, nor offers or sends it on.
func rtRefuses(t *testing.T, tn *testNet, w *rtWireWatch, friend, name string, env []byte, seq uint32) {
	t.Helper()
	n := tn.nodes[name].node
	from := tn.nodes[friend].kp.Public
	id := envelope.ComputeID(env)
	before := n.Stats()
	n.HandleFrame(from, rtOfferFrame(t, seq, env))
	n.HandleFrame(from, rtEnvelopeFrame(bytes.Clone(env)))
	after := n.Stats()
	if got := after.Duplicates - before.Duplicates; got != 1 {
		t.Errorf("%s duplicates counted for the re-sent body: got %d, want 1", name, got)
	}
	if after.Relayed != before.Relayed {
		t.Errorf("%s relayed: got %d, want %d (unchanged)", name, after.Relayed, before.Relayed)
	}
	if n.Holds(id) {
		t.Errorf("%s holds the re-sent envelope: got true, want false", name)
	}
	tn.run(10 * time.Second)
	if n.Holds(id) {
		t.Errorf("%s holds the re-sent envelope later: got true, want false", name)
	}
	if offers, requests, bodies := w.counts(id); offers+requests+bodies != 0 {
		t.Errorf("%s offered/requested/sent the re-sent envelope: got %d/%d/%d, want 0/0/0", name, offers, requests, bodies)
	}
}

func testRestartSeenAcked(t *testing.T) {
	tn := rtNet(t)
	dir := filepath.Join(t.TempDir(), "B")
	tn.add("A", testConfig(), nil)
	tn.add("B", rtSeenConfig(), rtOpenDiskStore(t, dir))
	tn.add("C", testConfig(), nil)
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(15 * time.Second)

	id := tn.send("A", "C", "only once")
	tn.run(5 * time.Second)
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatalf("B holds the mail: got false, want true\n%v", tn)
	}
	env := rtStoredEnvelope(t, tn, "A", id) // the sender's copy, before the ack
	tn.online("C")
	tn.run(30 * time.Second)
	tn.wantDelivered("C", "A", "only once", id)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Fatalf("A outbox: got %v, want %v", got, StatusDelivered)
	}
	if !tn.nodes["B"].node.HasAck(id) {
		t.Fatalf("B has the ack: got false, want true")
	}

	b := rtRestartOnDisk(t, tn, "B", dir)
	w := rtWatch(tn, "B")
	tn.online("B")
	tn.run(15 * time.Second)
	if s := b.node.Stats(); s.MeshPeers != 2 {
		t.Fatalf("restarted B mesh peers: got %d, want 2\n%v", s.MeshPeers, tn)
	}
	rtRefuses(t, tn, w, "A", "B", env, 0x7fff0001)
	if got := tn.nodes["C"].box.times(id); got != 1 {
		t.Fatalf("C's deliveries of the mail: got %d, want 1", got)
	}

	// Push more than DedupeSize other envelopes through B, so that its LRU
	// cannot remember the first one.
	others := make([]envelope.ID, 20)
	for i := range others {
		others[i] = tn.send("A", "C", fmt.Sprintf("other %02d", i))
	}
	tn.run(30 * time.Second)
	for i, o := range others {
		tn.wantDelivered("C", "A", fmt.Sprintf("other %02d", i), o)
	}
	if s := b.node.Stats(); s.Relayed != uint64(len(others)) {
		t.Fatalf("restarted B relayed: got %d, want %d", s.Relayed, len(others))
	}
	rtRefuses(t, tn, w, "A", "B", env, 0x7fff0002)
	if got := tn.nodes["C"].box.times(id); got != 1 {
		t.Errorf("C's deliveries of the mail: got %d, want 1", got)
	}
	if got := tn.bodyCount("B", "C"); got != 1+len(others) {
		t.Errorf("bodies crossed B->C: got %d, want %d", got, 1+len(others))
	}
	if !b.node.HasAck(id) {
		t.Errorf("B has the ack at the end: got false, want true")
	}
}

// testRestartSeenEvicted makes B evict a relay copy (seen, never acked),
// restarts B on its reopened store (or, for the control, an empty one) and
// offers and sends the envelope to B again.
func testRestartSeenEvicted(t *testing.T, fresh bool) {
	body := func(i int) string { return fmt.Sprintf("evict me %02d", i) }
	size := envelope.SealedSize(len(body(0)))
	cfg := rtSeenConfig()
	cfg.MaxEnvelopeSize = size
	cfg.MaxHeldBytes = int64(size) // room for one envelope
	cfg.FriendShare = 1

	tn := rtNet(t)
	dir := filepath.Join(t.TempDir(), "B")
	tn.add("A", testConfig(), nil)
	tn.add("B", cfg, rtOpenDiskStore(t, dir))
	tn.add("C", testConfig(), nil)
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(15 * time.Second)

	id1 := tn.send("A", "C", body(0))
	if o, _ := tn.nodes["A"].node.OutboxEntry(id1); o.Size != size {
		t.Fatalf("envelope size: got %d, want %d", o.Size, size)
	}
	tn.run(5 * time.Second)
	if !tn.nodes["B"].node.Holds(id1) {
		t.Fatalf("B holds the first mail: got false, want true\n%v", tn)
	}
	id2 := tn.send("A", "C", body(1))
	tn.run(5 * time.Second)
	bn := tn.nodes["B"].node
	if !bn.Holds(id2) || bn.Holds(id1) || bn.HasAck(id1) {
		t.Fatalf("B holds second/first, has ack of first: got %v/%v/%v, want true/false/false\n%v",
			bn.Holds(id2), bn.Holds(id1), bn.HasAck(id1), tn)
	}
	if got := bn.Stats().Evicted; got != 1 {
		t.Fatalf("B evicted: got %d, want 1", got)
	}
	env1 := rtStoredEnvelope(t, tn, "A", id1) // A still holds its unacked mail

	// C takes the second mail, so that B has room again.
	tn.online("C")
	tn.run(30 * time.Second)
	tn.wantDelivered("C", "A", body(1), id2)
	if bn.Holds(id2) || bn.Stats().Held != 0 {
		t.Fatalf("B after the ack of the second mail: holds it %v, holds %d; want false, 0", bn.Holds(id2), bn.Stats().Held)
	}

	var b *testNode
	if fresh {
		tn.offline("B")
		bn.Close()
		tn.nodes["B"].store.Close()
		b = tn.restart("B", rtOpenDiskStore(t, filepath.Join(t.TempDir(), "B-fresh")))
	} else {
		b = rtRestartOnDisk(t, tn, "B", dir)
	}
	if b.node.Holds(id1) || b.node.HasAck(id1) {
		t.Fatalf("restarted B holds or has an ack for the evicted mail: got %v/%v, want false/false", b.node.Holds(id1), b.node.HasAck(id1))
	}
	w := rtWatch(tn, "B")
	tn.online("B")
	tn.run(15 * time.Second)

	if fresh {
		// An empty store knows nothing: B asks for the envelope, holds it
		// and hands it to C.
		b.node.HandleFrame(tn.nodes["A"].kp.Public, rtOfferFrame(t, 0x7fff0001, env1))
		tn.run(10 * time.Second)
		if _, requests, _ := w.counts(id1); requests != 1 {
			t.Fatalf("control: B on an empty store requested the envelope: got %d times, want 1", requests)
		}
		if got := tn.nodes["C"].box.times(id1); got != 1 {
			t.Fatalf("control: C's deliveries of the first mail: got %d, want 1", got)
		}
		return
	}

	rtRefuses(t, tn, w, "A", "B", env1, 0x7fff0001)
	if got := tn.nodes["C"].box.times(id1); got != 0 {
		t.Fatalf("C's deliveries of the first mail through B: got %d, want 0", got)
	}

	// More than DedupeSize other envelopes through B, one at a time (B has
	// room for one), each delivered and acked.
	for i := 2; i < 2+20; i++ {
		id := tn.send("A", "C", body(i))
		tn.run(5 * time.Second)
		tn.wantDelivered("C", "A", body(i), id)
	}
	if s := b.node.Stats(); s.Relayed != 20 || s.Held != 0 {
		t.Fatalf("restarted B relayed/held: got %d/%d, want 20/0", s.Relayed, s.Held)
	}
	rtRefuses(t, tn, w, "A", "B", env1, 0x7fff0002)
	if got := tn.nodes["C"].box.times(id1); got != 0 {
		t.Errorf("C's deliveries of the first mail through B: got %d, want 0", got)
	}
	if b.node.HasAck(id1) {
		t.Errorf("B has an ack for the first mail: got true, want false")
	}
}

// TestRestartOutboxSurvives: mail queued with no friend online survives a
// restart of its sender with the same IDs and states, then is offered and
// delivered; the delivered state survives a second restart.
func TestRestartOutboxSurvives(t *testing.T) {
	tn := rtNet(t)
	dir := filepath.Join(t.TempDir(), "A")
	tn.add("A", testConfig(), rtOpenDiskStore(t, dir))
	tn.add("B", testConfig(), nil)
	tn.add("C", testConfig(), nil)
	tn.friends("A", "B")
	tn.friends("B", "C")

	bodies := []string{"first queued", "second queued", "third queued"}
	var msgs []Outgoing
	for i, s := range bodies {
		msgs = append(msgs, Outgoing{To: tn.nodes["C"].kp.Public, Body: []byte(s), Label: fmt.Sprintf("<%d@toxmail.test>", i)})
	}
	ids, err := tn.nodes["A"].node.Submit(msgs...)
	if err != nil {
		t.Fatalf("Submit: got %v, want nil", err)
	}
	if len(ids) != len(bodies) {
		t.Fatalf("Submit IDs: got %d, want %d", len(ids), len(bodies))
	}
	tn.run(time.Minute)
	for _, id := range ids {
		if got := tn.status("A", id); got != StatusQueued {
			t.Fatalf("status with no friend online: got %v, want %v", got, StatusQueued)
		}
	}
	before := tn.nodes["A"].node.Outbox()
	if len(before) != len(ids) {
		t.Fatalf("outbox entries: got %d, want %d", len(before), len(ids))
	}

	a := rtRestartOnDisk(t, tn, "A", dir)
	after := a.node.Outbox()
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("outbox after restart:\ngot  %+v\nwant %+v", after, before)
	}
	for i, id := range ids {
		o, ok := a.node.OutboxEntry(id)
		if !ok {
			t.Fatalf("OutboxEntry(%v) after restart: got none, want one", id)
		}
		if o.Status != StatusQueued || o.Label != msgs[i].Label || o.To != msgs[i].To {
			t.Fatalf("outbox entry %d after restart: got status %v label %q, want %v %q", i, o.Status, o.Label, StatusQueued, msgs[i].Label)
		}
		if !a.node.Holds(id) {
			t.Fatalf("restarted A holds its queued mail %d: got false, want true", i)
		}
	}
	if s := a.node.Stats(); s.OwnHeld != len(ids) {
		t.Fatalf("restarted A own mail held: got %d, want %d", s.OwnHeld, len(ids))
	}

	// A friend comes online, the recipient does not: offered.
	tn.online("A", "B")
	tn.run(15 * time.Second)
	for i, id := range ids {
		o, _ := a.node.OutboxEntry(id)
		if o.Status != StatusOffered || o.Offered == 0 {
			t.Fatalf("mail %d with B online: got status %v offered at %d, want %v and a time\n%v", i, o.Status, o.Offered, StatusOffered, tn)
		}
		if !tn.nodes["B"].node.Holds(id) {
			t.Fatalf("B holds mail %d: got false, want true", i)
		}
	}

	// The recipient comes online: delivered, and A learns it.
	tn.online("C")
	tn.run(30 * time.Second)
	for i, id := range ids {
		tn.wantDelivered("C", "A", bodies[i], id)
		if got := tn.status("A", id); got != StatusDelivered {
			t.Fatalf("mail %d: got status %v, want %v\n%v", i, got, StatusDelivered, tn)
		}
		if a.node.Holds(id) {
			t.Errorf("A holds delivered mail %d: got true, want false", i)
		}
	}

	// Delivered survives a second restart.
	delivered := a.node.Outbox()
	a = rtRestartOnDisk(t, tn, "A", dir)
	if got := a.node.Outbox(); !reflect.DeepEqual(got, delivered) {
		t.Fatalf("outbox after second restart:\ngot  %+v\nwant %+v", got, delivered)
	}
	if s := a.node.Stats(); s.OwnHeld != 0 || s.AcksKept != len(ids) {
		t.Fatalf("A after second restart own held/acks: got %d/%d, want 0/%d", s.OwnHeld, s.AcksKept, len(ids))
	}
}

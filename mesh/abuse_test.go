package mesh

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// These tests play a friend ("mallory") that sends the node cheap frames
// meant to make it queue, read or send far more than they cost; each checks
// a bound rather than logging what the node did.

// blockTransport has every friend online and refuses every frame with
// ErrBackpressure while blocked; it counts what it took.
type blockTransport struct {
	mu      sync.Mutex
	friends []Friend
	blocked bool
	frames  map[FriendKey][][]byte
}

var _ Transport = (*blockTransport)(nil)

func (b *blockTransport) Friends() []Friend  { return b.friends }
func (b *blockTransport) SetHandler(Handler) {}
func (b *blockTransport) Send(to FriendKey, f []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.blocked {
		return fmt.Errorf("test: %w", ErrBackpressure)
	}
	if b.frames == nil {
		b.frames = make(map[FriendKey][][]byte)
	}
	b.frames[to] = append(b.frames[to], append([]byte(nil), f...))
	return nil
}

func (b *blockTransport) block(on bool) {
	b.mu.Lock()
	b.blocked = on
	b.mu.Unlock()
}

// sent returns how many frames of type typ went to a friend.
func (b *blockTransport) sent(to FriendKey, typ byte) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := 0
	for _, f := range b.frames[to] {
		if f[1] == typ {
			k++
		}
	}
	return k
}

// requested returns how many times id was asked of a friend.
func (b *blockTransport) requested(to FriendKey, id envelope.ID) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := 0
	for _, f := range b.frames[to] {
		if f[1] != frameRequest {
			continue
		}
		_, ids, nWant, err := decodeRequest(f[2:], nil)
		if err != nil {
			panic(err)
		}
		for _, x := range ids[:nWant] {
			if x == id {
				k++
			}
		}
	}
	return k
}

// countingStore counts the envelope bodies read.
type countingStore struct {
	Store
	mu    sync.Mutex
	reads int
}

func (s *countingStore) Envelope(id envelope.ID) ([]byte, error) {
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	return s.Store.Envelope(id)
}

// abuseNode starts a node whose friends are filler friends that never
// speak the mesh protocol, then mallory: mallory's index is fillers (its
// place in Friends). The node has said hello to mallory and had its hello.
func abuseNode(t *testing.T, cfg Config, st Store, fillers int) (*Node, *blockTransport, *VirtualClock, FriendKey) {
	t.Helper()
	clock := NewVirtualClock(epoch2030)
	m := keyFor("mallory").Public
	tr := &blockTransport{}
	for i := 0; i < fillers; i++ {
		tr.friends = append(tr.friends, Friend{Key: keyFor(fmt.Sprintf("filler%d", i)).Public, Online: true})
	}
	tr.friends = append(tr.friends, Friend{Key: m, Online: true})
	n, err := NewNode(cfg, Deps{Identity: keyFor("relay"), Transport: tr, Store: st, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	n.HandleFrame(m, encodeHello(nil, 7))
	if p := n.lookup(m); p == nil || p.idx != int32(fillers) || !p.ready {
		t.Fatalf("mallory is not the ready friend %d", fillers)
	}
	return n, tr, clock, m
}

// smallBacklogConfig makes a friend's backlog fill after about a MiB.
func smallBacklogConfig() Config {
	cfg := testConfig()
	cfg.MaxEnvelopeSize = 64 << 10
	cfg.MaxHeldBytes = 64 << 20
	return cfg
}

func (n *Node) queued(k FriendKey) (offers, acks int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.lookup(k)
	if p == nil || p.link == nil {
		return 0, 0
	}
	return len(p.offers), len(p.acks)
}

// A friend that stops reading, so that its backlog fills, and keeps
// offering an envelope the node has the ack of, gets that ack queued once
// (a friend past the first 64, which has no queued bit, up to the queue
// cap), not once per offered entry.
func TestAckQueueBoundedUnderBackpressure(t *testing.T) {
	for _, fillers := range []int{0, 70} {
		t.Run(fmt.Sprintf("friend%d", fillers), func(t *testing.T) {
			st := NewMemStore()
			id := envelope.ID{42}
			var b Batch
			b.PutAck(AckRecord{Ack: envelope.Ack{ID: id}, Expiry: epoch2030.Unix() + 86400})
			if err := st.Apply(&b); err != nil {
				t.Fatal(err)
			}
			cfg := smallBacklogConfig()
			n, tr, _, m := abuseNode(t, cfg, st, fillers)
			tr.block(true)
			items := make([]offerItem, MaxBatchLimit)
			for i := range items {
				items[i] = offerItem{id: id, hops: 3, size: 700, expiry: epoch2030.Unix() + 3600}
			}
			frame := encodeOffer(1, items)
			for i := 0; i < 300; i++ {
				n.HandleFrame(m, frame)
			}
			want := 1
			if fillers >= 64 {
				want = n.queueCap(1)
			}
			if _, acks := n.queued(m); acks > want {
				t.Fatalf("%d offer frames of one acked ID: %d acks queued for the friend, want at most %d", 300, acks, want)
			}
			// Once the friend reads again, it is sent the ack.
			tr.block(false)
			n.HandleFrame(m, encodeOffer(2, items[:1]))
			if got := tr.sent(m, frameAck); got == 0 {
				t.Fatal("the friend was never sent the ack once it read again")
			}
		})
	}
}

// Deferred IDs in a request queue an offer again only for an envelope
// offered to that friend, and once (a friend past the first 32, up to the
// queue cap), however many times a request names it.
func TestDeferredOfferQueueBounded(t *testing.T) {
	for _, fillers := range []int{0, 40} {
		t.Run(fmt.Sprintf("friend%d", fillers), func(t *testing.T) {
			n, tr, clock, m := abuseNode(t, smallBacklogConfig(), NewMemStore(), fillers)
			ids, err := n.Submit(Outgoing{To: keyFor("far").Public, Body: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Second) // offered to mallory
			// An envelope mallory pushed itself: never offered to it.
			junk := junkSealed(t, clock, 1)
			n.HandleFrame(m, encodeEnvelope(junk, 3))
			junkID := envelope.ComputeID(junk)
			if !n.Holds(junkID) {
				t.Fatal("the pushed envelope is not held")
			}
			tr.block(true)
			// Something in the backlog, so that queued offers stay queued.
			if _, err := n.Submit(Outgoing{To: keyFor("far").Public, Body: []byte("y")}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Second)
			deferred := make([]envelope.ID, MaxBatchLimit)
			for i := range deferred {
				deferred[i] = ids[0]
				if i%2 == 1 {
					deferred[i] = junkID
				}
			}
			frame := encodeRequest(nil, 1, nil, deferred)
			for i := 0; i < 300; i++ {
				n.HandleFrame(m, frame)
				if i%100 == 0 {
					clock.Advance(40 * time.Second)
				}
			}
			n.mu.Lock()
			p := n.lookup(m)
			for _, e := range p.offers {
				if e.meta.ID == junkID {
					n.mu.Unlock()
					t.Fatal("a deferral of an envelope never offered to the friend queued an offer of it")
				}
			}
			n.mu.Unlock()
			want := 1
			if fillers >= 32 {
				want = n.queueCap(n.Stats().Held)
			}
			if offers, _ := n.queued(m); offers > want {
				t.Fatalf("%d request frames deferring one ID: %d offers queued for the friend, want at most %d", 300, offers, want)
			}
		})
	}
}

// junkSealed seals a small envelope for a stranger, expiring in two days.
func junkSealed(t testing.TB, clock *VirtualClock, i int) []byte {
	t.Helper()
	e, err := envelope.NewKeyring(envelope.Config{Identity: keyFor("sender")}).Seal(envelope.SealParams{
		To: keyFor("far").Public, Body: []byte{byte(i), byte(i >> 8)}, Created: clock.Now(), Expiry: clock.Now().Add(48 * time.Hour), Hops: 4})
	if err != nil {
		t.Fatal(err)
	}
	return e.Encode()
}

// A request retried while the other friend that offered the envelope is
// at its request limit is not dropped: the envelope is asked of that
// friend once it has room (within RequestTimeout), or at once of a friend
// that offers it meanwhile and has room.
func TestRetryWaitsForRoom(t *testing.T) {
	for _, third := range []bool{false, true} {
		t.Run(fmt.Sprintf("thirdOfferer=%v", third), func(t *testing.T) {
			clock := NewVirtualClock(epoch2030)
			a, b, c := keyFor("A").Public, keyFor("B").Public, keyFor("C").Public
			tr := &blockTransport{friends: []Friend{{Key: a, Online: true}, {Key: b, Online: true}, {Key: c, Online: true}}}
			cfg := testConfig()
			cfg.MaxInflightPerFriend = 4
			n, err := NewNode(cfg, Deps{Identity: keyFor("relay"), Transport: tr, Store: NewMemStore(), Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Start(); err != nil {
				t.Fatal(err)
			}
			for i, k := range []FriendKey{a, b, c} {
				n.HandleFrame(k, encodeHello(nil, uint32(i+1)))
			}
			offer := func(from FriendKey, seq uint32, envs ...[]byte) {
				var items []offerItem
				for _, env := range envs {
					items = append(items, offerItem{id: envelope.ComputeID(env), hops: 3, size: uint32(len(env)), expiry: clock.Now().Add(48 * time.Hour).Unix()})
				}
				n.HandleFrame(from, encodeOffer(seq, items))
			}
			x := junkSealed(t, clock, 9999)
			xid := envelope.ComputeID(x)
			offer(a, 1, x) // asked of A
			var bodies [][]byte
			for i := 0; i < cfg.MaxInflightPerFriend; i++ {
				bodies = append(bodies, junkSealed(t, clock, i))
			}
			offer(b, 2, bodies...) // B is at its limit
			offer(b, 3, x)
			n.HandleOnline(a, false) // the request to A is lost: B has no room
			for _, env := range bodies {
				n.HandleFrame(b, encodeEnvelope(env, 3)) // now it has
			}
			asked := b
			if third {
				offer(c, 4, x)
				asked = c
			} else {
				clock.Advance(cfg.RequestTimeout + time.Second)
			}
			if got := tr.requested(asked, xid); got != 1 {
				t.Fatalf("X was asked of the friend with room %d times, want 1", got)
			}
			n.HandleFrame(asked, encodeEnvelope(x, 3))
			if !n.Holds(xid) {
				t.Fatal("X is not held after the friend sent it")
			}
			if s := n.Stats(); s.Inflight != 0 {
				t.Fatalf("%d requests still in flight, want 0", s.Inflight)
			}
		})
	}
}

// A friend whose backlog is full and keeps asking for large bodies does
// not make the node read them from the store again with every request:
// a body is read only when its frame has room to wait, and the requests
// that found no room are served as the backlog drains.
func TestRequestNotReadWhenBacklogFull(t *testing.T) {
	st := &countingStore{Store: NewMemStore()}
	n, tr, clock, m := abuseNode(t, testConfig(), st, 0)
	var ids []envelope.ID
	for i := 0; i < 32; i++ {
		got, err := n.Submit(Outgoing{To: keyFor("far").Public, Body: make([]byte, 1<<20)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0])
	}
	clock.Advance(time.Second)
	tr.block(true)
	frame := encodeRequest(nil, 1, ids, nil)
	const frames = 200
	for i := 0; i < frames; i++ {
		n.HandleFrame(m, frame)
	}
	st.mu.Lock()
	reads := st.reads
	st.mu.Unlock()
	// The backlog (2*MaxEnvelopeSize + 1 MiB) takes 17 of the ~1 MiB
	// bodies; once each is queued it is not sent again before
	// RequestTimeout/2. Without the check every request read all 32.
	if reads > len(ids) {
		t.Fatalf("%d request frames for %d bodies read %d bodies from the store, want at most %d", frames, len(ids), reads, len(ids))
	}
	if s := n.Stats(); s.ServedLater == 0 || s.BacklogDropped != 0 {
		t.Fatalf("%d bodies waited for room, %d were dropped; want some waiting and none dropped", s.ServedLater, s.BacklogDropped)
	}
	// Once the friend takes frames again, the waiting requests are
	// served as the backlog drains, each body read once: the friend does
	// not have to ask again after RequestTimeout.
	sent0 := tr.sent(m, frameEnvelope)
	tr.block(false)
	for range 5 {
		clock.Advance(backlogRetry)
	}
	if got := tr.sent(m, frameEnvelope) - sent0; got != len(ids) {
		t.Fatalf("after the backlog drained, %d bodies sent, want %d", got, len(ids))
	}
	st.mu.Lock()
	reads = st.reads
	st.mu.Unlock()
	if reads != len(ids) {
		t.Fatalf("%d bodies read from the store, want each of the %d once", reads, len(ids))
	}
}

// A friend that sends hellos with ever new session numbers, six bytes
// each, is handed over everything at most once per RequestTimeout, and
// the last reset is not lost: it starts, with the latest session, when
// that time has passed.
func TestSessionResetRateLimited(t *testing.T) {
	n, tr, clock, m := abuseNode(t, testConfig(), NewMemStore(), 0)
	var out []Outgoing
	for i := 0; i < 500; i++ {
		out = append(out, Outgoing{To: keyFor("far").Public, Body: []byte("x")})
	}
	if _, err := n.Submit(out...); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // offered once
	held := n.Stats().Held
	offers0, hellos0 := n.Stats().OffersOut, tr.sent(m, frameHello)
	const flaps = 200
	for i := 0; i < flaps; i++ {
		n.HandleFrame(m, encodeHello(nil, uint32(100+i)))
		clock.Advance(100 * time.Millisecond)
	}
	// All within RequestTimeout of the first hand-over: none goes yet.
	if got := n.Stats().OffersOut - offers0; got != 0 {
		t.Fatalf("%d hellos with new sessions within RequestTimeout: %d offers sent, want 0 (%d held)", flaps, got, held)
	}
	clock.Advance(testConfig().RequestTimeout)
	if got := n.Stats().OffersOut - offers0; got != uint64(held) {
		t.Fatalf("after RequestTimeout: %d offers sent, want one hand-over of %d", got, held)
	}
	if got := tr.sent(m, frameHello) - hellos0; got != 1 {
		t.Fatalf("the friend was greeted %d times for the new session, want 1", got)
	}
	n.mu.Lock()
	session := n.lookup(m).session
	n.mu.Unlock()
	if session != 100+flaps-1 {
		t.Fatalf("session is %d, want the latest, %d", session, 100+flaps-1)
	}
}

// madeEnvelope is an envelope a friend made itself, as relays see it: a
// header (3 hops, expiring at exp, ack hash of secret) and the smallest
// ciphertext, made distinct by n. The friend knows its ack secret.
func madeEnvelope(exp int64, n int, secret envelope.AckSecret) ([]byte, envelope.ID) {
	hdr := make([]byte, envelope.HeaderSize+envelope.MinCiphertext)
	hdr[0], hdr[1], hdr[2] = 1, 1, 3 // version, kind, hops
	binary.BigEndian.PutUint64(hdr[4:12], uint64(exp))
	binary.BigEndian.PutUint32(hdr[116:120], uint32(len(hdr)-envelope.HeaderSize))
	ah := envelope.HashAckSecret(secret)
	copy(hdr[60:92], ah[:])
	hdr[200], hdr[201] = byte(n), byte(n>>8)
	return hdr, envelope.ComputeID(hdr)
}

// A friend that pushes envelopes it made and then their acks (it knows
// the secrets) gets each one held, purged and its ack remembered; the acks
// remembered stop at MaxAcks, the ones expiring first forgotten.
func TestAcksBoundedByMaxAcks(t *testing.T) {
	cfg := testConfig()
	cfg.MaxAcks = 1024
	n, _, clock, m := abuseNode(t, cfg, NewMemStore(), 0)
	const pushes = 3000
	var secret envelope.AckSecret
	ids := make([]envelope.ID, pushes)
	for i := range ids {
		exp := clock.Now().Add(24*time.Hour + time.Duration(i)*time.Second).Unix() // later and later
		var hdr []byte
		hdr, ids[i] = madeEnvelope(exp, i, secret)
		n.HandleFrame(m, encodeEnvelope(hdr, 3))
		n.HandleFrame(m, encodeAcks(nil, []envelope.Ack{{ID: ids[i], Secret: secret}}))
	}
	s := n.Stats()
	if s.AcksVerified != pushes || s.AcksKept != cfg.MaxAcks || s.AcksEvicted != pushes-uint64(cfg.MaxAcks) {
		t.Fatalf("verified %d, kept %d, evicted %d; want %d, %d, %d",
			s.AcksVerified, s.AcksKept, s.AcksEvicted, pushes, cfg.MaxAcks, pushes-cfg.MaxAcks)
	}
	has := func(id envelope.ID) bool { r := n.ids.get(id); return r != nil && r.ack != nil }
	if has(ids[0]) || !has(ids[pushes-1]) || has(ids[pushes-cfg.MaxAcks-1]) || !has(ids[pushes-cfg.MaxAcks]) {
		t.Error("the acks kept are not the ones expiring last")
	}
	if s.Held != 0 {
		t.Errorf("%d copies still held after their acks", s.Held)
	}
}

// An ack pushed to a friend we served while frames to it wait in the
// backlog is not confirmed by time alone: the link may drop with the
// frame still waiting. It goes again on the friend's next session.
func TestAckPushInBacklogNotConfirmed(t *testing.T) {
	n, tr, clock, m := abuseNode(t, testConfig(), NewMemStore(), 1)
	a := keyFor("filler0").Public
	n.HandleFrame(a, encodeHello(nil, 9)) // a speaks the mesh too
	var secret envelope.AckSecret
	hdr, id := madeEnvelope(clock.Now().Add(48*time.Hour).Unix(), 0, secret)
	n.HandleFrame(a, encodeEnvelope(hdr, 3))
	if !n.Holds(id) {
		t.Fatal("setup: the node does not hold the envelope")
	}
	tr.block(true)
	n.HandleFrame(m, encodeRequest(nil, 1, []envelope.ID{id}, nil)) // served: the body waits in the backlog
	n.HandleFrame(a, encodeAcks(nil, []envelope.Ack{{ID: id, Secret: secret}}))
	if n.Stats().AcksVerified != 1 {
		t.Fatal("setup: the ack was not taken")
	}
	clock.Advance(10 * time.Minute) // well past ackConfirm, the link still blocked
	n.HandleOnline(m, false)        // the backlog is lost with the link
	tr.block(false)
	before := tr.sent(m, frameAck)
	n.HandleOnline(m, true)
	n.HandleFrame(m, encodeHello(nil, 8))
	clock.Advance(time.Second)
	if got := tr.sent(m, frameAck) - before; got != 1 {
		t.Fatalf("the friend we served got %d ack frames on its next session, want 1: the push that waited in the backlog was taken as confirmed", got)
	}
}

// A forged ack that comes first for an envelope being fetched does not
// shadow the genuine one another friend sends: when the body comes, the
// genuine ack is found, so the node keeps the ack rather than the body.
func TestForgedEarlyAckDoesNotShadow(t *testing.T) {
	n, _, clock, m := abuseNode(t, testConfig(), NewMemStore(), 2)
	a, b := keyFor("filler0").Public, keyFor("filler1").Public
	n.HandleFrame(a, encodeHello(nil, 9))
	n.HandleFrame(b, encodeHello(nil, 9))
	secret := envelope.AckSecret{1}
	exp := clock.Now().Add(48 * time.Hour).Unix()
	hdr, id := madeEnvelope(exp, 0, secret)
	n.HandleFrame(a, encodeOffer(1, []offerItem{{id: id, hops: 3, size: uint32(len(hdr)), expiry: exp}})) // asked of a
	n.HandleFrame(m, encodeAcks(nil, []envelope.Ack{{ID: id, Secret: envelope.AckSecret{2}}}))            // forged, first
	n.HandleFrame(m, encodeAcks(nil, []envelope.Ack{{ID: id, Secret: envelope.AckSecret{3}}}))            // and again
	n.HandleFrame(b, encodeAcks(nil, []envelope.Ack{{ID: id, Secret: secret}}))                           // genuine
	n.HandleFrame(a, encodeEnvelope(hdr, 3))
	if s := n.Stats(); n.Holds(id) || s.AcksKept != 1 {
		t.Fatalf("holds the body: %v, acks kept %d; want the genuine ack kept instead of the body", n.Holds(id), s.AcksKept)
	}
}

// A retried request whose other offerers are all at their limits waits
// for room, but not past the envelope's expiry.
func TestWaitingRequestEndsAtExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.MaxInflightPerFriend = 1
	n, _, clock, m := abuseNode(t, cfg, NewMemStore(), 1)
	a := keyFor("filler0").Public
	n.HandleFrame(a, encodeHello(nil, 9))
	now := clock.Now()
	for _, tc := range []struct {
		name    string
		expiry  time.Time
		waiting bool
	}{{"live", now.Add(time.Hour), true}, {"expired", now.Add(-time.Second), false}} {
		n.mu.Lock()
		pa, pm := n.lookup(a), n.lookup(m)
		var id envelope.ID
		copy(id[:], tc.name)
		in := &inflight{id: id, from: pa, tries: 1, expiry: tc.expiry.Unix(), deadline: now}
		in.offerers.add(pa.idx)
		in.offerers.add(pm.idx)
		in.tried.add(pa.idx)
		n.setInflight(id, in)
		pa.inflight++
		pm.inflight = int32(cfg.MaxInflightPerFriend) // mallory is at its limit
		pa.ready = false                              // and a, asked first, has gone
		n.retryRequest(in, now)
		pa.ready = true
		r := n.ids.get(id)
		got := r != nil && r.in != nil && r.in.waiting
		if r != nil && r.in != nil {
			n.endInflight(r.in)
		}
		pm.inflight = 0
		n.mu.Unlock()
		if got != tc.waiting {
			t.Errorf("%s: waiting %v, want %v", tc.name, got, tc.waiting)
		}
	}
}

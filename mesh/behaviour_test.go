package mesh

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

func TestExpiryDrops(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	for _, n := range []string{"A", "B", "C"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(time.Second)
	id := tn.send("A", "C", "short-lived", withLifetime(time.Hour))
	tn.run(5 * time.Second)
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatal("B does not hold the mail")
	}
	tn.run(2 * time.Hour)
	if tn.nodes["B"].node.Holds(id) || tn.nodes["A"].node.Holds(id) {
		t.Fatal("an expired envelope is still held")
	}
	if got := tn.nodes["B"].node.Stats().Expired; got != 1 {
		t.Errorf("B expired %d, want 1", got)
	}
	if got := tn.status("A", id); got != StatusExpired {
		t.Errorf("A outbox %v, want expired", got)
	}
	if a, b := tn.nodes["A"].node.Stats().OwnExpired, tn.nodes["B"].node.Stats().OwnExpired; a != 1 || b != 0 {
		t.Errorf("own mail expired: A counted %d, B %d; want 1 and 0", a, b)
	}
	tn.online("C")
	tn.run(time.Minute)
	if got := len(tn.nodes["C"].box.deliveries()); got != 0 {
		t.Fatalf("C received %d expired mails", got)
	}
}

// TestBudgetUnderFloodingFriend: one friend floods; it fills only its
// share, the other friend's mail is still held, and the relay keeps the
// flood's newest mail (evicting the earliest expiry first).
func TestBudgetUnderFloodingFriend(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	body := string(make([]byte, 1000))
	size := envelope.SealedSize(len(body))
	rc := testConfig()
	rc.MaxEnvelopeSize = size
	rc.MaxHeldBytes = int64(20 * size)
	rc.FriendShare = 0.25 // 5 envelopes
	tn.add("R", rc, nil)
	tn.add("flooder", testConfig(), nil)
	tn.add("G", testConfig(), nil)
	tn.add("nobody", testConfig(), nil) // never online
	tn.friends("R", "flooder")
	tn.friends("R", "G")
	tn.online("R", "flooder", "G")
	tn.run(time.Second)

	own := []envelope.ID{tn.send("R", "nobody", body), tn.send("R", "nobody", body)}
	var flood []envelope.ID
	for i := 0; i < 50; i++ {
		flood = append(flood, tn.send("flooder", "nobody", body))
		tn.run(time.Minute) // later mail expires later
	}
	var fromG []envelope.ID
	for i := 0; i < 3; i++ {
		fromG = append(fromG, tn.send("G", "nobody", body))
	}
	tn.run(time.Minute)

	r := tn.nodes["R"].node
	s := r.Stats()
	if s.HeldBytes > rc.MaxHeldBytes {
		t.Fatalf("held %d bytes, budget %d", s.HeldBytes, rc.MaxHeldBytes)
	}
	for _, p := range r.Peers() {
		if p.Key == tn.nodes["flooder"].kp.Public && p.HeldBytes > int64(5*size) {
			t.Fatalf("flooder fills %d bytes, share is %d", p.HeldBytes, 5*size)
		}
	}
	for i, id := range flood {
		if want := i >= 45; r.Holds(id) != want {
			t.Errorf("flood mail %d held %v, want %v (newest five kept)", i, r.Holds(id), want)
		}
	}
	for _, id := range append(fromG, own...) {
		if !r.Holds(id) {
			t.Errorf("mail %v evicted; only the flooder's should be", id)
		}
	}
	if s.Evicted != 45 {
		t.Errorf("evicted %d, want 45", s.Evicted)
	}
}

// TestOwnMailNeverEvicted fills the global budget from several friends:
// relay copies go, the node's own outbox stays.
func TestOwnMailNeverEvicted(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	body := string(make([]byte, 1000))
	size := envelope.SealedSize(len(body))
	rc := testConfig()
	rc.MaxEnvelopeSize = size
	rc.MaxHeldBytes = int64(10 * size)
	rc.FriendShare = 1
	tn.add("R", rc, nil)
	tn.add("nobody", testConfig(), nil)
	var own []envelope.ID
	for i := 0; i < 4; i++ {
		own = append(own, tn.send("R", "nobody", body, withLifetime(time.Hour)))
	}
	for i := 0; i < 3; i++ {
		f := fmt.Sprint("F", i)
		tn.add(f, testConfig(), nil)
		tn.friends("R", f)
		tn.online(f)
	}
	tn.online("R")
	tn.run(time.Second)
	for i := 0; i < 3; i++ {
		for j := 0; j < 5; j++ {
			tn.send(fmt.Sprint("F", i), "nobody", body)
		}
	}
	tn.run(time.Minute)
	s := tn.nodes["R"].node.Stats()
	if s.HeldBytes > rc.MaxHeldBytes || s.Held != 10 {
		t.Fatalf("held %d envelopes, %d bytes; want 10 within %d", s.Held, s.HeldBytes, rc.MaxHeldBytes)
	}
	for _, id := range own {
		if !tn.nodes["R"].node.Holds(id) {
			t.Fatal("own mail evicted")
		}
	}
}

// TestTargetFirst: a relay holding mail for several friends offers a
// friend that comes online its own mail first.
func TestTargetFirst(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	for _, n := range []string{"A", "R", "T1", "T2"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "R")
	tn.friends("R", "T1")
	tn.friends("R", "T2")
	tn.online("A", "R")
	tn.run(time.Second)
	var forT1 []envelope.ID
	for i := 0; i < 4; i++ {
		tn.send("A", "T2", "to T2")
	}
	for i := 0; i < 2; i++ {
		forT1 = append(forT1, tn.send("A", "T1", "to T1"))
	}
	tn.run(time.Minute)
	var first []offerItem
	r, t1 := tn.nodes["R"].kp.Public, tn.nodes["T1"].kp.Public
	tn.onSend = func(from, to FriendKey, f []byte) {
		if from == r && to == t1 && f[1] == frameOffer && first == nil {
			_, first, _ = decodeOffer(f[2:], nil)
		}
	}
	tn.online("T1")
	tn.run(time.Minute)
	if len(first) != 6 {
		t.Fatalf("first offer to T1 has %d entries, want 6", len(first))
	}
	got := map[envelope.ID]bool{first[0].id: true, first[1].id: true}
	if !got[forT1[0]] || !got[forT1[1]] {
		t.Fatalf("first offer does not lead with T1's mail")
	}
	if n := len(tn.nodes["T1"].box.deliveries()); n != 2 {
		t.Fatalf("T1 got %d mails, want 2", n)
	}
}

// TestNoDoubleDelivery: two relays hold the same mail and offer it to the
// recipient at once; it is transferred and delivered once.
func TestNoDoubleDelivery(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	for _, n := range []string{"A", "B1", "B2", "C"} {
		tn.add(n, testConfig(), nil)
	}
	for _, l := range [][2]string{{"A", "B1"}, {"A", "B2"}, {"B1", "C"}, {"B2", "C"}} {
		tn.friends(l[0], l[1])
	}
	tn.online("A", "B1", "B2")
	tn.run(time.Second)
	id := tn.send("A", "C", "once")
	tn.run(time.Minute)
	tn.online("C")
	tn.run(time.Minute)
	tn.wantDelivered("C", "A", "once", id)
	if got := tn.bodyCount("B1", "C") + tn.bodyCount("B2", "C"); got != 1 {
		t.Fatalf("C was sent the body %d times, want 1", got)
	}
	if got := tn.status("A", id); got != StatusDelivered {
		t.Errorf("A outbox %v, want delivered", got)
	}
}

// TestRequestRetryAfterDisconnect: the relay C asked goes away mid-transfer;
// C asks the other relay that offered the same envelope.
func TestRequestRetryAfterDisconnect(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond, Bandwidth: 20 << 10})
	for _, n := range []string{"A", "B1", "B2", "C"} {
		tn.add(n, testConfig(), nil)
	}
	for _, l := range [][2]string{{"A", "B1"}, {"A", "B2"}, {"B1", "C"}, {"B2", "C"}} {
		tn.friends(l[0], l[1])
	}
	tn.online("A", "B1", "B2")
	tn.run(time.Second)
	big := string(make([]byte, 200<<10)) // ten seconds on a 20 KiB/s link
	id := tn.send("A", "C", big)
	tn.run(2 * time.Minute)
	tn.online("C")
	tn.run(3 * time.Second)
	var asked string
	for _, b := range []string{"B1", "B2"} {
		if tn.nodes[b].node.Stats().EnvelopesOut > 0 {
			asked = b
		}
	}
	if asked == "" {
		t.Fatal("C asked neither relay")
	}
	tn.offline(asked)
	tn.run(time.Minute)
	tn.wantDelivered("C", "A", big, id)
	if got := tn.nodes["C"].node.Stats().RequestRetries; got != 1 {
		t.Errorf("C retried %d requests, want 1", got)
	}
}

// TestHopUpgrade: a copy that arrived by a long path is upgraded when a
// shorter path offers more hops, and the flood reaches further.
func TestHopUpgrade(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	names := []string{"A", "B", "C", "X", "D", "E"}
	for _, n := range names {
		tn.add(n, testConfig(), nil)
	}
	tn.add("nobody", testConfig(), nil)
	for i := 0; i+1 < len(names); i++ {
		tn.friends(names[i], names[i+1])
	}
	tn.online(names...)
	tn.run(time.Second)
	id := tn.send("A", "nobody", "far", withTTL(4))
	tn.run(time.Minute)
	if tn.nodes["E"].node.Holds(id) {
		t.Fatal("E reached at TTL 4 over a path of 5")
	}
	tn.friends("A", "X") // a shortcut appears
	tn.run(time.Minute)
	if !tn.nodes["E"].node.Holds(id) {
		t.Fatalf("E not reached after the shortcut\n%v", tn)
	}
	if got := tn.nodes["X"].node.Stats().Upgrades; got != 1 {
		t.Errorf("X upgraded %d times, want 1", got)
	}
}

// TestHopUpgradeReachesOfferers: a friend that offered a copy with fewer
// hops left than ours is offered ours, whether it offered while we
// fetched the body (R, coming online, is handed the mail by S on the short
// path and by P on a long one) or after we held it (P offers again when it
// reconnects). Before, P "had it" and was never offered R's copy, so C,
// five links from S at TTL 5 but only beyond P, never got the mail.
func TestHopUpgradeReachesOfferers(t *testing.T) {
	for _, reconnect := range []bool{false, true} {
		tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
		for _, n := range []string{"S", "L1", "L2", "P", "R", "X", "Y", "C"} {
			tn.add(n, testConfig(), nil)
		}
		for _, e := range [][2]string{{"S", "L1"}, {"L1", "L2"}, {"L2", "P"}, {"S", "R"}, {"R", "P"}, {"P", "X"}, {"X", "Y"}, {"Y", "C"}} {
			tn.friends(e[0], e[1])
		}
		// S-R-P-X-Y-C is 5 links; S-L1-L2-P-X-Y-C is 6, past TTL 5.
		tn.online("S", "L1", "L2", "P", "X", "Y", "C")
		tn.run(time.Second)
		id := tn.send("S", "C", "five links away", withTTL(5))
		tn.run(time.Minute)
		if !tn.nodes["P"].node.Holds(id) || len(tn.nodes["C"].box.deliveries()) != 0 {
			t.Fatal("want P holding the mail by the long path and C not reached")
		}
		if reconnect {
			// R gets the mail from S alone, then P offers its copy.
			tn.offline("P")
			tn.online("R")
			tn.run(time.Minute)
			tn.online("P")
		} else {
			tn.online("R")
		}
		tn.run(time.Hour)
		if got := len(tn.nodes["C"].box.deliveries()); got != 1 {
			t.Fatalf("reconnect=%v: C has %d deliveries, want 1\n%v", reconnect, got, tn)
		}
		if st := tn.status("S", id); st != StatusDelivered {
			t.Errorf("reconnect=%v: S's outbox says %v, want delivered", reconnect, st)
		}
		if got := tn.nodes["P"].node.Stats().Upgrades; got != 1 {
			t.Errorf("reconnect=%v: P upgraded %d times, want 1", reconnect, got)
		}
	}
}

func TestOutboxStatusAndSelf(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	id := tn.send("A", "B", "hello")
	if got := tn.status("A", id); got != StatusQueued {
		t.Fatalf("offline status %v, want queued", got)
	}
	tn.online("A")
	tn.run(time.Minute)
	if got := tn.status("A", id); got != StatusQueued {
		t.Fatalf("status with no friend online %v, want queued", got)
	}
	tn.online("B")
	tn.run(time.Minute)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Fatalf("status %v, want delivered", got)
	}
	self := tn.send("A", "A", "note to self")
	tn.wantDelivered("A", "A", "note to self", self)
	if got := tn.status("A", self); got != StatusDelivered {
		t.Fatalf("self status %v, want delivered", got)
	}
	list := tn.nodes["A"].node.Outbox()
	if len(list) != 2 {
		t.Fatalf("outbox lists %d, want 2", len(list))
	}
}

// failingStore fails every Apply.
type failingStore struct{ *MemStore }

func (failingStore) Apply(*Batch) error { return errors.New("disk full") }

func TestSubmitIsAtomic(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	tn.add("A", testConfig(), failingStore{NewMemStore()})
	tn.add("B", testConfig(), nil)
	_, err := tn.nodes["A"].node.Submit(
		Outgoing{To: tn.nodes["B"].kp.Public, Body: []byte("one")},
		Outgoing{To: tn.nodes["B"].kp.Public, Body: []byte("two")})
	if err == nil || !Temporary(err) {
		t.Fatalf("got %v, want a temporary error", err)
	}
	if n := len(tn.nodes["A"].node.Outbox()); n != 0 {
		t.Fatalf("outbox has %d entries after a failed submit", n)
	}
	if s := tn.nodes["A"].node.Stats(); s.Held != 0 {
		t.Fatalf("holds %d after a failed submit", s.Held)
	}
	_, err = tn.nodes["B"].node.Submit(Outgoing{To: tn.nodes["A"].kp.Public, Body: make([]byte, 9<<20)})
	if !errors.Is(err, ErrTooLarge) || Temporary(err) {
		t.Fatalf("oversize: got %v, want permanent ErrTooLarge", err)
	}
	_, err = tn.nodes["B"].node.Submit(Outgoing{To: tn.nodes["A"].kp.Public, TTL: 99})
	if !errors.Is(err, ErrBadMail) {
		t.Fatalf("TTL 99: got %v, want ErrBadMail", err)
	}
}

func TestForgedAckIgnored(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	for _, n := range []string{"A", "B", "C", "M"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.friends("B", "M")
	tn.online("A", "B", "M")
	tn.run(time.Second)
	id := tn.send("A", "C", "x")
	tn.run(time.Minute)
	forged := envelope.Ack{ID: id}
	forged.Secret[0] = 1
	b := tn.nodes["B"].node
	b.HandleFrame(tn.nodes["M"].kp.Public, encodeAcks(nil, []envelope.Ack{forged}))
	if !b.Holds(id) || b.HasAck(id) {
		t.Fatal("a forged ack purged the copy")
	}
	if got := b.Stats().AcksForged; got != 1 {
		t.Errorf("AcksForged %d, want 1", got)
	}
}

type tempErr struct{}

func (tempErr) Error() string   { return "mailbox busy" }
func (tempErr) Temporary() bool { return true }

func TestMailboxTemporaryFailureRetried(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	tn.add("A", testConfig(), nil)
	b := tn.add("B", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	b.box.fail = tempErr{}
	id := tn.send("A", "B", "try again")
	tn.run(10 * time.Second)
	if len(b.box.deliveries()) != 0 || tn.status("A", id) == StatusDelivered {
		t.Fatal("delivered despite the mailbox failing")
	}
	b.box.mu.Lock()
	b.box.fail = nil
	b.box.mu.Unlock()
	tn.run(time.Minute)
	tn.wantDelivered("B", "A", "try again", id)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Fatalf("A outbox %v, want delivered", got)
	}
}

// TestMailboxRetryBoundedInBytes: while the mailbox refuses for now (a
// full disk), the envelopes waiting to be delivered again are kept in
// memory; they are bounded in bytes, not only in count (security review:
// 1,024 of the largest envelopes were 8 GiB). Past the bound the node keeps
// only the ID and asks the friend for the envelope again: once the mailbox
// recovers, every mail arrives, once.
func TestMailboxRetryBoundedInBytes(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	cfg := testConfig()
	cfg.MaxEnvelopeSize = 64 << 10
	tn.add("A", cfg, nil)
	b := tn.add("B", cfg, nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	b.box.mu.Lock()
	b.box.fail = tempErr{}
	b.box.mu.Unlock()
	const mails = 12
	ids := make([]envelope.ID, mails)
	for i := range ids {
		ids[i] = tn.send("A", "B", fmt.Sprintf("mail %d\r\n%s", i, strings.Repeat("x", 40<<10)))
	}
	tn.run(10 * time.Second)
	b.node.mu.Lock()
	waiting, whole, bytes := len(b.node.retry), 0, b.node.retryBytes
	for _, r := range b.node.retry {
		if r.env != nil {
			whole++
		}
	}
	b.node.mu.Unlock()
	if limit := retryEnvelopes * cfg.MaxEnvelopeSize; waiting != mails || whole == 0 || whole == mails || bytes > limit {
		t.Fatalf("%d of %d mails wait for the mailbox, %d of them whole (%d bytes); want all, some whole, within %d bytes",
			waiting, mails, whole, bytes, limit)
	}
	b.box.mu.Lock()
	b.box.fail = nil
	b.box.mu.Unlock()
	tn.run(30 * time.Minute)
	for i, id := range ids {
		if got := tn.status("A", id); got != StatusDelivered {
			t.Errorf("mail %d: A's outbox says %v, want delivered", i, got)
		}
	}
	b.box.mu.Lock()
	defer b.box.mu.Unlock()
	for id, n := range b.box.count {
		if n != 1 {
			t.Errorf("%s delivered %d times", id.Short(), n)
		}
	}
	if len(b.box.got) != mails {
		t.Errorf("%d mails delivered, want %d", len(b.box.got), mails)
	}
}

// TestMailboxRetryAsksOtherFriends: a delivery kept by ID only is asked
// for from the friend that sent it, then from each friend online in turn:
// when that friend has gone, another that holds a copy serves it (review
// of this change: the mail waited for a reconnection or its expiry).
func TestMailboxRetryAsksOtherFriends(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	cfg := testConfig()
	cfg.MaxEnvelopeSize = 64 << 10
	for _, s := range []string{"A", "R1", "R2"} {
		tn.add(s, cfg, nil)
	}
	b := tn.add("B", cfg, nil)
	tn.friends("A", "R1")
	tn.friends("A", "R2")
	tn.friends("R1", "B")
	tn.friends("R2", "B")
	tn.online("A", "R1", "R2", "B")
	tn.run(time.Second)
	b.box.mu.Lock()
	b.box.fail = tempErr{}
	b.box.mu.Unlock()
	const mails = 12
	for i := range mails {
		tn.send("A", "B", fmt.Sprintf("mail %d\r\n%s", i, strings.Repeat("x", 40<<10)))
	}
	tn.run(10 * time.Second)
	r1 := tn.nodes["R1"].kp.Public
	b.node.mu.Lock()
	var fromR1 []envelope.ID
	for id, r := range b.node.retry {
		if r.env == nil && r.from == r1 {
			fromR1 = append(fromR1, id)
		}
	}
	b.node.mu.Unlock()
	if len(fromR1) == 0 {
		t.Fatal("no mail from R1 is kept by ID only: the test sets nothing up")
	}
	tn.offline("R1", "A") // R1 and the sender leave; R2 still holds every copy
	b.box.mu.Lock()
	b.box.fail = nil
	b.box.mu.Unlock()
	tn.run(time.Hour)
	b.box.mu.Lock()
	defer b.box.mu.Unlock()
	for _, id := range fromR1 {
		if b.box.count[id] != 1 {
			t.Errorf("%s from R1 delivered %d times, want once (R2 holds it)", id.Short(), b.box.count[id])
		}
	}
}

// On the last hop only the recipient is offered the envelope.
func TestLastHopOnlyToRecipient(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	for _, n := range []string{"A", "B", "C"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "B")
	tn.friends("A", "C")
	tn.online("A", "B", "C")
	tn.run(time.Second)
	id := tn.send("A", "B", "just for B", withTTL(1))
	tn.run(time.Minute)
	tn.wantDelivered("B", "A", "just for B", id)
	if s := tn.nodes["C"].node.Stats(); s.OffersIn != 0 || s.EnvelopesIn != 0 {
		t.Errorf("C saw %d offers and %d bodies of a TTL-1 mail for B", s.OffersIn, s.EnvelopesIn)
	}
	if got := tn.status("A", id); got != StatusDelivered {
		t.Errorf("A's outbox says %v, want delivered", got)
	}
}

// With NoAcks the mail is delivered but no ack is sent: relays keep their
// copies and the sender never sees "delivered".
func TestNoAcks(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
	cfg := testConfig()
	cfg.NoAcks = true
	for _, n := range []string{"A", "B", "C"} {
		tn.add(n, cfg, nil)
	}
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B", "C")
	tn.run(time.Second)
	id := tn.send("A", "C", "no receipt", withTTL(3))
	tn.run(time.Minute)
	tn.wantDelivered("C", "A", "no receipt", id)
	for _, n := range []string{"A", "B", "C"} {
		if s := tn.nodes[n].node.Stats(); s.AcksOut != 0 || s.AcksIn != 0 {
			t.Errorf("%s sent %d and got %d acks, want none", n, s.AcksOut, s.AcksIn)
		}
	}
	if !tn.nodes["B"].node.Holds(id) {
		t.Error("B dropped its relay copy without an ack")
	}
	if got := tn.status("A", id); got == StatusDelivered {
		t.Errorf("A's outbox says delivered with acks off")
	}
	if p := tn.nodes["B"].node.Stats().PeakHeldBytes; p == 0 {
		t.Error("PeakHeldBytes stayed 0 on a relay that held a copy")
	}
}

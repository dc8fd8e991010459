package mesh

import (
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// evictedEntry makes an evicted copy i, accounted to from (nil: none).
func evictedEntry(i int, expiry time.Time, from *peer) *heldEntry {
	var id envelope.ID
	id[0], id[1], id[2] = byte(i), byte(i>>8), 1
	return &heldEntry{meta: HeldMeta{ID: id, Expiry: expiry.Unix()}, from: from}
}

// TestEvictedBounded: a node remembers at most maxEvicted evicted copies
// for their acks; past it, expired ones make room, and a new eviction is
// not remembered while none has expired.
func TestEvictedBounded(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	n := tn.add("A", testConfig(), nil).node
	now := tn.clock.Now()
	for i := range maxEvicted {
		exp := now.Add(24 * time.Hour)
		if i < 10 {
			exp = now.Add(time.Hour) // these expire first
		}
		n.rememberEvicted(evictedEntry(i, exp, nil), now)
	}
	late := evictedEntry(maxEvicted, now.Add(24*time.Hour), nil)
	n.rememberEvicted(late, now)
	if got := len(n.evicted.byID); got != maxEvicted || n.evicted.byID[late.meta.ID] != nil {
		t.Fatalf("full and nothing expired: %d remembered (want %d), the newest among them: %v", got, maxEvicted, n.evicted.byID[late.meta.ID] != nil)
	}
	n.rememberEvicted(late, now.Add(2*time.Hour))
	if got := len(n.evicted.byID); got != maxEvicted-10+1 || n.evicted.byID[late.meta.ID] == nil {
		t.Fatalf("after ten expired: %d remembered, want %d with the newest", got, maxEvicted-9)
	}
	// The same ID evicted again (held again meanwhile) takes its old
	// entry's place.
	again := evictedEntry(maxEvicted, now.Add(48*time.Hour), nil)
	n.rememberEvicted(again, now.Add(2*time.Hour))
	if got := len(n.evicted.byID); got != maxEvicted-9 || n.evicted.byID[again.meta.ID] != again {
		t.Fatalf("the same ID again: %d remembered, want %d with the new entry", got, maxEvicted-9)
	}
}

// TestEvictedPerFriend: one friend's evicted copies fill at most its
// FriendShare of the memory, so a friend that churns its own share cannot
// crowd out the acks of mail from others.
func TestEvictedPerFriend(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	n := tn.add("A", testConfig(), nil).node // FriendShare 0.25: 1,024 each
	now := tn.clock.Now()
	pushy, other := &peer{idx: 3}, &peer{idx: 4}
	exp := now.Add(24 * time.Hour)
	for i := range maxEvicted / 4 {
		n.rememberEvicted(evictedEntry(i, exp, pushy), now)
	}
	one := evictedEntry(maxEvicted/4, exp, pushy)
	n.rememberEvicted(one, now)
	if n.evicted.byID[one.meta.ID] != nil {
		t.Errorf("a friend's %dth evicted copy was remembered, past its share of %d", maxEvicted/4+1, maxEvicted/4)
	}
	theirs := evictedEntry(maxEvicted, exp, other)
	n.rememberEvicted(theirs, now)
	if n.evicted.byID[theirs.meta.ID] == nil {
		t.Error("another friend's evicted copy was not remembered")
	}
	if got := n.evicted.perFriend[pushy.idx]; got != maxEvicted/4 {
		t.Errorf("the friend is counted %d copies, want %d", got, maxEvicted/4)
	}
	n.forgetEvicted(evictedEntry(0, exp, pushy).meta.ID)
	n.rememberEvicted(one, now)
	if n.evicted.byID[one.meta.ID] == nil {
		t.Error("with one of its copies forgotten, the friend's next was not remembered")
	}
}

// TestEvictedForgedAck: a forged ack of an evicted copy is counted and
// dropped, and the copy stays remembered, so the real ack, when it comes,
// still reaches the sender. (Were the forged one taken, the real one would
// later find an ack remembered and go no further.)
func TestEvictedForgedAck(t *testing.T) {
	tn, fromS := evictedWhileTWaits(t)
	m := tn.nodes["M"]
	forged := envelope.Ack{ID: fromS}
	forged.Secret[0] = 1
	if err := tn.net.Transport(tn.nodes["S"].kp.Public).Send(m.kp.Public, encodeAcks(nil, []envelope.Ack{forged})); err != nil {
		t.Fatal(err)
	}
	tn.run(time.Second)
	if got := m.node.Stats().AcksForged; got != 1 {
		t.Fatalf("M counted %d forged acks, want 1", got)
	}
	wantAckReachesS(t, tn, fromS)
}

// TestEvictedAckAfterRestart: a relay that restarts between evicting a
// copy and its ack still checks the ack, against the hash its store kept
// (Batch.Evict), and passes it on, to every friend, since whom the copy
// went to was not stored.
func TestEvictedAckAfterRestart(t *testing.T) {
	tn, fromS := evictedWhileTWaits(t)
	tn.restart("M", tn.nodes["M"].store)
	tn.online("M")
	tn.run(time.Second)
	if len(tn.nodes["M"].node.evicted.byID) != 0 {
		t.Fatal("M remembers its eviction in memory after a restart")
	}
	wantAckReachesS(t, tn, fromS)
}

// evictedWhileTWaits brings T back on evictionLine's line with its mailbox
// refusing for now: M evicts S's mail for T's, and T, which has S's mail,
// acks it only once its mailbox takes it (wantAckReachesS).
func evictedWhileTWaits(t *testing.T) (tn *testNet, fromS envelope.ID) {
	t.Helper()
	tn, fromS, fromT := evictionLine(t)
	tn.nodes["T"].box.setFail(tempErr{})
	tn.online("T")
	tn.run(time.Second)
	m := tn.nodes["M"].node
	if m.Stats().Evicted != 1 || m.Holds(fromS) || !m.Holds(fromT) {
		t.Fatalf("M has not evicted S's mail for T's: %+v", m.Stats())
	}
	return tn, fromS
}

// wantAckReachesS lets T's mailbox take S's mail and checks that T's ack
// gets through M to S.
func wantAckReachesS(t *testing.T, tn *testNet, fromS envelope.ID) {
	t.Helper()
	tn.nodes["T"].box.setFail(nil)
	tn.run(time.Minute) // T tries its mailbox again after 30 s
	tn.wantDelivered("T", "S", "for T", fromS)
	if got := tn.status("S", fromS); got != StatusDelivered {
		t.Errorf("S's outbox says %v after T's ack, want delivered", got)
	}
}

// TestEvictionsFitOneWrite: a relay on disk, full of the smallest mails
// (about 5,000), still takes a 3.2 MB mail that evicts all of them in one
// store write. Keeping every victim's ack hash in that write (two records
// more each) overflowed badger's transaction at about 4,300 victims; now
// an unchanged index key is not written again, and only the first
// maxStoredEvictions victims keep their hash in the store.
func TestEvictionsFitOneWrite(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: time.Millisecond})
	body := strings.Repeat("b", 3_200_000)
	cfg := testConfig()
	cfg.OfferDelay = 0
	tight := cfg
	tight.MaxEnvelopeSize = envelope.SealedSize(len(body) + 4096)
	tight.MaxHeldBytes = int64(tight.MaxEnvelopeSize)
	tight.FriendShare = 1
	disk, err := OpenBadgerStore(BadgerOptions{Dir: t.TempDir(), GCInterval: -1, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { disk.Close() })
	tn.add("S", cfg, nil)
	m := tn.add("M", tight, disk).node
	tn.add("T", cfg, nil)
	tn.friends("S", "M")
	tn.friends("M", "T")
	tn.online("S", "M")
	small := int(tight.MaxHeldBytes) / envelope.SealedSize(1)
	for i := range small {
		tn.send("S", "T", "x", withLifetime(24*time.Hour))
		if i%500 == 499 {
			tn.run(time.Second)
		}
	}
	tn.run(time.Minute)
	big := tn.send("S", "T", body)
	tn.run(time.Minute)
	if st := m.Stats(); !m.Holds(big) || st.Evicted < uint64(small)-1 || st.StoreErrors != 0 {
		t.Fatalf("M holds the large mail: %v, evicted %d of %d small ones, %d store errors", m.Holds(big), st.Evicted, small, st.StoreErrors)
	}
}

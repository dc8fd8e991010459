package mesh

import (
	"testing"
	"time"
)

func TestDirectDelivery(t *testing.T) {
	tn := newTestNet(t, MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: 10 * time.Second})
	tn.add("alice", testConfig(), nil)
	tn.add("bob", testConfig(), nil)
	tn.friends("alice", "bob")
	tn.online("alice", "bob")
	tn.run(15 * time.Second)

	id := tn.send("alice", "bob", "Subject: hi\r\n\r\nhello bob\r\n")
	if got := tn.status("alice", id); got != StatusQueued && got != StatusOffered {
		t.Fatalf("status right after submit %v, want queued or offered", got)
	}
	tn.run(5 * time.Second)
	tn.wantDelivered("bob", "alice", "Subject: hi\r\n\r\nhello bob\r\n", id)
	if got := tn.status("alice", id); got != StatusDelivered {
		t.Fatalf("alice outbox %v, want delivered\n%v", got, tn)
	}
	if tn.nodes["alice"].node.Holds(id) {
		t.Error("alice still holds her delivered mail")
	}
	if got := tn.nodes["bob"].box.deliveries()[0].Letter.PathLength(); got != 1 {
		t.Errorf("path length %d, want 1", got)
	}
}

// TestRelayToOfflineRecipient is the scenario toxmail exists for: A mails
// C, who is offline and a friend of B only; A goes offline; C comes online
// and gets the mail from B; the ack reaches A when A returns.
// bothCarriages runs f with envelopes framed, as over Tox, and carried as
// SharedEnvelopes, as in the simulator.
func bothCarriages(t *testing.T, f func(t *testing.T, share bool)) {
	t.Run("framed", func(t *testing.T) { f(t, false) })
	t.Run("shared", func(t *testing.T) { f(t, true) })
}

func TestRelayToOfflineRecipient(t *testing.T) { bothCarriages(t, testRelayToOfflineRecipient) }

func testRelayToOfflineRecipient(t *testing.T, share bool) {
	tn := newTestNet(t, MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: 10 * time.Second, ShareEnvelopes: share})
	for _, n := range []string{"A", "B", "C"} {
		tn.add(n, testConfig(), nil)
	}
	tn.friends("A", "B")
	tn.friends("B", "C")
	tn.online("A", "B")
	tn.run(15 * time.Second)

	id := tn.send("A", "C", "for C's eyes only")
	tn.run(5 * time.Second)
	if !tn.nodes["B"].node.Holds(id) {
		t.Fatalf("B does not hold the mail for offline C\n%v", tn)
	}
	if got := tn.status("A", id); got != StatusOffered {
		t.Fatalf("A outbox %v, want offered", got)
	}
	tn.offline("A")
	tn.run(time.Hour)
	tn.online("C")
	tn.run(30 * time.Second)
	tn.wantDelivered("C", "A", "for C's eyes only", id)
	if got := tn.nodes["C"].box.deliveries()[0].Letter.PathLength(); got != 2 {
		t.Errorf("path length %d, want 2", got)
	}
	if tn.nodes["B"].node.Holds(id) || !tn.nodes["B"].node.HasAck(id) {
		t.Fatalf("B should have dropped its copy and kept the ack\n%v", tn)
	}
	if got := tn.status("A", id); got != StatusOffered {
		t.Fatalf("A (offline) outbox %v, want still offered", got)
	}
	tn.online("A")
	tn.run(30 * time.Second)
	if got := tn.status("A", id); got != StatusDelivered {
		t.Fatalf("A outbox %v after returning, want delivered\n%v", got, tn)
	}
	if tn.nodes["A"].node.Holds(id) {
		t.Error("A still holds its delivered mail")
	}
	for _, l := range [][2]string{{"A", "B"}, {"B", "C"}} {
		if got := tn.bodyCount(l[0], l[1]); got != 1 {
			t.Errorf("body crossed %s->%s %d times, want 1", l[0], l[1], got)
		}
	}
	if got := tn.bodyCount("C", "B") + tn.bodyCount("B", "A"); got != 0 {
		t.Errorf("body crossed back %d times", got)
	}
}

func TestHopLimit(t *testing.T) {
	for _, c := range []struct {
		ttl       uint8
		reach     []string // nodes that hold or get it
		untouched []string // nodes it never reaches
		delivered bool
	}{
		// The last hop goes to the recipient only: a copy that could
		// travel no further is of no use to anyone else.
		{1, nil, []string{"B", "C", "D"}, false},
		{2, []string{"B"}, []string{"C", "D"}, false},
		{3, []string{"B", "C"}, nil, true},
		{4, []string{"B", "C"}, nil, true},
	} {
		t.Run("ttl"+string(rune('0'+c.ttl)), func(t *testing.T) {
			tn := newTestNet(t, MemConfig{Latency: 10 * time.Millisecond})
			for _, n := range []string{"A", "B", "C", "D"} {
				tn.add(n, testConfig(), nil)
			}
			tn.friends("A", "B")
			tn.friends("B", "C")
			tn.friends("C", "D")
			tn.online("A", "B", "C", "D")
			tn.run(time.Second)
			tn.offline("A") // so that the ack cannot end the flood early
			tn.online("A")
			tn.run(time.Second)
			id := tn.send("A", "D", "far away", withTTL(c.ttl))
			tn.run(time.Minute)
			for _, n := range c.reach {
				if s := tn.nodes[n].node.Stats(); s.EnvelopesIn != 1 {
					t.Errorf("%s received %d bodies, want 1\n%v", n, s.EnvelopesIn, tn)
				}
				if !tn.nodes[n].node.Holds(id) && !tn.nodes[n].node.HasAck(id) {
					t.Errorf("%s holds neither the envelope nor its ack\n%v", n, tn)
				}
			}
			for _, n := range c.untouched {
				if s := tn.nodes[n].node.Stats(); s.EnvelopesIn != 0 || s.OffersIn != 0 {
					t.Errorf("%s saw %d offers and %d bodies; TTL %d should stop before it", n, s.OffersIn, s.EnvelopesIn, c.ttl)
				}
			}
			if got := len(tn.nodes["D"].box.deliveries()) == 1; got != c.delivered {
				t.Errorf("delivered %v, want %v", got, c.delivered)
			}
		})
	}
}

// TestCycleBodyOncePerLink floods through a complete graph of six nodes
// with latency, where offers race each other: every body still crosses
// each link at most once, in one direction.
func TestCycleBodyOncePerLink(t *testing.T) { bothCarriages(t, testCycleBodyOncePerLink) }

func testCycleBodyOncePerLink(t *testing.T, share bool) {
	tn := newTestNet(t, MemConfig{Latency: 30 * time.Millisecond, Bandwidth: 1 << 20, ShareEnvelopes: share})
	// Duplicates, most of a flood's offers, cost no answer: every request
	// frame asks for something.
	var requests, empty int
	tn.onSend = func(_, _ FriendKey, f []byte) {
		if len(f) > 1 && f[1] == frameRequest {
			requests++
			if _, ids, _, err := decodeRequest(f[2:], nil); err == nil && len(ids) == 0 {
				empty++
			}
		}
	}
	names := []string{"A", "B", "C", "D", "E", "F"}
	for _, n := range names {
		tn.add(n, testConfig(), nil)
	}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			tn.friends(names[i], names[j])
		}
	}
	tn.online(names[:5]...) // F, the recipient, is offline: the flood runs its course
	tn.run(time.Second)
	var ids = []any{}
	for i := 0; i < 5; i++ {
		ids = append(ids, tn.send(names[i], "F", "ring ring"))
	}
	tn.run(time.Minute)
	most, total := tn.maxPerLink()
	if most != 1 {
		t.Errorf("an envelope crossed one link %d times, want at most once", most)
	}
	// Each of 5 mails reaches the 4 other online nodes: 4 crossings each.
	if total != 5*4 {
		t.Errorf("%d body crossings for 5 mails over 5 nodes, want 20", total)
	}
	if empty != 0 || requests > total {
		t.Errorf("%d request frames (%d empty) for %d bodies; an offer of nothing new must not be answered", requests, empty, total)
	}
	for _, n := range names[:5] {
		if s := tn.nodes[n].node.Stats(); s.Held != 5 || s.Duplicates != 0 {
			t.Errorf("%s holds %d (want 5), received %d duplicate bodies (want 0)", n, s.Held, s.Duplicates)
		}
	}
	tn.online("F")
	tn.run(time.Minute)
	if got := len(tn.nodes["F"].box.deliveries()); got != 5 {
		t.Fatalf("F got %d mails, want 5", got)
	}
	for _, n := range names[:5] {
		if s := tn.nodes[n].node.Stats(); s.Held != 0 || s.AcksKept != 5 {
			t.Errorf("%s after acks: held %d (want 0), acks %d (want 5)", n, s.Held, s.AcksKept)
		}
	}
}

package gateway_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// quotaMailbox is a Mailbox over an in-memory inbox with the given quota;
// onDelete, if set, hears of each Delete (inbox.Options.OnDelete).
func quotaMailbox(t *testing.T, quota int64, onDelete func()) (*inbox.Inbox, *gateway.Mailbox) {
	t.Helper()
	ib, err := inbox.Open(inbox.Options{InMemory: true, Quota: quota, OnDelete: onDelete})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ib.Close() })
	box, err := gateway.NewMailbox(gateway.MailboxConfig{Inbox: ib, Hostname: "node.local"})
	if err != nil {
		t.Fatal(err)
	}
	return ib, box
}

// fill stores size bytes of old mail, past any quota.
func fill(t *testing.T, ib *inbox.Inbox, size int) string {
	t.Helper()
	id := inbox.EnvelopeID{0xee}
	now := time.Now()
	meta := inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)}
	if _, err := ib.DeliverExempt(id, meta, []byte(strings.Repeat("x", size))); err != nil {
		t.Fatal(err)
	}
	return id.UID()
}

// startFriends starts alice's and bob's nodes, friends of each other and
// online, and runs the clock until they have met.
func startFriends(t *testing.T, network *mesh.MemNetwork, clock *mesh.VirtualClock, alice, bob envelope.KeyPair, aliceBox, bobBox *gateway.Mailbox) (aliceNode, bobNode *mesh.Node) {
	t.Helper()
	aliceNode = startTestNode(t, alice, network, clock, mesh.NewMemStore(), aliceBox)
	bobNode = startTestNode(t, bob, network, clock, mesh.NewMemStore(), bobBox)
	network.Befriend(alice.Public, bob.Public)
	network.SetOnline(alice.Public, true)
	network.SetOnline(bob.Public, true)
	runVirtual(clock, 5*time.Second)
	return aliceNode, bobNode
}

// Mail for a node whose inbox is full waits in the mesh, unacknowledged,
// and arrives as soon as the owner deletes mail (the inbox tells the node,
// as the daemon wires it), though its retries had backed off to hourly;
// the owner's mail to themselves is not held back by their own quota.
func TestFullInboxMailWaits(t *testing.T) {
	const quota = 64 << 10
	clock := mesh.NewVirtualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	network := mesh.NewMemNetwork(clock, mesh.MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: time.Second})
	alice, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := envelope.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	var bobNode *mesh.Node
	aliceBox, aliceMailbox := quotaMailbox(t, quota, nil)
	var bobBox *inbox.Inbox
	bobBox, bobMailbox := quotaMailbox(t, quota, func() { // as the daemon does
		u := bobBox.Usage()
		go bobNode.RetryDeliveries(u.Quota - u.Bytes)
	})
	fill(t, aliceBox, quota)
	old := fill(t, bobBox, quota-1000)
	var aliceNode *mesh.Node
	aliceNode, bobNode = startFriends(t, network, clock, alice, bob, aliceMailbox, bobMailbox)

	body := []byte("Subject: big\r\n\r\n" + strings.Repeat("y", 8<<10) + "\r\n")
	ids, err := aliceNode.Submit(mesh.Outgoing{To: bob.Public, Body: body}, mesh.Outgoing{To: alice.Public, Body: body})
	if err != nil {
		t.Fatalf("Submit: %v (alice's copy to herself must not be held back by her full inbox)", err)
	}
	if n, _, _ := aliceBox.Stats(); n != 2 {
		t.Fatalf("alice's inbox holds %d mails, want 2 (her own mail is exempt from her quota)", n)
	}
	runVirtual(clock, 3*time.Hour)
	if n, _, _ := bobBox.Stats(); n != 1 {
		t.Fatalf("bob's full inbox holds %d mails, want 1", n)
	}
	_, err = bobBox.Deliver(inbox.EnvelopeID(ids[0]), inbox.Meta{Created: clock.Now(), KeepUntil: clock.Now().Add(time.Hour)}, body)
	if !errors.Is(err, inbox.ErrOverQuota) {
		t.Fatalf("bob's inbox took the mail directly: %v (the test's sizes are wrong)", err)
	}
	if e, _ := aliceNode.OutboxEntry(ids[0]); e.Status == mesh.StatusDelivered {
		t.Fatal("alice's mail to bob is acknowledged though bob's inbox refused it")
	}
	if u, st := bobBox.Usage(), bobNode.Stats(); !u.Refusing() || st.DeliveriesWaiting != 1 {
		t.Fatalf("bob's inbox %+v, %d deliveries waiting: want refusing, 1 waiting", u, st.DeliveriesWaiting)
	}

	if err := bobBox.Delete(old); err != nil {
		t.Fatal(err)
	}
	has, err := arrives(clock, bobBox, ids[0])
	if err != nil || !has {
		t.Fatalf("bob's inbox lacks alice's mail 50 s after he deleted mail (the retries wait up to an hour): %v", err)
	}
	runVirtual(clock, 5*time.Second)
	if st := bobNode.Stats(); st.DeliveriesWaiting != 0 {
		t.Errorf("%d deliveries still wait at bob after the mail arrived", st.DeliveriesWaiting)
	}
	if e, _ := aliceNode.OutboxEntry(ids[0]); e.Status != mesh.StatusDelivered {
		t.Fatalf("alice's outbox: %+v, want delivered", e)
	}
}

// TestDeleteWhatDashboardAsks: the dashboard says "delete at least
// Usage.Short"; a user who deletes about that much has made room, and the
// mail arrives at once. RetryDeliveries compares the room with the mail,
// not with its envelope, which padding makes up to 12% larger (review).
func TestDeleteWhatDashboardAsks(t *testing.T) {
	const quota = 1 << 20
	clock := mesh.NewVirtualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	network := mesh.NewMemNetwork(clock, mesh.MemConfig{Latency: 20 * time.Millisecond, ConnectDelay: time.Second})
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	var bobNode *mesh.Node
	_, aliceMailbox := quotaMailbox(t, 0, nil)
	var bobBox *inbox.Inbox
	bobBox, bobMailbox := quotaMailbox(t, quota, func() { // as the daemon does
		u := bobBox.Usage()
		go bobNode.RetryDeliveries(u.Quota - u.Bytes)
	})
	// Body just past a Padmé bucket boundary: the envelope is ~4 KiB longer.
	body := []byte("Subject: big\r\n\r\n" + strings.Repeat("y", 128<<10) + "\r\n")
	k := len(body) + 1500 - 1000 // deleting it leaves room len(body)+1500
	now := time.Now()
	meta := inbox.Meta{Created: now, KeepUntil: now.Add(time.Hour)}
	if _, err := bobBox.DeliverExempt(inbox.EnvelopeID{0xee}, meta, make([]byte, quota-1000-k)); err != nil {
		t.Fatal(err)
	}
	if _, err := bobBox.DeliverExempt(inbox.EnvelopeID{0xef}, meta, make([]byte, k)); err != nil {
		t.Fatal(err)
	}
	var aliceNode *mesh.Node
	aliceNode, bobNode = startFriends(t, network, clock, alice, bob, aliceMailbox, bobMailbox)
	ids, err := aliceNode.Submit(mesh.Outgoing{To: bob.Public, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	runVirtual(clock, 3*time.Hour) // backed off to hourly
	u := bobBox.Usage()
	if !u.Refusing() || u.Short > int64(k) {
		t.Fatalf("usage %+v: want refusing, short at most %d (deleting the %d-byte mail is enough)", u, k, k)
	}
	t.Logf("dashboard: delete at least %d bytes; the user deletes a mail of %d", u.Short, k)
	if err := bobBox.Delete(inbox.EnvelopeID{0xef}.UID()); err != nil {
		t.Fatal(err)
	}
	if has, _ := arrives(clock, bobBox, ids[0]); !has {
		u := bobBox.Usage()
		t.Errorf("mail not delivered 50 s after the user deleted what the dashboard asked (room now %d, Short was enough); it waits for its hourly retry", u.Quota-u.Bytes)
	}
}

// arrives runs the clock a second at a time, up to 50 s, until ib has the
// mail id. RetryDeliveries runs on a goroutine of its own (as the daemon
// calls it), so each step also gives it a moment of real time.
func arrives(clock *mesh.VirtualClock, ib *inbox.Inbox, id envelope.ID) (bool, error) {
	for range 50 {
		runVirtual(clock, time.Second)
		if has, err := ib.Has(inbox.EnvelopeID(id)); err != nil || has {
			return has, err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false, nil
}

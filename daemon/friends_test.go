package daemon

import (
	"errors"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/tox"
)

// The dashboard's Remove (and DELETE /api/contacts/NAME) ends the Tox
// friendship too, and the address book entry goes.
func TestRemoveContactUnfriends(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	bob, carol := randomID(t), randomID(t)
	a.contacts(t, gateway.Contact{Name: "bob", ID: bob}, gateway.Contact{Name: "carol", ID: carol})
	a.start(t)
	if !a.isFriend(bob.PublicKey()) || !a.isFriend(carol.PublicKey()) {
		t.Fatal("contacts were not befriended at start")
	}
	b := &backend{a.d}
	own := gateway.ToxID(a.d.x.Address())
	if err := a.d.addContact(gateway.Contact{Name: "me", ID: own}); !errors.Is(err, gateway.ErrContactInvalid) {
		t.Errorf("adding the node's own Tox ID: %v, want ErrContactInvalid", err)
	}
	if err := b.RemoveContact("bob"); err != nil {
		t.Fatalf("RemoveContact(bob): %v", err)
	}
	if a.isFriend(bob.PublicKey()) {
		t.Error("bob is still a Tox friend after Remove")
	}
	if _, ok := a.dashboardRow(bob.PublicKey()); ok {
		t.Error("bob still has a row on the dashboard after Remove")
	}
	if !a.isFriend(carol.PublicKey()) {
		t.Error("removing bob unfriended carol")
	}
	cs, err := config.LoadContacts(config.ContactsPath(a.cfg))
	if err != nil || len(cs) != 1 || cs[0].Name != "carol" {
		t.Errorf("contacts file after Remove: %+v, %v", cs, err)
	}
	if err := b.RemoveContact("bob"); !errors.Is(err, gateway.ErrNoSuchContact) {
		t.Errorf("removing bob twice: %v, want ErrNoSuchContact", err)
	}
	// By key: the entry and the friendship.
	if err := b.RemoveContact(carol.PublicKey().String()); err != nil {
		t.Fatalf("RemoveContact(carol's key): %v", err)
	}
	if a.isFriend(carol.PublicKey()) || a.d.book.current().Len() != 0 {
		t.Error("carol's key removed, but she is still a friend or a contact")
	}
	// The unfriending was saved in the profile: not a friend after a restart.
	a.stop(t)
	a.start(t)
	if a.isFriend(bob.PublicKey()) || a.isFriend(carol.PublicKey()) {
		t.Error("a removed contact is a friend again after a restart")
	}
}

// A friend that is not in the address book (an approved request: the
// dashboard's "friend" rows) is removed by its public key or Tox ID.
func TestRemoveFriendNotInBook(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.start(t)
	dave, erin := randomID(t), randomID(t)
	for _, id := range []gateway.ToxID{dave, erin} {
		if err := a.d.tr.AddFriendNoRequest(tox.PublicKey(id.PublicKey())); err != nil {
			t.Fatal(err)
		}
	}
	row, ok := a.dashboardRow(dave.PublicKey())
	if !ok || row.Source != gateway.DashboardSourceFriend {
		t.Fatalf("dave's row: %+v, %v; want a friend-only row", row, ok)
	}
	// Mail to such a friend goes to its bare key: it is the only address
	// the node knows it by (only its key came with the request).
	bare := strings.ToLower(dave.PublicKey().String()) + "@tox"
	res, err := a.d.resolve.Resolve(t.Context(), bare)
	if err != nil || res.Key != dave.PublicKey() || res.Source != gateway.SourceFriend {
		t.Fatalf("resolving dave's bare key: %+v, %v; want his key, from a Tox friend", res, err)
	}
	// And so does the SMTP server, where a mail client gives it.
	rcpt := func() error {
		t.Helper()
		c, err := smtp.Dial(a.d.SMTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(smtp.PlainAuth("", "alice", "secret", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		if err := c.Mail(a.d.ToxID().String() + "@tox"); err != nil {
			t.Fatal(err)
		}
		return c.Rcpt(bare)
	}
	if err := rcpt(); err != nil {
		t.Errorf("RCPT TO:<dave's bare key>: %v", err)
	}
	b := &backend{a.d}
	// The key is no address book entry: the book needs the Tox ID.
	if _, err := b.AddContact(t.Context(), "dave", bare, ""); !errors.Is(err, gateway.ErrContactInvalid) || !strings.Contains(err.Error(), "76-digit Tox ID") {
		t.Errorf("adding dave by his bare key: %v, want the book to ask for his Tox ID", err)
	}
	// The dashboard's Remove button on such a row sends the key.
	if err := b.RemoveContact(dave.PublicKey().String()); err != nil {
		t.Fatalf("RemoveContact(dave's key): %v", err)
	}
	if a.isFriend(dave.PublicKey()) {
		t.Error("dave is still a friend")
	}
	if _, err := a.d.resolve.Resolve(t.Context(), bare); err == nil || !strings.Contains(err.Error(), "no Tox friend's here") {
		t.Errorf("resolving the bare key of a friend no more: %v", err)
	}
	if err := rcpt(); err == nil || !strings.HasPrefix(err.Error(), "550 ") {
		t.Errorf("RCPT TO:<the bare key of a friend no more>: %v, want 550", err)
	}
	if err := b.RemoveContact(erin.String()); err != nil { // the full Tox ID works too
		t.Fatalf("RemoveContact(erin's Tox ID): %v", err)
	}
	if a.isFriend(erin.PublicKey()) {
		t.Error("erin is still a friend")
	}
	for _, s := range []string{dave.PublicKey().String(), "nobody", randomID(t).String()} {
		if err := b.RemoveContact(s); !errors.Is(err, gateway.ErrNoSuchContact) {
			t.Errorf("RemoveContact(%.16s…): %v, want ErrNoSuchContact", s, err)
		}
	}
}

// A dashboard change made just after `toxmail contacts` changed the file,
// before the node read it again, starts from the file: the CLI's removal
// and addition stay (they were silently undone), and the next reload
// applies their friendships.
func TestContactsChangeKeepsCLIChange(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.opts.ContactsPoll = time.Hour // the node reads the file only when told here
	bob, carol, dave, eve, frank := randomID(t), randomID(t), randomID(t), randomID(t), randomID(t)
	a.contacts(t, gateway.Contact{Name: "bob", ID: bob}, gateway.Contact{Name: "carol", ID: carol}, gateway.Contact{Name: "eve", ID: eve})
	a.start(t)
	if !a.isFriend(bob.PublicKey()) || !a.isFriend(carol.PublicKey()) {
		t.Fatal("contacts were not befriended at start")
	}

	// The CLI removes bob and adds dave; the dashboard then removes carol
	// and adds frank.
	a.contacts(t, gateway.Contact{Name: "carol", ID: carol}, gateway.Contact{Name: "dave", ID: dave}, gateway.Contact{Name: "eve", ID: eve})
	b := &backend{a.d}
	if err := b.RemoveContact("carol"); err != nil {
		t.Fatalf("RemoveContact(carol): %v", err)
	}
	if err := a.d.addContact(gateway.Contact{Name: "frank", ID: frank}); err != nil {
		t.Fatalf("addContact(frank): %v", err)
	}
	cs, err := config.LoadContacts(config.ContactsPath(a.cfg))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "dave,eve,frank" {
		t.Errorf("contacts file after the CLI's and the dashboard's changes: %v, want dave, eve and frank", names)
	}
	if a.isFriend(carol.PublicKey()) || !a.isFriend(frank.PublicKey()) {
		t.Error("the dashboard's own changes were not applied at once")
	}

	// The next reload finds the file as the node wrote it, and still
	// reports the book changed, so that the CLI's changes are applied.
	changed, err := a.d.book.reload()
	if err != nil || !changed {
		t.Fatalf("reload after a change that took the CLI's edit: changed %v, %v; want true", changed, err)
	}
	a.d.syncFriends()
	if a.isFriend(bob.PublicKey()) {
		t.Error("bob, removed by the CLI, is still a Tox friend")
	}
	if !a.isFriend(dave.PublicKey()) || !a.isFriend(eve.PublicKey()) || !a.isFriend(frank.PublicKey()) {
		t.Error("dave, eve or frank is not a friend")
	}
	if changed, err := a.d.book.reload(); err != nil || changed {
		t.Errorf("a second reload: changed %v, %v; want false", changed, err)
	}

	// While another process holds the book's lock (in the midst of its
	// read, change and write), a reload reads nothing; the next one, once
	// the lock is free, reads what it wrote.
	unlock, err := config.LockContacts(config.ContactsPath(a.cfg))
	if err != nil {
		t.Fatal(err)
	}
	a.contacts(t, gateway.Contact{Name: "eve", ID: eve})
	if changed, err := a.d.book.reload(); err != nil || changed {
		t.Errorf("a reload while the lock is held: changed %v, %v; want false", changed, err)
	}
	unlock()
	if changed, err := a.d.book.reload(); err != nil || !changed || a.d.book.current().Len() != 1 {
		t.Errorf("a reload once the lock is free: changed %v, %v, %d contacts; want eve alone", changed, err, a.d.book.current().Len())
	}
}

// `toxmail contacts remove` edits contacts.toml: the running node unfriends
// the keys that left the file, and a node that was stopped meanwhile
// does so when it starts. Friends that were never in the file stay.
func TestContactsFileRemovalUnfriends(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	bob, carol, eve := randomID(t), randomID(t), randomID(t)
	a.contacts(t, gateway.Contact{Name: "bob", ID: bob}, gateway.Contact{Name: "carol", ID: carol}, gateway.Contact{Name: "eve", ID: eve})
	a.start(t)
	dave := randomID(t) // a friend by approved request, never in the book
	if err := a.d.tr.AddFriendNoRequest(tox.PublicKey(dave.PublicKey())); err != nil {
		t.Fatal(err)
	}

	a.contacts(t, gateway.Contact{Name: "carol", ID: carol}, gateway.Contact{Name: "eve", ID: eve})
	waitFor(t, 10*time.Second, "the node to unfriend bob", func() bool { return !a.isFriend(bob.PublicKey()) })
	if !a.isFriend(carol.PublicKey()) || !a.isFriend(dave.PublicKey()) || !a.isFriend(eve.PublicKey()) {
		t.Fatal("the reload unfriended more than bob")
	}

	// Removed while the node is stopped: unfriended at the next start.
	a.stop(t)
	a.contacts(t, gateway.Contact{Name: "eve", ID: eve})
	a.start(t)
	if a.isFriend(carol.PublicKey()) {
		t.Error("carol, removed while the node was stopped, is still a friend after start")
	}
	if !a.isFriend(dave.PublicKey()) || !a.isFriend(eve.PublicKey()) {
		t.Error("the start unfriended dave (never a contact) or eve (still one)")
	}

	// A contacts file that disappears removes no one, running or not.
	if err := os.Remove(config.ContactsPath(a.cfg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the node to notice the missing file", func() bool { return !a.d.book.fileExists() })
	a.stop(t)
	a.start(t)
	if !a.isFriend(eve.PublicKey()) {
		t.Error("a missing contacts file unfriended eve")
	}
	applied, ok, err := loadApplied(filepath.Join(a.cfg.DataDir, appliedFile))
	if err != nil || !ok || !applied[tox.PublicKey(eve.PublicKey())] || applied[tox.PublicKey(bob.PublicKey())] {
		t.Errorf("applied keys %v, %v, %v: want eve's, not bob's", applied, ok, err)
	}

	// Nor does one cut to nothing (a full disk, a crash): the file
	// toxmail writes always has its header. Running, then at start.
	a.contacts(t, gateway.Contact{Name: "eve", ID: eve})
	waitFor(t, 10*time.Second, "the node to read the file again", func() bool { return a.d.book.fileExists() })
	if err := os.WriteFile(config.ContactsPath(a.cfg), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the node to notice the empty file", func() bool { return !a.d.book.fileExists() })
	a.stop(t)
	a.start(t)
	if !a.isFriend(eve.PublicKey()) {
		t.Error("an empty contacts file unfriended eve")
	}

	// Started without the file, the node cannot name eve: a change on
	// the dashboard would write a file without her, which would end her
	// friendship. It is refused until the file is back.
	frank := randomID(t)
	if err := a.d.addContact(gateway.Contact{Name: "frank", ID: frank}); !errors.Is(err, gateway.ErrContactsLost) {
		t.Errorf("adding a contact while the book is lost: %v, want ErrContactsLost", err)
	}
	if err := a.d.removeContact(dave.PublicKey().String()); !errors.Is(err, gateway.ErrContactsLost) {
		t.Errorf("removing a friend while the book is lost: %v, want ErrContactsLost", err)
	}
	if n, err := KeptFriends(a.cfg.DataDir); n != 1 || err != nil {
		t.Errorf("KeptFriends: %d, %v; want eve's 1", n, err)
	}
	if !a.isFriend(eve.PublicKey()) || !a.isFriend(dave.PublicKey()) {
		t.Error("a refused change ended a friendship")
	}

	// Lost while the node runs, the book in memory still has eve: a
	// change writes her back with the newcomer.
	a.contacts(t, gateway.Contact{Name: "eve", ID: eve})
	waitFor(t, 10*time.Second, "the node to read the file again", func() bool { return a.d.book.fileExists() })
	if err := os.WriteFile(config.ContactsPath(a.cfg), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the node to notice the empty file", func() bool { return !a.d.book.fileExists() })
	if err := a.d.addContact(gateway.Contact{Name: "frank", ID: frank}); err != nil {
		t.Fatalf("adding a contact while the node still holds the book: %v", err)
	}
	back, err := config.LoadContacts(config.ContactsPath(a.cfg))
	if err != nil || len(back) != 2 {
		t.Errorf("the file written again has %d contacts (%v), want eve and frank", len(back), err)
	}
	if !a.isFriend(eve.PublicKey()) {
		t.Error("writing the kept book again unfriended eve")
	}
}

// Against a real friend on loopback Tox: removing a connected mesh peer
// ends the friendship at once, and it does not come back as a "friend"
// row on the dashboard.
func TestRemoveConnectedFriend(t *testing.T) {
	if testing.Short() {
		t.Skip("two real Tox nodes: about 15 s")
	}
	t.Parallel()
	a, b := newTestNode(t, "alice"), newTestNode(t, "bob")
	a.contacts(t, gateway.Contact{Name: "bob", ID: b.id})
	b.contacts(t, gateway.Contact{Name: "alice", ID: a.id})
	a.start(t)
	b.start(t)
	for _, p := range [][2]*testNode{{a, b}, {b, a}} {
		port, err := p[1].d.UDPPort()
		if err != nil {
			t.Fatal(err)
		}
		if err := p[0].d.Bootstrap("127.0.0.1", port, p[1].d.DHTKey()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 60*time.Second, "alice and bob to connect", func() bool {
		row, ok := a.dashboardRow(b.id.PublicKey())
		return ok && row.Online && row.Kind == gateway.DashboardKindMesh
	})
	if err := (&backend{a.d}).RemoveContact("bob"); err != nil {
		t.Fatal(err)
	}
	if a.online(b.id.PublicKey()) || a.isFriend(b.id.PublicKey()) {
		t.Fatal("bob is still a friend of alice after Remove")
	}
	// The mesh hears of it through the transport's event queue, in order
	// after any frame of bob's already queued.
	waitFor(t, 5*time.Second, "alice's mesh to have bob offline", func() bool {
		for _, p := range a.d.Node().Peers() {
			if p.Key == b.id.PublicKey() && p.Online {
				return false
			}
		}
		return true
	})
	// bob's node still knows alice and keeps trying; alice must not take
	// him back by herself.
	time.Sleep(3 * time.Second)
	if row, ok := a.dashboardRow(b.id.PublicKey()); ok {
		t.Errorf("bob is back on alice's dashboard: %+v", row)
	}
}

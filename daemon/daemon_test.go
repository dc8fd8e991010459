package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/toxmail/toxmail/config"
	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
	"github.com/toxmail/toxmail/tox"
)

// A mail whose SMTP transaction had begun (MAIL FROM, RCPT TO) when the
// node was told to stop is still taken: DATA is answered 250 within the
// grace period, then the node stops.
func TestShutdownFinishesSMTPTransaction(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.start(t)
	expect := smtpDial(t, a.d.SMTPAddr())
	expect(220, "")
	expect(250, "EHLO client.test")
	expect(235, "AUTH PLAIN %s", "AGFsaWNlAHNlY3JldA==") // \0alice\0secret
	expect(250, "MAIL FROM:<%s>", a.id.Address())
	expect(250, "RCPT TO:<%s>", randomID(t).Address())

	stopped := make(chan error, 1)
	d := a.d
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- d.Shutdown(ctx)
	}()
	addr := d.SMTPAddr()
	waitFor(t, 10*time.Second, "the SMTP server to stop accepting", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-stopped:
		t.Fatalf("the node stopped (%v) while a mail was being submitted", err)
	default:
	}
	expect(354, "DATA")
	expect(250, "%s", "Subject: during shutdown\r\n\r\nstill queued\r\n.")
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the node did not stop after the mail was queued")
	}
	a.d = nil // stopped
}

// The dashboard refuses a second name for a Tox ID already in the book,
// naming the contact that has it.
func TestAddContactTwiceUnderTwoNames(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	bob := randomID(t)
	a.contacts(t, gateway.Contact{Name: "bob", ID: bob})
	a.start(t)
	_, err := (&backend{a.d}).AddContact(context.Background(), "bob2", bob.String(), "")
	if !errors.Is(err, gateway.ErrContactExists) || !strings.Contains(err.Error(), `saved as "bob"`) ||
		!strings.Contains(err.Error(), "remove bob") {
		t.Fatalf("adding bob's ID as bob2: %v, want ErrContactExists naming bob and how to rename", err)
	}
	if n := a.d.book.current().Len(); n != 1 {
		t.Errorf("the book has %d entries, want 1", n)
	}
}

// TestAddContactWithAddress: the dashboard puts a Tox ID under a mail
// address, which then resolves from the address book without DNS (the
// remedy for an address whose tox1 key changed); an address in both
// fields is refused.
func TestAddContactWithAddress(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.start(t)
	erin := randomID(t)
	b := &backend{a.d}
	c, err := b.AddContact(context.Background(), "erin", erin.String(), "Erin@Example.org")
	if err != nil || c.Address != "Erin@example.org" {
		t.Fatalf("AddContact with an address = %+v, %v", c, err)
	}
	res, err := a.d.resolve.Resolve(context.Background(), "erin@example.org")
	if err != nil || res.Source != gateway.SourceContacts || res.ID != erin {
		t.Fatalf("resolving the address: %+v, %v; want erin's ID from the address book", res, err)
	}
	// The same name and address with another ID is refused, as the CLI
	// refuses it; the same contact again, with its address in other case,
	// is not (review of this change: it replaced the ID silently, and
	// the case change got a misleading refusal).
	if _, err := b.AddContact(context.Background(), "erin", randomID(t).String(), "erin@example.org"); !errors.Is(err, gateway.ErrContactExists) {
		t.Errorf("another ID for erin: %v, want ErrContactExists", err)
	}
	if _, err := b.AddContact(context.Background(), "erin", erin.String(), "ERIN@example.org"); err != nil {
		t.Errorf("erin again, address in other case: %v", err)
	}
	if res, err := a.d.resolve.Resolve(context.Background(), "erin@example.org"); err != nil || res.ID != erin {
		t.Fatalf("erin after the re-adds: %+v, %v", res, err)
	}
	for _, tc := range [][2]string{{"x@example.org", "y@example.org"}, {randomID(t).String(), "bob@tox"}, {randomID(t).String(), "not an address"}} {
		if _, err := b.AddContact(context.Background(), "zed", tc[0], tc[1]); !errors.Is(err, gateway.ErrContactInvalid) {
			t.Errorf("AddContact(%q, address %q) = %v, want ErrContactInvalid", tc[0], tc[1], err)
		}
	}
}

// TestProfileInUseRefused: a second node whose data directory is its own
// but whose profile is the running node's is refused; it would be the
// same Tox identity twice. Once the first stops, it may start.
func TestProfileInUseRefused(t *testing.T) {
	a := newTestNode(t, "alice")
	a.start(t)
	b := newTestNode(t, "alice2")
	b.cfg.Tox.Profile = a.cfg.ProfilePath() // absolute: another directory's
	d, err := Open(b.cfg, Options{AllowNoBootstrap: true})
	if err == nil {
		d.Close()
		t.Fatal("a second node on the running node's profile was opened")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), a.cfg.ProfilePath()) {
		t.Fatalf("got %v, want ErrLocked naming the profile", err)
	}
	a.stop(t)
	b.start(t)
	if b.d.ToxID() != a.id {
		t.Errorf("b runs as %v, want the profile's ID %v", b.d.ToxID(), a.id)
	}
}

// TestDataDirWritableByOthersRefused: a data directory, inbox/ or mesh/
// that others may write to is refused, with what to do.
func TestDataDirWritableByOthersRefused(t *testing.T) {
	n := newTestNode(t, "alice")
	open := func() error {
		d, err := Open(n.cfg, Options{AllowNoBootstrap: true})
		if err == nil {
			d.Close()
		}
		return err
	}
	inbox := filepath.Join(n.cfg.DataDir, "inbox")
	if err := os.Mkdir(inbox, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{n.cfg.DataDir, inbox} {
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		err := open()
		if !errors.Is(err, ErrInsecureDir) || !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Errorf("%s mode 0777: got %v, want ErrInsecureDir and the chmod to run", dir, err)
		}
		if err := os.Chmod(dir, 0o750); err != nil { // readable by the group is fine
			t.Fatal(err)
		}
	}
	if err := open(); err != nil {
		t.Fatalf("mode 0750: %v", err)
	}
}

// TestDataDirParentWritableRefused: a directory above the data directory
// that others may write to (without the sticky bit), or that another user
// owns, is refused too: its owner could move the data directory aside.
func TestDataDirParentWritableRefused(t *testing.T) {
	base := t.TempDir()
	parent := filepath.Join(base, "shared")
	data := filepath.Join(parent, "node")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o755, true},
		{0o777, false},
		{0o775, false},
		{0o777 | os.ModeSticky, true}, // as /tmp: others cannot rename what is not theirs
	} {
		if err := os.Chmod(parent, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckDataDir(data)
		switch {
		case tc.ok && err != nil:
			t.Errorf("parent mode %v: %v", tc.mode, err)
		case !tc.ok && (!errors.Is(err, ErrInsecureDir) || !strings.Contains(err.Error(), "chmod go-w "+parent)):
			t.Errorf("parent mode %v: got %v, want ErrInsecureDir naming %s", tc.mode, err, parent)
		}
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	// Through a symbolic link, the real path's parents count.
	link := filepath.Join(base, "link")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckDataDir(link); !errors.Is(err, ErrInsecureDir) {
		t.Errorf("through a link to a data directory under a 0777 parent: %v, want ErrInsecureDir", err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() != 0 {
		return // only root can give the parent away
	}
	if err := os.Chown(parent, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	if err := CheckDataDir(data); !errors.Is(err, ErrInsecureDir) || !strings.Contains(err.Error(), "belongs to user 12345") {
		t.Errorf("parent owned by user 12345: %v, want ErrInsecureDir naming the owner", err)
	}
}

// TestInboxLimitTakesAnyEnvelope: the inbox refuses for good, so it must
// take any mail an envelope can carry after delivery made its line
// endings CRLF (a mail of bare LFs doubles), with its delivery headers.
func TestInboxLimitTakesAnyEnvelope(t *testing.T) {
	for _, size := range []int{envelope.SealedSize(0), 8 << 20, 33 << 20, envelope.HeaderSize + envelope.MaxCiphertext} {
		if got, need := inboxLimit(size), 2*int64(size)+16<<10; got < need {
			t.Errorf("max_envelope_size %d: inbox limit %d, want at least %d", size, got, need)
		}
	}
}

// TestProfileNamedToxmail: a profile whose lock file would be the data
// directory's own lock does not lock its node out.
func TestProfileNamedToxmail(t *testing.T) {
	n := newTestNode(t, "alice")
	data, err := os.ReadFile(n.cfg.ProfilePath())
	if err != nil {
		t.Fatal(err)
	}
	n.cfg.Tox.Profile = "toxmail"
	if err := os.WriteFile(n.cfg.ProfilePath(), data, 0o600); err != nil {
		t.Fatal(err)
	}
	n.start(t)
	if n.d.ToxID() != n.id {
		t.Errorf("runs as %v, want %v", n.d.ToxID(), n.id)
	}
}

// TestLockWaitsForProbe: a node starting while `toxmail status` probes
// the lock (Running) waits for the probe instead of failing.
func TestLockWaitsForProbe(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	l.release()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				Running(dir)
			}
		}
	}()
	for i := range 300 {
		l, err := lockDir(dir)
		if err != nil {
			close(stop)
			<-done
			t.Fatalf("start %d refused while a probe ran: %v", i, err)
		}
		l.release()
	}
	close(stop)
	<-done
}

// TestMaxSeenReachesStore: mesh.max_seen bounds the node's store.
func TestMaxSeenReachesStore(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.cfg.Mesh.MaxSeen = 1024
	a.start(t)
	var b mesh.Batch
	for i := range 1500 {
		var id envelope.ID
		id[0], id[1] = byte(i>>8), byte(i)
		b.MarkSeen(id, time.Now().Add(time.Hour).Unix()+int64(i))
	}
	if err := a.d.store.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if st := a.d.node.Stats(); st.SeenIDs != 1024 || st.SeenForgotten != 1500-1024 {
		t.Errorf("the node's store holds %d seen IDs (%d forgotten), want 1024 (476)", st.SeenIDs, st.SeenForgotten)
	}
}

// TestInboxMaintenance: the running node forgets the tombstones of
// deleted mail once its envelope has expired (and so runs the inbox's
// value-log GC); before, the inbox kept every byte ever delivered.
func TestInboxMaintenance(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	a.opts.InboxEvery = 50 * time.Millisecond
	a.start(t)
	var id inbox.EnvelopeID
	id[0] = 7
	if _, err := a.d.box.Deliver(id, inbox.Meta{Created: time.Now(), KeepUntil: time.Now().Add(time.Second)}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	msgs, err := a.d.box.List()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("List: %v, %v", msgs, err)
	}
	if err := a.d.box.Delete(msgs[0].UID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "maintenance to forget the expired tombstone", func() bool {
		return a.d.tombstonesExpired.Load() == 1
	})
}

// smtpDial connects to an SMTP server for the length of the test and
// returns expect, which sends a line (none if it is "") and checks the
// reply's code, returning its text.
func smtpDial(t *testing.T, addr string) func(code int, format string, args ...any) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(conn)
	return func(code int, format string, args ...any) string {
		t.Helper()
		if format != "" {
			if err := tp.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		_, msg, err := tp.ReadResponse(code)
		if err != nil {
			t.Fatalf("%q: %v %s", fmt.Sprintf(format, args...), err, msg)
		}
		return msg
	}
}

// TestBootstrapNameResolvedOffTox: a bootstrap node's name is resolved by
// Go, not by libtoxcore on the instance's thread, and neither in Start nor
// on the goroutine that follows the contacts file. While the lookup waits
// (a DNS server that does not answer), Start has returned, the Tox
// instance answers and a new contact is befriended; a name that resolves
// is bootstrapped by its IPv4 addresses.
func TestBootstrapNameResolvedOffTox(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	key := tox.PublicKey{1, 2, 3}
	a.cfg.Tox.Bootstrap = []config.BootstrapNode{{Host: "silent.test", Port: 33445, PublicKey: key},
		{Host: "answers.test", Port: 33445, PublicKey: key}}
	asked := make(chan string, 4)
	release := make(chan struct{})
	var stuck atomic.Bool // the lookup was still waiting when the safety bound ran out
	a.opts.LookupIP = func(ctx context.Context, network, host string) ([]net.IP, error) {
		select { // later rejoins are not waited for
		case asked <- host:
		default:
		}
		if host == "answers.test" {
			return []net.IP{net.ParseIP("::1"), net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2")}, nil
		}
		select {
		case <-release:
		case <-time.After(30 * time.Second):
			stuck.Store(true)
		}
		return nil, errors.New("no answer")
	}
	a.start(t) // released only below, after Start returned
	select {
	case h := <-asked:
		if h != "silent.test" {
			t.Fatalf("first lookup %q", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bootstrap name was never looked up")
	}
	if _, err := a.d.x.Savedata(); err != nil { // the instance answers meanwhile
		t.Fatal(err)
	}
	// So does the rest of the node: a contact added now is befriended
	// while the lookup still waits.
	bob := randomID(t)
	a.contacts(t, gateway.Contact{Name: "bob", ID: bob, Added: time.Now()})
	waitFor(t, 10*time.Second, "the new contact befriended during the lookup", func() bool { return a.isFriend(bob.PublicKey()) })
	close(release)
	select {
	case h := <-asked:
		if h != "answers.test" {
			t.Fatalf("second lookup %q", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second bootstrap name was never looked up")
	}
	if stuck.Load() {
		t.Error("Start waited for the lookup")
	}
	ips, err := a.d.bootstrapIPs("answers.test")
	if err != nil || !slices.Equal(ips, []string{"127.0.0.1", "127.0.0.2"}) {
		t.Errorf("bootstrapIPs(answers.test) = %q, %v; want the IPv4 addresses with tox.ipv6 off", ips, err)
	}
	v6 := config.Default()
	v6.Tox.IPv6 = true
	d6 := &Daemon{cfg: &v6, opts: a.opts, stop: make(chan struct{})}
	if ips, err := d6.bootstrapIPs("answers.test"); err != nil || len(ips) != 3 {
		t.Errorf("bootstrapIPs(answers.test) = %q, %v with tox.ipv6 on; want all three", ips, err)
	}
}

// A copy of the profile that a save cut short by a kill left beside it
// (secret key and all) is removed when the node next starts.
func TestOpenRemovesProfileTemps(t *testing.T) {
	t.Parallel()
	a := newTestNode(t, "alice")
	stale := filepath.Join(filepath.Dir(a.cfg.ProfilePath()), "."+filepath.Base(a.cfg.ProfilePath())+".tmp-1234")
	if err := os.WriteFile(stale, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	a.start(t)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the interrupted save's copy is still there: %v", err)
	}
	if _, err := os.Stat(a.cfg.ProfilePath()); err != nil {
		t.Errorf("the profile: %v", err)
	}
}

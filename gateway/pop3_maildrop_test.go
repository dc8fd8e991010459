package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/internal/plural"
	"pgregory.net/rapid"
)

// pop3RefNormalize is the reference for what InboxMaildrop serves: the
// header section (up to the first line that is empty once split at LF,
// as the From check of earlier versions read it) with each lone CR as a
// space, the body with it as CRLF, every line ending CRLF (canonicalCRLF),
// and a line ending after the last line.
func pop3RefNormalize(s string) string {
	end := len(s)
	for at := 0; ; {
		j := strings.IndexByte(s[at:], '\n')
		if j < 0 {
			break
		}
		if line := s[at : at+j]; line == "" || line == "\r" {
			end = at
			break
		}
		at += j + 1
	}
	head := []byte(s[:end])
	for i := range head {
		if head[i] == '\r' && i+1 < len(head) && head[i+1] != '\n' {
			head[i] = ' '
		}
	}
	out := string(canonicalCRLF(append(head, s[end:]...)))
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\r\n"
	}
	return out
}

func TestPOP3CRLFReader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a\r\n"},
		{"a\r\n", "a\r\n"},
		{"a\n", "a\r\n"},
		{"\n\n", "\r\n\r\n"},
		{"a\r", "a\r\n"},
		// A lone CR: a space in the header, a line ending in the body.
		{"a\rb\n", "a b\r\n"},
		{"a\r\r\nb", "a \r\nb\r\n"},
		{"\rFrom: x\r\n", " From: x\r\n"},
		{"S: hi\rFrom: a\r\n\r\nb\rc\r", "S: hi From: a\r\n\r\nb\r\nc\r\n"},
		{"h\n\na\rb", "h\r\n\r\na\r\nb\r\n"},
		{"h\n\r\na\rb", "h\r\n\r\na\r\nb\r\n"},
		{"x\n.y\r\n..z", "x\r\n.y\r\n..z\r\n"},
	}
	for _, tt := range tests {
		if got := pop3RefNormalize(tt.in); got != tt.want {
			t.Fatalf("reference(%q): got %q, want %q", tt.in, got, tt.want)
		}
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"half":     iotest.HalfReader,
		} {
			got, err := io.ReadAll(newPOP3CRLFReader(wrap(strings.NewReader(tt.in))))
			if err != nil || string(got) != tt.want {
				t.Errorf("%s %q: got %q, %v; want %q", name, tt.in, got, err, tt.want)
			}
		}
		if err := iotest.TestReader(newPOP3CRLFReader(strings.NewReader(tt.in)), []byte(tt.want)); err != nil {
			t.Errorf("TestReader %q: %v", tt.in, err)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		in := string(rapid.SliceOf(rapid.SampledFrom([]byte("ab\r\n"))).Draw(t, "in"))
		got, err := io.ReadAll(newPOP3CRLFReader(iotest.OneByteReader(strings.NewReader(in))))
		if want := pop3RefNormalize(in); err != nil || string(got) != want {
			t.Fatalf("%q: got %q, %v; want %q", in, got, err, want)
		}
	})
	long := strings.Repeat("line\n", 20_000) + "end"
	got, err := io.ReadAll(newPOP3CRLFReader(iotest.HalfReader(strings.NewReader(long))))
	if want := pop3RefNormalize(long); err != nil || string(got) != want {
		t.Fatalf("long: got %d bytes, %v; want %d", len(got), err, len(want))
	}
}

// TestPOP3WriteMessage drives pop3WriteMessage with a 16-byte buffer so
// that lines longer than the buffer arrive in pieces.
func TestPOP3WriteMessage(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		msg   string
		lines int64
		want  string
	}{
		{"", -1, ".\r\n"},
		{"a\r\n", -1, "a\r\n.\r\n"},
		{"a", -1, "a\r\n.\r\n"},
		{".\r\n", -1, "..\r\n.\r\n"},
		{"." + long + "\r\n." + long + "\r\n", -1, ".." + long + "\r\n.." + long + "\r\n.\r\n"},
		{long + "." + long + "\r\n", -1, long + "." + long + "\r\n.\r\n"}, // a dot inside a long line
		{"a\n.b\n", -1, "a\n..b\n.\r\n"},                                  // bare LF still ends a line
		{"H: 1\r\n\r\nb1\r\nb2\r\n", 0, "H: 1\r\n\r\n.\r\n"},
		{"H: 1\r\n\r\nb1\r\nb2\r\n", 1, "H: 1\r\n\r\nb1\r\n.\r\n"},
		{"H: 1\r\n\r\n" + long + "\r\n.b2\r\nb3", 2, "H: 1\r\n\r\n" + long + "\r\n..b2\r\n.\r\n"},
		{"H: 1\r\n\r\nb1", 5, "H: 1\r\n\r\nb1\r\n.\r\n"},
		{"H: 1\r\nH: " + long + "\r\n", 0, "H: 1\r\nH: " + long + "\r\n.\r\n"}, // all header
		{"\r\nbody\r\n", 0, "\r\n.\r\n"},                                       // empty header
		{"H: 1\r\n\r\n\r\n\r\nb\r\n", 2, "H: 1\r\n\r\n\r\n\r\n.\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := bufio.NewWriterSize(&out, 16)
		n, err := pop3WriteMessage(w, bufio.NewReaderSize(strings.NewReader(tt.msg), 16), tt.lines)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			t.Fatalf("%q %d: %v", tt.msg, tt.lines, err)
		}
		if got := out.String(); got != tt.want {
			t.Errorf("%q lines %d: got %q, want %q", tt.msg, tt.lines, got, tt.want)
		}
		if tt.lines < 0 && n != int64(len(tt.msg)) {
			t.Errorf("%q: n = %d, want %d", tt.msg, n, len(tt.msg))
		}
	}
}

// pop3TestInbox opens an in-memory inbox closed at the end of the test.
func pop3TestInbox(t testing.TB) *inbox.Inbox {
	t.Helper()
	b, err := inbox.Open(inbox.Options{InMemory: true})
	if err != nil {
		t.Fatalf("inbox.Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pop3Deliver stores data in b as the mail of an envelope whose ID bytes
// are all n.
func pop3Deliver(t testing.TB, b *inbox.Inbox, n byte, data string) string {
	t.Helper()
	var id inbox.EnvelopeID
	for i := range id {
		id[i] = n
	}
	meta := inbox.Meta{PathLength: int(n % 4), Created: time.Now(), KeepUntil: time.Now().Add(time.Hour)}
	if _, err := b.Deliver(id, meta, []byte(data)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return id.UID()
}

func TestInboxMaildrop(t *testing.T) {
	b := pop3TestInbox(t)
	headers := func(m inbox.Message) []byte {
		return fmt.Appendf(nil, "X-Test-Seq: %d\nX-Test-Path: %d\r\n", m.Seq, m.Meta.PathLength)
	}
	bodies := []string{
		"Subject: crlf\r\n\r\nfine\r\n",
		"Subject: bare lf\n\n.dot\nline\n",
		"Subject: no end\r\n\r\nno final newline",
		"",
		strings.Repeat("a long mail\n", 60_000) + ".\n", // more than one inbox chunk
	}
	var uids, want []string
	for i, body := range bodies {
		uids = append(uids, pop3Deliver(t, b, byte(i+1), body))
		want = append(want, pop3RefNormalize(fmt.Sprintf("X-Test-Seq: %d\nX-Test-Path: %d\r\n", i+1, (i+1)%4)+body))
	}
	md := InboxMaildrop(b, headers, nil)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", md)
	auth.set("alias", "secret", InboxMaildrop(b, nil, nil)) // same inbox, same lock
	_, addr := startPOP3(t, pop3TestConfig(), auth)

	c := dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	var list, uidl strings.Builder
	total := 0
	for i, w := range want {
		fmt.Fprintf(&list, "%d %d\r\n", i+1, len(w))
		fmt.Fprintf(&uidl, "%d %s\r\n", i+1, uids[i])
		total += len(w)
	}
	c.expect("LIST", fmt.Sprintf("+OK %s (%d octets)\r\n%s.\r\n", plural.Count(len(want), "message"), total, list.String()))
	c.expect("UIDL", "+OK unique-id listing follows\r\n"+uidl.String()+".\r\n")
	for i, w := range want {
		resp := c.cmd(fmt.Sprintf("RETR %d", i+1))
		if first := fmt.Sprintf("+OK %d octets\r\n", len(w)); !strings.HasPrefix(resp, first) {
			t.Fatalf("RETR %d: got %.60q, want %q", i+1, resp, first)
		}
		if got := pop3Unstuff(t, resp); got != w {
			t.Fatalf("RETR %d: got %d bytes %.80q, want %d bytes %.80q", i+1, len(got), got, len(w), w)
		}
	}
	c.expect("TOP 2 1", "+OK top of message follows\r\nX-Test-Seq: 2\r\nX-Test-Path: 2\r\nSubject: bare lf\r\n\r\n..dot\r\n.\r\n")

	other := dialPOP3(t, addr)
	defer other.close()
	other.expect("USER alias", "+OK send your password\r\n")
	other.expect("PASS secret", "-ERR [IN-USE] maildrop already locked\r\n")

	c.expect("DELE 2", "+OK message 2 deleted\r\n")
	c.expect("DELE 4", "+OK message 4 deleted\r\n")
	c.expect("QUIT", "+OK signing off (3 messages left)\r\n")
	ms, err := b.List()
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range ms {
		left = append(left, m.UID)
	}
	if got, want := fmt.Sprint(left), fmt.Sprint([]string{uids[0], uids[2], uids[4]}); got != want {
		t.Fatalf("inbox after QUIT: got %s, want %s", got, want)
	}

	// Sizes are served from the cache now, and still right.
	got, err := md.List()
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range []int{0, 2, 4} {
		if got[i].UID != uids[j] || got[i].Size != int64(len(want[j])) {
			t.Fatalf("List()[%d] = %+v, want %s size %d", i, got[i], uids[j], len(want[j]))
		}
	}
}

// TestInboxMaildropDeletedMeanwhile: a mail deleted behind the session's
// back cannot be read, and does not keep QUIT from deleting the others.
func TestInboxMaildropDeletedMeanwhile(t *testing.T) {
	b := pop3TestInbox(t)
	u1 := pop3Deliver(t, b, 1, "Subject: 1\r\n\r\none\r\n")
	pop3Deliver(t, b, 2, "Subject: 2\r\n\r\ntwo\r\n")
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", InboxMaildrop(b, nil, nil))
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	c := dialPOP3(t, addr)
	defer c.close()
	c.login("alice", "secret")
	if err := b.Delete(u1); err != nil {
		t.Fatal(err)
	}
	c.expect("RETR 1", "-ERR [SYS/TEMP] cannot read message 1\r\n")
	c.expect("DELE 1", "+OK message 1 deleted\r\n")
	c.expect("DELE 2", "+OK message 2 deleted\r\n")
	c.expect("QUIT", "+OK signing off (maildrop empty)\r\n")
	if n, _, _ := b.Stats(); n != 0 {
		t.Fatalf("%d mails left, want 0", n)
	}
}

// TestInboxMaildropDeleteMany: a client that marks a maildrop larger than
// one inbox transaction can delete (badger's size limit, about 6,000
// mails) still empties it, because the maildrop deletes in
// batches. The first check shows the limit is real.
func TestInboxMaildropDeleteMany(t *testing.T) {
	if testing.Short() {
		t.Skip("delivers 10,000 mails")
	}
	const n = 10_000
	b, err := inbox.Open(inbox.Options{Dir: t.TempDir()}) // on disk, as a node runs it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	meta := inbox.Meta{Created: time.Now(), KeepUntil: time.Now().Add(time.Hour)}
	uids := make([]string, n)
	for i := range uids {
		var id inbox.EnvelopeID
		binary.BigEndian.PutUint64(id[:], uint64(i+1))
		if _, err := b.Deliver(id, meta, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
		uids[i] = id.UID()
	}
	if err := b.Delete(uids...); !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("one transaction for %d mails: got %v, want ErrTxnTooBig (the test no longer needs batches)", n, err)
	}
	md := InboxMaildrop(b, nil, nil)
	if err := md.Delete(uids[:10]...); err != nil { // some gone already: the rest still go
		t.Fatal(err)
	}
	if err := md.Delete(uids...); err != nil {
		t.Fatalf("deleting %d mails: %v", n, err)
	}
	if ms, err := b.List(); err != nil || len(ms) != 0 {
		t.Fatalf("after deleting all: %d mails left, %v", len(ms), err)
	}
}

// TestInboxMaildropOldLoneCR: a mail stored by an earlier version with a
// lone CR in its header (its From check read the line whole) is served
// with the CR as a space: no client sees a From or a verdict the check
// did not.
func TestInboxMaildropOldLoneCR(t *testing.T) {
	b := pop3TestInbox(t)
	stored := "X-Toxmail-From-Check: pass (From is the sender's own Tox ID)\r\n" +
		"Subject: hi\rFrom: Alice <alice@example.org>\rX-Toxmail-From-Check: pass (forged)\r\n" +
		"From: <k@tox>\r\n\r\nsend\rmoney\r\n"
	uid := pop3Deliver(t, b, 7, stored)
	r, err := InboxMaildrop(b, nil, nil).Open(uid)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	served, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(served))
	if err != nil {
		t.Fatal(err)
	}
	if from, checks := msg.Header["From"], msg.Header["X-Toxmail-From-Check"]; len(from) != 1 || from[0] != "<k@tox>" || len(checks) != 1 {
		t.Fatalf("served From %q and From-Check %q, want only the ones the check saw:\n%q", from, checks, served)
	}
	if !bytes.HasSuffix(served, []byte("\r\n\r\nsend\r\nmoney\r\n")) {
		t.Errorf("body served as %q", served)
	}
}

// TestInboxMaildropSkipsDamagedMail: a mail whose body was damaged on
// disk is left out of the maildrop, with an error in the log naming it;
// before, it made every login fail ("cannot open maildrop") and hid the
// intact mail too.
func TestInboxMaildropSkipsDamagedMail(t *testing.T) {
	dir := t.TempDir()
	b, err := inbox.Open(inbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	damaged := pop3Deliver(t, b, 1, "Subject: one\r\n\r\n"+strings.Repeat("x", 3000)+"\r\n")
	intact := pop3Deliver(t, b, 2, "Subject: two\r\n\r\nhi\r\n")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Empty the first body chunk (keys 'b' bodyID chunk; the first mail's
	// body has the lowest ID).
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{'b'}})
		defer it.Close()
		it.Rewind()
		if !it.Valid() {
			return errors.New("no body chunk")
		}
		return txn.Set(it.Item().KeyCopy(nil), nil)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err = inbox.Open(inbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var logs bytes.Buffer
	md := InboxMaildrop(b, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	ms, err := md.List()
	if err != nil {
		t.Fatalf("List with one damaged mail: %v", err)
	}
	if len(ms) != 1 || ms[0].UID != intact {
		t.Errorf("List = %+v, want only %s", ms, intact)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), damaged) {
		t.Errorf("the log does not name the damaged mail %s:\n%s", damaged, logs.String())
	}
}

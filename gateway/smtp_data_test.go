package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/gateway"
)

// sendRaw runs one transaction whose data is sent exactly as given (the
// end-of-data line included), and returns the final reply.
func (c *rawSMTP) sendRaw(data string, rcpt string) (int, string) {
	c.t.Helper()
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", rcpt)
	if code, msg := c.cmd("DATA"); code != 354 {
		c.t.Fatalf("DATA: got %d %q, want 354", code, msg)
	}
	if _, err := c.tp.W.WriteString(data); err != nil {
		c.t.Fatal(err)
	}
	if err := c.tp.W.Flush(); err != nil {
		c.t.Fatal(err)
	}
	return c.reply()
}

// A client that ends lines with a bare LF and stuffs dots after them, as
// Python's smtplib does with a message given as bytes, gets its dots back
// as it meant them. Before, "\n..hidden" stayed doubled and the reader saw
// "..hidden". Dots stuffed after CRLF are go-smtp's and stay as they were.
func TestSMTPBareLFDotStuffing(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.login()
	head := "Subject: lf\r\n" + dateAndID + "\r\n"
	// As sent: stuffed after CRLF and after bare LF alike.
	data := head + "..crlf line\r\n" + "x\n..hidden dot line\nnormal\n...two dots\r\n..after crlf\r\n.\r\n"
	if code, msg := c.sendRaw(data, f.raw.Address()); code != 250 {
		t.Fatalf("DATA: got %d %q", code, msg)
	}
	want := head + ".crlf line\r\nx\n.hidden dot line\nnormal\n..two dots\r\n.after crlf\r\n"
	calls := f.sub.recorded()
	if len(calls) != 1 || string(calls[0][0].Body) != want {
		t.Fatalf("submitted %q,\nwant %q", calls, want)
	}
}

// A line too long, or a NUL byte, is refused after the end of the data,
// and the session goes on: the client reads the reason. Before, go-smtp
// answered in the middle of the data and then cut the connection.
func TestSMTPBodyRefusedAfterData(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.login()
	head := "Subject: long\r\n" + dateAndID + "\r\n"
	for _, tc := range []struct {
		name, body, reason string
	}{
		{"a 2,500-octet line", head + strings.Repeat("z", 2500) + "\r\nmore\r\n", "line longer than 2000 octets"},
		{"a 100,000-octet line", head + strings.Repeat("z", 100000) + "\r\n" + strings.Repeat("more\r\n", 1000), "line longer than 2000 octets"},
		{"a NUL byte", head + "nul \x00 here\r\n", "NUL byte"},
	} {
		code, msg := c.send(tc.body, f.raw.Address())
		if code != 554 || !strings.HasPrefix(msg, "5.6.0") || !strings.Contains(msg, tc.reason) {
			t.Errorf("%s: got %d %q, want 554 5.6.0 %q", tc.name, code, msg, tc.reason)
		}
		c.expect(250, "2.0.0", "NOOP") // the session goes on
	}
	// A line of 1,998 octets and its CRLF is taken.
	ok := head + strings.Repeat("y", 1998) + "\r\n"
	if code, msg := c.send(ok, f.raw.Address()); code != 250 {
		t.Errorf("a line of 2000 octets with its CRLF: got %d %q, want 250", code, msg)
	}
	if n := len(f.sub.recorded()); n != 1 {
		t.Errorf("%d mails submitted, want 1", n)
	}
}

// A BDAT chunk whose bytes follow its command in the same write is read
// whatever lines it holds: go-smtp reads ahead into it while it reads the
// command, and its line limit used to refuse a long line there (but not
// when the chunk came a moment later). Now both are refused alike, after
// the chunk, by the body check.
func TestSMTPBDATLongLineSameWrite(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.login()
	body := "Subject: bdat\r\n" + dateAndID + "\r\n" + strings.Repeat("w", 40000) + "\r\n"
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	if _, err := c.tp.W.WriteString(fmt.Sprintf("BDAT %d LAST\r\n%s", len(body), body)); err != nil {
		t.Fatal(err)
	}
	c.tp.W.Flush()
	if code, msg := c.reply(); code != 554 || !strings.Contains(msg, "line longer than 2000 octets") {
		t.Fatalf("BDAT with a 40,000-octet line: got %d %q, want 554 naming the line limit", code, msg)
	}
	c.expect(250, "2.0.0", "NOOP")
}

// A mail's copies are bounded by MaxTransactionBytes: with SIZE= a RCPT
// past it gets 452 4.5.3 (the client sends to the rest in another mail);
// without, DATA gets 552 5.3.4 saying how many recipients fit. Before, 100
// recipients of an 8 MB mail were all sealed in memory at once (about
// 3.5 GB).
func TestSMTPMaxTransactionBytes(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.MaxMessageBytes, c.MaxTransactionBytes = 1000, 2500 })
	ids := []string{f.raw.Address(), "bob@example.org"}
	body := "Subject: many\r\n" + dateAndID + "\r\n" + strings.Repeat("x", 900-len("Subject: many\r\n"+dateAndID+"\r\n")-2) + "\r\n"
	c := dialSMTP(t, f.addr)
	c.login()
	// SIZE=900: two copies fit in 2,500 bytes, a third does not.
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org> SIZE=900")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", ids[0])
	c.expect(250, "2.0.0", "RCPT TO:<%s>", ids[1])
	c.expect(452, "4.5.3", "RCPT TO:<dave@example.org>")
	if code, msg := c.data(body); code != 250 {
		t.Fatalf("DATA to the two accepted: got %d %q", code, msg)
	}
	// Without SIZE=, the third recipient is taken, and DATA says how many fit.
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	for _, r := range append(ids, "dave@example.org") {
		c.expect(250, "2.0.0", "RCPT TO:<%s>", r)
	}
	if code, msg := c.data(body); code != 552 || !strings.HasPrefix(msg, "5.3.4") || !strings.Contains(msg, "at most 2 recipients") {
		t.Fatalf("DATA to three without SIZE=: got %d %q, want 552 5.3.4 saying at most 2", code, msg)
	}
	if calls := f.sub.recorded(); len(calls) != 1 || len(calls[0]) != 2 {
		t.Fatalf("submissions: %d, want one of two envelopes", len(calls))
	}
}

// A client that stops reading cannot hold up Shutdown: go-smtp's reply to
// it blocks holding the connection's write lock, and the 421 goodbye
// gives up on it after a second and closes the connection. Before, the
// goodbye waited for the lock as long as WriteTimeout (minutes).
func TestSMTPShutdownNonReadingClient(t *testing.T) {
	f := newSMTPFixture(t, func(c *gateway.SMTPConfig) { c.WriteTimeout = time.Minute })
	c := dialSMTP(t, f.addr)
	c.ehlo()
	// NOOPs, never reading a reply, until the server's writes back up
	// (the socket buffers fill) or 3 s pass.
	stop := time.Now().Add(3 * time.Second)
	line := []byte(strings.Repeat("NOOP\r\n", 1000))
	for sent := 0; sent < 2000 && time.Now().Before(stop); sent++ {
		c.conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.conn.Write(line); err != nil {
			break // our side is full too: the server is stuck writing
		}
	}
	// Let the server work through what it read until its replies fill
	// the socket and its write blocks.
	time.Sleep(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	f.srv.Shutdown(ctx)
	// Behaviour, not speed: bounded by the context and the goodbye's
	// second, not by WriteTimeout's minute.
	took := time.Since(start)
	t.Logf("Shutdown took %v", took)
	if took > 20*time.Second {
		t.Fatalf("Shutdown took %v with a client that does not read", took)
	}
}

// BDAT chunks are taken as they are: BDAT is never dot-stuffed (RFC 3030),
// so "\n..b" in a chunk is two dots, not a stuffed one.
func TestSMTPBDATNotUnstuffed(t *testing.T) {
	f := newSMTPFixture(t, nil)
	c := dialSMTP(t, f.addr)
	c.login()
	body := "Subject: bdat\r\n" + dateAndID + "\r\na\n..b\r\n"
	c.expect(250, "2.0.0", "MAIL FROM:<alice@example.org>")
	c.expect(250, "2.0.0", "RCPT TO:<%s>", f.raw.Address())
	if _, err := c.tp.W.WriteString(fmt.Sprintf("BDAT %d LAST\r\n%s", len(body), body)); err != nil {
		t.Fatal(err)
	}
	c.tp.W.Flush()
	if code, msg := c.reply(); code != 250 {
		t.Fatalf("BDAT: got %d %q", code, msg)
	}
	if calls := f.sub.recorded(); len(calls) != 1 || string(calls[0][0].Body) != body {
		t.Fatalf("submitted %q, want the chunk as sent", calls)
	}
}

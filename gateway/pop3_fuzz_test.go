package gateway

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func FuzzPOP3Command(f *testing.F) {
	for _, s := range []string{"", "STAT", "list 1", "TOP 1 10", "PASS  a b ", "USER\x00", "R\xffTR 1", " ", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", strings.Repeat("A", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parsePOP3Command(line)
		if err != nil {
			return
		}
		if c.name == "" || c.name != strings.ToUpper(c.name) || strings.ContainsAny(c.name, " \r\n\x00") {
			t.Fatalf("%q: name %q", line, c.name)
		}
		for _, a := range c.args {
			if a == "" || strings.Contains(a, " ") {
				t.Fatalf("%q: argument %q", line, a)
			}
		}
		if !strings.HasSuffix(line, c.rest) {
			t.Fatalf("%q: rest %q is not the end of the line", line, c.rest)
		}
		// A handler never sees a message number it cannot handle.
		for _, a := range c.args {
			pop3Number(a)
		}
	})
}

// FuzzPOP3Session plays arbitrary client bytes to a session: it must
// never panic nor hang, and nothing is deleted without a QUIT.
func FuzzPOP3Session(f *testing.F) {
	for _, s := range []string{
		"USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nRETR 2\r\nTOP 2 1\r\nDELE 1\r\nQUIT\r\n",
		"user alice\npass secret\nuidl\ndele 2\nrset\ndele 1\nquit\n",
		"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nRETR 1\r\nQUIT\r\n",
		"CAPA\r\nAUTH\r\nAPOP x y\r\n\x00\xff\r\n" + strings.Repeat("x", 600) + "\r\nQUIT\r\n",
		"USER alice\r\nPASS secret\r\nDELE 1\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		md := newPOP3MemMaildrop(pop3Msg1, pop3Msg2)
		auth := newPOP3TestAuth()
		auth.set("alice", "secret", md)
		cfg := pop3TestConfig()
		cfg.IdleTimeout = 2 * time.Second
		srv, err := NewPOP3Server(cfg, auth)
		if err != nil {
			t.Fatal(err)
		}
		client, server := net.Pipe()
		srv.start(server)
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, client)
			close(drained)
		}()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(input)
		client.Close()
		<-drained
		closed := make(chan struct{})
		go func() {
			srv.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not end")
		}
		if md.deletes > 0 && !bytes.Contains(bytes.ToUpper(input), []byte("QUIT")) {
			t.Fatalf("deleted without QUIT")
		}
	})
}

// BenchmarkPOP3Retr measures RETR of a 1 MiB message over loopback,
// dot-stuffing included.
func BenchmarkPOP3Retr(b *testing.B) {
	msg := strings.Repeat(".a line of an ordinary mail, dot first to be stuffed\r\n", 20_000)
	auth := newPOP3TestAuth()
	auth.set("alice", "secret", newPOP3MemMaildrop(msg))
	_, addr := startPOP3(b, pop3TestConfig(), auth)
	c := dialPOP3(b, addr)
	defer c.close()
	c.login("alice", "secret")
	r := bufio.NewReaderSize(c.conn, 64<<10)
	c.conn.SetDeadline(time.Time{})
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := io.WriteString(c.conn, "RETR 1\r\n"); err != nil {
			b.Fatal(err)
		}
		for first := true; ; first = false {
			l, err := r.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if first && !bytes.HasPrefix(l, []byte("+OK")) {
				b.Fatalf("RETR: %q", l)
			}
			if !first && string(l) == ".\r\n" {
				break
			}
		}
	}
}

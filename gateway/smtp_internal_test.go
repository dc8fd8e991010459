package gateway

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
)

func TestOutboxLabel(t *testing.T) {
	long := "<a" + strings.Repeat("é", 200) + "@x>" // 2-byte runes from byte 2: 255 falls inside one
	tests := []struct {
		name, body, want string
	}{
		{"plain", "From: a@b\r\nMessage-ID: <1@b>\r\n\r\nbody\r\n", "<1@b>"},
		{"case", "message-id:<2@b>\r\n\r\n", "<2@b>"},
		{"LF only", "Subject: x\nMessage-Id: <3@b>\n\nbody", "<3@b> x"},
		{"folded", "Message-ID:\r\n <4@b>\r\nSubject: y\r\n\r\n", "<4@b> y"},
		{"folded twice", "Message-ID: <5\r\n\t@b>\r\n\r\n", "<5 @b>"},
		{"none", "Subject: x\r\n\r\nMessage-ID: <in the body>\r\n", "(no Message-ID) x"},
		{"subject like an ID", "Subject: <a@b> c\r\n\r\n", "(no Message-ID) <a@b> c"},
		{"no header section", "just text", ""},
		{"empty", "", ""},
		{"control", "Message-ID: <6\x00@b>\r\n\r\n", "<6 @b>"},
		{"other field", "Message-IDs: <7@b>\r\nSubjects: no\r\n\r\n", ""},
		{"long", "Message-ID: " + long + "\r\nSubject: cut off\r\n\r\n", long[:254]},
		{"folded subject", "Subject: =?utf-8?q?caf=C3=A9?=\r\n =?utf-8?q?_au_lait?=\r\nMessage-ID: <8@b>\r\n\r\n",
			"<8@b> =?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := outboxLabel([]byte(tt.body))
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(got) > 255 {
				t.Errorf("label of %d bytes", len(got))
			}
		})
	}
}

func TestLoginServer(t *testing.T) {
	var gotUser, gotPass string
	check := func(u, p string) error {
		gotUser, gotPass = u, p
		if p != "pw" {
			return errors.New("bad")
		}
		return nil
	}
	l := &loginServer{check: check}
	steps := []struct {
		resp      []byte
		challenge string
		done      bool
	}{
		{nil, "Username:", false},
		{[]byte("alice"), "Password:", false},
		{[]byte("pw"), "", true},
	}
	for i, s := range steps {
		c, done, err := l.Next(s.resp)
		if err != nil || string(c) != s.challenge || done != s.done {
			t.Fatalf("step %d: got %q %v %v, want %q %v", i, c, done, err, s.challenge, s.done)
		}
	}
	if gotUser != "alice" || gotPass != "pw" {
		t.Fatalf("checked %q/%q", gotUser, gotPass)
	}
	if _, _, err := l.Next([]byte("more")); !errors.Is(err, sasl.ErrUnexpectedClientResponse) {
		t.Fatalf("after done: got %v", err)
	}

	// The user name as initial response; a wrong password.
	l = &loginServer{check: check}
	if c, _, _ := l.Next([]byte("bob")); string(c) != "Password:" {
		t.Fatalf("initial response: got challenge %q", c)
	}
	if _, done, err := l.Next([]byte("nope")); err == nil || !done {
		t.Fatalf("wrong password: got done=%v err=%v", done, err)
	}
}

// dataEOFConn returns its data and io.EOF from one Read, as crypto/tls
// does when the peer's close alert follows the last record.
type dataEOFConn struct {
	net.Conn
	data []byte
}

func (c *dataEOFConn) Read(p []byte) (int, error) {
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, io.EOF
}

// The read that completes a mail must not mark the connection ended even
// when it also reports the end of the stream: the error comes with the
// next read, which go-smtp makes only after its reply.
func TestSMTPConnHoldsEOFBehindData(t *testing.T) {
	c := &smtpConn{Conn: &dataEOFConn{data: []byte("all of it")}}
	buf := make([]byte, 64)
	if n, err := c.Read(buf); n != 9 || err != nil || c.ended.Load() {
		t.Fatalf("first read: %d, %v, ended %v; want 9, nil, false", n, err, c.ended.Load())
	}
	if n, err := c.Read(buf); n != 0 || err != io.EOF || !c.ended.Load() {
		t.Fatalf("second read: %d, %v, ended %v; want 0, EOF, true", n, err, c.ended.Load())
	}
}

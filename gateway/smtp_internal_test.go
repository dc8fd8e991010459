package gateway

import (
	"bytes"
	"log/slog"
	"net/mail"
	"strings"
	"testing"
)

// A client that simply went away (a health check's bare connect, a reset)
// is no fault of the node's: go-smtp's line about it is logged at debug
// level, anything else at warn.
func TestSMTPErrorLogLevels(t *testing.T) {
	var b bytes.Buffer
	l := smtpErrorLog{slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Printf("error handling %v: %v", "127.0.0.1:5000", "read tcp 127.0.0.1:1025->127.0.0.1:5000: read: connection reset by peer")
	l.Println("error handling 127.0.0.1:5001: EOF")
	l.Printf("panic serving %v: %v", "127.0.0.1:5002", "boom")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "level=DEBUG") || !strings.Contains(lines[1], "level=DEBUG") ||
		!strings.Contains(lines[2], "level=WARN") {
		t.Errorf("log:\n%s", b.String())
	}
}

func TestUnstuffBareLF(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\n..b", "a\n.b"},
		{"a\r\n..b", "a\r\n..b"}, // after CRLF: go-smtp's to undo, and it has
		{"a\n...b", "a\n..b"},
		{"a\n.b", "a\n.b"}, // not stuffed: left alone
		{"a\n..", "a\n."},  // a line of one dot, stuffed
		{"\n..x", "\n.x"},
		{"no dots\n", "no dots\n"},
		{"a\n..b\n..c", "a\n.b\n.c"},
	} {
		if got := string(unstuffBareLF([]byte(tc.in))); got != tc.want {
			t.Errorf("unstuffBareLF(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWithoutTrailingDot(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"bob@example.org.", "bob@example.org", true},
		{"<bob@example.org.>", "<bob@example.org>", true},
		{"Bob <bob@example.org.>", "Bob <bob@example.org>", true},
		{"bob@example.org", "", false},
		{"bob@.", "", false},
		{"bob@example..", "", false},
		{"bob.", "", false},
	} {
		got, ok := withoutTrailingDot(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("withoutTrailingDot(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestOwnFromAnyName: whatever nickname a node has, OwnFrom gives a From
// that SMTPConfig takes, that reads back as the node's own address, and
// whose name the recipient's From check does not take for another
// address.
func TestOwnFromAnyName(t *testing.T) {
	var id ToxID
	for i := range id {
		id[i] = byte(i * 7)
	}
	addr := id.Address()
	for _, name := range []string{
		"", "Alice", "  Alice  ", `Bob "the" Builder`, `back\slash`, "Zoë", "日本語の名前", "x, y; z",
		"(a comment)", "<angle>", "=?utf-8?q?x?=", "alice@example.org", "Bob (bob@work.example)", "me @ tox",
		"alice@tox", addr, strings.Repeat("n", 128),
	} {
		from := OwnFrom(name, id)
		c := DefaultSMTPConfig()
		c.Users = map[string]string{"u": "$2a$04$" + strings.Repeat("a", 53)}
		c.From = from
		if err := c.Validate(); err != nil {
			t.Errorf("OwnFrom(%q) = %q: %v", name, from, err)
			continue
		}
		a, err := mail.ParseAddress(from)
		if err != nil || !strings.EqualFold(a.Address, addr) {
			t.Errorf("OwnFrom(%q) = %q reads back as %v, %v", name, from, a, err)
			continue
		}
		if shown, ok := nameShowsAddress(a.Name, a.Address); ok {
			t.Errorf("OwnFrom(%q) = %q: its name shows %s, which the From check fails", name, from, shown)
		}
	}
}

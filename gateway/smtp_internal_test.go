package gateway

import (
	"bytes"
	"log/slog"
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

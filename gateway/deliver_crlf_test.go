package gateway

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
	"pgregory.net/rapid"
)

func TestCanonicalCRLF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\rb\r", "a\r\nb\r\n"},
		{"\r\r\n\n", "\r\n\r\n\r\n"},
		{"\n\r", "\r\n\r\n"},
	}
	for _, tt := range tests {
		if got := string(canonicalCRLF([]byte(tt.in))); got != tt.want {
			t.Errorf("canonicalCRLF(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.SliceOf(rapid.SampledFrom([]byte("ab\r\n"))).Draw(t, "in")
		out := canonicalCRLF(in)
		for i, c := range out {
			if c == '\r' && (i+1 == len(out) || out[i+1] != '\n') || c == '\n' && (i == 0 || out[i-1] != '\r') {
				t.Fatalf("%q → %q: lone CR or LF at %d", in, out, i)
			}
		}
		if again := canonicalCRLF(out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
		// Only line endings change: the text between them is kept.
		split := func(b []byte) []string {
			return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\r' || r == '\n' })
		}
		if a, b := split(in), split(out); strings.Join(a, "|") != strings.Join(b, "|") {
			t.Fatalf("%q → %q changed the text", in, out)
		}
	})
}

// TestMailboxLineEndings: the From check, the renaming of the sender's
// X-Toxmail fields and the mail client all see the same lines, whatever
// line endings the sender used. Before, a lone CR hid a From and a forged
// verdict inside a Subject for the check while a client that breaks lines
// at CR showed them.
func TestMailboxLineEndings(t *testing.T) {
	alice, _ := envelope.GenerateKeyPair(nil)
	bob, _ := envelope.GenerateKeyPair(nil)
	mallory, _ := envelope.GenerateKeyPair(nil)
	ib := pop3TestInbox(t)
	dir := dirMap{alice.Public: {"alice@example.org", "contacts"}}
	mb, _ := NewMailbox(MailboxConfig{Inbox: ib, Directory: dir})
	malloryFrom := "From: <" + mallory.Public.String() + "@tox>\r\n"
	cases := []struct {
		name, body string
		check      string // the verdict
		renamed    string // "" if nothing is renamed
		body2      string // the stored mail after the delivery headers
	}{
		{
			name:    "lone CR hides a From and a verdict",
			body:    "Subject: hi\rFrom: Alice <alice@example.org>\rX-Toxmail-From-Check: pass (forged)\r\n" + malloryFrom + "\r\nsend money\r\n",
			check:   "X-Toxmail-From-Check: fail (no single readable From: 2 From fields)",
			renamed: "X-Toxmail-Renamed: 1 field(s)",
			body2:   "Subject: hi\r\nFrom: Alice <alice@example.org>\r\nX-Sender-Toxmail-From-Check: pass (forged)\r\n" + malloryFrom + "\r\nsend money\r\n",
		},
		{
			name:  "CR CR ends the header early",
			body:  "From: Alice <alice@example.org>\r\r" + malloryFrom + "\r\nsend money\r\n",
			check: "X-Toxmail-From-Check: fail (From says alice@example.org, who is",
			body2: "From: Alice <alice@example.org>\r\n\r\n" + malloryFrom + "\r\nsend money\r\n",
		},
		{
			name:  "LF only: the body is not a header",
			body:  "From: <" + mallory.Public.String() + "@tox>\nSubject: lf\n\nHi,\nX-Toxmail-From-Check: quoted\n",
			check: "X-Toxmail-From-Check: pass (From is the sender's own Tox ID)",
			body2: "From: <" + mallory.Public.String() + "@tox>\r\nSubject: lf\r\n\r\nHi,\r\nX-Toxmail-From-Check: quoted\r\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := letterFrom(t, mallory, bob, c.body)
			if err := mb.Deliver(&mesh.Delivery{Letter: l, Received: time.Now()}); err != nil {
				t.Fatal(err)
			}
			_, data, err := ib.Get(inbox.EnvelopeID(l.ID).UID())
			if err != nil {
				t.Fatal(err)
			}
			s := string(data)
			if !strings.HasSuffix(s, c.body2) {
				t.Fatalf("stored mail:\n%q\nwant it to end with\n%q", s, c.body2)
			}
			if canon := canonicalCRLF(data); !bytes.Equal(canon, data) {
				t.Fatalf("stored mail has a lone CR or LF: %q", s)
			}
			msg, err := mail.ReadMessage(strings.NewReader(s))
			if err != nil {
				t.Fatal(err)
			}
			checks := msg.Header["X-Toxmail-From-Check"]
			if len(checks) != 1 || !strings.HasPrefix("X-Toxmail-From-Check: "+checks[0], c.check) {
				t.Errorf("From-Check fields %q, want one starting %q", checks, c.check)
			}
			if got := strings.Contains(s, "X-Toxmail-Renamed:"); got != (c.renamed != "") || c.renamed != "" && !strings.Contains(s, c.renamed) {
				t.Errorf("renamed: got %v, want %q:\n%s", got, c.renamed, s)
			}
		})
	}
}

package gateway

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"

	"github.com/toxmail/toxmail/internal/plural"
)

// pop3ModelMsg is a message as the model knows it.
type pop3ModelMsg struct{ uid, data string }

// pop3Model is what a POP3 session should look like from the client: the
// maildrop's contents and the session's numbered snapshot.
type pop3Model struct {
	addr, user string
	md         *pop3MemMaildrop
	c          *pop3Client

	stored  []pop3ModelMsg // in the maildrop
	snap    []pop3ModelMsg // numbered 1..n in this session
	deleted []bool         // marked by DELE in this session
}

// pop3MessageGen generates messages of whole CRLF lines: a header, maybe
// an empty line, a body, with lines that need dot-stuffing.
func pop3MessageGen() *rapid.Generator[string] {
	line := rapid.SampledFrom([]string{".", "..", ".x", "...", "a.b", "text", " ", "From: a@b", ". "})
	return rapid.Custom(func(t *rapid.T) string {
		header := rapid.SliceOfN(rapid.SampledFrom([]string{"Subject: hi", "X: .", ".H: v"}), 0, 3).Draw(t, "header")
		body := rapid.SliceOfN(rapid.OneOf(line, rapid.Just("")), 0, 6).Draw(t, "body")
		lines := header
		if rapid.Bool().Draw(t, "separator") {
			lines = append(lines, "")
		}
		lines = append(lines, body...)
		if len(lines) == 0 {
			return ""
		}
		return strings.Join(lines, "\r\n") + "\r\n"
	})
}

// pop3Stuff is the reference dot-stuffing of whole CRLF lines.
func pop3Stuff(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(l)
	}
	return b.String() + ".\r\n"
}

// pop3RefTop is the reference TOP: header lines through the empty line,
// then n body lines.
func pop3RefTop(data string, n int) string {
	lines := strings.SplitAfter(data, "\r\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out []string
	i := 0
	for ; i < len(lines); i++ {
		out = append(out, lines[i])
		if lines[i] == "\r\n" {
			i++
			break
		}
	}
	for ; i < len(lines) && n > 0; i, n = i+1, n-1 {
		out = append(out, lines[i])
	}
	return pop3Stuff(out)
}

// pick draws a message number, sometimes out of range.
func (m *pop3Model) pick(t *rapid.T) int {
	return rapid.IntRange(0, len(m.snap)+1).Draw(t, "msg")
}

// lookupErr is the -ERR the session gives for message k, or "".
func (m *pop3Model) lookupErr(k int) string {
	if k < 1 || k > len(m.snap) {
		return fmt.Sprintf("-ERR no such message, only %s in maildrop\r\n", plural.Count(len(m.snap), "message"))
	}
	if m.deleted[k-1] {
		return fmt.Sprintf("-ERR message %d already deleted\r\n", k)
	}
	return ""
}

func (m *pop3Model) totals() (n, size int) {
	for i, msg := range m.snap {
		if !m.deleted[i] {
			n++
			size += len(msg.data)
		}
	}
	return n, size
}

// login starts a session with the maildrop's current contents.
func (m *pop3Model) login(t *rapid.T) {
	m.c = dialPOP3(t, m.addr)
	m.snap = append([]pop3ModelMsg(nil), m.stored...)
	m.deleted = make([]bool, len(m.snap))
	n, size := m.totals()
	m.c.expect("USER "+m.user, "+OK send your password\r\n")
	m.c.expect("PASS pw", fmt.Sprintf("+OK maildrop locked and ready, %s (%d octets)\r\n", plural.Count(n, "message"), size))
}

func (m *pop3Model) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"STAT": func(t *rapid.T) {
			n, size := m.totals()
			m.c.expect("STAT", fmt.Sprintf("+OK %d %d\r\n", n, size))
		},
		"LIST": func(t *rapid.T) {
			n, size := m.totals()
			want := fmt.Sprintf("+OK %s (%d octets)\r\n", plural.Count(n, "message"), size)
			for i, msg := range m.snap {
				if !m.deleted[i] {
					want += fmt.Sprintf("%d %d\r\n", i+1, len(msg.data))
				}
			}
			m.c.expect("LIST", want+".\r\n")
		},
		"LIST k": func(t *rapid.T) {
			k := m.pick(t)
			want := m.lookupErr(k)
			if want == "" {
				want = fmt.Sprintf("+OK %d %d\r\n", k, len(m.snap[k-1].data))
			}
			m.c.expect(fmt.Sprintf("LIST %d", k), want)
		},
		"UIDL": func(t *rapid.T) {
			want := "+OK unique-id listing follows\r\n"
			for i, msg := range m.snap {
				if !m.deleted[i] {
					want += fmt.Sprintf("%d %s\r\n", i+1, msg.uid)
				}
			}
			m.c.expect("UIDL", want+".\r\n")
		},
		"UIDL k": func(t *rapid.T) {
			k := m.pick(t)
			want := m.lookupErr(k)
			if want == "" {
				want = fmt.Sprintf("+OK %d %s\r\n", k, m.snap[k-1].uid)
			}
			m.c.expect(fmt.Sprintf("UIDL %d", k), want)
		},
		"RETR": func(t *rapid.T) {
			k := m.pick(t)
			want := m.lookupErr(k)
			if want == "" {
				d := m.snap[k-1].data
				want = fmt.Sprintf("+OK %d octets\r\n", len(d)) + pop3Stuff(strings.SplitAfter(d, "\r\n"))
			}
			m.c.expect(fmt.Sprintf("RETR %d", k), want)
		},
		"TOP": func(t *rapid.T) {
			k := m.pick(t)
			n := rapid.IntRange(0, 8).Draw(t, "lines")
			want := m.lookupErr(k)
			if want == "" {
				want = "+OK top of message follows\r\n"
				if d := m.snap[k-1].data; d != "" {
					want += pop3RefTop(d, n)
				} else {
					want += ".\r\n"
				}
			}
			m.c.expect(fmt.Sprintf("TOP %d %d", k, n), want)
		},
		"DELE": func(t *rapid.T) {
			k := m.pick(t)
			want := m.lookupErr(k)
			if want == "" {
				want = fmt.Sprintf("+OK message %d deleted\r\n", k)
				m.deleted[k-1] = true
			}
			m.c.expect(fmt.Sprintf("DELE %d", k), want)
		},
		"RSET": func(t *rapid.T) {
			clear(m.deleted)
			n, size := m.totals()
			m.c.expect("RSET", fmt.Sprintf("+OK maildrop has %s (%d octets)\r\n", plural.Count(n, "message"), size))
		},
		"NOOP": func(t *rapid.T) { m.c.expect("NOOP", "+OK\r\n") },
		"deliver": func(t *rapid.T) {
			d := pop3MessageGen().Draw(t, "new message")
			m.stored = append(m.stored, pop3ModelMsg{m.md.add(d), d})
		},
		"QUIT and log in again": func(t *rapid.T) {
			gone := make(map[string]bool)
			for i, msg := range m.snap {
				if m.deleted[i] {
					gone[msg.uid] = true
				}
			}
			want := "+OK signing off (maildrop empty)\r\n"
			if left := len(m.snap) - len(gone); left > 0 {
				want = fmt.Sprintf("+OK signing off (%s left)\r\n", plural.Count(left, "message"))
			}
			m.c.expect("QUIT", want)
			m.c.expectClosed()
			m.c.close()
			kept := m.stored[:0]
			for _, msg := range m.stored {
				if !gone[msg.uid] {
					kept = append(kept, msg)
				}
			}
			m.stored = kept
			m.login(t)
		},
		"": func(t *rapid.T) {
			// The maildrop holds exactly what the model says.
			got := m.md.messages()
			if len(got) != len(m.stored) {
				t.Fatalf("maildrop has %d messages, model %d", len(got), len(m.stored))
			}
			for i := range got {
				if got[i] != m.stored[i].data {
					t.Fatalf("maildrop message %d: got %q, want %q", i, got[i], m.stored[i].data)
				}
			}
		},
	}
}

// TestPOP3Model checks random POP3 sessions, command by command, against
// the model, across QUITs that commit deletions and mail arriving in the
// middle of a session.
func TestPOP3Model(t *testing.T) {
	auth := newPOP3TestAuth()
	_, addr := startPOP3(t, pop3TestConfig(), auth)
	var users atomic.Int64
	rapid.Check(t, func(t *rapid.T) {
		m := &pop3Model{addr: addr, user: fmt.Sprintf("u%d", users.Add(1)), md: newPOP3MemMaildrop()}
		for _, d := range rapid.SliceOfN(pop3MessageGen(), 0, 5).Draw(t, "messages") {
			m.stored = append(m.stored, pop3ModelMsg{m.md.add(d), d})
		}
		auth.set(m.user, "pw", m.md)
		m.login(t)
		defer func() { m.c.close() }()
		t.Repeat(m.actions())
	})
}

package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/toxmail/toxmail/mesh"
)

// Options configure Run.
type Options struct {
	// JSON prints one JSON object at the end instead of the timeline.
	JSON bool
	// Hold starts the three nodes, all online, prints how to reach them
	// as one JSON object, and keeps them up until ctx ends.
	Hold bool
	// Bootstrap, "HOST:PORT:PUBKEY", bootstraps every node from that DHT
	// node (a loopback tox-bootstrapd) instead of from each other.
	Bootstrap string
	// Stdout receives the timeline or the JSON; Stderr the progress notes
	// of --json and --hold. Nil means os.Stdout and os.Stderr.
	Stdout, Stderr io.Writer
	// Logger receives the nodes' logs; nil discards them.
	Logger *slog.Logger
	// StepTimeout bounds each step that waits for the network. Default 2
	// minutes.
	StepTimeout time.Duration
}

// Result is what --json prints.
type Result struct {
	Delivered bool     `json:"delivered"`
	AckSeen   bool     `json:"ack_seen"`
	Relay     string   `json:"relay"`
	Seconds   float64  `json:"seconds"`
	Path      int      `json:"path_length,omitempty"` // friend links the mail travelled
	Timeline  []Event  `json:"timeline"`
	Error     string   `json:"error,omitempty"`
	Nodes     []string `json:"nodes"`
}

// Event is one line of the timeline.
type Event struct {
	At   float64 `json:"t"` // seconds since the start
	What string  `json:"what"`
}

// Run runs the demo. It returns nil only if the whole story happened:
// carol got the mail while alice was offline, through bob, and alice saw
// the ack when she came back.
func Run(ctx context.Context, o Options) error {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = 2 * time.Minute
	}
	root, err := os.MkdirTemp("", "toxmail-demo-")
	if err != nil {
		return err
	}
	n := &network{root: root, log: o.Logger}
	defer n.close()
	if o.Bootstrap != "" {
		if n.bootstrap, err = parseBootstrap(o.Bootstrap); err != nil {
			return err
		}
	}
	alice, err := n.newMember("alice")
	if err != nil {
		return err
	}
	bob, err := n.newMember("bob")
	if err != nil {
		return err
	}
	carol, err := n.newMember("carol")
	if err != nil {
		return err
	}
	// alice — bob — carol: carol is a friend of bob only.
	if err := befriend(alice, bob); err != nil {
		return err
	}
	if err := befriend(bob, carol); err != nil {
		return err
	}
	if o.Hold {
		return hold(ctx, n, o)
	}
	s := &story{n: n, o: o, start: time.Now(), alice: alice, bob: bob, carol: carol, ctx: ctx}
	err = s.run()
	res := Result{Delivered: s.delivered, AckSeen: s.ackSeen, Relay: bob.name, Seconds: round(time.Since(s.start).Seconds()),
		Path: s.path, Timeline: s.events, Nodes: []string{"alice", "bob", "carol"}}
	if err != nil {
		res.Error = err.Error()
	}
	if o.JSON {
		b, _ := json.Marshal(res)
		fmt.Fprintf(o.Stdout, "%s\n", b)
	} else if err == nil {
		fmt.Fprintf(o.Stdout, "demo passed in %.0f s: carol received alice's mail through bob while alice was offline; alice saw it delivered.\n", res.Seconds)
	}
	if err != nil {
		return fmt.Errorf("demo failed: %w", err)
	}
	return nil
}

func round(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// story is the demo's script.
type story struct {
	n                  *network
	o                  Options
	ctx                context.Context
	start              time.Time
	alice, bob, carol  *member
	events             []Event
	delivered, ackSeen bool
	path               int
}

func (s *story) say(format string, args ...any) {
	e := Event{At: round(time.Since(s.start).Seconds()), What: fmt.Sprintf(format, args...)}
	s.events = append(s.events, e)
	w := s.o.Stdout
	if s.o.JSON {
		w = s.o.Stderr
	}
	fmt.Fprintf(w, "%6.1fs  %s\n", e.At, e.What)
}

// wait polls cond every 200 ms until it holds, the step times out, or ctx
// ends. With --bootstrap, nodes that have not joined the DHT yet ask the
// bootstrap node again every few seconds (it may have started after them),
// and a timeout says whether they ever reached it.
func (s *story) wait(what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.StepTimeout)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	asked := time.Now()
	for !cond() {
		select {
		case <-ctx.Done():
			if s.ctx.Err() != nil {
				return s.ctx.Err()
			}
			return fmt.Errorf("timed out after %v waiting for %s%s", s.o.StepTimeout, what, s.n.bootstrapHint())
		case <-t.C:
		}
		if time.Since(asked) >= rebootstrapEvery {
			asked = time.Now()
			s.n.rebootstrap()
		}
	}
	return nil
}

func meshPeer(m *member, other *member) bool {
	if m.d == nil {
		return false
	}
	for _, p := range m.d.Node().Peers() {
		if p.Key == other.id.PublicKey() && p.MeshPeer {
			return true
		}
	}
	return false
}

func (s *story) run() error {
	s.say("carol is offline; alice and bob come online (real Tox on 127.0.0.1, LAN discovery and IPv6 off)")
	if err := s.n.start(s.bob); err != nil {
		return err
	}
	if err := s.n.start(s.alice); err != nil {
		return err
	}
	if err := s.wait("alice and bob to connect", func() bool { return meshPeer(s.alice, s.bob) && meshPeer(s.bob, s.alice) }); err != nil {
		return err
	}
	s.say("alice and bob are connected as Tox friends and speak the mesh protocol")

	subject := "Hello from alice " + randomString(6)
	to := s.carol.id.String() + "@tox"
	if err := sendMail(s.alice, to, subject); err != nil {
		return fmt.Errorf("alice's SMTP submission: %w", err)
	}
	s.say("alice submits a mail to carol over SMTP (%s) — sealed to carol's key", s.alice.d.SMTPAddr())
	out := s.alice.d.Node().Outbox()
	if len(out) != 1 {
		return fmt.Errorf("alice's outbox has %d mails, want 1", len(out))
	}
	id := out[0].ID
	if err := s.wait("bob to hold the envelope", func() bool { return s.bob.d.Node().Holds(id) }); err != nil {
		return err
	}
	s.say("bob holds the sealed envelope %s for carol; he cannot open it", id.Short())

	if err := s.n.stop(s.alice); err != nil {
		return err
	}
	s.say("alice goes offline")
	if err := s.n.start(s.carol); err != nil {
		return err
	}
	s.say("carol comes online")
	if err := s.wait("carol's inbox to receive the mail", func() bool {
		n, _, err := s.carol.d.Inbox().Stats()
		return err == nil && n > 0
	}); err != nil {
		return err
	}
	s.say("bob hands the envelope over; carol opens it and verifies alice as the sender")

	msg, err := retrieve(s.carol)
	if err != nil {
		return fmt.Errorf("carol's POP3: %w", err)
	}
	if !strings.Contains(msg, subject) {
		return fmt.Errorf("carol's POP3 served a mail without the subject %q", subject)
	}
	from := header(msg, "X-Toxmail-Sender-Key")
	s.path = atoi(header(msg, "X-Toxmail-Path"))
	if !strings.Contains(strings.ToUpper(from), s.alice.id.PublicKey().String()) {
		return fmt.Errorf("carol's mail names the sender key %q, want alice's", from)
	}
	s.delivered = true
	s.say("carol's POP3 (%s) serves it: %q, sender verified as alice, %d friend links", s.carol.d.POP3Addr(), subject, s.path)

	if err := s.wait("bob to drop his copy on carol's ack", func() bool { return !s.bob.d.Node().Holds(id) && s.bob.d.Node().HasAck(id) }); err != nil {
		return err
	}
	s.say("carol's ack reaches bob, who drops his copy")

	if err := s.n.start(s.alice); err != nil {
		return err
	}
	s.say("alice comes back online")
	if err := s.wait("alice to see the mail delivered", func() bool {
		e, ok := s.alice.d.Node().OutboxEntry(id)
		return ok && e.Status == mesh.StatusDelivered
	}); err != nil {
		return err
	}
	s.ackSeen = true
	s.say("alice's outbox shows the mail delivered (bob handed her carol's ack)")
	return nil
}

// sendMail submits a mail over the member's SMTP server with AUTH PLAIN.
func sendMail(m *member, to, subject string) error {
	addr := m.d.SMTPAddr()
	host, _, _ := net.SplitHostPort(addr)
	auth := smtp.PlainAuth("", m.name, m.password, host)
	from := m.id.String() + "@tox"
	body := "From: alice <" + from + ">\r\nTo: carol <" + to + ">\r\nSubject: " + subject +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nHi carol,\r\n\r\nthis travelled through bob while one of us was always offline.\r\n"
	return smtp.SendMail(addr, auth, from, []string{to}, []byte(body))
}

// retrieve fetches message 1 over POP3 (USER/PASS, RETR, QUIT).
func retrieve(m *member) (string, error) {
	c, err := net.DialTimeout("tcp", m.d.POP3Addr(), 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	line := func() (string, error) {
		l, err := r.ReadString('\n')
		if err == nil && !strings.HasPrefix(l, "+OK") {
			err = fmt.Errorf("server said %q", strings.TrimSpace(l))
		}
		return l, err
	}
	cmd := func(s string) (string, error) {
		if _, err := fmt.Fprintf(c, "%s\r\n", s); err != nil {
			return "", err
		}
		return line()
	}
	if _, err := line(); err != nil {
		return "", err
	}
	if _, err := cmd("USER " + m.name); err != nil {
		return "", err
	}
	if _, err := cmd("PASS " + m.password); err != nil {
		return "", err
	}
	if _, err := cmd("RETR 1"); err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if l == ".\r\n" {
			break
		}
		b.WriteString(strings.TrimPrefix(l, "."))
	}
	cmd("QUIT")
	return b.String(), nil
}

// header returns the first value of a header field of a raw mail.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

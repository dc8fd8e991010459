package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// SenderDirectory says what this node knows of a sender's key: the mail
// address it goes by and where that came from ("contacts", "tox1 DNS,
// unauthenticated", ...). The address book implements it.
type SenderDirectory interface {
	SenderAddress(key envelope.PublicKey) (address, source string, ok bool)
}

// MailboxConfig configures Mailbox.
type MailboxConfig struct {
	Inbox     *inbox.Inbox
	Directory SenderDirectory // nil: no sender is known by address
	Hostname  string          // names this node in Received; default "toxmail.local"
	Logger    *slog.Logger    // nil: discard
}

// Mailbox is the mesh.Mailbox of a node: it stores each opened mail in the
// inbox, exactly once per envelope, as delivery headers followed by the
// mail byte for byte as the sender submitted it.
//
// The delivery headers are
//
//	Received: from the toxmail mesh (sender key ...) by HOST; DATE
//	X-Toxmail-Sender-Key: the verified sender's public key (64 hex)
//	X-Toxmail-Sender-Address: the address that key goes by here, and its source
//	X-Toxmail-From-Check: pass, fail (the From header names someone else)
//	                      or none (the sender's key has no known address)
//	X-Toxmail-Path: friend links travelled (and the TTL the sender gave)
//	X-Toxmail-Sent: the sender's claimed time; X-Toxmail-Envelope: its ID
//
// Only the sender key is proven: it comes from the envelope's inner box.
// From is the sender's claim, checked against what this node knows of the
// key; a mismatch is flagged, never silently trusted.
type Mailbox struct {
	cfg MailboxConfig
	log *slog.Logger
}

var _ mesh.Mailbox = (*Mailbox)(nil)

// NewMailbox returns a Mailbox over cfg.Inbox.
func NewMailbox(cfg MailboxConfig) (*Mailbox, error) {
	if cfg.Inbox == nil {
		return nil, errors.New("gateway: NewMailbox needs an Inbox")
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "toxmail.local"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Mailbox{cfg: cfg, log: cfg.Logger}, nil
}

// tempError marks inbox failures as worth retrying (mesh.Temporary).
type tempError struct{ err error }

func (e tempError) Error() string   { return e.err.Error() }
func (e tempError) Unwrap() error   { return e.err }
func (e tempError) Temporary() bool { return true }

// Deliver implements mesh.Mailbox. Storage failures are temporary (the
// mesh retries) except a mail over the inbox's size limit.
func (m *Mailbox) Deliver(d *mesh.Delivery) error {
	l := d.Letter
	hdr := m.DeliveryHeaders(d)
	meta := inbox.Meta{Sender: l.Sender, PathLength: l.PathLength(), Created: l.Created, KeepUntil: l.Expiry}
	msg := make([]byte, 0, len(hdr)+len(l.Body))
	msg = append(append(msg, hdr...), l.Body...)
	added, err := m.cfg.Inbox.Deliver(inbox.EnvelopeID(l.ID), meta, msg)
	if err != nil {
		if errors.Is(err, inbox.ErrTooLarge) {
			return fmt.Errorf("gateway: storing mail %s: %w", l.ID.Short(), err)
		}
		return tempError{fmt.Errorf("gateway: storing mail %s: %w", l.ID.Short(), err)}
	}
	if added {
		m.log.Info("mail stored", "id", l.ID, "sender", l.Sender, "bytes", len(msg))
	}
	return nil
}

// DeliveryHeaders returns the header lines Deliver puts before the mail.
func (m *Mailbox) DeliveryHeaders(d *mesh.Delivery) []byte {
	l := d.Letter
	key := l.Sender.String()
	addr, source, known := "", "", false
	if m.cfg.Directory != nil {
		addr, source, known = m.cfg.Directory.SenderAddress(l.Sender)
	}
	check, why := fromCheck(l.Body, l.Sender, addr, known)
	received := d.Received
	if received.IsZero() {
		received = time.Now()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from the toxmail mesh (sender key %s)\r\n\tby %s with toxmail; %s\r\n",
		l.Sender.Short(), clean(m.cfg.Hostname), received.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "X-Toxmail-Sender-Key: %s\r\n", key)
	if known {
		fmt.Fprintf(&b, "X-Toxmail-Sender-Address: %s (%s)\r\n", clean(addr), clean(source))
	} else {
		b.WriteString("X-Toxmail-Sender-Address: unknown (not in the address book)\r\n")
	}
	fmt.Fprintf(&b, "X-Toxmail-From-Check: %s (%s)\r\n", check, why)
	fmt.Fprintf(&b, "X-Toxmail-Path: %d hops (TTL %d)\r\n", l.PathLength(), l.TTL)
	fmt.Fprintf(&b, "X-Toxmail-Sent: %s\r\n", l.Created.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "X-Toxmail-Envelope: %s\r\n", l.ID)
	return b.Bytes()
}

// fromCheck compares the mail's From address with what is known of the
// sender's key.
func fromCheck(body []byte, sender envelope.PublicKey, known string, isKnown bool) (result, why string) {
	from, err := headerFrom(body)
	if err != nil {
		return "fail", "no readable From header: " + err.Error()
	}
	switch {
	case isOwnToxAddress(from, sender):
		return "pass", "From is the sender's own Tox ID"
	case isKnown && strings.EqualFold(from, known):
		return "pass", "From matches the address book"
	case isKnown:
		return "fail", fmt.Sprintf("From says %s, but the sender's key goes by %s", clean(from), clean(known))
	}
	return "none", fmt.Sprintf("From says %s; the sender's key has no known address", clean(from))
}

// isOwnToxAddress reports whether addr is "<Tox ID>@tox" (76 hex digits)
// or "<public key>@tox" (64) for the key.
func isOwnToxAddress(addr string, key envelope.PublicKey) bool {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || !strings.EqualFold(domain, "tox") {
		return false
	}
	if id, err := ParseToxID(local); err == nil {
		return id.PublicKey() == key
	}
	return strings.EqualFold(local, key.String())
}

// headerFrom reads only the header of a mail and returns its From address.
func headerFrom(body []byte) (string, error) {
	r := bufio.NewReader(io.LimitReader(bytes.NewReader(body), 64<<10))
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return "", err
	}
	list, err := msg.Header.AddressList("From")
	if err != nil {
		return "", err
	}
	if len(list) != 1 {
		return "", fmt.Errorf("%d From addresses", len(list))
	}
	return list[0].Address, nil
}

// clean keeps a header value on one line and printable.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

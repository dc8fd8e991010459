package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/internal/charset"
	"github.com/toxmail/toxmail/internal/plural"
	"github.com/toxmail/toxmail/mesh"
)

// SenderDirectory says what this node knows of keys and addresses: the
// mail address a key goes by and where that came from ("contacts", ...),
// and the key an address belongs to. The address book implements it.
type SenderDirectory interface {
	SenderAddress(key envelope.PublicKey) (address, source string, ok bool)
	AddressKey(address string) (envelope.PublicKey, bool)
}

// MailboxConfig configures Mailbox.
type MailboxConfig struct {
	Inbox     *inbox.Inbox
	Directory SenderDirectory // nil: no sender is known by address
	Hostname  string          // names this node in Received; default "toxmail.local"
	// TTL is the hop limit the node gives its mail (mesh.Config.TTL),
	// for non-delivery reports: with TTL 1 a mail never offered means the
	// recipient was never online as a friend, not that no friend was. 0:
	// unknown.
	TTL uint8
	// SpaceCheck, if set, is asked before each mail is stored; an error
	// defers the delivery (a temporary error: the mesh tries again).
	SpaceCheck func() error
	Logger     *slog.Logger // nil: discard
}

// Mailbox is the mesh.Mailbox of a node: it stores each opened mail in the
// inbox, exactly once per envelope, as delivery headers followed by the
// mail byte for byte as the sender submitted it — except that header
// fields the sender wrote as X-Toxmail-* are renamed X-Sender-Toxmail-*
// (and an X-Toxmail-Renamed field says so), so that only this node's
// fields carry its name; that lone CRs and LFs become CRLF; and that a
// mail with no header (headerless) gets an empty line before it.
//
// The delivery headers are
//
//	Received: from the toxmail mesh (sender key ...) by HOST; DATE
//	X-Toxmail-Sender-Key: the verified sender's public key (64 hex)
//	X-Toxmail-Sender-Address: the address that key goes by here, and its source
//	                          (or the contact's name, if it has no address)
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
// mesh retries) except a mail over the inbox's size limit. A full inbox
// (inbox.ErrOverQuota) is one of them: the mail waits in the network, held
// by its sender and relays, until the owner deletes mail. The owner's own
// mail to themselves (From is zero) is exempt from the quota.
func (m *Mailbox) Deliver(d *mesh.Delivery) error {
	l := d.Letter
	body := canonicalCRLF(l.Body)
	hdr := m.deliveryHeaders(d, body)
	body, renamed := renameOurFields(body)
	if renamed > 0 {
		hdr = fmt.Appendf(hdr, "X-Toxmail-Renamed: %d field(s) the sender wrote as X-Toxmail-* are below as X-Sender-Toxmail-*\r\n", renamed)
		m.log.Warn("mail carried its own X-Toxmail fields; renamed", "id", l.ID, "fields", renamed)
	}
	if headerless(body) {
		hdr = append(hdr, "\r\n"...) // the mail is all body: keep it out of the header
	}
	if m.cfg.SpaceCheck != nil {
		if err := m.cfg.SpaceCheck(); err != nil {
			return tempError{fmt.Errorf("gateway: mail %s not stored for now: %w", l.ID.Short(), err)}
		}
	}
	meta := inbox.Meta{Sender: l.Sender, PathLength: l.PathLength(), Created: l.Created, KeepUntil: l.Expiry}
	msg := make([]byte, 0, len(hdr)+len(body))
	msg = append(append(msg, hdr...), body...)
	deliver := m.cfg.Inbox.Deliver
	if d.From == (mesh.FriendKey{}) {
		// The owner's copy of their own mail: they chose to send it, so
		// the quota, which keeps others from filling the disk, lets it by.
		deliver = m.cfg.Inbox.DeliverExempt
	}
	added, err := deliver(inbox.EnvelopeID(l.ID), meta, msg)
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
	return m.deliveryHeaders(d, canonicalCRLF(d.Letter.Body))
}

// deliveryHeaders is DeliveryHeaders for the mail's body with its line
// endings made CRLF.
func (m *Mailbox) deliveryHeaders(d *mesh.Delivery, body []byte) []byte {
	l := d.Letter
	key := l.Sender.String()
	addr, source, known := "", "", false
	if m.cfg.Directory != nil {
		addr, source, known = m.cfg.Directory.SenderAddress(l.Sender)
	}
	check, why := m.fromCheck(body, l.Sender, addr, known)
	received := d.Received
	if received.IsZero() {
		received = time.Now()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from the toxmail mesh (sender key %s)\r\n\tby %s with toxmail; %s\r\n",
		l.Sender.Short(), clean(m.cfg.Hostname), received.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "X-Toxmail-Sender-Key: %s\r\n", key)
	switch name, named := m.contactName(l.Sender); {
	case known:
		fmt.Fprintf(&b, "X-Toxmail-Sender-Address: %s (%s)\r\n", clean(addr), clean(source))
	case named:
		fmt.Fprintf(&b, "X-Toxmail-Sender-Address: none (address book contact %q, known by Tox ID only)\r\n", clean(name))
	default:
		b.WriteString("X-Toxmail-Sender-Address: unknown (not in the address book)\r\n")
	}
	fmt.Fprintf(&b, "X-Toxmail-From-Check: %s (%s)\r\n", check, clip(clean(why), 400))
	fmt.Fprintf(&b, "X-Toxmail-Path: %s (TTL %d)\r\n", plural.Count(l.PathLength(), "hop"), l.TTL)
	fmt.Fprintf(&b, "X-Toxmail-Sent: %s\r\n", l.Created.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "X-Toxmail-Envelope: %s\r\n", l.ID)
	return b.Bytes()
}

// fromCheck compares the mail's From with what is known of the sender's
// key and of the From address: "pass" when they agree, "fail" when the From
// names someone else (another key, or an address another key goes by) or
// cannot be read, "none" when nothing is known either way.
func (m *Mailbox) fromCheck(body []byte, sender envelope.PublicKey, known string, isKnown bool) (result, why string) {
	if len(body) > 0 && (body[0] == ' ' || body[0] == '\t') {
		return "fail", "the mail starts with white space, which would continue these headers"
	}
	fromAddr, err := headerFrom(body)
	if err != nil {
		return "fail", "no single readable From: " + err.Error()
	}
	from := fromAddr.Address
	if shown, ok := nameShowsAddress(fromAddr.Name, from); ok {
		return "fail", fmt.Sprintf("the From name shows the address %s, but the mail is from %s", shown, from)
	}
	if key, ok := toxAddressKey(from); ok {
		if key == sender {
			return "pass", "From is the sender's own Tox ID"
		}
		return "fail", fmt.Sprintf("From is the Tox ID of %s, but the sender is %s", key.Short(), sender.Short())
	}
	if local, domain, _ := strings.Cut(from, "@"); strings.EqualFold(domain, ToxDomain) && looksLikeToxID(local) {
		// A Tox ID with a digit changed (its checksum redone, or not)
		// reads almost as someone's real one: it is no one's.
		return "fail", "From is a Tox address that is no valid Tox ID, so not the sender's (a look-alike of one?)"
	}
	if c, ok := m.contactAtTox(from); ok {
		// NAME@tox is the contact named NAME, as RCPT TO reads it.
		if key := c.ID.PublicKey(); key != sender {
			return "fail", fmt.Sprintf("From says %s, the contact %s is %s in the address book, but the sender is %s",
				from, c.Name, key.Short(), sender.Short())
		}
		return "pass", "From is the sender's name in the address book at @tox"
	}
	if m.cfg.Directory != nil {
		if key, ok := m.cfg.Directory.AddressKey(from); ok {
			if key == sender {
				return "pass", "From matches the address book"
			}
			return "fail", fmt.Sprintf("From says %s, who is %s in the address book, but the sender is %s", from, key.Short(), sender.Short())
		}
	}
	if isKnown && !strings.EqualFold(from, known) {
		return "fail", fmt.Sprintf("From says %s, but the sender's key goes by %s", from, known)
	}
	return "none", fmt.Sprintf("From says %s; nothing links that address to the sender's key", from)
}

// contactName returns the name of the contact whose key sent a mail, if
// the directory can tell (a ContactBook can).
func (m *Mailbox) contactName(sender envelope.PublicKey) (string, bool) {
	byKey, ok := m.cfg.Directory.(interface {
		ByKey(envelope.PublicKey) (Contact, bool)
	})
	if !ok {
		return "", false
	}
	c, ok := byKey.ByKey(sender)
	return c.Name, ok && c.Name != ""
}

// contactAtTox returns the contact that "NAME@tox" names, if the
// directory can look names up (a ContactBook can).
func (m *Mailbox) contactAtTox(addr string) (Contact, bool) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || !strings.EqualFold(domain, ToxDomain) || checkContactName(local) != nil {
		return Contact{}, false
	}
	lookup, ok := m.cfg.Directory.(interface {
		Lookup(string) (Contact, bool)
	})
	if !ok {
		return Contact{}, false
	}
	c, ok := lookup.Lookup(local)
	return c, ok && strings.EqualFold(c.Name, local)
}

// toxAddressKey returns the key of "<Tox ID>@tox" (76 hex digits) or
// "<public key>@tox" (64).
func toxAddressKey(addr string) (envelope.PublicKey, bool) {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || !strings.EqualFold(domain, "tox") {
		return envelope.PublicKey{}, false
	}
	if id, err := ParseToxID(local); err == nil {
		return id.PublicKey(), true
	}
	if k, err := envelope.ParsePublicKey(local); err == nil {
		return k, true
	}
	return envelope.PublicKey{}, false
}

// headerFrom reads the whole header of a mail and returns its From
// address. It counts the From fields itself, allowing white space before
// the colon as RFC 5322 §4.5.3 does (Go's parser does not read "From :" as
// a From field, but a mail client may show it): anything but exactly one
// is an error.
func headerFrom(body []byte) (*mail.Address, error) {
	hdr := body[:headerEnd(body)]
	if n := countFields(hdr, "From"); n != 1 {
		return nil, fmt.Errorf("%d From fields", n)
	}
	msg, err := mail.ReadMessage(io.MultiReader(bytes.NewReader(tightColons(hdr)), strings.NewReader("\r\n")))
	if err != nil {
		return nil, err
	}
	// The display name's charset must not decide whether the address
	// reads: decode every charset mail clients use.
	parser := mail.AddressParser{WordDecoder: charset.WordDecoder()}
	list, err := parser.ParseList(msg.Header.Get("From"))
	if err != nil {
		return nil, err
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("%d From addresses", len(list))
	}
	return list[0], nil
}

// atSpaces is an @ with white space around it.
var atSpaces = regexp.MustCompile(`\s*@\s*`)

// nameShowsAddress reports whether a From display name (or comment, which
// net/mail reads as the name) shows a mail address other than addr:
// `"alice@example.org" <mallory@evil.example>` shows alice to a reader
// whose client prints names, while the check can only judge mallory's
// address. A word counts as an address when it has text before its @ and
// a domain with a dot (or the @tox pseudo-domain) after it. The name is
// read as a reader sees it: compatibility characters as the ones they
// look like (NFKC: a fullwidth ＠, a one-dot leader for a dot), and white
// space around an @ dropped ("ceo @ bank.example").
func nameShowsAddress(name, addr string) (string, bool) {
	name = atSpaces.ReplaceAllString(norm.NFKC.String(name), "@")
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`<>"'()[],;`, r)
	}) {
		local, domain, ok := strings.Cut(w, "@")
		if !ok || local == "" || !(strings.Contains(strings.Trim(domain, "."), ".") || strings.EqualFold(domain, ToxDomain)) {
			continue
		}
		if !strings.EqualFold(w, addr) {
			return w, true
		}
	}
	return "", false
}

// tightColons returns the header section with the white space between each
// field's name and its colon removed (RFC 5322 §4.5.3 allows it, Go's
// parser does not), so that the parser reads the fields countFields counts.
func tightColons(hdr []byte) []byte {
	var out []byte
	off := 0
	for line := range bytes.Lines(hdr) {
		start := off
		off += len(line)
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			if out != nil {
				out = append(out, line...)
			}
			continue
		}
		field, rest, ok := bytes.Cut(line, []byte(":"))
		name := bytes.TrimRight(field, " \t")
		if !ok || len(name) == len(field) {
			if out != nil {
				out = append(out, line...)
			}
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(hdr)), hdr[:start]...)
		}
		out = append(append(append(out, name...), ':'), rest...)
	}
	if out == nil {
		return hdr
	}
	return out
}

// countFields counts the fields named name (any case) in a header section
// whose lines end in CRLF, allowing white space between the name and the
// colon.
func countFields(hdr []byte, name string) int {
	n := 0
	name = strings.ToLower(name)
	for line := range bytes.Lines(hdr) {
		if fieldName(line) == name {
			n++
		}
	}
	return n
}

// ourPrefix starts every header field this node adds on delivery.
const ourPrefix = "x-toxmail-"

// renameOurFields renames header fields in the sender's mail that start
// with X-Toxmail- to X-Sender-Toxmail-, so that no mail filter takes the
// sender's word for what only this node can say (RFC 8601 §5 asks the same
// for Authentication-Results). It is the one change made to the mail as
// submitted; it returns the mail (a copy if changed) and how many fields
// it renamed.
func renameOurFields(body []byte) ([]byte, int) {
	end := headerEnd(body)
	n := 0
	var out []byte
	for i := 0; i < end; {
		j := bytes.IndexByte(body[i:end], '\n')
		line := body[i:end]
		if j >= 0 {
			line = body[i : i+j+1]
		}
		if len(line) >= len(ourPrefix) && strings.EqualFold(string(line[:len(ourPrefix)]), ourPrefix) {
			if out == nil {
				out = append(make([]byte, 0, len(body)+64), body[:i]...)
			}
			out = append(out, "X-Sender-Toxmail-"...)
			out = append(out, line[len(ourPrefix):]...)
			n++
		} else if out != nil {
			out = append(out, line...)
		}
		i += len(line)
	}
	if out == nil {
		return body, 0
	}
	return append(out, body[end:]...), n
}

// headerEnd returns the length of the header section of a mail whose line
// endings are CRLF: up to and including the CRLF of its last field, 0 when
// the mail starts with the empty line, the whole mail when it has none.
func headerEnd(body []byte) int {
	if bytes.HasPrefix(body, []byte("\r\n")) {
		return 0
	}
	if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
		return i + 2
	}
	return len(body)
}

// canonicalCRLF returns the mail with every line ending CRLF: a lone CR and
// a LF without CR before it each become CRLF (RFC 5322 §2.3 allows CR and
// LF only together). The From check, the renaming of X-Toxmail fields and
// every mail client then see the same lines: a lone CR that one parser
// reads as a line break and another as a byte of a field would let a
// sender show a client a From the check never saw. It returns body itself
// when nothing changes.
func canonicalCRLF(body []byte) []byte {
	extra := 0
	for i, c := range body {
		switch {
		case c == '\r' && (i+1 == len(body) || body[i+1] != '\n'):
			extra++
		case c == '\n' && (i == 0 || body[i-1] != '\r'):
			extra++
		}
	}
	if extra == 0 {
		return body
	}
	out := make([]byte, 0, len(body)+extra)
	for i, c := range body {
		switch {
		case c == '\r' && (i+1 == len(body) || body[i+1] != '\n'):
			out = append(out, '\r', '\n')
		case c == '\n' && (i == 0 || body[i-1] != '\r'):
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// clip cuts s to at most n bytes, on a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
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

package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/internal/charset"
	"github.com/toxmail/toxmail/internal/plural"
	"github.com/toxmail/toxmail/mesh"
)

// Non-delivery reports. When mail the user sent expires before its
// recipient acknowledged it, the node puts a report of it in the user's own
// inbox, so the mail client shows it as it shows any mail server's bounce:
// a multipart/report of RFC 3464 (a text for people and a
// message/delivery-status part for programs), from MAILER-DAEMON, with
// In-Reply-To naming the mail's Message-ID so clients thread it under the
// mail. The node never sends a report across the mesh.

// reportDomain separates report IDs from envelope IDs (which hash whole
// envelopes) and from reports of another kind.
const reportDomain = "toxmail non-delivery report v1\x00"

// ReportID is the inbox ID under which the report of sent mail id is
// stored. The inbox stores an ID once, so a report is stored once however
// often it is asked for.
func ReportID(id envelope.ID) inbox.EnvelopeID {
	h := sha256.New()
	h.Write([]byte(reportDomain))
	h.Write(id[:])
	var r inbox.EnvelopeID
	h.Sum(r[:0])
	return r
}

// ReportExpired stores in the inbox the non-delivery report of o, sent mail
// that expired undelivered (its Status is mesh.StatusExpired), dated now.
// The inbox remembers the report until keepUntil even after the user
// deletes it, so asking again before then stores nothing: added is false.
// Pass a keepUntil no earlier than the outbox could forget o, under any
// retention it may be given (o's expiry plus mesh.MaxOutboxRetention): a
// report the user deleted would otherwise come back. A failure to store is
// returned as it is; nothing is half-stored.
func (m *Mailbox) ReportExpired(o mesh.OutboxEntry, keepUntil, now time.Time) (added bool, err error) {
	if o.Status != mesh.StatusExpired {
		return false, fmt.Errorf("gateway: mail %s is %v, not expired: no report", o.ID.Short(), o.Status)
	}
	rid := ReportID(o.ID)
	if has, err := m.cfg.Inbox.Has(rid); err == nil && has {
		return false, nil // stored before: nothing to do, whatever the disk's room
	}
	if m.cfg.SpaceCheck != nil {
		if err := m.cfg.SpaceCheck(); err != nil {
			return false, fmt.Errorf("gateway: report of mail %s not stored for now: %w", o.ID.Short(), err)
		}
	}
	msg := m.expiryReport(o, now)
	meta := inbox.Meta{PathLength: 0, Created: now, KeepUntil: keepUntil}
	added, err = m.cfg.Inbox.DeliverExempt(rid, meta, msg) // the owner's own mail made it
	if err != nil {
		return false, fmt.Errorf("gateway: storing the report of mail %s: %w", o.ID.Short(), err)
	}
	if added {
		m.log.Info("non-delivery report stored", "id", o.ID, "to", o.To, "bytes", len(msg))
	}
	return added, nil
}

// expiryReport writes the report of o: header, a plain-text part and a
// message/delivery-status part, with CRLF line ends.
func (m *Mailbox) expiryReport(o mesh.OutboxEntry, now time.Time) []byte {
	host := clean(m.cfg.Hostname)
	created := time.UnixMilli(o.Created).UTC()
	expired := time.Unix(o.Expiry, 0).UTC()
	lifetime := spanWords(expired.Sub(created))
	who, finalRcpt := m.recipientWords(o.To)
	origID, origSubject := splitLabel(o.Label)
	boundary := "toxmail-report-" + o.ID.String()[:24]

	// Offered is set when an offer went out, not when a friend took the
	// mail: the words for it claim no more than that.
	offered := o.Offered != 0
	subject := "Undelivered mail to " + who + ": not sent within " + lifetime
	diagnostic := "never offered to a friend before the envelope expired"
	if m.cfg.TTL == 1 && o.Offered == 0 {
		diagnostic = "ttl 1: never offered, the recipient was not online as a friend before the envelope expired"
	}
	if offered {
		subject = "Delivery not confirmed within " + lifetime + ": mail to " + who
		diagnostic = "no acknowledgement from the recipient before the envelope expired"
	}

	var b bytes.Buffer
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteString("\r\n")
	}
	line("Return-Path: <>")
	line("Date: %s", now.UTC().Format(time.RFC1123Z))
	line("From: Mail Delivery System <MAILER-DAEMON@%s>", host)
	// Encoded words are at most 75 characters; each goes on a line of its
	// own (RFC 2047 section 2), so a long subject folds.
	line("Subject: %s", strings.ReplaceAll(mime.QEncoding.Encode("utf-8", subject), "?= =?", "?=\r\n =?"))
	line("Message-ID: <report.%s@%s>", hex.EncodeToString(o.ID[:12]), host)
	if origID != "" {
		line("In-Reply-To: %s", origID)
		line("References: %s", origID)
	}
	line("Auto-Submitted: auto-replied")
	line("X-Toxmail-Envelope: %s", o.ID)
	line("MIME-Version: 1.0")
	line("Content-Type: multipart/report; report-type=delivery-status;")
	line("\tboundary=\"%s\"", boundary)
	line("Content-Transfer-Encoding: 8bit") // the text part may hold UTF-8
	line("")
	line("This is a delivery status notification in MIME format.")
	line("")

	line("--%s", boundary)
	line("Content-Type: text/plain; charset=utf-8")
	line("Content-Transfer-Encoding: 8bit")
	line("")
	if offered {
		line("Your mail to %s was not confirmed delivered within its", who)
		line("lifetime of %s, so it has expired: relays have dropped their copies,", lifetime)
		line("and if it has not arrived by now, it will not.")
	} else {
		line("Your mail to %s was not sent within its lifetime of %s:", who, lifetime)
		line("it has expired without ever leaving your node, and was not delivered.")
	}
	line("")
	line("  To:          %s", who)
	line("  Tox key:     %s", o.To)
	if origSubject != "" {
		line("  Subject:     %s", origSubject)
	}
	if origID != "" {
		line("  Message-ID:  %s", origID)
	}
	line("  Sent:        %s", created.Format(time.RFC1123Z))
	line("  Expired:     %s", expired.Format(time.RFC1123Z))
	if offered {
		line("  Offered:     %s (first offered to a friend)", time.UnixMilli(o.Offered).UTC().Format(time.RFC1123Z))
		line("")
		line("Your node offered the mail to its friends, but no acknowledgement")
		line("from the recipient's node came back before the mail expired. Most")
		line("often the mail did not arrive: no friend took it (it was too large")
		line("for them, or they had no room), the recipient was not online where a")
		line("copy was, or no copy came within reach. It may also have arrived, and")
		line("only the acknowledgement came too late: for instance while your node")
		line("was offline near the end of the mail's lifetime. Ask the recipient")
		line("before you send it again.")
	} else {
		line("  Offered:     never")
		line("")
		if m.cfg.TTL == 1 {
			// The last hop goes only to the recipient (the tag), so with
			// ttl 1 no other friend may take the mail.
			line("Your ttl is 1 (the [mesh] section of toxmail.toml), which lets")
			line("your node hand mail only to the recipient itself, as your Tox friend,")
			line("and the recipient was never online as one before the mail expired:")
			line("with ttl 1, mail reaches only your friends. Raise ttl to let your")
			line("friends carry it on.")
		} else {
			line("No friend of yours was online to take the mail before it expired.")
		}
	}
	line("")
	line("What you can do: send the mail again. It travels further and waits")
	line("longer with a higher ttl or lifetime in the [mesh] section of")
	line("toxmail.toml, and arrives sooner if you and the recipient are friends,")
	line("or share a friend who is often online.")
	line("")

	line("--%s", boundary)
	line("Content-Type: message/delivery-status")
	line("")
	line("Reporting-MTA: dns; %s", host)
	line("X-Toxmail-Envelope: %s", o.ID)
	line("Arrival-Date: %s", created.Format(time.RFC1123Z))
	line("")
	line("Final-Recipient: %s", finalRcpt)
	line("Action: failed")
	line("Status: 4.4.7")
	line("Diagnostic-Code: X-TOXMAIL; %s", diagnostic)
	line("Last-Attempt-Date: %s", expired.Format(time.RFC1123Z))
	line("")
	line("--%s--", boundary)
	return b.Bytes()
}

// recipientWords names the recipient key k for people (the contact's name
// and address as the address book has them, else the key) and as a
// Final-Recipient field value of RFC 3464: an rfc822 address where one is
// known in ASCII, else the key under the type X-TOX.
func (m *Mailbox) recipientWords(k envelope.PublicKey) (who, finalRcpt string) {
	var name, addr string
	var named, known bool
	if m.cfg.Directory != nil {
		name, named = m.contactName(k)
		addr, _, known = m.cfg.Directory.SenderAddress(k)
	}
	name, addr = clip(clean(name), 64), clip(clean(addr), 255)
	rcpt := ""
	switch {
	case named && known:
		who, rcpt = fmt.Sprintf("%s <%s>", name, addr), addr
	case known:
		who, rcpt = addr, addr
	case named:
		who = name + "@tox"
		rcpt = who
	default:
		who = "Tox key " + k.Short() + "…"
	}
	if rcpt == "" || !isASCII(rcpt) {
		return who, "X-TOX; " + k.String()
	}
	return who, "rfc822; " + rcpt
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// noMessageID starts the outbox label of a mail that has a Subject but no
// Message-ID, so that a Subject which itself starts like a Message-ID is
// not read as one.
const noMessageID = "(no Message-ID) "

// splitLabel reads an outbox label as the SMTP server writes it
// (outboxLabel): the mail's Message-ID, if it starts with one that can go
// into a header field (messageIDField), and then its Subject, decoded from
// RFC 2047 words where it can be and cleaned of control characters.
// Labels written before Subjects were kept hold a Message-ID only.
func splitLabel(label string) (msgID, subject string) {
	if rest, ok := strings.CutPrefix(label, noMessageID); ok {
		label = rest
	} else if strings.HasPrefix(label, "<") {
		if end := strings.IndexByte(label, '>'); end > 0 {
			if id := messageIDField(label[:end+1]); id != "" {
				msgID, label = id, label[end+1:]
			}
		}
	}
	subject = strings.TrimSpace(label)
	return msgID, clip(clean(charset.DecodeHeader(subject)), 200)
}

// labelText is an outbox label for people, as the dashboard shows it: the
// Message-ID, if any, and the Subject decoded.
func labelText(label string) string {
	id, subject := splitLabel(label)
	return strings.TrimSpace(id + " " + subject)
}

// messageIDField returns label as a msg-id ("<left@right>") if it is one
// that can go into a header field as it is, else "".
func messageIDField(label string) string {
	if len(label) < 5 || len(label) > 250 || label[0] != '<' || label[len(label)-1] != '>' ||
		!strings.Contains(label, "@") {
		return ""
	}
	for i := 1; i < len(label)-1; i++ {
		if c := label[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return ""
		}
	}
	return label
}

// spanWords writes d, rounded to the minute, in its largest whole unit:
// "7 days", "36 hours", "90 minutes".
func spanWords(d time.Duration) string {
	d = max(d.Round(time.Minute), time.Minute)
	switch {
	case d%(24*time.Hour) == 0:
		return plural.Count(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		return plural.Count(int(d/time.Hour), "hour")
	}
	return plural.Count(int(d/time.Minute), "minute")
}

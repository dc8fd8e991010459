package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
)

// Completing a submitted mail's header. RFC 5322 §3.6 requires From and
// Date fields and asks for a Message-ID; a client that leaves them out (a
// script piping to sendmail, `curl --upload-file`) expects the submission
// server to add them, as RFC 6409 §8 lets it complete a message (§8.2 and
// §8.3 name Date and Message-ID) and as sendmail, Postfix and Exim do.
// Without them the mail shows no sender, the recipient's client sorts it
// by when it was fetched, replies cannot thread, and a non-delivery report
// cannot say which mail it is about.

// messageIDDomain is the right side of the message IDs the server makes:
// a name that tells the recipients nothing (not the configured SMTP
// domain, which may be the machine's name), under the reserved .invalid
// (RFC 2606); 128 random bits make the ID unique.
const messageIDDomain = "toxmail.invalid"

// completeHeader returns body with, put before its header when it has
// none, a From field with from (when from is not empty), a Date field
// (now, in UTC, so as not to tell the recipients the sender's time zone)
// and a Message-ID field (<time.random@toxmail.invalid>), and which it
// added. It adds them in that order, each only if the mail then grows by
// at most room bytes, so a mail near the size limit gets what fits. Each
// new field ends with CRLF; a mail with no header (headerless), which has
// none of them whatever its text says, gets an empty line after them.
// body is returned as it is when nothing is added.
func completeHeader(body []byte, now time.Time, from string, room int64) (out []byte, added []string) {
	hl := headerless(body)
	var fields []byte
	if hl {
		room -= 2 // the empty line that ends the new header
	}
	add := func(name string, value func() string) {
		if !hl && hasField(body, strings.ToLower(name)) {
			return
		}
		f := name + ": " + value() + "\r\n"
		if int64(len(fields)+len(f)) > room {
			return
		}
		fields = append(fields, f...)
		added = append(added, name)
	}
	if from != "" {
		add("From", func() string { return from })
	}
	add("Date", func() string { return now.UTC().Format(time.RFC1123Z) })
	add("Message-ID", func() string { return newMessageID(now) })
	if len(fields) == 0 {
		return body, nil
	}
	if hl {
		fields = append(fields, "\r\n"...) // the mail is all body
	}
	return append(fields, body...), added
}

// OwnFrom is the From field a node puts in a mail submitted without one:
// its own address, <Tox ID>@tox, which the recipient's From check ties to
// the sender's key, named name (the node's nickname) unless that is empty
// or shows a mail address, which the check would take for a forgery. The
// name is quoted or RFC 2047-encoded as it needs.
func OwnFrom(name string, id ToxID) string {
	addr := id.Address()
	if _, shows := nameShowsAddress(name, addr); shows {
		name = ""
	}
	return (&mail.Address{Name: strings.TrimSpace(name), Address: addr}).String()
}

// newMessageID returns a globally unique message ID (RFC 5322 §3.6.4):
// the UTC time and 128 random bits, at messageIDDomain.
func newMessageID(now time.Time) string {
	var r [16]byte
	rand.Read(r[:])
	return "<" + now.UTC().Format("20060102150405") + "." + hex.EncodeToString(r[:]) + "@" + messageIDDomain + ">"
}

// hasField reports whether the header section of body has a field named
// name (lower case): a field's first line, its name followed by a colon,
// white space before the colon allowed (RFC 5322's obsolete syntax, which
// mail clients read). The section ends at the first empty line; its lines
// end with CRLF, LF or CR, as the recipient's node reads them.
func hasField(body []byte, name string) bool {
	for len(body) > 0 {
		line, content := headerLine(body)
		body = body[len(line):]
		if len(content) == 0 {
			return false
		}
		if fieldName(content) == name {
			return true
		}
	}
	return false
}

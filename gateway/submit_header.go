package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Completing a submitted mail's header. RFC 5322 §3.6 requires a Date
// field and asks for a Message-ID; a client that leaves them out (a
// script piping to sendmail, `curl --upload-file`) expects the submission
// server to add them, as RFC 6409 §8.2 and §8.3 allow and as Postfix and
// Exim do. Without them the recipient's client sorts the mail by when it
// was fetched, replies cannot thread, and a non-delivery report cannot
// say which mail it is about.

// messageIDDomain is the right side of the message IDs the server makes:
// a name that tells the recipients nothing (not the configured SMTP
// domain, which may be the machine's name), under the reserved .invalid
// (RFC 2606); 128 random bits make the ID unique.
const messageIDDomain = "toxmail.invalid"

// completeHeader returns body with a Date field (now, in UTC, so as not to
// tell the recipients the sender's time zone), a Message-ID field
// (<time.random@toxmail.invalid>) and, when from is not empty, a From
// field with from, each put before its header when it has none, and which
// it added. Each new field ends with CRLF; a mail with no header
// (headerless) gets an empty line after them. body is returned as it is
// when it has them all.
func completeHeader(body []byte, now time.Time, from string) (out []byte, added []string) {
	var fields []byte
	if from != "" && !hasField(body, "from") {
		fields = append(fields, "From: "+from+"\r\n"...)
		added = append(added, "From")
	}
	if !hasField(body, "date") {
		fields = append(fields, "Date: "+now.UTC().Format(time.RFC1123Z)+"\r\n"...)
		added = append(added, "Date")
	}
	if !hasField(body, "message-id") {
		fields = append(fields, "Message-ID: "+newMessageID(now)+"\r\n"...)
		added = append(added, "Message-ID")
	}
	if len(fields) == 0 {
		return body, nil
	}
	if headerless(body) {
		fields = append(fields, "\r\n"...) // the mail is all body
	}
	return append(fields, body...), added
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

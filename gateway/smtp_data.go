package gateway

import (
	"bytes"
	"fmt"
	"io"
)

// The checks of a mail's bytes as SMTP DATA or BDAT delivered them, once
// all of them have been read, so that a refusal is the reply to the whole
// mail and the session goes on (RFC 5321 §4.1.1.4).

// smtpMaxLineLength is the longest line a submitted mail may have, in
// octets with its line end. RFC 5321 §4.5.3.1.6 asks for 1,000; longer
// lines are taken, since mail clients send them, up to twice that. Past
// it a mail is refused with advice to encode it.
const smtpMaxLineLength = 2000

// smtpStreamLineLimit is go-smtp's own line limit, on the raw stream: for
// command lines, and for data lines as they arrive. It is far above
// smtpMaxLineLength so that a long data line is refused by checkBody after
// the end of the data, not by go-smtp in the middle of it (which answers at
// once and then drops the connection), and so that go-smtp, reading ahead
// into a BDAT chunk while it reads the command, does not find a line too
// long in the chunk's bytes. It bounds a command line's memory: 256 KiB
// for each of at most MaxConnections clients.
const smtpStreamLineLimit = 256 << 10

// unstuffBareLF removes the dot a client stuffed at the start of a line
// that a bare LF began. go-smtp takes only CRLF as a line end, so it
// unstuffs "\r\n..x" but leaves "\n..x" alone; yet a client that ends its
// lines with a bare LF stuffs after them (Python's smtplib does, given a
// message as bytes with LF ends), and delivery, which turns bare LFs into
// CRLF, would then show a doubled dot. A conforming client never sends a
// bare LF (RFC 5321 §2.3.8), so this changes nothing it sent.
func unstuffBareLF(body []byte) []byte {
	if !bytes.Contains(body, []byte("\n..")) {
		return body
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		out = append(out, body[i])
		if body[i] == '\n' && (i == 0 || body[i-1] != '\r') &&
			i+2 < len(body) && body[i+1] == '.' && body[i+2] == '.' {
			i++ // skip the stuffed dot; the next one is the line's own
		}
	}
	return out
}

// isBDAT reports whether go-smtp hands Data the mail of a BDAT transaction:
// v0.25.1 passes the chunks through an *io.PipeReader, and DATA's
// dot-unstuffing reader otherwise (TestSMTPBDATNotUnstuffed pins this).
func isBDAT(r io.Reader) bool {
	_, ok := r.(*io.PipeReader)
	return ok
}

// checkBody refuses a mail that POP3 clients and mail readers could not
// take as it is: a line longer than smtpMaxLineLength, or a NUL byte
// (RFC 5322 §2.3; toxmail does not offer BINARYMIME).
func checkBody(body []byte) error {
	for rest := body; len(rest) > 0; {
		n := bytes.IndexByte(rest, '\n') + 1
		if n == 0 {
			n = len(rest)
		}
		if n > smtpMaxLineLength {
			return smtpErr(554, [3]int{5, 6, 0}, fmt.Sprintf("line longer than %d octets: encode the message "+
				"(quoted-printable or base64)", smtpMaxLineLength))
		}
		rest = rest[n:]
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return smtpErr(554, [3]int{5, 6, 0}, "the message has a NUL byte, which mail may not carry: "+
			"encode the message (quoted-printable or base64)")
	}
	return nil
}

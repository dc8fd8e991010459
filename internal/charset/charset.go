// Package charset turns mail text in the charsets mail clients write into
// UTF-8: bodies by their Content-Type charset, and header fields through
// RFC 2047 encoded words. Names are looked up as the WHATWG Encoding
// Standard labels them (what browsers and most mail readers do), then as
// IANA names, so "latin1", "cp1252", "koi8-r", "shift_jis" and "gb2312"
// all work. Two WHATWG choices are not followed, being wrong for mail:
// ISO-2022-KR, ISO-2022-CN and HZ are not turned into a single U+FFFD
// (they keep their ASCII), and UTF-16 follows its byte-order mark and is
// big-endian without one (RFC 2781), not little-endian.
package charset

import (
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Lookup returns the encoding a charset name stands for, or nil if it is
// not known. Empty, "utf-8" and "us-ascii" are UTF-8 (ASCII is a subset).
// An RFC 2231 language suffix ("iso-8859-1*de") is ignored.
func Lookup(name string) encoding.Encoding {
	name, _, _ = strings.Cut(name, "*")
	name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`))
	switch name {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return encoding.Nop
	case "utf-16", "utf16":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM)
	}
	if e, err := htmlindex.Get(name); err == nil {
		if e == encoding.Replacement {
			return nil // WHATWG's answer to ISO-2022-KR and kin: all input becomes one U+FFFD
		}
		return e
	}
	if e, err := ianaindex.MIME.Encoding(name); err == nil && e != nil {
		return e
	}
	return nil
}

// ToUTF8 decodes b from the named charset. UTF-8, and any charset that
// is not known, keep their valid UTF-8 and have the rest replaced by
// U+FFFD, so the result is always valid UTF-8. A leading byte-order mark
// is dropped.
func ToUTF8(b []byte, name string) string {
	e := Lookup(name)
	if e != nil && e != encoding.Nop {
		if s, err := e.NewDecoder().Bytes(b); err == nil {
			b = s
		}
	}
	out := string(b)
	if !utf8.Valid(b) {
		out = strings.ToValidUTF8(out, "\uFFFD")
	}
	return strings.TrimPrefix(out, "\uFEFF")
}

// wordDecoder decodes RFC 2047 encoded words in every charset Lookup
// knows (mime.WordDecoder alone knows only UTF-8, ISO-8859-1 and
// US-ASCII). Its output is raw: DecodeHeader cleans it.
var wordDecoder = &mime.WordDecoder{CharsetReader: reader}

// WordDecoder returns a decoder of RFC 2047 encoded words in every charset
// Lookup knows, for net/mail's AddressParser: a display name in
// windows-1252 or KOI8-R must not make an address unreadable. A word in a
// charset it does not know keeps its bytes. Unlike DecodeHeader it does
// not clean its output.
func WordDecoder() *mime.WordDecoder { return &mime.WordDecoder{CharsetReader: reader} }

// reader is wordDecoder's CharsetReader. A word in a charset it does
// not know keeps its bytes, as ToUTF8 does, so that the field's other
// words still decode; DecodeHeader makes the result valid UTF-8.
func reader(name string, r io.Reader) (io.Reader, error) {
	e := Lookup(name)
	if e == nil {
		return r, nil
	}
	return transform.NewReader(r, e.NewDecoder()), nil
}

// DecodeHeader decodes the encoded words in a header field's value for
// display. A word in a charset it does not know keeps its valid UTF-8 (its
// ASCII, mostly); a malformed word (bad base64) stays as written, and the
// field's other words still decode. Each character then goes through
// DisplayRune, and the result is valid UTF-8. Words labelled ISO-8859-1
// are read as windows-1252, as ToUTF8 reads bodies: mail clients label
// windows-1252 text so, and its quotes and dashes would otherwise become
// C1 controls.
func DecodeHeader(value string) string {
	if s, err := wordDecoder.DecodeHeader(relabelLatin1(value)); err == nil {
		value = s
	}
	return strings.Map(DisplayRune, strings.ToValidUTF8(value, "\uFFFD"))
}

// DisplayRune maps a character of untrusted header text for display on
// one line, for strings.Map. Control characters (C0 but tab, DEL and C1)
// and the Unicode line and paragraph separators, which no header text
// means to show and which could make a subject look like several lines of
// a message, become spaces. The explicit bidirectional embeddings,
// overrides and isolates (U+202A–U+202E, U+2066–U+2069) are dropped: they
// could show a sender's address reversed ("moc.knab@") or carry a reversal
// past the field into the text after it, and right-to-left scripts show
// correctly without them. Every other character, the marks U+200E and
// U+200F included, is kept.
func DisplayRune(r rune) rune {
	switch {
	case r < 0x20 && r != '\t' || r >= 0x7f && r < 0xa0 || r == '\u2028' || r == '\u2029':
		return ' '
	case r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069':
		return -1
	}
	return r
}

// latin1Word is an RFC 2047 encoded word labelled ISO-8859-1: charset,
// encoding and text without a question mark. The text may hold spaces,
// which RFC 2047 forbids but some mailers write and mime.WordDecoder
// takes.
var latin1Word = regexp.MustCompile(`(?i)=\?iso-8859-1\?([bq])\?([^?]*)\?=`)

// relabelLatin1 renames the charset of encoded words labelled ISO-8859-1
// to windows-1252: mime.WordDecoder decodes that label itself, strictly,
// without asking its CharsetReader. Text outside such words is untouched.
func relabelLatin1(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	return latin1Word.ReplaceAllString(v, "=?windows-1252?$1?$2?=")
}

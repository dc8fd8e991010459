// Package charset turns mail text in the charsets mail clients write into
// UTF-8: bodies by their Content-Type charset, and header fields through
// RFC 2047 encoded words. Names are looked up as the WHATWG Encoding
// Standard labels them (what browsers and most mail readers do), then as
// IANA names, so "latin1", "cp1252", "koi8-r", "shift_jis" and "gb2312"
// all work.
package charset

import (
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/transform"
)

// Lookup returns the encoding a charset name stands for, or nil if it is
// not known. Empty, "utf-8" and "us-ascii" are UTF-8 (ASCII is a subset).
func Lookup(name string) encoding.Encoding {
	name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`))
	switch name {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return encoding.Nop
	}
	if e, err := htmlindex.Get(name); err == nil {
		return e
	}
	if e, err := ianaindex.MIME.Encoding(name); err == nil && e != nil {
		return e
	}
	return nil
}

// ToUTF8 decodes b from the named charset. UTF-8, and any charset that
// is not known, keep their valid UTF-8 and have the rest replaced by
// U+FFFD, so the result is always valid UTF-8.
func ToUTF8(b []byte, name string) string {
	e := Lookup(name)
	if e != nil && e != encoding.Nop {
		if s, err := e.NewDecoder().Bytes(b); err == nil {
			b = s
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// WordDecoder returns a decoder for RFC 2047 encoded words that knows
// every charset Lookup does (mime.WordDecoder alone knows only UTF-8,
// ISO-8859-1 and US-ASCII).
func WordDecoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: reader}
}

func reader(name string, r io.Reader) (io.Reader, error) {
	e := Lookup(name)
	if e == nil {
		return nil, fmt.Errorf("charset: unknown charset %q", name)
	}
	return transform.NewReader(r, e.NewDecoder()), nil
}

// DecodeHeader decodes the encoded words in a header field's value. Words
// it cannot decode (an unknown charset, bad base64) stay as they are, and
// the result is valid UTF-8.
func DecodeHeader(value string) string {
	if s, err := WordDecoder().DecodeHeader(value); err == nil {
		value = s
	}
	return strings.ToValidUTF8(value, "\uFFFD")
}

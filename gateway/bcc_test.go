package gateway

import (
	"bytes"
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

func TestStripBcc(t *testing.T) {
	cases := []struct {
		name, in, want string
		removed        int
	}{
		{"none", "From: a@x\r\nTo: b@y\r\n\r\nBcc: in the body stays\r\n", "From: a@x\r\nTo: b@y\r\n\r\nBcc: in the body stays\r\n", 0},
		{"one", "From: a@x\r\nBcc: c@z\r\nTo: b@y\r\n\r\nhi\r\n", "From: a@x\r\nTo: b@y\r\n\r\nhi\r\n", 1},
		{"folded", "From: a@x\r\nBCC: c@z,\r\n d@w,\r\n\te@v\r\nSubject: s\r\n\r\nhi\r\n", "From: a@x\r\nSubject: s\r\n\r\nhi\r\n", 1},
		{"resent and space before colon", "Resent-Bcc: c@z\r\nbcc : d@w\r\nFrom: a@x\r\n\r\n", "From: a@x\r\n\r\n", 2},
		{"LF line ends", "From: a@x\nBcc: c@z\nTo: b@y\n\nhi\n", "From: a@x\r\nTo: b@y\r\n\nhi\n", 1},
		{"last field, no body", "From: a@x\r\nBcc: c@z\r\n", "From: a@x\r\n", 1},
		{"last field, no line end", "From: a@x\r\nBcc: c@z", "From: a@x\r\n", 1},
		{"empty Bcc", "Bcc:\r\nFrom: a@x\r\n\r\nx", "From: a@x\r\n\r\nx", 1},
		{"not Bcc", "Bccx: 1\r\nX-Bcc: 2\r\n\r\n", "Bccx: 1\r\nX-Bcc: 2\r\n\r\n", 0},
		{"no header", "\r\nBcc: c@z\r\n", "\r\nBcc: c@z\r\n", 0},
		{"behind a lone CR", "From: a@x\r\nTo: b@y\rBcc: c@z\r\nSubject: s\r\n\r\nhi\r\n", "From: a@x\r\nTo: b@y\r\nSubject: s\r\n\r\nhi\r\n", 1},
		{"CR line ends", "From: a@x\rBcc: c@z\rTo: b@y\r\rhi\r", "From: a@x\r\nTo: b@y\r\n\rhi\r", 1},
		{"CR before a removed line, LF after", "From: a@x\rBcc: c@z\r\n\nbody\n", "From: a@x\r\n\nbody\n", 1},
		{"CR LF CR", "Bcc: c@z\r\r\nTo: b@y\r\n\r\n", "\r\nTo: b@y\r\n\r\n", 1},
	}
	for _, c := range cases {
		got, n := stripBcc([]byte(c.in))
		if string(got) != c.want || n != c.removed {
			t.Errorf("%s: got %q (%d removed), want %q (%d)", c.name, got, n, c.want, c.removed)
		}
	}
}

// TestStripBccKeepsTheRest: whatever the mail and its line ends (CRLF, LF
// or CR, mixed), the recipient's node, which reads every one of them as a
// line end (canonicalCRLF), finds no Bcc field in the header, every other
// field as it was, and the body untouched.
func TestStripBccKeepsTheRest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lines := rapid.SliceOfN(rapid.SampledFrom([]string{"From: a@x", "Bcc: c@z", " d@w", "To: b@y",
			"bcc:", "Subject: Bcc: no", "", "Bcc: in body?", "\tfold"}), 0, 12).Draw(t, "lines")
		var in []byte
		for i, l := range lines {
			eol := rapid.SampledFrom([]string{"\r\n", "\n", "\r"}).Draw(t, fmt.Sprint("eol", i))
			in = append(append(in, l...), eol...)
		}
		out, _ := stripBcc(in)
		inHead, inBody := splitHeader(canonicalCRLF(in))
		outHead, outBody := splitHeader(canonicalCRLF(out))
		if !bytes.Equal(inBody, outBody) {
			t.Fatalf("the body changed: %q -> %q", in, out)
		}
		for _, l := range bytes.Split(outHead, []byte("\r\n")) {
			if isBccField(l) {
				t.Fatalf("a Bcc field is left: %q -> %q", in, out)
			}
		}
		for _, l := range bytes.Split(inHead, []byte("\r\n")) {
			if len(l) > 0 && l[0] != ' ' && l[0] != '\t' && !isBccField(l) && !bytes.Contains(outHead, l) {
				t.Fatalf("field %q was removed: %q -> %q", l, in, out)
			}
		}
	})
}

// splitHeader cuts a mail whose lines end in CRLF at the empty line that
// ends its header section.
func splitHeader(m []byte) (head, body []byte) {
	if bytes.HasPrefix(m, []byte("\r\n")) {
		return nil, m[2:]
	}
	if h, b, ok := bytes.Cut(m, []byte("\r\n\r\n")); ok {
		return h, b
	}
	return m, nil
}

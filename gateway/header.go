package gateway

import (
	"bytes"
	"strings"
)

// headerLine returns the first line of b with its line end, and without.
// A line ends with CRLF, a lone LF or a lone CR, as the recipient's node
// reads it (canonicalCRLF), so what the submission side reads of a header
// is what the recipient will.
func headerLine(b []byte) (line, content []byte) {
	line = b
	if j := bytes.IndexAny(b, "\r\n"); j >= 0 {
		end := j + 1
		if b[j] == '\r' && end < len(b) && b[end] == '\n' {
			end++
		}
		line = b[:end]
	}
	return line, bytes.TrimRight(line, "\r\n")
}

// headerField returns the value of the first header field named name
// (lower case) in a mail: unfolded, control characters as spaces (clean),
// white space trimmed; "" if the header section has none.
func headerField(body []byte, name string) string {
	name += ":"
	var v []byte
	found := false
	for len(body) > 0 {
		line, content := headerLine(body)
		body = body[len(line):]
		if len(content) == 0 {
			break // end of the header section
		}
		if found {
			if content[0] != ' ' && content[0] != '\t' {
				break // the next field
			}
			v = append(v, content...) // a folded continuation
			continue
		}
		if len(content) >= len(name) && strings.EqualFold(string(content[:len(name)]), name) {
			found = true
			v = append(v, content[len(name):]...)
		}
	}
	return strings.TrimSpace(clean(string(v)))
}

// headerless reports whether a mail does not start with a header field:
// its first line is neither a field's (a name of printable ASCII, then a
// colon, white space before the colon allowed) nor the empty line that
// ends an empty header section. Such a mail is all body (a client that
// wrote no header, or text that starts with white space), and whoever
// puts fields before it must put an empty line after them, or its first
// line would read as a broken field, or as part of theirs.
func headerless(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	line, content := headerLine(body)
	if isMboxFrom(content) && len(line) < len(body) {
		// An mbox "From " line before the header (a mail saved to a
		// file, sent as it is): the header is what follows.
		_, content = headerLine(body[len(line):])
	}
	if len(content) == 0 {
		return false
	}
	name := fieldName(content)
	if name == "" {
		return true
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 33 || name[i] > 126 {
			return true
		}
	}
	return false
}

// fieldName returns the lower-case name of the field a header line starts,
// white space before the colon dropped; "" for a continuation line or a
// line without a colon.
func fieldName(line []byte) string {
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
		return ""
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimRight(string(line[:colon]), " \t"))
}

// isMboxFrom reports whether a line is an mbox separator, "From sender
// date" (a "From_" line), which files of saved mail (git format-patch's
// too) start with: "From" and a space, not followed by the colon that
// would make it a From field written with white space before its colon.
func isMboxFrom(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("From "))
	return ok && !bytes.HasPrefix(bytes.TrimLeft(rest, " \t"), []byte(":"))
}

// stripMboxFrom returns body without a leading mbox "From " line (see
// isMboxFrom), as sendmail and Postfix drop it; ok says whether there was
// one.
func stripMboxFrom(body []byte) (out []byte, ok bool) {
	line, content := headerLine(body)
	if !isMboxFrom(content) {
		return body, false
	}
	return body[len(line):], true
}

package gateway

// Blind copies. A mail client that writes the Bcc field into the mail it
// submits (mutt with write_bcc, scripts that pipe to sendmail -t) relies
// on the mail server to take it out, as RFC 5322 §3.6.3 describes and as
// Postfix and Exim do: otherwise every recipient would read who else was
// sent the mail in secret. The node seals a copy of the mail for every
// recipient, so it removes Bcc and Resent-Bcc fields before sealing. The
// recipients are those of RCPT TO, never those of the header.

// stripBcc returns body without its Bcc and Resent-Bcc header fields,
// folded lines included, and how many fields it removed. A line ends with
// CRLF, a lone LF or a lone CR, as the recipient's node reads it (see
// canonicalCRLF): a field behind a lone CR is a field there. The header
// section ends at the first empty line (or with the mail). It returns body
// itself when there is nothing to remove; otherwise the header's line ends
// are CRLF.
func stripBcc(body []byte) ([]byte, int) {
	var kept []byte // the header lines kept, once a field is removed
	removed, dropping := 0, false
	i := 0
	for i < len(body) {
		line, content := headerLine(body[i:])
		if len(content) == 0 {
			break // the empty line that ends the header section
		}
		if content[0] != ' ' && content[0] != '\t' { // a field's first line
			dropping = isBccField(content)
			if dropping {
				if kept == nil {
					kept = append(make([]byte, 0, len(body)), body[:i]...)
				}
				removed++
			}
		}
		if !dropping && kept != nil {
			kept = append(kept, line...)
		}
		i += len(line)
	}
	if removed == 0 {
		return body, 0
	}
	// The kept lines' ends become CRLF, as the recipient's node makes them
	// anyway: a lone CR left before a lone LF that followed a removed line
	// would read as one CRLF, and lines would merge.
	return append(canonicalCRLF(kept), body[i:]...), removed
}

// isBccField reports whether a header line starts a Bcc or Resent-Bcc
// field; white space before the colon counts, as RFC 5322's obsolete
// syntax allows and as mail clients read it.
func isBccField(line []byte) bool {
	name := fieldName(line)
	return name == "bcc" || name == "resent-bcc"
}

package gateway

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// tox1 DNS records (ToxDNS version 1).
//
// The Tox ID of "name@domain" is published as a TXT record at
// "name._tox.domain":
//
//	v=tox1;id=<76 hex digits>
//
// Fields are "key=value" separated by ";". Keys compare case-insensitively
// and space around keys, values and separators is ignored; unknown keys
// are ignored. A record whose "v" is not a tox version (or that has no
// "v") is some other TXT record and is skipped; "v=tox2" and later versions
// (signed, encrypted lookups through ToxDNS servers that no longer exist)
// are out of scope and reported as such.
//
// The records are UNAUTHENTICATED: nothing signs them, and anyone able to
// change or spoof the DNS answer chooses the key mail is sealed to.

// Errors from tox1 record parsing, for errors.Is.
var (
	// ErrNotTox1 marks a TXT record that is not a tox record at all.
	ErrNotTox1 = errors.New("not a tox1 record")
	// ErrTox1Version marks a tox record of another version, such as tox2.
	ErrTox1Version = errors.New("unsupported tox DNS record version, only tox1 is supported")
	// ErrTox1Malformed marks a tox1 record that is broken: no id, a bad
	// id, a field without "=", a repeated key.
	ErrTox1Malformed = errors.New("malformed tox1 record")
	// ErrTox1Conflict marks a name with tox1 records giving different IDs.
	ErrTox1Conflict = errors.New("conflicting tox1 records")
	// ErrNoTox1Record marks a name whose TXT records hold no tox1 record.
	ErrNoTox1Record = errors.New("no tox1 record")
)

// Limits of DNS names in presentation form (RFC 1035), with the final dot.
const (
	maxDNSLabel = 63
	maxDNSName  = 254
)

// specialUse are the top-level names that unicast DNS never answers, so a
// lookup of them is never asked: .invalid and .localhost (RFC 6761 §6.4,
// §6.3), .onion (RFC 7686), .local (multicast DNS only, RFC 6762) and
// .alt (RFC 9476).
var specialUse = map[string]bool{"invalid": true, "localhost": true, "onion": true, "local": true, "alt": true}

// Tox1Name returns the DNS name holding the tox1 record of local@domain,
// "local._tox.domain.", lower-cased. The local part must be one DNS label of
// characters a mail local part may hold without quoting (letters, digits and
// !#$%&'*+-/=?^_`{|}~), no dots; the domain must be a valid DNS name other
// than the reserved "tox", and not under a special-use name DNS never
// answers (specialUse).
func Tox1Name(local, domain string) (string, error) {
	if local == "" || len(local) > maxDNSLabel {
		return "", fmt.Errorf("local part %q must be 1 to %d characters for tox1 DNS", clipForError(local), maxDNSLabel)
	}
	for i := 0; i < len(local); i++ {
		if !isDNSSafeAtext(local[i]) {
			r, _ := utf8.DecodeRuneInString(local[i:])
			return "", fmt.Errorf("local part %q has %q, which a tox1 DNS name cannot hold", clipForError(local), r)
		}
	}
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if domain == "" || domain == ToxDomain {
		return "", fmt.Errorf("domain %q has no tox1 DNS records", clipForError(domain))
	}
	if tld := domain[strings.LastIndexByte(domain, '.')+1:]; specialUse[tld] {
		// Asking would only tell a DNS server whom the mail is for.
		return "", fmt.Errorf("domain %q is a special-use name that DNS never answers (RFC 6761), "+
			"so it has no tox1 DNS records", clipForError(domain))
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > maxDNSLabel {
			return "", fmt.Errorf("domain %q is not a DNS name: labels are 1 to %d characters", clipForError(domain), maxDNSLabel)
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				r, _ := utf8.DecodeRuneInString(label[i:])
				return "", fmt.Errorf("domain %q is not a DNS name: %q (international domains go in their xn-- form)",
					clipForError(domain), r)
			}
		}
	}
	name := strings.ToLower(local) + "._tox." + domain + "."
	if len(name) > maxDNSName {
		return "", fmt.Errorf("%s is longer than a DNS name may be (%d)", clipForError(name), maxDNSName)
	}
	return name, nil
}

// isDNSSafeAtext reports whether c may appear in an unquoted mail local part
// (RFC 5322 atext), which is also safe in a DNS name without escaping.
func isDNSSafeAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// ParseTox1Record parses one TXT record. It returns an error matching
// ErrNotTox1 when the record is not a tox record, ErrTox1Version for other
// tox versions, and ErrTox1Malformed (wrapping the ParseToxID error for a
// bad id) for broken tox1 records.
func ParseTox1Record(txt string) (ToxID, error) {
	var version, id string
	var haveVersion, haveID bool
	var malformed error // reported only once the record is known to be tox1
	for _, field := range strings.Split(txt, ";") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			if malformed == nil {
				malformed = fmt.Errorf("%w: field %q has no \"=\"", ErrTox1Malformed, clipForError(field))
			}
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "v":
			if haveVersion {
				if malformed == nil {
					malformed = fmt.Errorf("%w: more than one \"v\"", ErrTox1Malformed)
				}
				continue
			}
			version, haveVersion = v, true
		case "id":
			if haveID && malformed == nil {
				malformed = fmt.Errorf("%w: more than one \"id\"", ErrTox1Malformed)
			}
			id, haveID = v, true
		}
	}
	switch {
	case !haveVersion || !tox1PrefixFold(version, "tox"):
		return ToxID{}, ErrNotTox1
	case !strings.EqualFold(version, "tox1"):
		return ToxID{}, fmt.Errorf("%w: v=%s", ErrTox1Version, clipForError(version))
	case malformed != nil:
		return ToxID{}, malformed
	case !haveID:
		return ToxID{}, fmt.Errorf("%w: no \"id\"", ErrTox1Malformed)
	}
	parsed, err := ParseToxID(id)
	if err != nil {
		return ToxID{}, fmt.Errorf("%w: id: %w", ErrTox1Malformed, err)
	}
	if parsed.IsZero() {
		return ToxID{}, fmt.Errorf("%w: id is all zeros", ErrTox1Malformed)
	}
	return parsed, nil
}

// Tox1FromTXT picks the Tox ID out of the TXT records of one name: the
// first valid tox1 record wins; other valid tox1 records must give the same
// ID (ErrTox1Conflict otherwise). Records that are not tox records are
// skipped. With no valid tox1 record it returns the first tox record's
// error, or ErrNoTox1Record.
func Tox1FromTXT(records []string) (ToxID, error) {
	var found ToxID
	var have bool
	var firstErr error
	for _, r := range records {
		id, err := ParseTox1Record(r)
		switch {
		case err == nil && !have:
			found, have = id, true
		case err == nil && id != found:
			return ToxID{}, fmt.Errorf("%w: %s and %s", ErrTox1Conflict, found, id)
		case err != nil && !errors.Is(err, ErrNotTox1) && firstErr == nil:
			firstErr = err
		}
	}
	switch {
	case have:
		return found, nil
	case firstErr != nil:
		return ToxID{}, firstErr
	}
	return ToxID{}, fmt.Errorf("%w among %d TXT records", ErrNoTox1Record, len(records))
}

func tox1PrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// clipForError bounds what of a network-supplied string goes into an error.
func clipForError(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

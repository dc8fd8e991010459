package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/internal/charset"
)

// ToxDomain is the pseudo-domain of raw addresses: "<76 hex Tox ID>@tox".
const ToxDomain = "tox"

// Source says where a recipient's key came from.
type Source uint8

// Sources, in the order Resolver tries them.
const (
	SourceUnknown  Source = iota // not recorded
	SourceToxID                  // the address itself was "<76 hex>@tox"; checksum verified
	SourceContacts               // the local address book
	SourceDNS                    // a tox1 TXT record: UNAUTHENTICATED, see Resolver
	// SourceFriend is a bare public key ("<64 hex>@tox") that is the key
	// of a Tox friend of the node: a friend request it accepted (approved,
	// or under friend_requests = "all"). The address book never stores it.
	SourceFriend
)

var sourceNames = [...]string{"unknown", "toxid", "contacts", "dns", "friend"}

// String returns a short token: "toxid", "contacts", "dns", "friend" or
// "unknown".
// ParseSource reads it back.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Describe returns the source for people, in headers and the dashboard. It
// says when a source is unauthenticated.
func (s Source) Describe() string {
	switch s {
	case SourceToxID:
		return "raw Tox ID"
	case SourceContacts:
		return "address book"
	case SourceDNS:
		return "tox1 DNS, unauthenticated"
	case SourceFriend:
		return "Tox friend"
	}
	return "unknown source"
}

// Authenticated reports whether a key from this source can be trusted as far
// as the user trusts what they typed or saved: true for a raw Tox ID, the
// address book and a Tox friend's key, false for tox1 DNS, whose records
// are unsigned.
func (s Source) Authenticated() bool {
	return s == SourceToxID || s == SourceContacts || s == SourceFriend
}

// ParseSource parses the token String returns.
func ParseSource(s string) (Source, error) {
	for i, n := range sourceNames {
		if strings.EqualFold(s, n) {
			return Source(i), nil
		}
	}
	return SourceUnknown, fmt.Errorf("gateway: unknown source %q (want toxid, contacts, dns or friend)", s)
}

// MarshalText encodes the source as its String token.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a String token.
func (s *Source) UnmarshalText(b []byte) error {
	p, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Resolution is a resolved recipient.
type Resolution struct {
	Address string             // the recipient as asked for, normalised
	ID      ToxID              // the full Tox ID, its checksum valid (for SourceFriend, the key with nospam 0: not one to share)
	Key     envelope.PublicKey // ID.PublicKey(): the key to seal to
	Source  Source
	// Detail says exactly where the key came from, for logs and headers,
	// e.g. "TXT alice._tox.example.org, unsigned tox1 record (unauthenticated)".
	Detail string
}

// LogValue logs a resolution by source and short key, never the full address.
func (r Resolution) LogValue() slog.Value {
	return slog.GroupValue(slog.String("source", r.Source.String()), slog.String("key", r.Key.Short()))
}

// ResolveError is why a recipient could not be resolved. It classifies
// itself: Temporary reports whether trying again later may succeed (a DNS
// server failed or timed out) or the address is unknown or wrong. Find it
// with errors.As, never a type assertion.
//
// The brief named the flag Temporary; Go does not allow a field and a method
// of the same name, so the field is Temp and the method Temporary.
type ResolveError struct {
	Address string // the address as given
	Temp    bool   // see Temporary
	Reason  string // one line for the user, details included; the SMTP reply
	// Name is the tox1 DNS name that was asked ("carol._tox.example.org"),
	// when the failure is a DNS answer or a DNS failure; "" otherwise.
	Name string
	Err  error // the underlying error, if any, for errors.Is and errors.As
}

func (e *ResolveError) Error() string {
	msg := "gateway: resolving " + e.Address + ": " + e.Reason
	if e.Err != nil && !strings.Contains(e.Reason, e.Err.Error()) {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *ResolveError) Unwrap() error { return e.Err }

// Temporary reports whether the failure may go away: true for DNS servers
// that failed or timed out, false for unknown names, missing or malformed
// records and malformed addresses.
func (e *ResolveError) Temporary() bool { return e.Temp }

// Summary is e in one line for people (the dashboard shows it): what could
// not be resolved, why in plain words without the chain of underlying
// errors, and what to do. The address is shortened if it is long.
func (e *ResolveError) Summary() string {
	addr := clipInput(e.Address, 80)
	if e.Name == "" {
		return "could not use " + addr + ": " + clipInput(e.Reason, 200)
	}
	if !e.Temp {
		if errors.Is(e.Err, ErrKeyChanged) {
			return "the tox1 DNS key of " + addr + " changed since it was first a recipient at this node, so the answer may be spoofed: " +
				"check the Tox ID with its owner, then add it under this address: toxmail contacts add NAME TOXID --address " + addr
		}
		if errors.Is(e.Err, ErrDNSNotFound) {
			return "no tox1 DNS record at " + e.Name + ": check the address, or ask its owner for their Tox ID"
		}
		return "no usable tox1 DNS record at " + e.Name + ": ask the owner of " + addr + " for their Tox ID"
	}
	var de *DNSError
	why := "the DNS lookup failed"
	if errors.As(e.Err, &de) {
		switch {
		case de.Reason == "timeout":
			why = "the DNS server did not answer"
		case de.Server == "":
			why = "the system's DNS resolver failed (" + de.Reason + ")"
		case de.Reason == dnsReasonRefused || de.Reason == dnsReasonUnreachable ||
			de.Reason == dnsReasonQueryFailed || de.Reason == dnsReasonHostName:
			why = "the DNS server could not be reached (" + de.Reason + "); check dns.server in the config"
		default:
			why = "the DNS server failed (" + de.Reason + ")"
		}
	}
	return "could not look up " + addr + ": " + why + "; try again later"
}

// clipInput makes text from a user fit a one-line message: control
// characters become spaces and anything over max bytes is cut (on a UTF-8
// boundary) and marked with "…".
func clipInput(s string, max int) string {
	s = replyLine(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// SMTPStatus is the reply an SMTP server gives for e at RCPT: 451 4.4.3
// (directory server failure, try again later) when temporary, 501 5.1.3
// (bad destination mailbox address syntax) for an address that is none,
// 550 5.1.1 (bad destination mailbox) otherwise, with the reason as the
// message.
func (e *ResolveError) SMTPStatus() (code int, enhanced [3]int, message string) {
	switch {
	case e.Temp:
		return 451, [3]int{4, 4, 3}, replyLine(e.Reason)
	case errors.Is(e.Err, ErrMalformedAddress):
		return 501, [3]int{5, 1, 3}, replyLine(e.Reason) // bad destination mailbox address syntax (RFC 3463)
	}
	return 550, [3]int{5, 1, 1}, replyLine(e.Reason)
}

// replyLine keeps a reply on one printable line of bounded length.
func replyLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return charset.DisplayRune(r) // no bidi controls, which could reorder it
	}, s)
	const max = 400
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// Resolver turns a recipient address into the Tox public key mail to it is
// sealed to. It tries, in order:
//
//  1. a raw address "<76 hex Tox ID>@tox" (any case): the ID's checksum must
//     match, which catches typos; the address domain "tox" is reserved for
//     this, for contacts' names ("NAME@tox") and for bare public keys
//     ("<64 hex>@tox"), taken only for an address book contact's key or,
//     with IsFriend, a Tox friend's.
//  2. the address book (Contacts): by full mail address, or by bare contact
//     name when the address has no "@".
//  3. tox1 DNS for "name@domain": the TXT record "v=tox1;id=<76 hex>" at
//     "name._tox.domain".
//
// tox1 records are UNAUTHENTICATED. Version 1 of ToxDNS never signed its
// records and the public ToxDNS services that once answered for tox.chat and
// friends are gone; whoever controls the domain's DNS, or can spoof or alter
// the answer on the path to the resolver, can substitute their own key, and
// the mail is then sealed to them. A Resolution from DNS says so in its
// Source and Detail. With Pins set, a key is trusted on first use: a later
// answer giving an address another key is refused (ErrKeyChanged). For
// anything sensitive, exchange Tox IDs by other means and put them in the
// address book.
//
// The zero Resolver resolves raw Tox IDs only. Resolve is safe for
// concurrent use if Contacts and DNS are.
type Resolver struct {
	Contacts Contacts    // nil: no address book
	DNS      TXTResolver // nil: no tox1 DNS lookups; wrap it in a TXTCache
	// Pins, if set, remembers the key each address first resolved to by
	// tox1 DNS; an answer giving another key later is refused (the record
	// may be spoofed) until the user deletes the pin or puts the address
	// in the address book. Nil: every answer is taken as it comes.
	Pins KeyPins
	// IsFriend, if set, reports whether a key is a Tox friend of the node
	// (an approved friend request, say). Such a key may be written bare,
	// "<64 hex>@tox": matching a friend exactly, it needs no checksum to
	// catch a typo. Without it, a bare key is taken only for an address
	// book contact.
	IsFriend func(envelope.PublicKey) bool
	Logger   *slog.Logger // nil: discard
}

// Resolve resolves one recipient address. Errors are *ResolveError.
func (r *Resolver) Resolve(ctx context.Context, address string) (Resolution, error) {
	addr := strings.TrimSpace(address)
	res, err := r.resolve(ctx, addr)
	if err == nil && !validKey(res.Key) {
		// Only an address book an older toxmail saved can hold such a
		// key (ParseStoredToxID); Tox will not befriend it.
		err = permanentResolveErr(fmt.Sprintf("the address book gives %s the Tox ID %s, whose key no Tox node can have "+
			"(its last byte is above 7F); remove the contact and add its right Tox ID", addr, res.ID), nil)
	}
	if err != nil {
		var re *ResolveError
		if errors.As(err, &re) {
			re.Address = address
		}
		if r.Logger != nil {
			r.Logger.Debug("recipient not resolved", "domain", addrDomainForLog(addr), "temporary", re != nil && re.Temp)
		}
		return Resolution{}, err
	}
	if r.Logger != nil {
		r.Logger.Debug("recipient resolved", "domain", addrDomainForLog(addr), "resolution", res)
	}
	return res, nil
}

func (r *Resolver) resolve(ctx context.Context, addr string) (Resolution, error) {
	if addr == "" {
		return Resolution{}, permanentResolveErr("empty address", nil)
	}
	// A bare contact name.
	if !strings.ContainsRune(addr, '@') {
		if err := checkContactName(addr); err != nil {
			return Resolution{}, permanentResolveErr("not a mail address or contact name", err)
		}
		if r.Contacts != nil {
			if c, ok := r.Contacts.Lookup(addr); ok {
				return contactResolution(addr, c), nil
			}
		}
		return Resolution{}, permanentResolveErr(fmt.Sprintf(
			"no contact named %q; use name@domain (tox1 DNS) or a <76 hex Tox ID>@tox address", addr), nil)
	}
	norm, err := NormalizeAddress(addr) // also takes "<a@b>" and "Name <a@b>"
	if err != nil {
		return Resolution{}, &ResolveError{Reason: err.Error(), Err: err}
	}
	local, domain := splitMailAddress(norm)

	// 1. Raw Tox ID, or a contact's name at the Tox pseudo-domain (mail
	// clients refuse a bare name): "bob@tox".
	if domain == ToxDomain {
		if pk, err := envelope.ParsePublicKey(local); err == nil {
			return r.resolveKey(norm, pk)
		}
		if looksLikeToxID(local) || checkContactName(local) != nil {
			return resolveRaw(local)
		}
		if r.Contacts != nil {
			if c, ok := r.Contacts.Lookup(local); ok {
				return contactResolution(norm, c), nil
			}
		}
		return Resolution{}, permanentResolveErr(fmt.Sprintf(
			"no contact named %q, and a Tox address is <76 hex Tox ID>@tox", local), nil)
	}

	// 2. Address book.
	if r.Contacts != nil {
		if c, ok := r.Contacts.Lookup(norm); ok {
			return contactResolution(norm, c), nil
		}
	}

	// 3. tox1 DNS.
	if r.DNS == nil {
		return Resolution{}, permanentResolveErr("not in the address book, and tox1 DNS lookups are off", nil)
	}
	name, err := Tox1Name(local, domain)
	if err != nil {
		return Resolution{}, permanentResolveErr("address cannot have a tox1 DNS record", err)
	}
	txts, err := r.DNS.LookupTXT(ctx, name)
	if err != nil {
		notFound := dnsNotFound(err, name)
		name := strings.TrimSuffix(name, ".")
		if notFound {
			return Resolution{}, &ResolveError{Name: name, Err: err,
				Reason: "unknown recipient: not in the address book and no tox1 DNS record at " + name}
		}
		why := "error"
		var de *DNSError
		if errors.As(err, &de) {
			why = de.Reason
		}
		return Resolution{}, &ResolveError{Temp: true, Name: name, Err: err,
			Reason: "tox1 DNS lookup of " + name + " failed (" + why + "), try again later"}
	}
	texts := make([]string, len(txts))
	for i, t := range txts {
		texts[i] = t.Text
	}
	id, err := Tox1FromTXT(texts)
	if err != nil {
		re := permanentResolveErr("no usable tox1 DNS record at "+strings.TrimSuffix(name, "."), err)
		re.Name = strings.TrimSuffix(name, ".")
		return Resolution{}, re
	}
	res := Resolution{
		Address: norm,
		ID:      id,
		Key:     id.PublicKey(),
		Source:  SourceDNS,
		Detail:  "TXT " + strings.TrimSuffix(name, ".") + ", unsigned tox1 record (unauthenticated)",
	}
	if r.Pins == nil {
		return res, nil
	}
	prev, err := r.Pins.Pin(norm, res.Key)
	switch {
	case err != nil:
		// The pin is a second line of defence; DNS answers are
		// unauthenticated either way, and the Detail says so.
		if r.Logger != nil {
			r.Logger.Warn("tox1 key not pinned", "domain", addrDomainForLog(norm), "err", err)
		}
	case prev.IsZero():
		res.Detail += "; first use, key pinned"
	case prev != res.Key:
		name := strings.TrimSuffix(name, ".")
		return Resolution{}, &ResolveError{Name: name, Err: ErrKeyChanged, Reason: fmt.Sprintf(
			"the tox1 DNS record at %s now gives key %s, but it gave %s when %s was first a recipient at this node: "+
				"the answer may be spoofed; if the owner really has a new Tox ID, check it with them and "+
				"add it to the address book with this address (toxmail contacts add NAME TOXID --address %s)",
			name, res.Key.Short(), prev.Short(), norm, norm)}
	default:
		res.Detail += "; the key pinned at first use"
	}
	return res, nil
}

// ErrKeyChanged is the error inside a ResolveError for a tox1 DNS answer
// that gives an address another key than the one pinned at first use.
var ErrKeyChanged = errors.New("gateway: tox1 DNS key differs from the one pinned at first use")

// looksLikeToxID reports whether the local part of an @tox address is
// meant as a Tox ID (or key), typo or not, rather than a contact's name:
// 32 or more hex digits.
func looksLikeToxID(local string) bool {
	if len(local) < 32 {
		return false
	}
	for i := 0; i < len(local); i++ {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(local[i])) {
			return false
		}
	}
	return true
}

// resolveKey resolves a bare public key at @tox: the key of an address
// book contact or of a Tox friend. Any other is refused: a bare key has no
// checksum, so a typo would seal the mail to no one.
func (r *Resolver) resolveKey(addr string, pk envelope.PublicKey) (Resolution, error) {
	if r.Contacts != nil {
		if c, ok := r.Contacts.ByKey(pk); ok {
			return contactResolution(addr, c), nil
		}
	}
	if r.IsFriend != nil && r.IsFriend(pk) {
		return Resolution{Address: addr, ID: NewToxID(pk, [4]byte{}), Key: pk, Source: SourceFriend,
			Detail: "bare public key of a Tox friend (not in the address book)"}, nil
	}
	whose := "no address book contact has it (a running node also takes a Tox friend's)"
	if r.IsFriend != nil {
		whose = "it is no contact's and no Tox friend's here"
	}
	return Resolution{}, permanentResolveErr("64 hex digits is a bare public key, which has no checksum to catch typos, and "+
		whose+"; use the full 76-hex-digit Tox ID", nil)
}

func resolveRaw(local string) (Resolution, error) {
	id, err := ParseToxID(local)
	if err != nil {
		return Resolution{}, permanentResolveErr("bad Tox ID in @tox address", err)
	}
	if id.IsZero() {
		return Resolution{}, permanentResolveErr("the all-zero Tox ID names no one", nil)
	}
	return Resolution{
		Address: id.Address(),
		ID:      id,
		Key:     id.PublicKey(),
		Source:  SourceToxID,
		Detail:  "raw Tox ID in the address, checksum verified",
	}, nil
}

func contactResolution(addr string, c Contact) Resolution {
	detail := "address book entry"
	if c.Name != "" {
		detail += fmt.Sprintf(" %q", c.Name)
	}
	if c.Address != "" {
		detail += " <" + c.Address + ">"
	}
	if c.Source == SourceDNS {
		detail += ", ID first learned from tox1 DNS (unauthenticated)"
	}
	return Resolution{Address: addr, ID: c.ID, Key: c.ID.PublicKey(), Source: SourceContacts, Detail: detail}
}

// permanentResolveErr is a permanent failure; err's text, if any, ends the reason.
func permanentResolveErr(reason string, err error) *ResolveError {
	if err != nil {
		reason += ": " + err.Error()
	}
	return &ResolveError{Reason: reason, Err: err}
}

// dnsNotFound reports whether a TXTResolver's error for name says that
// the queried server answered that the name or its TXT record does not
// exist. Every other failure (timeouts, SERVFAIL, refused, a server that
// could not be reached, errors this package does not know) counts as
// temporary: the mail client tries again, which is harmless, while a wrong
// 5xx would bounce mail.
//
// Only the outermost classification counts. A DNSError says itself whether
// it is NotFound, whatever it wraps: a server given by a host name that
// does not resolve fails with a "no such host" *net.DNSError inside, and
// that is about the server, not about name. A bare *net.DNSError (from a
// TXTResolver that is not this package's) counts only when it is about
// name itself.
func dnsNotFound(err error, name string) bool {
	var de *DNSError
	if errors.As(err, &de) {
		return de.NotFound
	}
	if errors.Is(err, ErrDNSNotFound) {
		return true
	}
	var nerr *net.DNSError
	return errors.As(err, &nerr) && nerr.IsNotFound && sameDNSName(nerr.Name, name)
}

// addrDomainForLog returns what follows the last "@", for logs that must not show
// full addresses.
func addrDomainForLog(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

package gateway

// What the web dashboard shows and changes: the DashboardBackend seam and
// the values that cross it. The daemon implements the backend over Tox and
// the mesh node; gateway knows nothing of Tox beyond the address format.

import (
	"context"
	"errors"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
)

// DashboardBackend is what the dashboard shows and changes. Every method is
// called from HTTP handlers, many at once, so implementations must be safe
// for concurrent use. An error is shown to the user as it is, so it should
// say what went wrong and what to do; see ErrNoSuchContact for how errors
// become HTTP status codes.
type DashboardBackend interface {
	// Identity is the node's own identity.
	Identity() DashboardIdentity
	// Contacts lists the address book and the Tox friends, merged: one
	// entry per person, address-book entries first.
	Contacts() []DashboardContact
	// AddContact adds a contact named name. idOrAddress is a 76-hex Tox
	// ID or a name@domain mail address to resolve through tox1 DNS; the
	// returned contact's Source says which. address, if not empty, goes
	// with a Tox ID: the contact's mail address, taken as given (the way
	// to put a confirmed new ID under an address whose tox1 key changed).
	// It typically also sends a friend request. ctx ends when the user
	// gives up waiting.
	AddContact(ctx context.Context, name, idOrAddress, address string) (DashboardContact, error)
	// RemoveContact removes the contact with this name, mail address,
	// public key (64 hex digits) or Tox ID, and ends the Tox friendship
	// with it: a friend that is not in the address book (an approved
	// request) is removed by its key. A pending friend request from the
	// key goes too. ErrNoSuchContact when nothing matches.
	RemoveContact(nameOrKey string) error
	// Requests lists the pending friend requests, oldest first.
	Requests() []DashboardRequest
	// Approve accepts the friend request from this public key (64 upper-
	// case hex digits); Deny drops it.
	Approve(publicKeyHex string) error
	Deny(publicKeyHex string) error
	// Outbox lists the node's sent mail, newest first (as mesh.Node.Outbox).
	Outbox() []mesh.OutboxEntry
	// Held summarises the envelopes the node holds for others.
	Held() DashboardHeld
	// Stats are the mesh node's counters (as mesh.Node.Stats).
	Stats() mesh.Stats
	// Inbox says how full the inbox is (as inbox.Inbox.Usage).
	Inbox() inbox.Usage
}

// Errors a DashboardBackend may wrap so that the dashboard answers with
// the right status: ErrNoSuchContact and ErrNoSuchRequest give 404 Not
// Found. The address book's ErrContactExists gives 409 Conflict;
// ErrContactInvalid, the Tox ID parse errors and a permanent *ResolveError
// give 400 Bad Request; a temporary *ResolveError gives 503. Anything else
// is a 500, its message still shown.
var (
	ErrNoSuchContact = errors.New("no such contact")
	ErrNoSuchRequest = errors.New("no such friend request")
)

// DashboardIdentity is the node's own identity.
type DashboardIdentity struct {
	// Name is the node's display name (its Tox name); it may be empty.
	Name string
	// ToxID is the full Tox ID (76 hex digits when shown) that the user
	// gives to friends.
	ToxID ToxID
	// PublicKey is the long-term public key; zero means ToxID.PublicKey().
	PublicKey envelope.PublicKey
	// Network is the node's connection to the Tox network: "udp", "tcp"
	// (through a TCP relay) or "none"; empty when unknown.
	Network string
	// DHTKey and UDPPort are what another node needs to bootstrap from
	// this one ([[tox.bootstrap]] public_key and port): the DHT key is new
	// at every start. Zero when unknown.
	DHTKey  envelope.PublicKey
	UDPPort uint16
	// TCPPort is the node's TCP relay port ([[tox.bootstrap]] tcp_port);
	// 0 when it runs none (tox.tcp_port unset).
	TCPPort uint16
}

// Key returns PublicKey, or the key of ToxID when PublicKey is zero.
func (id DashboardIdentity) Key() envelope.PublicKey {
	if id.PublicKey.IsZero() {
		return id.ToxID.PublicKey()
	}
	return id.PublicKey
}

// Where a DashboardContact's key came from (DashboardContact.Source).
const (
	DashboardSourceToxID  = "toxid"  // typed or pasted as a Tox ID (the token contacts.toml stores, Source.String)
	DashboardSourceDNS    = "dns"    // a tox1 DNS lookup: unauthenticated
	DashboardSourceFriend = "friend" // a Tox friend not in the address book (e.g. an approved request)
)

// What a contact's Tox client speaks (DashboardContact.Kind).
const (
	DashboardKindMesh    = "mesh"    // answered the mesh hello: mail goes by envelope
	DashboardKindPlain   = "plain"   // an ordinary Tox client: mail goes as text messages
	DashboardKindUnknown = "unknown" // not seen online since the node started
)

// DashboardContact is one person: an address-book entry, a Tox friend, or
// both.
type DashboardContact struct {
	Name    string // the contact's name; may be empty for a friend not in the book
	Address string // mail address (name@domain); may be empty
	// ToxID is the full Tox ID when known; zero for a friend known only by
	// its public key.
	ToxID ToxID
	// PublicKey is the contact's key; zero means ToxID.PublicKey().
	PublicKey envelope.PublicKey
	Source    string    // DashboardSourceToxID, DashboardSourceDNS or DashboardSourceFriend
	Online    bool      // connected now
	Kind      string    // DashboardKindMesh, DashboardKindPlain or DashboardKindUnknown
	LastSeen  time.Time // last time online; zero if never
}

// Key returns PublicKey, or the key of ToxID when PublicKey is zero.
func (c DashboardContact) Key() envelope.PublicKey {
	if c.PublicKey.IsZero() {
		return c.ToxID.PublicKey()
	}
	return c.PublicKey
}

// DashboardRequest is a pending friend request.
type DashboardRequest struct {
	PublicKey envelope.PublicKey // who asks
	Message   string             // the request's message, as sent (untrusted text)
	Received  time.Time
}

// DashboardHeld summarises the envelopes a node holds for others.
type DashboardHeld struct {
	Count int   // envelopes held
	Bytes int64 // their bytes
	// ByAge splits them by how long they have been held; NewDashboardHeld
	// and Add keep the five buckets of DashboardAgeLabels.
	ByAge []DashboardAgeBucket
}

// DashboardAgeBucket is one age range of held envelopes.
type DashboardAgeBucket struct {
	Label string // one of DashboardAgeLabels
	Count int
	Bytes int64
}

// DashboardAgeLabels name the age buckets of DashboardHeld.ByAge, youngest
// first: under 1 hour, 1 to 6 hours, 6 to 24 hours, 1 to 3 days, over 3
// days. A bucket holds ages from its lower bound (included) to its upper.
var DashboardAgeLabels = [...]string{"< 1 h", "1–6 h", "6–24 h", "1–3 d", "> 3 d"}

// dashboardAgeLimits are the upper bounds of the first four buckets.
var dashboardAgeLimits = [...]time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour}

// NewDashboardHeld returns an empty summary with the five age buckets.
func NewDashboardHeld() DashboardHeld {
	h := DashboardHeld{ByAge: make([]DashboardAgeBucket, len(DashboardAgeLabels))}
	for i, l := range DashboardAgeLabels {
		h.ByAge[i].Label = l
	}
	return h
}

// Add counts one envelope of size bytes held for age (a negative age
// counts as 0).
func (h *DashboardHeld) Add(age time.Duration, size int) {
	if len(h.ByAge) != len(DashboardAgeLabels) {
		*h = mergeHeld(NewDashboardHeld(), *h)
	}
	i := 0
	for i < len(dashboardAgeLimits) && age >= dashboardAgeLimits[i] {
		i++
	}
	h.Count++
	h.Bytes += int64(size)
	h.ByAge[i].Count++
	h.ByAge[i].Bytes += int64(size)
}

// mergeHeld returns base with old's totals (old's buckets are dropped if
// they do not match the labels).
func mergeHeld(base, old DashboardHeld) DashboardHeld {
	base.Count, base.Bytes = old.Count, old.Bytes
	for _, b := range old.ByAge {
		for i := range base.ByAge {
			if base.ByAge[i].Label == b.Label {
				base.ByAge[i].Count += b.Count
				base.ByAge[i].Bytes += b.Bytes
			}
		}
	}
	return base
}

package daemon

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/gateway"
	"github.com/toxmail/toxmail/inbox"
	"github.com/toxmail/toxmail/mesh"
	"github.com/toxmail/toxmail/tox"
)

// backend is what the dashboard shows of a running node.
type backend struct{ d *Daemon }

var _ gateway.DashboardBackend = (*backend)(nil)

// Identity implements gateway.DashboardBackend.
func (b *backend) Identity() gateway.DashboardIdentity {
	id := gateway.DashboardIdentity{Name: b.d.cfg.Name, ToxID: b.d.ToxID(), PublicKey: b.d.PublicKey()}
	if c, err := b.d.x.SelfConnection(); err == nil {
		id.Network = c.String()
	}
	id.DHTKey = envelope.PublicKey(b.d.DHTKey())
	if port, err := b.d.UDPPort(); err == nil {
		id.UDPPort = port
	}
	if port, err := b.d.x.TCPPort(); err == nil {
		id.TCPPort = port
	}
	return id
}

// Contacts implements gateway.DashboardBackend: the address book, then
// Tox friends that are not in it.
func (b *backend) Contacts() []gateway.DashboardContact {
	peers := make(map[envelope.PublicKey]tox.PeerInfo)
	for _, p := range b.d.tr.Peers() {
		peers[envelope.PublicKey(p.Key)] = p
	}
	var out []gateway.DashboardContact
	seen := make(map[envelope.PublicKey]bool)
	for _, c := range b.d.book.current().List() {
		pk := c.ID.PublicKey()
		dc := gateway.DashboardContact{Name: c.Name, Address: c.Address, ToxID: c.ID, PublicKey: pk, Source: dashSource(c.Source), Kind: gateway.DashboardKindUnknown}
		if p, ok := peers[pk]; ok {
			fillPeer(&dc, p)
		}
		seen[pk] = true
		out = append(out, dc)
	}
	var rest []gateway.DashboardContact
	for pk, p := range peers {
		if seen[pk] {
			continue
		}
		dc := gateway.DashboardContact{Name: p.Name, PublicKey: pk, Source: gateway.DashboardSourceFriend}
		fillPeer(&dc, p)
		rest = append(rest, dc)
	}
	slices.SortFunc(rest, func(x, y gateway.DashboardContact) int {
		return strings.Compare(x.PublicKey.String(), y.PublicKey.String())
	})
	return append(out, rest...)
}

// dashSource names where a contact's ID came from, as the dashboard shows it.
func dashSource(s gateway.Source) string {
	if s == gateway.SourceDNS {
		return gateway.DashboardSourceDNS
	}
	return gateway.DashboardSourceToxID
}

func fillPeer(dc *gateway.DashboardContact, p tox.PeerInfo) {
	dc.Online = p.Connection != tox.ConnectionNone
	switch p.Kind {
	case tox.PeerMesh:
		dc.Kind = gateway.DashboardKindMesh
	case tox.PeerPlain:
		dc.Kind = gateway.DashboardKindPlain
	default:
		dc.Kind = gateway.DashboardKindUnknown
	}
	if dc.Online {
		dc.LastSeen = time.Now()
	}
}

// AddContact implements gateway.DashboardBackend.
func (b *backend) AddContact(ctx context.Context, name, idOrAddress, address string) (gateway.DashboardContact, error) {
	c := gateway.Contact{Name: strings.TrimSpace(name)}
	s := strings.TrimSpace(idOrAddress)
	address = strings.TrimSpace(address)
	if address != "" && strings.Contains(s, "@") {
		return gateway.DashboardContact{}, fmt.Errorf("%w: a mail address goes beside a Tox ID; %s is an address already", gateway.ErrContactInvalid, s)
	}
	if strings.Contains(s, "@") {
		res, err := b.d.resolve.Resolve(ctx, s)
		if err != nil {
			return gateway.DashboardContact{}, err
		}
		if res.ID.IsZero() {
			return gateway.DashboardContact{}, fmt.Errorf("%s resolved to a key without a full Tox ID; ask for the 76-digit Tox ID", s)
		}
		c.Address, c.ID, c.Source = s, res.ID, gateway.SourceDNS
		if res.Source != gateway.SourceDNS {
			c.Source = res.Source
		}
	} else {
		id, err := gateway.ParseToxID(s)
		if err != nil {
			return gateway.DashboardContact{}, fmt.Errorf("%w; paste the whole 76-digit Tox ID, or give a name@domain address", err)
		}
		c.ID, c.Source = id, gateway.SourceToxID
		c.Address = address // the book checks and normalises it
	}
	if old, ok := b.d.book.current().Lookup(c.Name); ok && old.ID != c.ID {
		// The book would replace an entry of the same name and address;
		// a new Tox ID for a contact is a change to make knowingly.
		return gateway.DashboardContact{}, fmt.Errorf("%w: %q is in the address book with Tox ID %s; to give it another, remove it first",
			gateway.ErrContactExists, old.Name, old.ID.PublicKey().Short())
	}
	if err := b.d.addContact(c); err != nil {
		return gateway.DashboardContact{}, err
	}
	if saved, ok := b.d.book.current().Lookup(c.Name); ok {
		c.Address = saved.Address // as the book normalised it
	}
	return gateway.DashboardContact{Name: c.Name, Address: c.Address, ToxID: c.ID, PublicKey: c.ID.PublicKey(), Source: dashSource(c.Source), Kind: gateway.DashboardKindUnknown}, nil
}

// RemoveContact implements gateway.DashboardBackend: see removeContact.
func (b *backend) RemoveContact(nameOrKey string) error { return b.d.removeContact(nameOrKey) }

// Requests implements gateway.DashboardBackend.
func (b *backend) Requests() []gateway.DashboardRequest {
	var out []gateway.DashboardRequest
	for _, r := range b.d.tr.Pending() {
		out = append(out, gateway.DashboardRequest{PublicKey: envelope.PublicKey(r.Key), Message: r.Message, Received: r.Received})
	}
	return out
}

// Approve implements gateway.DashboardBackend.
func (b *backend) Approve(publicKeyHex string) error {
	return b.request(publicKeyHex, b.d.tr.Approve)
}

// Deny implements gateway.DashboardBackend.
func (b *backend) Deny(publicKeyHex string) error {
	return b.request(publicKeyHex, b.d.tr.Deny)
}

func (b *backend) request(keyHex string, f func(tox.PublicKey) error) error {
	pk, err := parseKey(keyHex)
	if err != nil {
		return err
	}
	if err := f(tox.PublicKey(pk)); err != nil {
		if errors.Is(err, tox.ErrNoRequest) {
			return fmt.Errorf("%w: %v", gateway.ErrNoSuchRequest, err)
		}
		return err
	}
	return b.d.saveProfile()
}

func parseKey(s string) (envelope.PublicKey, error) {
	var pk envelope.PublicKey
	raw, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(raw) != len(pk) {
		return pk, fmt.Errorf("%q is not a public key (64 hex digits)", s)
	}
	copy(pk[:], raw)
	return pk, nil
}

// Outbox implements gateway.DashboardBackend.
func (b *backend) Outbox() []mesh.OutboxEntry { return b.d.node.Outbox() }

// Held implements gateway.DashboardBackend: relay copies only.
func (b *backend) Held() gateway.DashboardHeld {
	h := gateway.NewDashboardHeld()
	now := time.Now()
	for _, e := range b.d.node.Held() {
		if !e.Own {
			h.Add(now.Sub(e.Since), e.Size)
		}
	}
	return h
}

// Stats implements gateway.DashboardBackend.
func (b *backend) Stats() mesh.Stats { return b.d.node.Stats() }

// Inbox implements gateway.DashboardBackend.
//
// A refusal the inbox remembers counts only while the mesh still has that
// mail waiting: it may have expired since.
func (b *backend) Inbox() inbox.Usage {
	return b.d.box.UsageOf(func(id inbox.EnvelopeID) bool { return b.d.node.DeliveryWaiting(envelope.ID(id)) })
}

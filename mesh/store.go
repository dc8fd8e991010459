package mesh

import (
	"errors"

	"github.com/toxmail/toxmail/envelope"
)

// ErrNotFound is returned by Store look-ups for a key that is not there.
var ErrNotFound = errors.New("mesh: not found")

// HeldMeta is what a node remembers about an envelope it holds, besides
// the envelope's bytes.
type HeldMeta struct {
	ID      envelope.ID
	Expiry  int64 // absolute, Unix seconds
	Size    int   // encoded size in bytes
	Tag     envelope.Tag
	AckHash [envelope.AckHashSize]byte
	// From is the friend the envelope came from; zero for the node's own mail.
	From envelope.PublicKey
	Hops uint8 // hops the held copy may still travel
	// Own marks the node's own outbox mail: never evicted.
	Own bool
}

// AckRecord is a verified ack, remembered until its envelope's expiry.
type AckRecord struct {
	Ack    envelope.Ack
	Expiry int64 // the envelope's expiry, Unix seconds
}

// Status is the state of a mail in the outbox.
type Status uint8

// Outbox states. A mail moves forward only: queued → offered → delivered,
// or to expired from queued or offered.
const (
	StatusQueued    Status = iota + 1 // durably stored, not yet offered to anyone
	StatusOffered                     // offered to at least one friend
	StatusDelivered                   // the recipient's ack was seen
	StatusExpired                     // expired before any ack was seen
)

// String returns the lower-case name of the status.
func (s Status) String() string {
	switch s {
	case StatusQueued:
		return "queued"
	case StatusOffered:
		return "offered"
	case StatusDelivered:
		return "delivered"
	case StatusExpired:
		return "expired"
	}
	return "unknown"
}

// OutboxEntry is one sent mail: one envelope to one recipient.
type OutboxEntry struct {
	ID        envelope.ID
	To        envelope.PublicKey
	Created   int64 // Unix milliseconds
	Expiry    int64 // Unix seconds
	Size      int   // envelope size in bytes
	Status    Status
	Offered   int64 // Unix milliseconds of the first offer; 0 if none
	Delivered int64 // Unix milliseconds the ack was seen; 0 if none
	// Label is an opaque note from the submitter (for example the SMTP
	// Message-ID); at most 255 bytes.
	Label string
}

// Store keeps a node's state durably: held envelopes, the seen set, acks and
// the outbox. Every change goes through Apply, atomically; the node keeps
// its own in-memory index and reads the store only for envelope bodies,
// seen-set misses and at start-up.
//
// Expiry is absolute and comes from the node's clock: a store never decides
// by itself that something has expired (a badger TTL may remove it later,
// but Expire is what the node relies on).
type Store interface {
	// Apply makes every operation of b durable, all or none.
	Apply(b *Batch) error
	// Envelope returns the bytes of a held envelope, or ErrNotFound.
	Envelope(id envelope.ID) ([]byte, error)
	// Seen reports whether id is in the seen set.
	Seen(id envelope.ID) (bool, error)
	// EvictedAckHash returns the ack hash an evict operation kept for id,
	// and the expiry of id's seen entry, for as long as that entry lasts
	// (ok false otherwise), so that an ack arriving after the eviction can
	// still be checked, even after a restart.
	EvictedAckHash(id envelope.ID) (hash [envelope.AckHashSize]byte, expiry int64, ok bool, err error)
	// Load calls the non-nil functions for every held envelope, ack and
	// outbox entry; an error from a function stops the walk and is returned.
	Load(held func(HeldMeta) error, ack func(AckRecord) error, outbox func(OutboxEntry) error) error
	// Expire removes held envelopes, seen entries and acks whose expiry is
	// at or before now (Unix seconds), and outbox entries whose expiry is at
	// or before now - retention. It returns how many records it removed.
	Expire(now int64, retention int64) (int, error)
	// Close releases the store.
	Close() error
}

// OpKind names a Batch operation.
type OpKind uint8

// Batch operations.
const (
	OpPutHeld    OpKind = iota + 1 // store Meta and Env (also marks seen until Meta.Expiry)
	OpDeleteHeld                   // delete the held envelope ID (the seen entry stays)
	OpSetHops                      // change the hop counter of held envelope ID to Hops
	OpMarkSeen                     // add ID to the seen set until Expiry
	OpPutAck                       // remember Ack until Ack.Expiry (also marks seen, and drops an evicted envelope's ack hash)
	OpPutOutbox                    // insert or replace Outbox
	OpEvict                        // delete the held envelope ID, keeping Meta.AckHash with its seen entry (marked seen until Meta.Expiry)
)

// Op is one change in a Batch.
type Op struct {
	Kind   OpKind
	ID     envelope.ID
	Meta   HeldMeta
	Env    []byte
	Hops   uint8
	Expiry int64
	Ack    AckRecord
	Outbox OutboxEntry
}

// Batch is an ordered list of changes applied atomically by Store.Apply.
type Batch struct{ Ops []Op }

// PutHeld stores an envelope and its metadata, and marks it seen.
func (b *Batch) PutHeld(m HeldMeta, env []byte) {
	b.Ops = append(b.Ops, Op{Kind: OpPutHeld, ID: m.ID, Meta: m, Env: env})
}

// DeleteHeld drops a held envelope.
func (b *Batch) DeleteHeld(id envelope.ID) { b.Ops = append(b.Ops, Op{Kind: OpDeleteHeld, ID: id}) }

// Evict drops a held envelope evicted for budget, and keeps its ack hash
// beside its seen entry (see Store.EvictedAckHash).
func (b *Batch) Evict(m HeldMeta) { b.Ops = append(b.Ops, Op{Kind: OpEvict, ID: m.ID, Meta: m}) }

// SetHops changes a held envelope's hop counter (the envelope bytes and its
// metadata).
func (b *Batch) SetHops(id envelope.ID, hops uint8) {
	b.Ops = append(b.Ops, Op{Kind: OpSetHops, ID: id, Hops: hops})
}

// MarkSeen records id in the seen set until expiry (Unix seconds).
func (b *Batch) MarkSeen(id envelope.ID, expiry int64) {
	b.Ops = append(b.Ops, Op{Kind: OpMarkSeen, ID: id, Expiry: expiry})
}

// PutAck remembers a verified ack, and marks its envelope seen.
func (b *Batch) PutAck(a AckRecord) { b.Ops = append(b.Ops, Op{Kind: OpPutAck, ID: a.Ack.ID, Ack: a}) }

// PutOutbox inserts or replaces an outbox entry.
func (b *Batch) PutOutbox(e OutboxEntry) {
	b.Ops = append(b.Ops, Op{Kind: OpPutOutbox, ID: e.ID, Outbox: e})
}

// Len returns the number of operations.
func (b *Batch) Len() int { return len(b.Ops) }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { clear(b.Ops); b.Ops = b.Ops[:0] }

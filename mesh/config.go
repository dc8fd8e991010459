package mesh

import (
	"fmt"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// Config holds a node's tunables. Start from DefaultConfig; Validate names
// the field and its allowed range on error. The TOML [mesh] section of
// toxmail.toml maps onto it one to one.
type Config struct {
	// TTL is the hop limit the node gives its own mail: it may travel at
	// most TTL friend links from here. Default 4; 1..MaxHops.
	TTL uint8
	// MaxHops caps the hop counter of envelopes from friends, so that a
	// friend cannot make an envelope flood further than any sender may ask.
	// Default 8; 1..MaxHopsLimit.
	MaxHops uint8
	// Lifetime is how long the node's own mail lives before it expires
	// undelivered. Default 7 days; 1 minute..MaxLifetime.
	Lifetime time.Duration
	// MaxLifetime is the furthest expiry accepted from friends: envelopes
	// expiring later than now+MaxLifetime+ClockSkew are refused. Default 14
	// days; 1 hour..365 days.
	MaxLifetime time.Duration
	// ClockSkew is the disagreement between clocks tolerated on expiry
	// checks. Default 10 minutes; 0..1 day.
	ClockSkew time.Duration
	// MaxEnvelopeSize is the largest envelope sent, requested or held, in
	// bytes. Default 8 MiB; envelope.SealedSize(0)..64 MiB+header.
	MaxEnvelopeSize int
	// MaxHeldBytes bounds the bytes of envelopes held. When it is reached
	// the relay copy expiring first is evicted; the node's own outbox is
	// never evicted. Default 256 MiB; MaxEnvelopeSize..1 TiB.
	MaxHeldBytes int64
	// FriendShare is the fraction of MaxHeldBytes that envelopes from any
	// one friend may fill, so a flooding friend cannot crowd out the rest.
	// Default 0.25; (0, 1].
	FriendShare float64
	// DedupeSize is the number of envelope IDs in the in-memory LRU in
	// front of the store's persistent seen set. 0 means no LRU: every
	// look-up the node's index cannot answer goes to the store, which suits
	// a store whose seen set is in memory (the simulator's). Default 65536;
	// 0 or 16..1<<24.
	DedupeSize int
	// MaxAcks bounds the acks the node remembers (each about 150 bytes of
	// memory) to answer offers of delivered mail and purge other copies.
	// Past it the ack expiring first is forgotten (its ID stays in the
	// seen set): a friend that pushes envelopes it made and then their
	// acks cannot grow the node's memory without bound. Forgetting an
	// ack loses no mail; other relays then keep their copies until
	// expiry. Default 262144; 1024..1<<26.
	MaxAcks int
	// MaxSeen bounds the IDs in the store's persistent seen set (about
	// 120 bytes of disk each in a BadgerStore), which would otherwise
	// keep every ID a friend pushed until it expires. Past it, the IDs
	// expiring soonest are forgotten. That loses no mail: the node still
	// knows what it holds and the acks it remembers, and the inbox what
	// it delivered; a forgotten relay copy may be taken again. The node
	// hands it to its store (see BadgerOptions.MaxSeen). Default 1<<21
	// (about 240 MiB); 1024..1<<30.
	MaxSeen int
	// RequestTimeout is how long to wait for a requested envelope before
	// asking another friend that offered it. Default 2 minutes; 1 second..1 hour.
	RequestTimeout time.Duration
	// MaxInflight bounds the envelopes requested and not yet received, from
	// all friends together; MaxInflightPerFriend from any one, and also
	// the requests that may wait for one busy friend. Offers past
	// the limits are deferred: the friend offers them again later. Defaults
	// 8192 and 1024; 1..1<<20 and 1..MaxInflight.
	MaxInflight          int
	MaxInflightPerFriend int
	// OfferDelay batches offers: new offers to a friend wait up to this long
	// to share one frame (like Bitcoin's inventory trickling). Acks and
	// requests are never delayed. Default 50 ms; 0 (send at once)..10 s.
	OfferDelay time.Duration
	// MaxBatch is the most IDs in one offer, request or ack frame. Default
	// 256; 1..1024.
	MaxBatch int
	// SweepInterval is the longest the node goes without sweeping expired
	// records out of its store (held envelopes are dropped exactly at
	// expiry regardless). Default 1 hour; 0 (only at expiries)..1 day.
	SweepInterval time.Duration
	// OutboxRetention is how long outbox entries stay listed after their
	// envelope's expiry. Default 30 days; 0..3650 days.
	OutboxRetention time.Duration
	// DeliverRetry is how long to wait before retrying a delivery the
	// mailbox refused with a temporary error; each further refusal doubles
	// the wait, up to an hour (Node.RetryDeliveries cuts it short).
	// Default 30 s; 1 s..1 hour.
	DeliverRetry time.Duration
	// NoAcks stops the node from sending acks, so relays keep their copies
	// until expiry and senders never see "delivered". It exists for the
	// simulator's flood-without-acks baseline; a real node never sets it.
	// Default false.
	NoAcks bool
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		TTL:                  4,
		MaxHops:              8,
		Lifetime:             7 * 24 * time.Hour,
		MaxLifetime:          14 * 24 * time.Hour,
		ClockSkew:            10 * time.Minute,
		MaxEnvelopeSize:      8 << 20,
		MaxHeldBytes:         256 << 20,
		FriendShare:          0.25,
		DedupeSize:           1 << 16,
		MaxAcks:              1 << 18,
		MaxSeen:              1 << 21,
		RequestTimeout:       2 * time.Minute,
		MaxInflight:          8192,
		MaxInflightPerFriend: 1024,
		OfferDelay:           50 * time.Millisecond,
		MaxBatch:             256,
		SweepInterval:        time.Hour,
		OutboxRetention:      30 * 24 * time.Hour,
		DeliverRetry:         30 * time.Second,
	}
}

const day = 24 * time.Hour

// MaxHopsLimit is the largest MaxHops allowed, and so the furthest any
// mail may travel.
const MaxHopsLimit = 64

// MaxOutboxRetention is the longest OutboxRetention allowed.
const MaxOutboxRetention = 3650 * day

// Validate checks every field against its documented range.
func (c *Config) Validate() error {
	errf := func(field string, v any, rng string) error {
		return fmt.Errorf("mesh: %s = %v is out of range: want %s", field, v, rng)
	}
	switch {
	case c.MaxHops < 1 || c.MaxHops > MaxHopsLimit:
		return errf("MaxHops", c.MaxHops, fmt.Sprintf("1..%d", MaxHopsLimit))
	case c.TTL < 1 || c.TTL > c.MaxHops:
		return errf("TTL", c.TTL, fmt.Sprintf("1..MaxHops (%d)", c.MaxHops))
	case c.MaxLifetime < time.Hour || c.MaxLifetime > 365*day:
		return errf("MaxLifetime", c.MaxLifetime, "1h..8760h (365 days)")
	case c.Lifetime < time.Minute || c.Lifetime > c.MaxLifetime:
		return errf("Lifetime", c.Lifetime, fmt.Sprintf("1m..MaxLifetime (%v)", c.MaxLifetime))
	case c.ClockSkew < 0 || c.ClockSkew > day:
		return errf("ClockSkew", c.ClockSkew, "0..24h")
	case c.MaxEnvelopeSize < envelope.SealedSize(0) || c.MaxEnvelopeSize > envelope.HeaderSize+envelope.MaxCiphertext:
		return errf("MaxEnvelopeSize", c.MaxEnvelopeSize, fmt.Sprintf("%d..%d bytes", envelope.SealedSize(0), envelope.HeaderSize+envelope.MaxCiphertext))
	case c.MaxHeldBytes < int64(c.MaxEnvelopeSize) || c.MaxHeldBytes > 1<<40:
		return errf("MaxHeldBytes", c.MaxHeldBytes, fmt.Sprintf("MaxEnvelopeSize (%d)..1 TiB", c.MaxEnvelopeSize))
	case !(c.FriendShare > 0 && c.FriendShare <= 1):
		return errf("FriendShare", c.FriendShare, "(0, 1]")
	case float64(c.MaxHeldBytes)*c.FriendShare < float64(c.MaxEnvelopeSize):
		return errf("FriendShare", c.FriendShare, fmt.Sprintf("at least MaxEnvelopeSize/MaxHeldBytes (%.4f), so one friend can hand over the largest envelope", float64(c.MaxEnvelopeSize)/float64(c.MaxHeldBytes)))
	case c.DedupeSize != 0 && (c.DedupeSize < 16 || c.DedupeSize > 1<<24):
		return errf("DedupeSize", c.DedupeSize, "0 (no cache) or 16..16777216")
	case c.MaxAcks < 1024 || c.MaxAcks > 1<<26:
		return errf("MaxAcks", c.MaxAcks, "1024..67108864")
	case c.MaxSeen < 1024 || c.MaxSeen > 1<<30:
		return errf("MaxSeen", c.MaxSeen, "1024..1073741824")
	case c.RequestTimeout < time.Second || c.RequestTimeout > time.Hour:
		return errf("RequestTimeout", c.RequestTimeout, "1s..1h")
	case c.MaxInflight < 1 || c.MaxInflight > 1<<20:
		return errf("MaxInflight", c.MaxInflight, "1..1048576")
	case c.MaxInflightPerFriend < 1 || c.MaxInflightPerFriend > c.MaxInflight:
		return errf("MaxInflightPerFriend", c.MaxInflightPerFriend, fmt.Sprintf("1..MaxInflight (%d)", c.MaxInflight))
	case c.OfferDelay < 0 || c.OfferDelay > 10*time.Second:
		return errf("OfferDelay", c.OfferDelay, "0..10s")
	case c.MaxBatch < 1 || c.MaxBatch > MaxBatchLimit:
		return errf("MaxBatch", c.MaxBatch, fmt.Sprintf("1..%d", MaxBatchLimit))
	case c.SweepInterval < 0 || c.SweepInterval > day:
		return errf("SweepInterval", c.SweepInterval, "0..24h")
	case c.OutboxRetention < 0 || c.OutboxRetention > MaxOutboxRetention:
		return errf("OutboxRetention", c.OutboxRetention, "0..87600h (3650 days)")
	case c.DeliverRetry < time.Second || c.DeliverRetry > time.Hour:
		return errf("DeliverRetry", c.DeliverRetry, "1s..1h")
	}
	return nil
}

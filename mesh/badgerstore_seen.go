package mesh

// The bound on a BadgerStore's seen set.
//
// Every envelope a node takes, refuses for budget or fails to open leaves a
// seen record until its expiry, whatever becomes of the envelope, so that
// the node never asks for it again. What a friend can make the node hold is
// bounded (friend_share, max_acks), but without a bound here a friend that
// pushes envelopes it made, and then their acks, would cost the node about
// 120 bytes of disk for each until it expires: at the ~1 MB/s of a Tox
// link, gigabytes a day. So the store counts its seen records and, past
// BadgerOptions.MaxSeen, forgets those expiring soonest: they protect the
// node for the least time, and an envelope past its expiry is refused
// anyway. Forgetting an ID loses no mail. The node's in-memory state
// (held copies, remembered acks, its LRU) still answers for the IDs it
// knows; at worst a relay copy is taken and offered again, and mail to this
// node is not delivered twice (the inbox remembers what it delivered).

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// badgerSeenLogEvery is how often, at most, the store logs that it is
// forgetting seen IDs.
const badgerSeenLogEvery = time.Hour

// badgerSeenBound is the count and cap of a store's seen records. Only
// holders of BadgerStore.writeMu (every write path holds it) change them;
// count and evicted are atomic so that SeenRecords, which the dashboard and
// `toxmail status` call, need not wait for a long Expire.
type badgerSeenBound struct {
	max     int          // 0: no cap
	count   atomic.Int64 // seen records in the store
	evicted atomic.Uint64
	logged  time.Time // when evictions were last logged
	pending uint64    // evictions not yet logged
}

// countSeen counts the seen records, reading keys only.
func (s *BadgerStore) countSeen() error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{badgerPrefixSeen}})
		defer it.Close()
		n := 0
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		s.seen.count.Store(int64(n))
		return nil
	})
}

// SeenRecords returns how many IDs the seen set holds, and how many it has
// forgotten before their expiry (since the store was opened) to stay within
// BadgerOptions.MaxSeen.
func (s *BadgerStore) SeenRecords() (count int, evicted uint64) {
	return int(s.seen.count.Load()), s.seen.evicted.Load()
}

// boundSeen forgets the seen records expiring soonest until at most
// s.seen.max are left, in transactions of at most badgerExpireChunk
// records, and at most limit records in all; s.writeMu is held.
func (s *BadgerStore) boundSeen(limit int) error {
	if s.seen.max <= 0 {
		return nil
	}
	for limit > 0 && int(s.seen.count.Load()) > s.seen.max {
		want := min(int(s.seen.count.Load())-s.seen.max, limit)
		removed, more, err := s.expireChunk(badgerPrefixSeen, math.MaxInt64, want)
		s.seen.count.Add(-int64(removed))
		s.seen.evicted.Add(uint64(removed))
		s.seen.pending += uint64(removed)
		limit -= removed
		if err != nil {
			return fmt.Errorf("mesh: badger store: forgetting seen IDs past MaxSeen: %w", err)
		}
		if !more {
			// The index ran out before the count did: records were
			// dropped behind the count's back (by badger's TTL
			// backstop). None is left.
			s.seen.count.Store(0)
			break
		}
	}
	if now := s.wallNow(); s.seen.pending > 0 && now.Sub(s.seen.logged) >= badgerSeenLogEvery {
		s.log.Warn("seen set at its cap: forgot the IDs expiring soonest",
			"forgotten", s.seen.pending, "since_open", s.seen.evicted.Load(), "max_seen", s.seen.max)
		s.seen.logged, s.seen.pending = now, 0
	}
	return nil
}

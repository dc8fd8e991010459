package mesh

// Expiry and value-log garbage collection of a BadgerStore.

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Expire implements Store. It walks only the expired head of each kind's
// expiry index, in transactions of at most badgerExpireChunk records and
// about badgerExpireOps deletions. If it fails, what earlier transactions
// removed stays removed and is counted.
func (s *BadgerStore) Expire(now, retention int64) (int, error) {
	if err := s.gate.enter(); err != nil {
		return 0, err
	}
	defer s.gate.leave()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	n := 0
	for _, k := range [...]struct {
		kind   byte
		cutoff int64
	}{
		{badgerPrefixHeld, now},
		{badgerPrefixSeen, now},
		{badgerPrefixAck, now},
		{badgerPrefixOutbox, badgerSubSat(now, retention)},
	} {
		for {
			removed, more, err := s.expireChunk(k.kind, k.cutoff, badgerExpireChunk)
			n += removed
			if k.kind == badgerPrefixSeen {
				s.seen.count.Add(-int64(removed))
			}
			if err != nil {
				return n, fmt.Errorf("mesh: badger store: expire: %w", err)
			}
			if !more {
				break
			}
		}
	}
	if err := s.boundSeen(math.MaxInt); err != nil {
		return n, err
	}
	return n, nil
}

// expireChunk removes the records of kind whose expiry is at or before
// cutoff, soonest first: it reads up to limit (at most badgerExpireChunk)
// index keys, stops early once it has made s.expireOps deletions, and
// reports whether there may be more. s.writeMu is held.
func (s *BadgerStore) expireChunk(kind byte, cutoff int64, limit int) (removed int, more bool, err error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()

	prefix := []byte{badgerPrefixIndex, kind}
	var keys [][]byte
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	for it.Rewind(); it.Valid() && len(keys) < limit; it.Next() {
		k := it.Item().KeyCopy(nil)
		_, exp, _, perr := badgerParseIndexKey(k)
		if perr == nil && exp > cutoff {
			break
		}
		keys = append(keys, k) // expired, or a corrupt index key to drop
	}
	it.Close()

	ops, done := 0, 0
	for _, ik := range keys {
		if ops >= s.expireOps {
			break // the rest in the next transaction
		}
		done++
		_, exp, id, perr := badgerParseIndexKey(ik)
		if perr == nil {
			key := badgerKey(kind, id)
			raw, err := badgerGet(txn, key)
			switch {
			case errors.Is(err, ErrNotFound):
				// stale index key
			case err != nil:
				return 0, false, err
			default:
				rexp, derr := badgerRecordExpiry(kind, raw)
				if derr != nil {
					s.log.Warn("expiring a corrupt store record", "key", fmt.Sprintf("%x", key), "err", derr)
				} else if rexp != exp {
					break // stale index key: the record has its own
				}
				if err := txn.Delete(key); err != nil {
					return 0, false, err
				}
				ops++
				if kind == badgerPrefixHeld {
					chunks := -1 // a corrupt record: look for its chunks
					if _, envLen, err := badgerDecodeHeld(raw); err == nil {
						chunks = badgerChunkCount(envLen)
					}
					n, err := badgerDeleteChunks(txn, id, 0, chunks)
					if err != nil {
						return 0, false, err
					}
					ops += n
				}
				removed++
			}
		}
		if err := txn.Delete(ik); err != nil {
			return 0, false, err
		}
		ops++
	}
	if len(keys) == 0 {
		return 0, false, nil
	}
	if err := txn.Commit(); err != nil {
		return 0, false, err
	}
	return removed, done < len(keys) || len(keys) == limit, nil
}

// badgerSubSat returns a-b, saturated to the int64 range.
func badgerSubSat(a, b int64) int64 {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return d
}

// RunGC garbage-collects the value log until there is nothing worth
// rewriting. It is a no-op for an in-memory store.
func (s *BadgerStore) RunGC() error {
	if err := s.gate.enter(); err != nil {
		return err
	}
	defer s.gate.leave()
	return s.runGC()
}

func (s *BadgerStore) runGC() error {
	if s.inMemory {
		return nil
	}
	for {
		err := s.db.RunValueLogGC(badgerGCDiscardRatio)
		switch {
		case err == nil:
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return nil
		default:
			return fmt.Errorf("mesh: badger value-log GC: %w", err)
		}
	}
}

func (s *BadgerStore) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
		}
		if err := s.gate.enter(); err != nil {
			return
		}
		if err := s.runGC(); err != nil {
			s.log.Error("value-log GC failed", "err", err)
		}
		s.gate.leave()
	}
}

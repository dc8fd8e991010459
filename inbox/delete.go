package inbox

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Delete deletes the mails with the given UIDs, atomically: if any UID names
// no stored mail, it returns ErrNotFound and deletes nothing. Each deleted
// mail leaves a tombstone until its KeepUntil, so that the envelope is not
// delivered again. Naming a UID twice is the same as naming it once.
// Bodies are purged after the deleting transaction; a crash in between
// leaves them marked pending, and the next Open purges them. One call can
// delete about 6,000 mails from an inbox on disk (each costs four writes of
// badger's limit of some 26,000 a transaction): past that it fails with
// badger.ErrTxnTooBig and deletes nothing.
func (b *Inbox) Delete(uids ...string) error {
	ids := make([]EnvelopeID, 0, len(uids))
	seen := make(map[EnvelopeID]bool, len(uids))
	for _, uid := range uids {
		id, err := parseForLookup(uid)
		if err != nil {
			return err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	deleted := false
	defer func() { // after release: outside every inbox lock
		if deleted && b.onDelete != nil {
			b.onDelete()
		}
	}()
	if err := b.acquire(); err != nil {
		return err
	}
	defer b.release()
	var purge []uint64
	var freed int64
	b.writeMu.Lock()
	err := b.db.Update(func(txn *badger.Txn) error {
		now := b.clock()
		for _, id := range ids {
			s, err := lookup(txn, id)
			if err != nil {
				return notFound(err, id.UID())
			}
			if err := txn.Delete(messageKey(s.Seq)); err != nil {
				return err
			}
			if err := txn.Delete(indexKey(id)); err != nil {
				return err
			}
			if keep := s.Meta.KeepUntil; !now.After(keep) {
				e := badger.NewEntry(tombKey(id), encodeTomb(keep))
				e.ExpiresAt = expiresAt(now, keep)
				if err := txn.SetEntry(e); err != nil {
					return err
				}
			}
			freed += s.Size
			if s.Size > 0 {
				if err := txn.Set(pendingKey(s.body), encodePending(pendingDeleted)); err != nil {
					return err
				}
				purge = append(purge, s.body)
			}
		}
		return nil
	})
	if err == nil {
		b.account(-len(ids), -freed)
	}
	b.writeMu.Unlock()
	if err != nil {
		return err
	}
	for _, body := range purge {
		if err := purgeBody(b.db, body); err != nil {
			// The pending marker survives; the next Open purges the body.
			b.log.Warn("inbox: purge deleted body", "body", body, "err", err)
		}
	}
	deleted = true
	return nil
}

// expiresAt returns the badger ExpiresAt (Unix seconds of the wall clock,
// which badger reads) for a tombstone kept until keep by the clock that says
// now: KeepUntil plus tombGrace, translated from Options.Now to wall time so
// that a test or simulator clock never makes badger drop a tombstone early.
// With the default clock it is KeepUntil + tombGrace.
func expiresAt(now, keep time.Time) uint64 {
	wall := time.Now().Unix() + int64(keep.Sub(now)/time.Second) + int64(tombGrace/time.Second)
	return uint64(max(wall, 1)) // 0 would mean "never"
}

// Expire removes the tombstones whose KeepUntil has passed by Options.Now,
// returns how many, and then runs GC. Such tombstones already count as
// absent; Expire reclaims their space. Call it now and then, e.g. hourly.
func (b *Inbox) Expire() (int, error) {
	if err := b.acquire(); err != nil {
		return 0, err
	}
	defer b.release()
	n, err := b.expire()
	if err != nil {
		return n, err
	}
	return n, b.gc()
}

func (b *Inbox) expire() (int, error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	now := b.clock()
	var keys [][]byte
	err := b.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixTomb}, PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			keep, err := decodeTomb(v)
			if err != nil {
				return err
			}
			if now.After(keep) {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for batch := range slices.Chunk(keys, purgeBatch) {
		err := b.db.Update(func(txn *badger.Txn) error {
			for _, k := range batch {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(batch)
	}
	return n, nil
}

// GC reclaims value-log space of deleted mail: it runs badger's value-log
// garbage collection until there is nothing left to rewrite. In-memory
// inboxes have nothing to collect.
func (b *Inbox) GC() error {
	if err := b.acquire(); err != nil {
		return err
	}
	defer b.release()
	return b.gc()
}

func (b *Inbox) gc() error {
	if b.inMemory {
		return nil
	}
	for {
		err := b.db.RunValueLogGC(0.5)
		switch {
		case err == nil:
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return nil
		default:
			return fmt.Errorf("inbox: value-log GC: %w", err)
		}
	}
}

package inbox

// Key schema of the badger database behind an Inbox.
//
// Every key starts with one prefix byte naming its kind. Integers are
// big-endian so that keys of one kind sort by number.
//
//	prefixVersion  'v'                          -> "toxmail-inbox" version(4)
//	    The schema version; Open refuses a database of another version.
//	prefixCounter  'c' "seq"                    -> last Seq (8)
//	    Read and written in every commit transaction, so Seq is gapless,
//	    strictly increasing in commit order and never reused.
//	prefixCounter  'c' "body"                   -> badger Sequence
//	    Leases body IDs. Leased IDs lost in a crash are simply never used.
//	prefixMessage  'm' seq(8)                   -> message record
//	    One per stored mail; List iterates these in Seq order.
//	prefixIndex    'e' envelopeID(32)           -> index record: seq
//	    Envelope ID -> Seq, for UID lookups and duplicate suppression.
//	prefixTomb     't' envelopeID(32)           -> tombstone: KeepUntil
//	    A delivered-then-deleted ID. Badger ExpiresAt is KeepUntil plus
//	    tombGrace (translated to wall time, see expiresAt); Options.Now is
//	    checked against KeepUntil on every read.
//	prefixBody     'b' bodyID(8) chunk(4)       -> raw mail bytes
//	    Chunks of chunkSize bytes (the last may be shorter). A body is
//	    written once and never changed, only deleted.
//	prefixPending  'p' bodyID(8)                -> pending record: reason
//	    A body that no message record owns: being staged by a Delivery, or
//	    left by Delete for purging. Written in the same transaction as the
//	    body's first chunk (or as the Delete), removed in the same
//	    transaction as the commit (or as the last chunk's purge). Open purges
//	    every body still marked, so a crash leaks nothing.
//
// Records are defined in records.go.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	prefixVersion = 'v'
	prefixCounter = 'c'
	prefixMessage = 'm'
	prefixIndex   = 'e'
	prefixTomb    = 't'
	prefixBody    = 'b'
	prefixPending = 'p'
)

const (
	// diskMemTableSize is the memtable size of an inbox on disk. Badger's
	// default, 64 MiB, made a node's private memory grow by some 60 MiB
	// under a burst of deliveries, for an inbox that writes a few records
	// a mail. Badger limits a transaction to 15% of it (2.4 MiB) and to
	// some 26,000 writes: a chunk goes to the value log and costs its
	// transaction only its key, and a Delete of 2,000 mails is 8,000 small
	// writes.
	diskMemTableSize = 16 << 20

	// diskBlockCacheSize is the block cache of an inbox on disk (badger's
	// default is 256 MiB). It caches the LSM tree's blocks, which hold the
	// records and index; bodies are read from the value log.
	diskBlockCacheSize = 16 << 20

	// chunkSize is the size of body chunks. It keeps every transaction far
	// below badger's limit (15% of the memtable: 2.4 MiB on disk, 9.6 MiB
	// in memory) whatever the mail size, and bounds a Delivery's buffer. It must stay below 1 MiB:
	// badger v4.9.6 in InMemory mode panics on a value of 1 MiB or more
	// (its value threshold is set before the in-memory override).
	chunkSize = 512 << 10

	// tombGrace is added to KeepUntil for badger's own expiry of a
	// tombstone, so that badger never drops one before Expire would.
	tombGrace = time.Hour

	// purgeBatch is the most chunk deletions put in one transaction.
	purgeBatch = 256

	schemaMagic   = "toxmail-inbox"
	schemaVersion = 1
)

var (
	keyVersion    = []byte{prefixVersion}
	keySeqCounter = []byte{prefixCounter, 's', 'e', 'q'}
	keyBodySeq    = []byte{prefixCounter, 'b', 'o', 'd', 'y'}
)

func messageKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixMessage}, seq)
}

func indexKey(id EnvelopeID) []byte { return append([]byte{prefixIndex}, id[:]...) }

func tombKey(id EnvelopeID) []byte { return append([]byte{prefixTomb}, id[:]...) }

func bodyPrefix(body uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixBody}, body)
}

func chunkKey(body uint64, chunk int64) []byte {
	return binary.BigEndian.AppendUint32(bodyPrefix(body), uint32(chunk))
}

func pendingKey(body uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixPending}, body)
}

// seqFromKey returns the Seq of a message key.
func seqFromKey(k []byte) (uint64, error) {
	if len(k) != 9 || k[0] != prefixMessage {
		return 0, corrupt("message key", "%x", k)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

func schemaRecord() []byte {
	return binary.BigEndian.AppendUint32([]byte(schemaMagic), schemaVersion)
}

// checkSchema writes the schema version into a fresh database and checks it
// in an existing one.
func checkSchema(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyVersion)
		if errors.Is(err, badger.ErrKeyNotFound) {
			it := txn.NewIterator(badger.IteratorOptions{})
			it.Rewind()
			empty := !it.Valid()
			it.Close()
			if !empty {
				return errors.New("inbox: database has data but no inbox schema version; is it an inbox?")
			}
			return txn.Set(keyVersion, schemaRecord())
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if !bytes.Equal(v, schemaRecord()) {
			return fmt.Errorf("inbox: database schema %q, want %q", v, schemaRecord())
		}
		return nil
	})
}

// lookup returns the stored mail with envelope id, or ErrNotFound.
func lookup(txn *badger.Txn, id EnvelopeID) (stored, error) {
	v, err := getValue(txn, indexKey(id))
	if err != nil {
		return stored{}, err
	}
	seq, err := decodeIndex(v)
	if err != nil {
		return stored{}, err
	}
	v, err = getValue(txn, messageKey(seq))
	if errors.Is(err, ErrNotFound) {
		return stored{}, corrupt("index record", "%s points at missing seq %d", id.UID(), seq)
	}
	if err != nil {
		return stored{}, err
	}
	s, err := decodeMessage(seq, v)
	if err != nil {
		return stored{}, err
	}
	if s.Envelope != id {
		return stored{}, corrupt("index record", "%s points at seq %d of %s", id.UID(), seq, s.UID)
	}
	return s, nil
}

// getValue returns a copy of the value under k, or ErrNotFound.
func getValue(txn *badger.Txn, k []byte) ([]byte, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// delivered reports whether id was delivered: it is stored, or it has a
// tombstone whose KeepUntil is not before now. A tombstone past KeepUntil
// counts as absent; if del is set it is also deleted in txn.
func delivered(txn *badger.Txn, id EnvelopeID, now time.Time, del bool) (bool, error) {
	if _, err := txn.Get(indexKey(id)); err == nil {
		return true, nil
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return false, err
	}
	v, err := getValue(txn, tombKey(id))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	keep, err := decodeTomb(v)
	if err != nil {
		return false, err
	}
	if !now.After(keep) {
		return true, nil
	}
	if del {
		return false, txn.Delete(tombKey(id))
	}
	return false, nil
}

// nextSeq reads the Seq counter, stores it incremented and returns the new
// value. The first mail gets Seq 1.
func nextSeq(txn *badger.Txn) (uint64, error) {
	var last uint64
	v, err := getValue(txn, keySeqCounter)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if last, err = decodeCounter(v); err != nil {
			return 0, err
		}
	}
	seq := last + 1
	return seq, txn.Set(keySeqCounter, encodeCounter(seq))
}

// purgeBody deletes all chunks of body and then its pending marker, in
// transactions of at most purgeBatch deletions. It is idempotent: a crash
// half way leaves the marker, and the next Open finishes the job.
func purgeBody(db *badger.DB, body uint64) error {
	prefix := bodyPrefix(body)
	for {
		var keys [][]byte
		err := db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < purgeBatch; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err != nil {
			return err
		}
		last := len(keys) < purgeBatch
		err = db.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			if last {
				return txn.Delete(pendingKey(body))
			}
			return nil
		})
		if err != nil || last {
			return err
		}
	}
}

// pendingBody is a body with a pending marker, and why.
type pendingBody struct {
	body   uint64
	reason byte
}

// pendingBodies lists the bodies that have a pending marker.
func pendingBodies(db *badger.DB) ([]pendingBody, error) {
	var bodies []pendingBody
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixPending}, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != 9 {
				return corrupt("pending key", "%x", k)
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			reason, err := decodePending(v)
			if err != nil {
				return err
			}
			bodies = append(bodies, pendingBody{binary.BigEndian.Uint64(k[1:]), reason})
		}
		return nil
	})
	return bodies, err
}

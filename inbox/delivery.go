package inbox

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Delivery is one mail being written: Write its bytes, then Commit or Abort.
// Nothing of it is visible to List, Get or Has before Commit. A Delivery
// keeps at most one chunk (512 KiB) in memory; larger mail is staged in the
// database as it is written. Its methods are safe for concurrent use, though
// one writer is the normal case.
type Delivery struct {
	b    *Inbox
	id   EnvelopeID
	meta Meta

	mu     sync.Mutex
	dup    bool   // delivered before Begin: bytes are counted, not stored
	exempt bool   // may go past the quota (ExemptFromQuota)
	noWait bool   // a refusal is not recorded for Usage (WillNotWait)
	size   int64  // bytes written
	buf    []byte // bytes not yet in the database, at most chunkSize
	body   uint64 // body ID, once allocated
	staged int64  // chunks already in the database, under a pending marker
	err    error  // sticky failure of Write
	done   bool   // committed or aborted
}

var _ io.Writer = (*Delivery)(nil)

// Begin starts the delivery of the mail of envelope id. meta.KeepUntil must
// be set and meta.PathLength within [0, MaxPathLength].
func (b *Inbox) Begin(id EnvelopeID, meta Meta) (*Delivery, error) {
	if meta.KeepUntil.IsZero() {
		return nil, errors.New("inbox: Meta.KeepUntil is zero; set it to the envelope's expiry")
	}
	if meta.PathLength < 0 || meta.PathLength > MaxPathLength {
		return nil, fmt.Errorf("inbox: Meta.PathLength %d out of range [0, %d]", meta.PathLength, MaxPathLength)
	}
	if err := b.acquire(); err != nil {
		return nil, err
	}
	defer b.release()
	d := &Delivery{b: b, id: id, meta: meta}
	err := b.db.View(func(txn *badger.Txn) (err error) {
		// A duplicate need not be stored at all; Commit will report
		// added=false.
		d.dup, err = delivered(txn, id, b.clock(), false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Write appends p to the mail. Past Options.MaxMessageSize it writes nothing
// and fails with ErrTooLarge. A mail too large for the room left under
// Options.Quota fails with ErrOverQuota once it is large enough to be
// staged (512 KiB), and at the latest at Commit. After any failure the
// Delivery can only be aborted (Commit returns the same error).
func (d *Delivery) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.done:
		return 0, ErrDone
	case d.err != nil:
		return 0, d.err
	case int64(len(p)) > d.b.max-d.size:
		d.err = fmt.Errorf("%w: over %d bytes", ErrTooLarge, d.b.max)
		return 0, d.err
	case d.dup:
		d.size += int64(len(p))
		return len(p), nil
	}
	n := 0
	for len(p) > 0 {
		if len(d.buf) == chunkSize {
			if err := d.flush(); err != nil {
				d.err = err
				return n, err
			}
		}
		k := min(len(p), chunkSize-len(d.buf))
		d.buf = append(d.buf, p[:k]...)
		p = p[k:]
		n += k
		d.size += int64(k)
	}
	return n, nil
}

// Size returns the number of bytes written so far.
func (d *Delivery) Size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.size
}

// flush stages the full buffer as the next chunk. The first chunk goes in
// one transaction with the body's pending marker.
func (d *Delivery) flush() error {
	b := d.b
	if err := b.acquire(); err != nil {
		return err
	}
	defer b.release()
	if !d.exempt {
		b.writeMu.Lock()
		err := b.roomFor(d.id, d.size, false, !d.noWait)
		b.writeMu.Unlock()
		if err != nil {
			return err
		}
	}
	first := d.staged == 0
	if first {
		body, err := b.bodies.Next()
		if err != nil {
			return fmt.Errorf("inbox: body ID: %w", err)
		}
		d.body = body
	}
	err := b.db.Update(func(txn *badger.Txn) error {
		if first {
			if err := txn.Set(pendingKey(d.body), encodePending(pendingStaged)); err != nil {
				return err
			}
		}
		return txn.Set(chunkKey(d.body, d.staged), d.buf)
	})
	if err != nil {
		return fmt.Errorf("inbox: stage chunk: %w", err)
	}
	d.staged++
	d.buf = d.buf[:0]
	return nil
}

// Commit makes the mail visible, durably, and returns added=true; or, if
// the envelope was already delivered (stored, or deleted and remembered
// until its KeepUntil) when Begin or Commit ran, changes nothing and returns
// added=false. Of concurrent Commits of one envelope ID exactly one adds.
// After Commit the Delivery is finished, whatever the outcome.
func (d *Delivery) Commit() (added bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return false, ErrDone
	}
	if d.err != nil {
		d.finish()
		return false, d.err
	}
	b := d.b
	if err := b.acquire(); err != nil {
		d.done = true
		return false, err
	}
	defer b.release()
	d.done = true
	if !d.dup {
		added, err = d.commit()
	}
	if !added && d.staged > 0 {
		if perr := purgeBody(b.db, d.body); perr != nil {
			b.log.Warn("inbox: purge staged body", "envelope", d.id, "err", perr)
		}
	}
	d.buf = nil
	return added, err
}

// commit writes the last chunk, the message record and the index in one
// transaction, unless the envelope was delivered meanwhile.
func (d *Delivery) commit() (bool, error) {
	b := d.b
	if d.staged == 0 && d.size > 0 {
		body, err := b.bodies.Next()
		if err != nil {
			return false, fmt.Errorf("inbox: body ID: %w", err)
		}
		d.body = body
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	added := false
	err := b.db.Update(func(txn *badger.Txn) error {
		now := b.clock()
		dup, err := delivered(txn, d.id, now, true)
		if err != nil || dup {
			return err
		}
		if !d.exempt {
			if err := b.roomFor(d.id, d.size, true, !d.noWait); err != nil {
				return err
			}
		}
		seq, err := nextSeq(txn)
		if err != nil {
			return err
		}
		if len(d.buf) > 0 {
			if err := txn.Set(chunkKey(d.body, d.staged), d.buf); err != nil {
				return err
			}
		}
		if d.staged > 0 {
			if err := txn.Delete(pendingKey(d.body)); err != nil {
				return err
			}
		}
		s := stored{
			Message: Message{
				Seq:      seq,
				UID:      d.id.UID(),
				Envelope: d.id,
				Size:     d.size,
				Received: now,
				Meta:     d.meta,
			},
			body:      d.body,
			chunkSize: chunkSize,
		}
		if err := txn.Set(messageKey(seq), encodeMessage(s)); err != nil {
			return err
		}
		if err := txn.Set(indexKey(d.id), encodeIndex(seq)); err != nil {
			return err
		}
		added = true
		return nil
	})
	if errors.Is(err, ErrOverQuota) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("inbox: commit %s: %w", d.id.UID(), err)
	}
	if added {
		b.account(1, d.size)
		b.log.Debug("inbox: delivered", "envelope", d.id, "bytes", d.size, "path", d.meta.PathLength)
	}
	return added, nil
}

// Abort discards the mail. It is a no-op after Commit or a previous Abort.
func (d *Delivery) Abort() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return nil
	}
	return d.finish()
}

// finish marks d done and removes what it staged. If the Inbox is closed,
// the next Open removes it.
func (d *Delivery) finish() error {
	d.done = true
	d.buf = nil
	if d.staged == 0 {
		return nil
	}
	if err := d.b.acquire(); err != nil {
		return nil
	}
	defer d.b.release()
	return purgeBody(d.b.db, d.body)
}

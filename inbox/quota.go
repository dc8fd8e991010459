package inbox

import (
	"fmt"
	"maps"

	"github.com/toxmail/toxmail/internal/bytesize"
)

// The quota (Options.Quota) bounds the bytes of mail stored, so that mail
// from others cannot fill the disk. It is checked each time a delivery
// stages a chunk (so a mail that does not fit stops early, with little of
// it written) and again, exactly, when it commits: concurrent deliveries
// cannot take the inbox past it together. Mail the node makes for its
// owner can be exempt; it still counts, and can take the inbox past it.

// Usage is how full the inbox is.
type Usage struct {
	Mails int   // mails stored
	Bytes int64 // their total size
	Quota int64 // Options.Quota; 0 means no limit

	// Short is, when the inbox has refused mail for want of room since
	// mail was last deleted (or it was opened), how much more room the
	// largest of those mails needs now; else 0. Mail refused part-way,
	// whose size was not known, may need more. Refusals of mail that does
	// not wait (WillNotWait) are left out.
	Short int64
}

// Full reports whether the stored mail has reached the quota.
func (u Usage) Full() bool { return u.Quota > 0 && u.Bytes >= u.Quota }

// Refusing reports whether the inbox has refused mail that waits with its
// senders for want of room, and no mail has been deleted since. It can be
// so well before Full, when a large mail does not fit in the room left.
// Whether that mail still waits is the mesh's to say: it may have expired.
func (u Usage) Refusing() bool { return u.Short > 0 }

// Usage returns how full the inbox is, without reading the database or
// waiting for a commit.
func (b *Inbox) Usage() Usage { return b.UsageOf(nil) }

// UsageOf is Usage with Short counting only the refused mails for which
// waiting reports true (nil: all of them): those that still wait with
// their senders, where the caller knows which (an expired one does not).
// waiting is called without the inbox's locks held.
func (b *Inbox) UsageOf(waiting func(EnvelopeID) bool) Usage {
	b.usageMu.Lock()
	u := Usage{Mails: b.mails, Bytes: b.used, Quota: b.quota}
	var refused map[EnvelopeID]int64
	if waiting != nil && len(b.refused) > 0 {
		refused = maps.Clone(b.refused)
	} else {
		for _, size := range b.refused {
			u.Short = max(u.Short, size)
		}
	}
	b.usageMu.Unlock()
	for id, size := range refused {
		if size > u.Short && waiting(id) {
			u.Short = size
		}
	}
	if u.Short > 0 { // the largest refused mail's size: how much room it lacks now
		u.Short = max(0, u.Short-(u.Quota-u.Bytes))
	}
	return u
}

// ExemptFromQuota lets this delivery be stored past Options.Quota. It is
// for mail the node makes for its owner (a copy of the owner's own mail, a
// non-delivery report), which the owner, not others, decides to send.
func (d *Delivery) ExemptFromQuota() {
	d.mu.Lock()
	d.exempt = true
	d.mu.Unlock()
}

// WillNotWait says this mail is lost if the inbox refuses it (a text
// message, which Tox cannot offer again): Usage does not count its
// refusal as mail waiting for room.
func (d *Delivery) WillNotWait() {
	d.mu.Lock()
	d.noWait = true
	d.mu.Unlock()
}

// Expect says the mail will be size bytes, before any is written, so that
// one that cannot fit under the quota fails at once with ErrOverQuota and
// Usage learns all it lacks. A duplicate, or an exempt mail, never fails.
func (d *Delivery) Expect(size int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dup || d.exempt || d.done || size > d.b.max {
		return nil // Write fails a mail past MaxMessageSize for good
	}
	b := d.b
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return b.roomFor(d.id, size, true, !d.noWait)
}

// account adds mails and bytes to the totals; writeMu is held. Deleting
// mail makes room, so it forgets the refusals: the mail refused is tried
// again and refused again if it still does not fit.
func (b *Inbox) account(mails int, bytes int64) {
	b.usageMu.Lock()
	b.mails += mails
	b.used += bytes
	if mails < 0 {
		clear(b.refused)
	}
	b.usageMu.Unlock()
}

// roomFor returns ErrOverQuota, with the figures, if size more bytes of
// mail id would take the stored mail past the quota, and if record is set
// notes the refusal for Usage; whole says size is the whole mail rather
// than what has arrived of it. writeMu is held.
func (b *Inbox) roomFor(id EnvelopeID, size int64, whole, record bool) error {
	if b.quota == 0 || size <= b.quota-b.used {
		return nil
	}
	short := size - (b.quota - b.used)
	if record {
		b.usageMu.Lock()
		b.noteRefused(id, size)
		b.usageMu.Unlock()
	}
	is := "is"
	if !whole {
		is = "is at least"
	}
	return fmt.Errorf("%w: %s stored of %s, and this mail %s %s; delete at least %s of mail to make room",
		ErrOverQuota, bytesize.Format(b.used), bytesize.Format(b.quota), is, bytesize.Format(size), bytesize.Format(short))
}

// maxRefused bounds the refusals remembered between Deletes (the mesh
// retries at most as many deliveries).
const maxRefused = 1024

// noteRefused remembers that mail id, of at least size bytes, was refused.
// Past maxRefused mails, the smallest is forgotten: Short is about the
// largest. usageMu is held.
func (b *Inbox) noteRefused(id EnvelopeID, size int64) {
	if b.refused == nil {
		b.refused = make(map[EnvelopeID]int64)
	}
	if old, ok := b.refused[id]; ok || len(b.refused) < maxRefused {
		b.refused[id] = max(old, size)
		return
	}
	var least EnvelopeID
	leastSize := int64(-1)
	for k, v := range b.refused {
		if leastSize < 0 || v < leastSize {
			least, leastSize = k, v
		}
	}
	if size > leastSize {
		delete(b.refused, least)
		b.refused[id] = size
	}
}

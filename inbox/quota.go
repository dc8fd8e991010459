package inbox

import (
	"fmt"
	"time"

	"github.com/toxmail/toxmail/internal/bytesize"
)

// The quota (Options.Quota) bounds the bytes of mail stored, so that mail
// from others cannot fill the disk. It is checked each time a delivery
// stages a chunk (so a mail that does not fit stops early, with little of
// it written) and again, exactly, when it commits: concurrent deliveries
// cannot take the inbox past it together. Mail the node makes for its
// owner can be exempt; it still counts, and can take the inbox past it.

// refusalMemory is how long Usage reports a refusal. Mail that waits for
// room is tried again at least hourly, so an older refusal means nothing
// waits any more: it arrived, or expired with its senders.
const refusalMemory = time.Hour

// Usage is how full the inbox is.
type Usage struct {
	Mails int   // mails stored
	Bytes int64 // their total size
	Quota int64 // Options.Quota; 0 means no limit

	// Short is how many more bytes a mail needed when the inbox last
	// refused one for want of room, if that was in the last hour and no
	// mail has been deleted since; else 0. It is at least what is needed:
	// a mail refused part-way is longer than what arrived of it.
	Short int64
}

// Full reports whether the stored mail has reached the quota.
func (u Usage) Full() bool { return u.Quota > 0 && u.Bytes >= u.Quota }

// Refusing reports whether mail for the inbox waits with its senders for
// want of room: the inbox refused some recently and nothing was deleted
// since. It can be so well before Full, when a large mail does not fit in
// the room left.
func (u Usage) Refusing() bool { return u.Short > 0 }

// Usage returns how full the inbox is, without reading the database or
// waiting for a commit.
func (b *Inbox) Usage() Usage {
	b.usageMu.Lock()
	defer b.usageMu.Unlock()
	u := Usage{Mails: b.mails, Bytes: b.used, Quota: b.quota}
	if !b.refusedAt.IsZero() && b.clock().Sub(b.refusedAt) < refusalMemory {
		u.Short = b.short
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

// account adds mails and bytes to the totals; writeMu is held. Deleting
// mail makes room, so it forgets the last refusal: the mail refused is
// tried again and refused again if it still does not fit.
func (b *Inbox) account(mails int, bytes int64) {
	b.usageMu.Lock()
	b.mails += mails
	b.used += bytes
	if mails < 0 {
		b.refusedAt, b.short = time.Time{}, 0
	}
	b.usageMu.Unlock()
}

// roomFor returns ErrOverQuota, with the figures, if size more bytes would
// take the stored mail past the quota, and records the refusal for Usage;
// whole says size is the whole mail rather than what has arrived of it.
// writeMu is held.
func (b *Inbox) roomFor(size int64, whole bool) error {
	if b.quota == 0 || size <= b.quota-b.used {
		return nil
	}
	short := size - (b.quota - b.used)
	b.usageMu.Lock()
	b.refusedAt, b.short = b.clock(), short
	b.usageMu.Unlock()
	is := "is"
	if !whole {
		is = "is at least"
	}
	return fmt.Errorf("%w: %s stored of %s, and this mail %s %s; delete at least %s of mail to make room",
		ErrOverQuota, bytesize.Format(b.used), bytesize.Format(b.quota), is, bytesize.Format(size), bytesize.Format(short))
}

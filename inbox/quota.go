package inbox

import "fmt"

// The quota (Options.Quota) bounds the bytes of mail stored, so that mail
// from others cannot fill the disk. It is checked when a delivery begins
// (nothing is staged for an inbox already full) and again, exactly, when it
// commits: concurrent deliveries cannot take the inbox past it together.
// Mail the node makes for its owner can be exempt; it still counts.

// Usage is how full the inbox is.
type Usage struct {
	Mails int   // mails stored
	Bytes int64 // their total size
	Quota int64 // Options.Quota; 0 means no limit
}

// Full reports whether no more mail fits under the quota.
func (u Usage) Full() bool { return u.Quota > 0 && u.Bytes >= u.Quota }

// Usage returns how full the inbox is, without reading the database.
func (b *Inbox) Usage() Usage {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return Usage{Mails: b.mails, Bytes: b.used, Quota: b.quota}
}

// ExemptFromQuota lets this delivery be stored past Options.Quota. It is
// for mail the node makes for its owner (a copy of the owner's own mail, a
// non-delivery report), which the owner, not others, decides to send.
func (d *Delivery) ExemptFromQuota() {
	d.mu.Lock()
	d.exempt = true
	d.mu.Unlock()
}

// roomFor returns ErrOverQuota, with the figures, if size more bytes would
// take the stored mail past the quota; writeMu is held.
func (b *Inbox) roomFor(size int64) error {
	if b.quota == 0 || size <= b.quota-b.used {
		return nil
	}
	return fmt.Errorf("%w: %s stored of %s, and this mail is %s; delete mail to make room",
		ErrOverQuota, formatBytes(b.used), formatBytes(b.quota), formatBytes(size))
}

// formatBytes writes n as B, KiB, MiB or GiB.
func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

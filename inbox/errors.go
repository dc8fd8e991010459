package inbox

import "errors"

var (
	// ErrNotFound is returned for a UID that names no stored mail, including
	// a malformed UID and a mail deleted while a Reader was reading it.
	ErrNotFound = errors.New("inbox: no such mail")

	// ErrTooLarge is returned by [Delivery.Write] (and then by Commit) once a
	// mail grows past [Options.MaxMessageSize]. It is permanent: delivering
	// the same mail again fails the same way.
	ErrTooLarge = errors.New("inbox: mail too large")

	// ErrOverQuota is returned by [Delivery.Expect] (and so by
	// [Inbox.Deliver]), [Delivery.Write] (once the mail is large enough to
	// be staged) and [Delivery.Commit] when the mail would take the inbox
	// past [Options.Quota]. It is temporary: the same mail fits
	// once mail is deleted. Nothing of the mail is kept.
	ErrOverQuota = errors.New("inbox: mailbox full")

	// ErrClosed is returned by every operation on a closed [Inbox], and by a
	// [Delivery] or Reader whose Inbox was closed under it.
	ErrClosed = errors.New("inbox: closed")

	// ErrDone is returned by Write or Commit on a [Delivery] that was already
	// committed or aborted.
	ErrDone = errors.New("inbox: delivery already committed or aborted")

	// ErrCorrupt wraps every failure to decode a stored record or body.
	// Badger checksums its files, so it means a bug or a foreign database.
	ErrCorrupt = errors.New("inbox: corrupt record")
)

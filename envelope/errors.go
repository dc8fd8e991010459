package envelope

import "errors"

// Errors returned by decoding and opening. They are permanent: retrying with
// the same bytes gives the same answer. Test for them with errors.Is.
var (
	// ErrMalformed means the bytes are not a well-formed envelope or ack.
	ErrMalformed = errors.New("envelope: malformed")
	// ErrVersion means the envelope's version or kind is not one this code knows.
	ErrVersion = errors.New("envelope: unknown version or kind")
	// ErrExpired means the envelope's expiry has passed.
	ErrExpired = errors.New("envelope: expired")
	// ErrNotForMe means the recipient tag is not this key's tag.
	ErrNotForMe = errors.New("envelope: not addressed to this key")
	// ErrAuth means authentication failed: the envelope was tampered with,
	// sealed to another key, or its inner layer does not match its header.
	ErrAuth = errors.New("envelope: authentication failed")
	// ErrTooLarge means a body or envelope exceeds the format's limits.
	ErrTooLarge = errors.New("envelope: too large")
)

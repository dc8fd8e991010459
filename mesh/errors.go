package mesh

import "errors"

// Errors of Submit. ErrTooLarge and ErrBadMail are permanent; a store
// failure comes back wrapped so that Temporary reports true.
var (
	// ErrTooLarge means a mail seals to more than Config.MaxEnvelopeSize.
	ErrTooLarge = errors.New("mesh: mail too large")
	// ErrBadMail means a submission's parameters are out of range.
	ErrBadMail = errors.New("mesh: bad submission")
	// ErrClosed means the node is closed or not started.
	ErrClosed = errors.New("mesh: node not running")
)

// temporaryError marks an error as worth retrying.
type temporaryError struct{ err error }

func (e temporaryError) Error() string   { return e.err.Error() }
func (e temporaryError) Unwrap() error   { return e.err }
func (e temporaryError) Temporary() bool { return true }

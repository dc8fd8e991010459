package envelope

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// EpochSeconds is the length of a tag epoch: one day.
const EpochSeconds = 24 * 60 * 60

// Epoch returns the tag epoch of an envelope expiring at expiry (Unix seconds).
func Epoch(expiry int64) uint64 {
	if expiry < 0 {
		return 0
	}
	return uint64(expiry / EpochSeconds)
}

var tagDomain = []byte("toxmail/tag/v1\x00")

// MakeTag returns the recipient tag of key for an epoch.
func MakeTag(key PublicKey, epoch uint64) Tag {
	m := hmac.New(sha256.New, key[:])
	m.Write(tagDomain)
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	m.Write(e[:])
	var sum [sha256.Size]byte
	var t Tag
	copy(t[:], m.Sum(sum[:0]))
	return t
}

// TagFor returns the tag an envelope to key expiring at expiry carries.
func TagFor(key PublicKey, expiry int64) Tag { return MakeTag(key, Epoch(expiry)) }

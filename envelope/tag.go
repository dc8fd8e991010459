package envelope

import (
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

// tagDomain separates tags from any other use of the key in an HMAC.
const tagDomain = "toxmail/tag/v1\x00"

// MakeTag returns the recipient tag of key for an epoch: the first bytes
// of HMAC-SHA256(key, tagDomain || epoch). Relays compute one for every
// friend an envelope might be for, so it is written out over two
// sha256.Sum256 calls on stack buffers rather than with crypto/hmac, which
// allocates its state on every call.
func MakeTag(key PublicKey, epoch uint64) Tag {
	const block = sha256.BlockSize
	var inner [block + len(tagDomain) + 8]byte
	var outer [block + sha256.Size]byte
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		inner[i], outer[i] = k^0x36, k^0x5c
	}
	n := copy(inner[block:], tagDomain)
	binary.BigEndian.PutUint64(inner[block+n:], epoch)
	sum := sha256.Sum256(inner[:])
	copy(outer[block:], sum[:])
	sum = sha256.Sum256(outer[:])
	var t Tag
	copy(t[:], sum[:])
	return t
}

// TagFor returns the tag an envelope to key expiring at expiry carries.
func TagFor(key PublicKey, expiry int64) Tag { return MakeTag(key, Epoch(expiry)) }

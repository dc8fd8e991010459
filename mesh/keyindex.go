package mesh

import (
	"encoding/binary"
	"slices"
)

// keyPrefix is the first 8 bytes of a key, for quick comparisons.
func keyPrefix(k *FriendKey) uint64 { return binary.LittleEndian.Uint64(k[:8]) }

// keyIndex finds a friend's position in a list by its key. It keeps each
// key's 8-byte prefix in a slice (8 bytes a friend, instead of a map's ~50)
// and scans it while the list is short; past linearKeys friends it also
// keeps the positions sorted by prefix and searches them. Two keys with the
// same prefix are both found: the caller's match compares whole keys.
type keyIndex struct {
	prefixes []uint64
	sorted   []int32 // positions by prefix, once len(prefixes) > linearKeys
}

// linearKeys is how many prefixes find scans before it searches.
const linearKeys = 32

// add records the prefix of the key at the next position.
func (x *keyIndex) add(prefix uint64) {
	x.prefixes = append(x.prefixes, prefix)
	i := int32(len(x.prefixes) - 1)
	switch {
	case x.sorted != nil:
		at, _ := slices.BinarySearchFunc(x.sorted, prefix, x.cmp)
		x.sorted = slices.Insert(x.sorted, at, i)
	case len(x.prefixes) > linearKeys:
		x.sorted = make([]int32, len(x.prefixes))
		for j := range x.sorted {
			x.sorted[j] = int32(j)
		}
		slices.SortStableFunc(x.sorted, func(a, b int32) int { return cmpUint64(x.prefixes[a], x.prefixes[b]) })
	}
}

func (x *keyIndex) cmp(pos int32, prefix uint64) int { return cmpUint64(x.prefixes[pos], prefix) }

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// find returns the position whose prefix is prefix and for which match
// holds, or -1.
func (x *keyIndex) find(prefix uint64, match func(int) bool) int {
	if x.sorted == nil {
		for i, p := range x.prefixes {
			if p == prefix && match(i) {
				return i
			}
		}
		return -1
	}
	at, _ := slices.BinarySearchFunc(x.sorted, prefix, x.cmp)
	for ; at < len(x.sorted) && x.prefixes[x.sorted[at]] == prefix; at++ {
		if i := int(x.sorted[at]); match(i) {
			return i
		}
	}
	return -1
}

// grow makes room for n more keys.
func (x *keyIndex) grow(n int) { x.prefixes = slices.Grow(x.prefixes, n) }

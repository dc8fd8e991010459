package mesh

import (
	"hash/maphash"
	"math/bits"

	"github.com/toxmail/toxmail/envelope"
)

// recordMap is the node's records by envelope ID: an open-addressing table
// with linear probing whose slots hold a 64-bit hash of the ID beside its
// record. A look-up reads the slot it hashes to, and the record only when
// the hashes match, so it usually touches one cache line of the table
// (a Go map also reads its header and a control word); the relay path does
// one per offered ID, mostly on tables no longer in cache.
//
// The hash covers the whole ID under a random seed of the table's own
// (hash/maphash), so IDs chosen to share slots do not line up: a friend
// may offer any 32 bytes as an ID, and IDs sharing their first 8 bytes
// once all fell in one probe run, whose look-ups then walked the whole of
// it. Where the records land never shows: nothing ranges over the table.
// The zero value is an empty table.
type recordMap struct {
	slots []recordSlot // a power of two long, or nil
	used  int
	shift uint8 // 64 - log2(len(slots))
	seed  maphash.Seed
}

type recordSlot struct {
	hash uint64  // m.hash of r.id
	r    *record // nil: empty
}

const (
	minRecordSlots = 8
	// A table is grown before more than maxLoadNum/maxLoadDen of its
	// slots are used, which keeps probe runs short.
	maxLoadNum, maxLoadDen = 3, 4
)

// hash is the seeded hash of a whole ID; the table has a seed (grow gives
// it one) whenever it holds records.
func (m *recordMap) hash(id *envelope.ID) uint64 { return maphash.Bytes(m.seed, id[:]) }

// home is the slot of a hash: its top bits.
func (m *recordMap) home(hash uint64) int { return int(hash >> m.shift) }

// get returns the record of id, or nil.
func (m *recordMap) get(id envelope.ID) *record {
	if m.used == 0 {
		return nil
	}
	h, mask := m.hash(&id), len(m.slots)-1
	for i := m.home(h); ; i = (i + 1) & mask {
		s := &m.slots[i]
		if s.r == nil {
			return nil
		}
		if s.hash == h && s.r.id == id {
			return s.r
		}
	}
}

// put adds r, whose id is not in m.
func (m *recordMap) put(r *record) {
	if (m.used+1)*maxLoadDen > len(m.slots)*maxLoadNum {
		m.grow()
	}
	m.place(recordSlot{m.hash(&r.id), r})
	m.used++
}

// place puts s in the first free slot from its home.
func (m *recordMap) place(s recordSlot) {
	mask := len(m.slots) - 1
	i := m.home(s.hash)
	for m.slots[i].r != nil {
		i = (i + 1) & mask
	}
	m.slots[i] = s
}

// grow doubles the table (or makes the first) and places every record
// again.
func (m *recordMap) grow() {
	old := m.slots
	n := max(minRecordSlots, 2*len(old))
	if old == nil {
		m.seed = maphash.MakeSeed()
	}
	m.slots = make([]recordSlot, n)
	m.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s.r != nil {
			m.place(s)
		}
	}
}

// remove takes r out of m, if it is there. The slots after it in its probe
// run move back into the gap (backward-shift deletion), so that a look-up
// may stop at the first empty slot and no tombstones build up.
func (m *recordMap) remove(r *record) {
	if m.used == 0 {
		return
	}
	mask := len(m.slots) - 1
	i := m.home(m.hash(&r.id))
	for m.slots[i].r != r {
		if m.slots[i].r == nil {
			return
		}
		i = (i + 1) & mask
	}
	m.used--
	for j := i; ; {
		j = (j + 1) & mask
		s := m.slots[j]
		if s.r == nil {
			break
		}
		// s may fill the gap at i only if its home is not in (i, j]:
		// otherwise a look-up starting at its home would not pass i.
		if h := m.home(s.hash); (j-h)&mask < (j-i)&mask {
			continue
		}
		m.slots[i] = s
		i = j
	}
	m.slots[i] = recordSlot{}
}

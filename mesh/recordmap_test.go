package mesh

import (
	"encoding/binary"
	"testing"

	"github.com/toxmail/toxmail/envelope"
	"pgregory.net/rapid"
)

// recordMap behaves like a Go map of IDs under puts, removes and gets,
// also when many IDs share a prefix (and so a home slot) and probe runs
// wrap around the end of the table.
func TestRecordMapModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m recordMap
		model := map[envelope.ID]*record{}
		// A few prefixes, so that records pile up on the same slots, and
		// a few suffixes, so that records share a prefix and differ after.
		prefixes := rapid.SliceOfN(rapid.Uint64(), 1, 6).Draw(t, "prefixes")
		genID := rapid.Custom(func(t *rapid.T) envelope.ID {
			var id envelope.ID
			binary.LittleEndian.PutUint64(id[:8], rapid.SampledFrom(prefixes).Draw(t, "prefix"))
			id[8+rapid.IntRange(0, 23).Draw(t, "at")] = rapid.Byte().Draw(t, "b")
			return id
		})
		for range rapid.IntRange(1, 300).Draw(t, "ops") {
			id := genID.Draw(t, "id")
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				if model[id] == nil {
					r := &record{id: id}
					m.put(r)
					model[id] = r
				}
			case 1:
				if r := model[id]; r != nil {
					m.remove(r)
					delete(model, id)
				} else {
					m.remove(&record{id: id}) // not there: nothing changes
				}
			}
			if got := m.get(id); got != model[id] {
				t.Fatalf("get %x: %p, want %p", id[:9], got, model[id])
			}
			if m.used != len(model) {
				t.Fatalf("used %d, want %d", m.used, len(model))
			}
			checkProbeRuns(t, &m)
		}
		for id, r := range model {
			if m.get(id) != r {
				t.Fatalf("lost %x", id[:9])
			}
		}
	})
}

// checkProbeRuns checks that every record can be found from its home
// slot without crossing an empty one, and that the load stays bounded.
func checkProbeRuns(t *rapid.T, m *recordMap) {
	mask := len(m.slots) - 1
	n := 0
	for j, s := range m.slots {
		if s.r == nil {
			continue
		}
		n++
		if s.hash != m.hash(&s.r.id) {
			t.Fatalf("slot %d holds hash %x for record %x", j, s.hash, s.r.id[:8])
		}
		for i := m.home(s.hash); i != j; i = (i + 1) & mask {
			if m.slots[i].r == nil {
				t.Fatalf("slot %d is empty between the home %d of slot %d and it", i, m.home(s.hash), j)
			}
		}
	}
	if n != m.used || n*maxLoadDen > len(m.slots)*maxLoadNum {
		t.Fatalf("%d records in %d slots, used %d", n, len(m.slots), m.used)
	}
}

// The zero table answers and removes without allocating.
func TestRecordMapEmpty(t *testing.T) {
	var m recordMap
	var id envelope.ID
	if m.get(id) != nil {
		t.Fatal("empty table found a record")
	}
	m.remove(&record{id: id})
	if m.slots != nil || m.used != 0 {
		t.Fatal("remove on an empty table changed it")
	}
}

func BenchmarkRecordMapGet(b *testing.B) {
	var m recordMap
	ids := make([]envelope.ID, 400)
	for i := range ids {
		binary.LittleEndian.PutUint64(ids[i][:8], mix64test(uint64(i)))
		ids[i][31] = byte(i)
		m.put(&record{id: ids[i]})
	}
	i := 0
	for b.Loop() {
		if m.get(ids[i]) == nil {
			b.Fatal("missing")
		}
		i = (i + 1) % len(ids)
	}
}

func mix64test(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	return x ^ x>>33
}

// IDs that share their first 8 bytes (any friend may offer any 32 bytes as
// an ID) do not share a probe run: the hash covers the whole ID. Before,
// 1,024 such IDs all fell in one run, and each look-up walked it.
func TestRecordMapSharedPrefixSpread(t *testing.T) {
	var m recordMap
	const n = 1024
	for i := range n {
		var id envelope.ID
		copy(id[:8], "samepref")
		binary.BigEndian.PutUint64(id[24:], uint64(i))
		m.put(&record{id: id})
	}
	longest, run := 0, 0
	for _, s := range m.slots {
		if s.r == nil {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	// Random placement at a load of at most 3/4 gives runs of tens of
	// slots; all n in one run is what crafted IDs used to get.
	if longest > n/8 {
		t.Fatalf("the longest probe run holds %d of %d records sharing a prefix", longest, n)
	}
}

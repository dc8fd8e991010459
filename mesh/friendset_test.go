package mesh

import (
	"testing"

	"pgregory.net/rapid"
)

// friendSet behaves like a set of indices under adds, removes and unions,
// on both sides of the 64 kept inline, and a union shares nothing: changing
// either set afterwards leaves the other as it was.
func TestFriendSetModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var sets [3]friendSet
		var models [3]map[int32]bool
		for k := range models {
			models[k] = map[int32]bool{}
		}
		index := rapid.OneOf(rapid.Int32Range(0, 70), rapid.Int32Range(0, 400))
		for range rapid.IntRange(1, 200).Draw(t, "ops") {
			k := rapid.IntRange(0, 2).Draw(t, "set")
			s, m := &sets[k], models[k]
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				i := index.Draw(t, "add")
				s.add(i)
				m[i] = true
			case 1:
				i := index.Draw(t, "remove")
				s.remove(i)
				delete(m, i)
			case 2:
				o := rapid.IntRange(0, 2).Draw(t, "from")
				s.union(&sets[o])
				for i := range models[o] {
					m[i] = true
				}
			}
			for k := range sets {
				checkFriendSet(t, &sets[k], models[k])
			}
		}
	})
}

func checkFriendSet(t *rapid.T, s *friendSet, m map[int32]bool) {
	if got := s.count(); got != len(m) {
		t.Fatalf("count %d, want %d", got, len(m))
	}
	for i := range int32(420) {
		if s.has(i) != m[i] {
			t.Fatalf("has(%d) = %v, want %v", i, s.has(i), m[i])
		}
	}
}

// A copy of a set read by union is not changed by the set it joins: the
// relay path copies an inflight request's sets before the request ends.
func TestFriendSetUnionCopies(t *testing.T) {
	var a, b friendSet
	a.add(100)
	b.union(&a)
	b.add(101)
	a.add(102)
	if a.has(101) || b.has(102) || !a.has(100) || !b.has(100) {
		t.Fatalf("sets share words: a %v b %v", a.high(), b.high())
	}
}

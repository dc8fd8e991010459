package mesh

import (
	"maps"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

const (
	// noRoomFor is how long an envelope turned away for budget is not
	// asked for again: long enough that its offers do not fetch its body
	// again and again while the budget stays full, short enough that it
	// is taken once room frees up. Before, it was marked seen until it
	// expired, so a budget filled for a while (by a flood of junk, say)
	// lost it for good.
	noRoomFor = time.Hour
	// maxNoRoom bounds the envelopes remembered so; past it those whose
	// hour is up are forgotten, then all.
	maxNoRoom = 4096
)

// noteNoRoom remembers that id, expiring at expiry (Unix seconds), was
// turned away for budget now.
func (n *Node) noteNoRoom(id envelope.ID, expiry int64, now time.Time) {
	if n.noRoom == nil {
		n.noRoom = make(map[envelope.ID]int64)
	}
	if len(n.noRoom) >= maxNoRoom {
		t := now.Unix()
		maps.DeleteFunc(n.noRoom, func(_ envelope.ID, until int64) bool { return until <= t })
		if len(n.noRoom) >= maxNoRoom {
			clear(n.noRoom)
		}
	}
	n.noRoom[id] = min(expiry, now.Add(noRoomFor).Unix())
}

// turnedAway reports whether an offer of id is to be let go: the envelope
// was turned away for budget less than noRoomFor ago.
func (n *Node) turnedAway(id envelope.ID, now time.Time) bool {
	until, ok := n.noRoom[id]
	if ok && until <= now.Unix() {
		delete(n.noRoom, id)
		return false
	}
	return ok
}

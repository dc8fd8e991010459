package mesh

import (
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// An envelope a relay turned away for budget is taken when it is offered
// again once room has freed up (and an hour has passed), instead of being
// remembered as seen until it expires: a budget full for a while (a flood
// of junk, say) used to lose such mail for good.
func TestTurnedAwayTakenLater(t *testing.T) {
	tn := newTestNet(t, MemConfig{})
	body := string(make([]byte, 1000))
	size := envelope.SealedSize(len(body))
	rc := testConfig()
	rc.MaxEnvelopeSize = size
	rc.MaxHeldBytes = int64(4 * size)
	rc.FriendShare = 1
	tn.add("R", rc, nil)
	tn.add("nobody", testConfig(), nil)
	tn.add("F", testConfig(), nil)
	tn.friends("R", "F")
	for range 4 { // R's own mail fills its budget for an hour
		tn.send("R", "nobody", body, withLifetime(time.Hour))
	}
	tn.online("R", "F")
	tn.run(time.Second)
	id := tn.send("F", "nobody", body)
	tn.run(time.Minute)
	r := tn.nodes["R"].node
	if r.Holds(id) || r.Stats().OverBudget != 1 {
		t.Fatalf("with a full budget: holds %v, OverBudget %d; want it turned away once", r.Holds(id), r.Stats().OverBudget)
	}
	// F offers it again at once (a reconnection): not fetched again.
	tn.offline("F")
	tn.run(time.Minute)
	tn.online("F")
	tn.run(time.Minute)
	if got := r.Stats().OverBudget; got != 1 {
		t.Fatalf("offered again within the hour: turned away %d times, want the body not fetched again", got)
	}
	// Past the hour R's own mail has expired; F's next offer is taken.
	tn.run(time.Hour)
	tn.offline("F")
	tn.run(time.Minute)
	tn.online("F")
	tn.run(time.Minute)
	if !r.Holds(id) {
		t.Fatalf("offered again with room: not held (stats %+v)", r.Stats())
	}
}

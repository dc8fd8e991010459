package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Mail is one simulated mail.
type Mail struct {
	At   time.Duration // creation time, from the start of the run
	From int32         // sender node
	To   int32         // recipient node
	Size int           // body size, bytes
}

// maxSenderRedraws is how many senders BuildWorkload tries for one mail
// before concluding that no pair at the requested distance exists.
const maxSenderRedraws = 1000

// BuildWorkload draws c.Messages mails over g:
//
//   - creation times uniform over [0, c.CreationWindow()), returned sorted by time
//     (ties keep the order in which they were drawn);
//   - the sender uniform over the nodes with at least one neighbour;
//   - the recipient uniform over the other nodes when c.Distance is 0, or
//     uniform over the nodes exactly c.Distance hops from the sender
//     (breadth-first search to that depth); a sender with no such node is
//     redrawn, and after 1000 such senders for one mail BuildWorkload gives
//     up with an error;
//   - the size log-normal with median c.SizeMedian and sigma c.SizeSigma
//     (sigma 0: exactly the median), rounded to whole bytes and clipped to
//     [1, c.SizeMax].
//
// The draws come from rng alone, in a fixed order, so the same rng state
// gives the same workload.
func BuildWorkload(c *Config, g *Graph, rng *rand.Rand) ([]Mail, error) {
	if c.Messages < 0 {
		return nil, fmt.Errorf("sim: messages = %d is negative", c.Messages)
	}
	if c.CreationWindow() <= 0 {
		return nil, fmt.Errorf("sim: window = %v must be positive", c.CreationWindow())
	}
	if c.Distance < 0 {
		return nil, fmt.Errorf("sim: distance = %d is negative", c.Distance)
	}
	if c.SizeMedian < 1 || c.SizeMax < c.SizeMedian || c.SizeSigma < 0 {
		return nil, fmt.Errorf("sim: mail sizes need 1 <= size_median (%d) <= size_max (%d) and size_sigma (%v) >= 0",
			c.SizeMedian, c.SizeMax, c.SizeSigma)
	}
	var senders []int32
	for v := range g.Nodes() {
		if g.Degree(v) > 0 {
			senders = append(senders, int32(v))
		}
	}
	if len(senders) == 0 {
		return nil, fmt.Errorf("sim: the graph has no edges, so no node can send")
	}
	n := g.Nodes()
	var scratch hopScratch
	mails := make([]Mail, c.Messages)
	for i := range mails {
		m := &mails[i]
		m.At = time.Duration(rng.Int64N(int64(c.CreationWindow())))
		if c.Distance == 0 {
			m.From = senders[rng.IntN(len(senders))]
			to := rng.IntN(n - 1) // any node but the sender
			if to >= int(m.From) {
				to++
			}
			m.To = int32(to)
		} else {
			found := false
			for range maxSenderRedraws {
				m.From = senders[rng.IntN(len(senders))]
				far := scratch.atDistance(g, int(m.From), c.Distance)
				if len(far) > 0 {
					m.To = far[rng.IntN(len(far))]
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("sim: no sender in %d random draws had a node exactly %d hops away; "+
					"the graph (%d nodes, %d edges) may have no pairs that far apart: lower the distance, or set it to 0 for random pairs",
					maxSenderRedraws, c.Distance, n, g.Edges())
			}
		}
		m.Size = mailSize(c, rng)
	}
	slices.SortStableFunc(mails, func(a, b Mail) int { return cmp.Compare(a.At, b.At) })
	return mails, nil
}

// mailSize draws one log-normal size: median·exp(sigma·Z), rounded and
// clipped to [1, SizeMax]. With sigma 0 it draws nothing.
func mailSize(c *Config, rng *rand.Rand) int {
	if c.SizeSigma == 0 {
		return min(max(c.SizeMedian, 1), c.SizeMax)
	}
	x := math.Round(float64(c.SizeMedian) * math.Exp(c.SizeSigma*rng.NormFloat64()))
	return int(min(max(x, 1), float64(c.SizeMax)))
}

// CountWithin returns how many mails have their recipient at most k hops
// from their sender: with no churn and hop limit k, exactly those are
// deliverable, which validates the simulator against breadth-first search.
// Each mail costs one bidirectional search, so it stays cheap on large graphs.
func CountWithin(g *Graph, mails []Mail, k int) int {
	var s hopScratch
	count := 0
	for _, m := range mails {
		if s.within(g, int(m.From), int(m.To), k) {
			count++
		}
	}
	return count
}

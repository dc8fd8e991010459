package sim

import (
	"math"
	"runtime"
	"slices"
)

// Memory a run may need at its peak, for choosing which runs go at once:
// the network (nodes and their links) and, for every mail, its index at
// each node it reaches (the record, the held copy's entry while it is held,
// the ack's after it), with the garbage collector's headroom. A
// 100,000-node run of 200 mails at TTL 8, which reach every node, peaks at
// 8.4 GB alone: about 410 bytes a node and mail beyond the network, which
// runBytesPerHolderMail rounds up.
const (
	runBytesPerNode       = 3 << 10
	runBytesPerLink       = 80
	runBytesPerHolderMail = 420
	runMemoryShareOfHost  = 0.75
	// reachSamples is how many mails' senders the flood reach is
	// averaged over.
	reachSamples = 32
)

// memoryBudget is how much memory a study's runs may use together: three
// quarters of the machine's, or 0 when that is unknown.
func memoryBudget() float64 { return runMemoryShareOfHost * float64(physicalMemory()) }

// meanReach returns, for each TTL t up to maxTTL, the mean number of nodes
// within t hops of reachSamples nodes spread evenly over the graph, the
// node included: how many nodes a flood from a random sender at TTL t can
// reach.
func meanReach(g *Graph, maxTTL int) []float64 {
	reach := make([]float64, maxTTL+1)
	n := min(g.Nodes(), reachSamples)
	var s hopScratch
	for k := range n {
		reach[0]++
		s.levels(g, k*g.Nodes()/n, maxTTL, func(d int, level []int32) bool {
			reach[d] += float64(len(level))
			return true
		})
	}
	for t := 1; t <= maxTTL; t++ {
		reach[t] += reach[t-1]
	}
	for t := range reach {
		reach[t] /= float64(max(n, 1))
	}
	return reach
}

// runMemory estimates the peak bytes of a run of j, given the flood reach
// by TTL.
func (s *Study) runMemory(j job, reach []float64) float64 {
	holders := 2.0 // direct: the sender's outbox and the recipient
	switch j.strategy {
	case StrategyFlood, StrategyFloodNoAck:
		holders = reach[min(j.ttl, len(reach)-1)]
	case StrategyRelay:
		holders = 3
	}
	return float64(s.graph.Nodes())*runBytesPerNode + 2*float64(s.graph.Edges())*runBytesPerLink +
		runBytesPerHolderMail*float64(s.cfg.Messages)*holders
}

// schedule is how a study's runs share the machine: at most workers at
// once and, unless the user chose how many, no more than fit in three
// quarters of its memory by runMemory. Runs start in dispatch order; when
// the first in line does not fit beside those going, a later one that
// fits may start instead, as long as the first would still fit beside
// every run started ahead of it (so it is not kept waiting by them).
type schedule struct {
	workers int
	budget  float64   // bytes the running runs may use; +Inf: no limit
	cost    []float64 // each job's estimate, by job index; run i is job i%len(cost)

	pending []int        // runs not started, in dispatch order
	free    float64      // budget minus the estimates of the running runs
	running int          // runs going
	ahead   map[int]bool // running runs started ahead of pending[0]
	aheadB  float64      // their estimates
}

func (s *Study) schedule() *schedule {
	jobs := s.jobs()
	sc := &schedule{
		workers: min(runtime.GOMAXPROCS(0), len(jobs)*s.cfg.Seeds),
		budget:  math.Inf(1),
		cost:    make([]float64, len(jobs)),
		pending: dispatchOrder(jobs, s.cfg.Seeds),
		ahead:   map[int]bool{},
	}
	if s.cfg.Jobs > 0 {
		sc.workers = min(s.cfg.Jobs, len(jobs)*s.cfg.Seeds)
	} else if b := memoryBudget(); b > 0 {
		sc.budget = b
		sc.cost = s.runCosts(jobs)
	}
	sc.free = sc.budget
	return sc
}

// MemoryLimit is the soft memory limit for the Go runtime that suits Run,
// so that runs going at once give up their collector headroom rather than
// exceed their budget together: the budget they are scheduled by, or the
// largest run's estimate if that is more (such a run still runs, alone,
// and a limit below its live heap would keep the collector running). It is
// 0, no limit, when Config.Jobs fixes how many runs go at once or the
// machine's memory is unknown.
func (s *Study) MemoryLimit() int64 {
	sc := s.schedule()
	if math.IsInf(sc.budget, 1) {
		return 0
	}
	return int64(max(sc.budget, slices.Max(sc.cost)))
}

// runCosts returns runMemory for each of jobs, working the flood reach
// out once a study (it searches the graph from reachSamples nodes).
func (s *Study) runCosts(jobs []job) []float64 {
	s.costsOnce.Do(func() {
		maxTTL := 0
		for _, j := range jobs {
			maxTTL = max(maxTTL, j.ttl)
		}
		reach := meanReach(s.graph, maxTTL)
		s.costs = make([]float64, len(jobs))
		for k, j := range jobs {
			s.costs[k] = s.runMemory(j, reach)
		}
	})
	return s.costs
}

func (sc *schedule) costOf(run int) float64 { return sc.cost[run%len(sc.cost)] }

// start picks the next run that may start now and marks it running; ok is
// false when none may (all started, no worker free, or no memory yet). A
// run that does not fit the budget starts when nothing else is running.
func (sc *schedule) start() (run int, ok bool) {
	if sc.running >= sc.workers || len(sc.pending) == 0 {
		return 0, false
	}
	head := sc.costOf(sc.pending[0])
	for k, i := range sc.pending {
		c := sc.costOf(i)
		fits := sc.running == 0 || c <= sc.free
		if k > 0 {
			fits = fits && sc.aheadB+c+head <= sc.budget
		}
		if !fits {
			continue
		}
		sc.pending = slices.Delete(sc.pending, k, k+1)
		sc.free -= c
		sc.running++
		if k == 0 {
			clear(sc.ahead) // none is ahead of the new first in line
			sc.aheadB = 0
		} else {
			sc.ahead[i] = true
			sc.aheadB += c
		}
		return i, true
	}
	return 0, false
}

// finish marks run done.
func (sc *schedule) finish(run int) {
	c := sc.costOf(run)
	sc.free += c
	sc.running--
	if sc.ahead[run] {
		delete(sc.ahead, run)
		sc.aheadB -= c
	}
}

// LargestRunMemory estimates the peak bytes of the study's most demanding
// run (runMemory): what a run going alone may need.
func (s *Study) LargestRunMemory() float64 { return slices.Max(s.runCosts(s.jobs())) }

// MachineMemory returns the memory the study's runs may use at most: the
// machine's, or the memory cgroup's limit when it is lower; 0 when unknown.
func MachineMemory() int64 { return physicalMemory() }

package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"testing"
	"time"
)

// A flood's reach at TTL t is the mean ball of radius t around nodes
// spread over the graph, the node included, as Distances counts it.
func TestMeanReach(t *testing.T) {
	for _, g := range []*Graph{pathGraph(t, 10), pathGraph(t, 100)} {
		got := meanReach(g, 4)
		n := min(g.Nodes(), reachSamples)
		for ttl := range 5 {
			sum := 0
			for k := range n {
				for _, d := range g.Distances(k*g.Nodes()/n, ttl) {
					if d >= 0 {
						sum++
					}
				}
			}
			if want := float64(sum) / float64(n); math.Abs(got[ttl]-want) > 1e-9 {
				t.Errorf("%d nodes, ttl %d: reach %v, want %v", g.Nodes(), ttl, got[ttl], want)
			}
		}
	}
	if got := meanReach(pathGraph(t, 10), 1); got[1] != 2.8 {
		t.Errorf("path of 10, ttl 1: reach %v, want 2.8", got[1])
	}
}

// The estimate grows with a flood's reach; direct and relay runs cost
// about the network alone.
func TestRunMemory(t *testing.T) {
	s := &Study{cfg: Config{Messages: 100}, graph: pathGraph(t, 1000)}
	reach := []float64{1, 3, 5, 7}
	net := s.runMemory(job{StrategyDirect, 0}, reach) - 2*100*runBytesPerHolderMail
	if want := float64(1000*runBytesPerNode + 2*999*runBytesPerLink); net != want {
		t.Fatalf("network estimate %v, want %v", net, want)
	}
	prev := 0.0
	for ttl := 1; ttl <= 5; ttl++ {
		m := s.runMemory(job{StrategyFlood, ttl}, reach)
		if m < prev {
			t.Fatalf("ttl %d estimate %v below ttl %d's %v", ttl, m, ttl-1, prev)
		}
		prev = m
	}
	if s.runMemory(job{StrategyRelay, 0}, reach) >= s.runMemory(job{StrategyFlood, 2}, reach) {
		t.Fatal("a relay run estimated above a TTL 2 flood")
	}
}

// Runs start in dispatch order; one that does not fit waits, and a later
// one may start ahead of it only if the first still fits beside every run
// started ahead of it; a run too big for the budget runs alone; never more
// than the workers.
func TestScheduleStart(t *testing.T) {
	// Jobs 0..3 cost 6, 5, 1, 3; one seed; budget 10, two workers.
	sc := &schedule{workers: 2, budget: 10, free: 10, cost: []float64{6, 5, 1, 3},
		pending: []int{0, 1, 2, 3}, ahead: map[int]bool{}}
	step := func(want int) {
		t.Helper()
		i, ok := sc.start()
		switch {
		case want < 0 && ok:
			t.Fatalf("started %d, want none (pending %v, free %v)", i, sc.pending, sc.free)
		case want >= 0 && (!ok || i != want):
			t.Fatalf("started %d (%v), want %d (pending %v, free %v)", i, ok, want, sc.pending, sc.free)
		}
	}
	step(0)  // 6 of 10
	step(2)  // 1 does not fit beside 0; 2 does, and 1 fits beside it
	step(-1) // two going
	sc.finish(2)
	step(3) // 1 still waits; 3 fits, and 1 would fit beside it (3+5 <= 10)
	sc.finish(3)
	sc.finish(0)
	step(1)  // first in line at last
	step(-1) // nothing left
	if sc.running != 1 || sc.free != 5 || len(sc.ahead) != 0 {
		t.Fatalf("running %d, free %v, ahead %v", sc.running, sc.free, sc.ahead)
	}

	// Runs started ahead of one first in line stop counting against
	// later ones once it has started.
	sc = &schedule{workers: 3, budget: 10, free: 10, cost: []float64{6, 5, 3, 5.5, 2},
		pending: []int{0, 1, 2, 3, 4}, ahead: map[int]bool{}}
	step(0)
	step(2)  // ahead of 1
	step(-1) // 1 free: neither 3 nor 4 fits
	sc.finish(0)
	step(1)
	step(4) // ahead of 3, which fits beside it; 2 no longer counts
	step(-1)

	// A run bigger than the budget waits for the machine to empty, runs
	// alone, and nothing starts ahead of it meanwhile.
	sc = &schedule{workers: 2, budget: 10, free: 10, cost: []float64{4, 12, 1},
		pending: []int{0, 1, 2}, ahead: map[int]bool{}}
	step(0)
	step(-1) // 12 does not fit; 2 would keep it waiting
	sc.finish(0)
	step(1)
	step(-1) // nothing beside it
	sc.finish(1)
	step(2)

	// Without a budget (the user chose the number of runs) only the
	// workers limit.
	sc = &schedule{workers: 3, budget: math.Inf(1), free: math.Inf(1), cost: []float64{0, 0},
		pending: []int{0, 1, 2, 3}, ahead: map[int]bool{}}
	step(0)
	step(1)
	step(2)
	step(-1)
}

// A study whose runs are scheduled by memory reports what one run at a
// time does. These runs are small, so none waits for memory here (waiting
// is TestScheduleStart's); this checks the launch loop and the limit.
func TestScheduleByMemorySameReport(t *testing.T) {
	c := smallConfig()
	c.Churn = "kad"
	c.Nodes, c.Days = 120, 1
	c.TTLs = []int{1, 3}
	c.Jobs = 1
	one := runStudy(t, c)
	c.Jobs = 0
	s, err := NewStudy(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.MemoryLimit() == 0 && physicalMemory() > 0 {
		t.Fatal("no memory limit though the machine's memory is known")
	}
	if got := runStudy(t, c); !sameJSON(t, one, got) {
		t.Fatal("scheduling by memory changed the report")
	}
}

func sameJSON(t *testing.T, a, b *Report) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

// A study cancelled while its runs go stops with the context's error and
// leaves no run behind: its goroutines are gone soon after it returns.
func TestStudyRunCancelled(t *testing.T) {
	before := runtime.NumGoroutine()
	c := smallConfig()
	c.Churn = "kad"
	c.Nodes, c.Days = 120, 2
	c.TTLs = []int{1, 2, 3}
	s, err := NewStudy(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var after int
	rep, err := s.Run(ctx, func(p Progress) {
		if p.Hours >= 3 {
			cancel()
			after++
		}
	})
	if rep != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v, %v; want no report and context.Canceled", rep, err)
	}
	if after == 0 {
		t.Fatal("progress never reached the cancel")
	}
	// Every run has handed Run its outcome by now; give their goroutines
	// up to two seconds to return.
	for k := 0; runtime.NumGoroutine() > before; k++ {
		if k == 200 {
			t.Fatalf("%d goroutines after Run, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

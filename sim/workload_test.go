package sim

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func workloadConfig(messages, distance int) *Config {
	c := DefaultConfig()
	c.Messages, c.Distance = messages, distance
	c.Window = 6 * time.Hour
	return &c
}

func testGraph(t testing.TB, kind string, n int) *Graph {
	t.Helper()
	g, err := BuildGraph(genConfig(kind, n, 6), 1)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestBuildWorkload(t *testing.T) {
	// A graph with isolated nodes 5..9, which must never send.
	g := mustGraph(t, 10, [][2]int32{{0, 1}, {1, 2}, {2, 3}, {3, 4}})
	c := workloadConfig(2000, 0)
	mails, err := BuildWorkload(c, g, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(mails), c.Messages; got != want {
		t.Fatalf("mails: got %v, want %v", got, want)
	}
	if !slices.IsSortedFunc(mails, func(a, b Mail) int { return int(a.At - b.At) }) {
		t.Errorf("mails are not sorted by time")
	}
	toIsolated := 0
	for i, m := range mails {
		if m.At < 0 || m.At >= c.Window {
			t.Errorf("mail %d: At = %v, want in [0, %v)", i, m.At, c.Window)
		}
		if g.Degree(int(m.From)) == 0 {
			t.Errorf("mail %d: sender %d has no neighbours", i, m.From)
		}
		if m.To == m.From || m.To < 0 || int(m.To) >= g.Nodes() {
			t.Errorf("mail %d: recipient %d (sender %d)", i, m.To, m.From)
		}
		if m.To >= 5 {
			toIsolated++
		}
		if m.Size < 1 || m.Size > c.SizeMax {
			t.Errorf("mail %d: size %d outside [1, %d]", i, m.Size, c.SizeMax)
		}
	}
	// Recipients are uniform over the 9 other nodes: 5 of them isolated.
	if got, want := float64(toIsolated)/float64(len(mails)), 5.0/9; got < want-0.05 || got > want+0.05 {
		t.Errorf("fraction of mail to isolated nodes: got %v, want %v ± 0.05", got, want)
	}
}

func TestBuildWorkloadDistance(t *testing.T) {
	tests := []struct {
		kind     string
		distance int
	}{
		{"ws", 1}, {"ws", 2}, {"ws", 4}, {"hk", 2}, {"er", 3},
	}
	for _, tt := range tests {
		g := testGraph(t, tt.kind, 400)
		mails, err := BuildWorkload(workloadConfig(100, tt.distance), g, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			t.Fatalf("%s distance %d: %v", tt.kind, tt.distance, err)
		}
		for i, m := range mails {
			if got := g.Distances(int(m.From), -1)[m.To]; got != int32(tt.distance) {
				t.Errorf("%s: mail %d (%d→%d): distance got %v, want %v", tt.kind, i, m.From, m.To, got, tt.distance)
			}
		}
		if got, want := CountWithin(g, mails, tt.distance), len(mails); got != want {
			t.Errorf("%s: CountWithin(%d): got %v, want %v", tt.kind, tt.distance, got, want)
		}
		if got, want := CountWithin(g, mails, tt.distance-1), 0; got != want {
			t.Errorf("%s: CountWithin(%d): got %v, want %v", tt.kind, tt.distance-1, got, want)
		}
	}
}

func TestBuildWorkloadDistanceTooFar(t *testing.T) {
	g := mustGraph(t, 3, [][2]int32{{0, 1}, {1, 2}})
	_, err := BuildWorkload(workloadConfig(10, 5), g, rand.New(rand.NewPCG(4, 4)))
	if err == nil || !strings.Contains(err.Error(), "exactly 5 hops away; the graph (3 nodes, 2 edges) may have no pairs that far apart") {
		t.Errorf("distance 5 on a path of 3 nodes: %v", err)
	}
}

func TestBuildWorkloadSenderRedrawn(t *testing.T) {
	// Only the ends of the path 0-1-2-3 have a node 3 hops away; the
	// middle nodes must be redrawn, and the isolated node 4 never sends.
	g := mustGraph(t, 5, [][2]int32{{0, 1}, {1, 2}, {2, 3}})
	mails, err := BuildWorkload(workloadConfig(200, 3), g, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range mails {
		if pair := [2]int32{min(m.From, m.To), max(m.From, m.To)}; pair != [2]int32{0, 3} {
			t.Fatalf("mail %d: got %d→%d, want 0→3 or 3→0", i, m.From, m.To)
		}
	}
}

func TestBuildWorkloadErrors(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
		c    *Config
		want string
	}{
		{"no pair that far", pathGraph(t, 4), workloadConfig(10, 5), "exactly 5 hops"},
		{"no edges", mustGraph(t, 3, nil), workloadConfig(10, 0), "no edges"},
	}
	for _, tt := range tests {
		_, err := BuildWorkload(tt.c, tt.g, rand.New(rand.NewPCG(1, 1)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestBuildWorkloadSizes(t *testing.T) {
	tests := []struct {
		median, max int
		sigma       float64
		wantMedian  float64
	}{
		{4096, 1 << 20, 1, 4096},
		{4096, 1 << 20, 0, 4096},
		{1000, 1000, 2, 1000}, // half the draws clip to the maximum
		{1, 10, 0.5, 1},
	}
	g := testGraph(t, "er", 100)
	for _, tt := range tests {
		c := workloadConfig(20_000, 0)
		c.SizeMedian, c.SizeMax, c.SizeSigma = tt.median, tt.max, tt.sigma
		mails, err := BuildWorkload(c, g, rand.New(rand.NewPCG(4, 4)))
		if err != nil {
			t.Fatal(err)
		}
		sizes := make([]float64, len(mails))
		for i, m := range mails {
			if m.Size < 1 || m.Size > tt.max {
				t.Fatalf("%+v: size %d outside [1, %d]", tt, m.Size, tt.max)
			}
			if tt.sigma == 0 && m.Size != tt.median {
				t.Fatalf("%+v: size %d, want exactly %d", tt, m.Size, tt.median)
			}
			sizes[i] = float64(m.Size)
		}
		slices.Sort(sizes)
		if got := Percentile(sizes, 50); got < 0.97*tt.wantMedian || got > 1.03*tt.wantMedian {
			t.Errorf("%+v: median: got %v, want %v ± 3%%", tt, got, tt.wantMedian)
		}
	}
}

func TestBuildWorkloadDeterministic(t *testing.T) {
	for _, distance := range []int{0, 2} {
		g := testGraph(t, "hk", 300)
		c := workloadConfig(300, distance)
		build := func(seed uint64) []Mail {
			mails, err := BuildWorkload(c, g, rand.New(rand.NewPCG(seed, 1)))
			if err != nil {
				t.Fatal(err)
			}
			return mails
		}
		a, b, other := build(5), build(5), build(6)
		if !slices.Equal(a, b) {
			t.Errorf("distance %d: same seed gave different workloads", distance)
		}
		if slices.Equal(a, other) {
			t.Errorf("distance %d: seeds 5 and 6 gave the same workload", distance)
		}
	}
}

// TestCountWithin checks CountWithin against breadth-first search for
// random pairs on a few graphs, at every hop limit.
func TestCountWithin(t *testing.T) {
	for _, kind := range []string{"ws", "ba", "er"} {
		g := testGraph(t, kind, 500)
		mails, err := BuildWorkload(workloadConfig(300, 0), g, rand.New(rand.NewPCG(8, 8)))
		if err != nil {
			t.Fatal(err)
		}
		dist := map[int32][]int32{}
		for _, m := range mails {
			if dist[m.From] == nil {
				dist[m.From] = g.Distances(int(m.From), -1)
			}
		}
		for k := 0; k <= 8; k++ {
			want := 0
			for _, m := range mails {
				if d := dist[m.From][m.To]; d >= 0 && int(d) <= k {
					want++
				}
			}
			if got := CountWithin(g, mails, k); got != want {
				t.Errorf("%s k=%d: got %v, want %v", kind, k, got, want)
			}
		}
	}
}

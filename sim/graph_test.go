package sim

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/graphs/gen"
	"gonum.org/v1/gonum/graph/simple"
	"pgregory.net/rapid"
)

// checkSimple fails t unless g is a well-formed simple undirected graph:
// sorted strictly ascending neighbour lists (no duplicates), no self loops,
// every edge present at both ends.
func checkSimple(t testing.TB, g *Graph) {
	t.Helper()
	ends := 0
	for v := range g.Nodes() {
		nb := g.Neighbors(v)
		ends += len(nb)
		for i, w := range nb {
			if int(w) == v {
				t.Fatalf("node %d: self loop", v)
			}
			if i > 0 && nb[i-1] >= w {
				t.Fatalf("node %d: neighbours not strictly ascending: %v", v, nb)
			}
			if !g.HasEdge(int(w), v) {
				t.Fatalf("edge %d-%d missing at %d", v, w, w)
			}
		}
	}
	if got, want := ends, 2*g.Edges(); got != want {
		t.Fatalf("edge ends: got %v, want %v", got, want)
	}
}

func edgesOf(g *Graph) [][2]int32 {
	var out [][2]int32
	for v := range g.Nodes() {
		for _, w := range g.Neighbors(v) {
			if int32(v) < w {
				out = append(out, [2]int32{int32(v), w})
			}
		}
	}
	return out
}

// clustering returns the mean local clustering coefficient over the nodes
// of degree ≥ 2.
func clustering(g *Graph) float64 {
	tot, cnt := 0.0, 0
	for v := range g.Nodes() {
		nb := g.Neighbors(v)
		k := len(nb)
		if k < 2 {
			continue
		}
		links := 0
		for i := range nb {
			for j := i + 1; j < k; j++ {
				if g.HasEdge(int(nb[i]), int(nb[j])) {
					links++
				}
			}
		}
		tot += float64(2*links) / float64(k*(k-1))
		cnt++
	}
	return tot / float64(cnt)
}

func genConfig(kind string, n int, degree float64) *Config {
	c := DefaultConfig()
	c.Graph, c.Nodes, c.Degree = kind, n, degree
	return &c
}

func TestBuildGraphGenerators(t *testing.T) {
	tests := []struct {
		kind   string
		n      int
		degree float64
		rewire float64
		triad  float64
	}{
		{"er", 2000, 20, 0, 0},
		{"er", 500, 4, 0, 0},
		{"ws", 2000, 20, 0.1, 0},
		{"ws", 2000, 20, 0, 0},
		{"ws", 2000, 20, 1, 0},
		{"ws", 300, 6, 0.5, 0},
		{"ba", 2000, 20, 0, 0},
		{"ba", 500, 2, 0, 0},
		{"hk", 2000, 20, 0, 0.5},
		{"hk", 2000, 20, 0, 1},
		{"hk", 500, 6, 0, 0},
	}
	for _, tt := range tests {
		c := genConfig(tt.kind, tt.n, tt.degree)
		c.Rewire, c.Triad = tt.rewire, tt.triad
		g, err := BuildGraph(c, 1)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		checkSimple(t, g)
		if got, want := g.Nodes(), tt.n; got != want {
			t.Errorf("%+v: nodes: got %v, want %v", tt, got, want)
		}
		if got, want := g.MeanDegree(), tt.degree; math.Abs(got-want) > 0.1*want {
			t.Errorf("%+v: mean degree: got %v, want %v ± 10%%", tt, got, want)
		}
		again, err := BuildGraph(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(edgesOf(g), edgesOf(again)) {
			t.Errorf("%+v: same seed gave different graphs", tt)
		}
		other, err := BuildGraph(c, 2)
		if err != nil {
			t.Fatal(err)
		}
		if tt.kind == "ws" && tt.rewire == 0 {
			continue // the ring lattice has no randomness
		}
		if slices.Equal(edgesOf(g), edgesOf(other)) {
			t.Errorf("%+v: seeds 1 and 2 gave the same graph", tt)
		}
	}
}

func TestWattsStrogatzStructure(t *testing.T) {
	// Rewire 0 is the ring lattice: v joined to v±1..v±d.
	c := genConfig("ws", 50, 6)
	c.Rewire = 0
	g, err := BuildGraph(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	for v := range 50 {
		for i := 1; i <= 3; i++ {
			if !g.HasEdge(v, (v+i)%50) {
				t.Fatalf("lattice edge %d-%d missing", v, (v+i)%50)
			}
		}
		if got, want := g.Degree(v), 6; got != want {
			t.Fatalf("degree of %d: got %v, want %v", v, got, want)
		}
	}
	// Clustering falls as C(0)·(1-p)³ (Barrat and Weigt 2000), C(0) =
	// 3(k-2)/4(k-1), and no node becomes a hub.
	for _, p := range []float64{0.05, 0.2} {
		c := genConfig("ws", 5000, 20)
		c.Rewire = p
		g, err := BuildGraph(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := 3.0 * 18 / (4 * 19) * math.Pow(1-p, 3)
		if got := clustering(g); math.Abs(got-want) > 0.05 {
			t.Errorf("ws p=%v: clustering: got %v, want %v ± 0.05", p, got, want)
		}
		if got := g.MaxDegree(); got > 40 {
			t.Errorf("ws p=%v: max degree: got %v, want ≤ 40", p, got)
		}
		if got, want := g.Edges(), 5000*10; got != want {
			t.Errorf("ws p=%v: edges: got %v, want %v", p, got, want)
		}
	}
}

// TestHolmeKimMatchesGonum compares our O(n·m) ba and hk with gonum's
// gen.PreferentialAttachment and gen.TunableClusteringScaleFree on small
// graphs: the same edge count exactly, and degree and clustering statistics
// averaged over seeds within a tolerance.
func TestHolmeKimMatchesGonum(t *testing.T) {
	const n, m, seeds = 1500, 4, 8
	type summary struct{ edges, minDegFrac, meanSq, clust float64 }
	sum := func(g *Graph) summary {
		var s summary
		s.edges = float64(g.Edges())
		for v := range g.Nodes() {
			d := float64(g.Degree(v))
			if g.Degree(v) == m {
				s.minDegFrac++
			}
			s.meanSq += d * d
		}
		s.minDegFrac /= float64(g.Nodes())
		s.meanSq /= float64(g.Nodes())
		s.clust = clustering(g)
		return s
	}
	fromGonum := func(ug *simple.UndirectedGraph) *Graph {
		var edges [][2]int32
		it := ug.Edges()
		for it.Next() {
			e := it.Edge()
			edges = append(edges, [2]int32{int32(e.From().ID()), int32(e.To().ID())})
		}
		g, err := NewGraph(ug.Nodes().Len(), edges)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, p := range []float64{0, 0.5, 1} {
		var ours, theirs summary
		for seed := range uint64(seeds) {
			c := genConfig("hk", n, 2*m)
			c.Triad = p
			g, err := BuildGraph(c, seed)
			if err != nil {
				t.Fatal(err)
			}
			ug := simple.NewUndirectedGraph()
			src := rand.NewPCG(seed, 99)
			if p == 0 {
				err = gen.PreferentialAttachment(ug, n, m, src)
			} else {
				err = gen.TunableClusteringScaleFree(ug, n, m, p, src)
			}
			if err != nil {
				t.Fatal(err)
			}
			a, b := sum(g), sum(fromGonum(ug))
			ours.edges, theirs.edges = ours.edges+a.edges, theirs.edges+b.edges
			ours.minDegFrac, theirs.minDegFrac = ours.minDegFrac+a.minDegFrac, theirs.minDegFrac+b.minDegFrac
			ours.meanSq, theirs.meanSq = ours.meanSq+a.meanSq, theirs.meanSq+b.meanSq
			ours.clust, theirs.clust = ours.clust+a.clust, theirs.clust+b.clust
		}
		if ours.edges != theirs.edges {
			t.Errorf("p=%v: edges: got %v, want %v", p, ours.edges/seeds, theirs.edges/seeds)
		}
		for _, q := range []struct {
			name      string
			got, want float64
			rel       float64
		}{
			{"fraction of degree m", ours.minDegFrac, theirs.minDegFrac, 0.05},
			{"mean squared degree", ours.meanSq, theirs.meanSq, 0.10},
			{"clustering", ours.clust, theirs.clust, 0.10},
		} {
			if math.Abs(q.got-q.want) > q.rel*q.want {
				t.Errorf("p=%v: %s: got %v, want %v ± %v%%", p, q.name, q.got/seeds, q.want/seeds, 100*q.rel)
			}
		}
	}
}

func TestBuildGraphErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"one node", func(c *Config) { c.Nodes = 1 }, "nodes"},
		{"degree too high", func(c *Config) { c.Nodes, c.Degree = 10, 10 }, "degree"},
		{"degree below 1", func(c *Config) { c.Degree = 0.5 }, "degree"},
		{"degree NaN", func(c *Config) { c.Degree = math.NaN() }, "degree = NaN"},
		{"ws too dense", func(c *Config) { c.Graph, c.Nodes, c.Degree = "ws", 10, 9 }, "ws rounds it to 10"},
		{"er more edges than pairs", func(c *Config) { c.Graph, c.Nodes, c.Degree = "er", 4, 3.5 }, "4 nodes have only 6 pairs"},
		{"rewire NaN", func(c *Config) { c.Graph, c.Rewire = "ws", math.NaN() }, "rewire = NaN"},
		{"missing file", func(c *Config) { c.Graph = filepath.Join(t.TempDir(), "nope.txt") }, "nope.txt"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		_, err := BuildGraph(&c, 1)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestNewGraph(t *testing.T) {
	g, err := NewGraph(4, [][2]int32{{0, 1}, {1, 0}, {2, 2}, {0, 1}, {3, 1}, {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	checkSimple(t, g)
	if got, want := edgesOf(g), [][2]int32{{0, 1}, {1, 2}, {1, 3}}; !slices.Equal(got, want) {
		t.Errorf("edges: got %v, want %v", got, want)
	}
	if got, want := g.Degree(1), 3; got != want {
		t.Errorf("degree: got %v, want %v", got, want)
	}
	if got, want := g.MaxDegree(), 3; got != want {
		t.Errorf("max degree: got %v, want %v", got, want)
	}
	if got, want := g.MeanDegree(), 1.5; got != want {
		t.Errorf("mean degree: got %v, want %v", got, want)
	}
	for _, tt := range []struct {
		u, v int
		want bool
	}{{0, 1, true}, {1, 0, true}, {2, 2, false}, {0, 3, false}, {0, 9, false}, {-1, 0, false}} {
		if got := g.HasEdge(tt.u, tt.v); got != tt.want {
			t.Errorf("HasEdge(%d, %d): got %v, want %v", tt.u, tt.v, got, tt.want)
		}
	}
	for _, bad := range [][][2]int32{{{0, 4}}, {{-1, 0}}} {
		if _, err := NewGraph(4, bad); err == nil {
			t.Errorf("NewGraph(4, %v): got nil error, want one", bad)
		}
	}
	empty, err := NewGraph(0, nil)
	if err != nil || empty.Nodes() != 0 || empty.MeanDegree() != 0 {
		t.Errorf("empty graph: got %v nodes, %v", empty.Nodes(), err)
	}
}

func TestLoadEdgeList(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		nodes int
		edges [][2]int32
	}{
		{"plain", "0 1\n1 2\n", 3, [][2]int32{{0, 1}, {1, 2}}},
		{"comments, blanks, tabs, CRLF", "# Directed graph\n# Nodes: 3 Edges: 2\n\n5\t7\r\n  \n7 \t 9\n", 3, [][2]int32{{0, 1}, {1, 2}}},
		{"remapped in order of first appearance", "100 3\n3 42\n42 100\n", 3, [][2]int32{{0, 1}, {0, 2}, {1, 2}}},
		{"duplicates and reverse edges", "1 2\n2 1\n1 2\n2 3\n", 3, [][2]int32{{0, 1}, {1, 2}}},
		{"self loops dropped, node kept", "1 1\n1 2\n", 2, [][2]int32{{0, 1}}},
		{"self loop of a new node: not a node", "4 4\n1 2\n", 2, [][2]int32{{0, 1}}},
		{"further columns ignored (SNAP's signs, times)", "0 1 -1\n1 2 1 1217567877\n", 3, [][2]int32{{0, 1}, {1, 2}}},
		{"large ids", "18446744073709551615 0\n", 2, [][2]int32{{0, 1}}},
		{"byte-order mark", "\uFEFF1 2\n2 3\n", 3, [][2]int32{{0, 1}, {1, 2}}},
	}
	for _, tt := range tests {
		g, err := LoadEdgeList(strings.NewReader(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		checkSimple(t, g)
		if got := g.Nodes(); got != tt.nodes {
			t.Errorf("%s: nodes: got %v, want %v", tt.name, got, tt.nodes)
		}
		if got := edgesOf(g); !slices.Equal(got, tt.edges) {
			t.Errorf("%s: edges: got %v, want %v", tt.name, got, tt.edges)
		}
	}
}

func TestLoadEdgeListErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"one id", "0 1\n# c\n2\n", "line 3"},
		{"third column only", "0 1\n 2\n", "line 2"},
		{"bad id before a third column", "0 1\n1 x 3\n", "line 2"},
		{"negative", "0 1\n\n1 -2\n", "line 3"},
		{"not a number", "0 1\n1 x\n", "line 2"},
		{"float", "0 1.5\n", "line 1"},
		{"empty", "", "no edges"},
		{"comments only", "# nothing\n\n", "no edges"},
		{"self loops only", "3 3\n", "no edges"},
		// An overlong token is cut in the message; an overlong line is
		// named by its number.
		{"long id", "0 1\n1 " + strings.Repeat("2", 20000) + "\n", `line 2: "2222222222222222222222222222222222222222"… (20000 bytes) is not`},
		{"long line", "0 1\n" + strings.Repeat("3 ", maxEdgeLine) + "\n", "line 2 is over 1048576 bytes"},
	}
	for _, tt := range tests {
		_, err := LoadEdgeList(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || len(err.Error()) > 200 {
			t.Errorf("%s: got %.300v, want an error containing %q, of at most 200 bytes", tt.name, err, tt.want)
		}
	}
}

// TestLoadEdgeListFileGeneratorCase: "HK", not a file, is the hk
// generator mistyped, and the error says so.
func TestLoadEdgeListFileGeneratorCase(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := LoadEdgeListFile("HK")
	if err == nil || !strings.Contains(err.Error(), `graph "HK": no such file; the generator is "hk", in lower case`) {
		t.Errorf("HK: %v", err)
	}
	if _, err := LoadEdgeListFile("nosuch.txt"); err == nil || !strings.Contains(err.Error(), "is not er, ws, ba, hk or a readable edge-list file") {
		t.Errorf("nosuch.txt: %v", err)
	}
}

func TestLoadEdgeListFile(t *testing.T) {
	g, err := LoadEdgeListFile(filepath.Join("testdata", "snap_small.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checkSimple(t, g)
	// testdata/snap_small.txt: 8 distinct ids; its 11 edge lines give 8
	// distinct undirected edges after dropping a reverse duplicate, a repeat
	// and a self loop, in two components (6 nodes and a separate pair).
	if got, want := g.Nodes(), 8; got != want {
		t.Errorf("nodes: got %v, want %v", got, want)
	}
	if got, want := g.Edges(), 8; got != want {
		t.Errorf("edges: got %v, want %v", got, want)
	}
	count, largest := g.Components()
	if count != 2 || largest != 6 {
		t.Errorf("components: got %v, %v, want 2, 6", count, largest)
	}

	// The same file gzipped, and through BuildGraph.
	raw, err := os.ReadFile(filepath.Join("testdata", "snap_small.txt"))
	if err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(t.TempDir(), "snap_small.txt.gz")
	f, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	if _, err := z.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.Graph = gz
	g2, err := BuildGraph(&c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(edgesOf(g), edgesOf(g2)) {
		t.Errorf("gzipped: got %v, want %v", edgesOf(g2), edgesOf(g))
	}

	bad := filepath.Join(t.TempDir(), "bad.txt")
	if err := os.WriteFile(bad, []byte("0 1\nx y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadEdgeListFile(bad); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: got %v, want an error naming line 2 and the file", err)
	}
	// Gzip is told by its contents, not its name: a plain file named .gz
	// and a gzip file named .txt both load.
	plain := filepath.Join(t.TempDir(), "plain.txt.gz")
	if err := os.WriteFile(plain, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if g3, err := LoadEdgeListFile(plain); err != nil || !slices.Equal(edgesOf(g), edgesOf(g3)) {
		t.Errorf("plain text named .gz: %v", err)
	}
	zipped, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	named := filepath.Join(t.TempDir(), "edges.txt")
	if err := os.WriteFile(named, zipped, 0o600); err != nil {
		t.Fatal(err)
	}
	if g3, err := LoadEdgeListFile(named); err != nil || !slices.Equal(edgesOf(g), edgesOf(g3)) {
		t.Errorf("gzip named .txt: %v", err)
	}
	cut := filepath.Join(t.TempDir(), "cut.txt.gz")
	if err := os.WriteFile(cut, zipped[:len(zipped)-8], 0o600); err != nil { // without the gzip trailer
		t.Fatal(err)
	}
	if _, err := LoadEdgeListFile(cut); err == nil || !strings.Contains(err.Error(), "truncated or corrupt") {
		t.Errorf("gzip file cut short: got %v, want it called truncated", err)
	}
}

func mustGraph(t testing.TB, n int, edges [][2]int32) *Graph {
	t.Helper()
	g, err := NewGraph(n, edges)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func pathGraph(t testing.TB, n int) *Graph {
	var e [][2]int32
	for i := range n - 1 {
		e = append(e, [2]int32{int32(i), int32(i + 1)})
	}
	return mustGraph(t, n, e)
}

func TestDistances(t *testing.T) {
	cycle := mustGraph(t, 6, [][2]int32{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}})
	star := mustGraph(t, 5, [][2]int32{{0, 1}, {0, 2}, {0, 3}, {0, 4}})
	split := mustGraph(t, 5, [][2]int32{{0, 1}, {2, 3}}) // 4 is isolated
	tests := []struct {
		name    string
		g       *Graph
		src     int
		maxDist int
		want    []int32
	}{
		{"path", pathGraph(t, 5), 0, -1, []int32{0, 1, 2, 3, 4}},
		{"path middle", pathGraph(t, 5), 2, -1, []int32{2, 1, 0, 1, 2}},
		{"path limited", pathGraph(t, 5), 0, 2, []int32{0, 1, 2, -1, -1}},
		{"path limit 0", pathGraph(t, 5), 1, 0, []int32{-1, 0, -1, -1, -1}},
		{"cycle", cycle, 0, -1, []int32{0, 1, 2, 3, 2, 1}},
		{"star centre", star, 0, -1, []int32{0, 1, 1, 1, 1}},
		{"star leaf", star, 3, -1, []int32{1, 2, 2, 0, 2}},
		{"disconnected", split, 0, -1, []int32{0, 1, -1, -1, -1}},
		{"isolated", split, 4, -1, []int32{-1, -1, -1, -1, 0}},
	}
	for _, tt := range tests {
		if got := tt.g.Distances(tt.src, tt.maxDist); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	hops := []struct {
		name     string
		g        *Graph
		src, k   int
		want     int
		wantComp [2]int
	}{
		{"path k=2", pathGraph(t, 5), 0, 2, 2, [2]int{1, 5}},
		{"path k=0", pathGraph(t, 5), 0, 0, 0, [2]int{1, 5}},
		{"cycle k=2", cycle, 0, 2, 4, [2]int{1, 6}},
		{"star leaf k=1", star, 3, 1, 1, [2]int{1, 5}},
		{"star leaf k=9", star, 3, 9, 4, [2]int{1, 5}},
		{"split k=5", split, 2, 5, 1, [2]int{3, 2}},
	}
	for _, tt := range hops {
		if got := tt.g.WithinHops(tt.src, tt.k); got != tt.want {
			t.Errorf("WithinHops %s: got %v, want %v", tt.name, got, tt.want)
		}
		if c, l := tt.g.Components(); c != tt.wantComp[0] || l != tt.wantComp[1] {
			t.Errorf("Components %s: got %v, %v, want %v", tt.name, c, l, tt.wantComp)
		}
	}
}

// TestDistancesProperty checks Distances, WithinHops and the bidirectional
// search behind CountWithin against Floyd–Warshall on small random graphs.
func TestDistancesProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "n")
		node := rapid.Int32Range(0, int32(n-1))
		pair := rapid.Custom(func(t *rapid.T) [2]int32 {
			return [2]int32{node.Draw(t, "u"), node.Draw(t, "v")}
		})
		edges := rapid.SliceOfN(pair, 0, 30).Draw(t, "edges")
		g, err := NewGraph(n, edges)
		if err != nil {
			t.Fatal(err)
		}
		const inf = math.MaxInt32
		fw := make([][]int, n)
		for i := range fw {
			fw[i] = make([]int, n)
			for j := range fw[i] {
				fw[i][j] = inf
			}
			fw[i][i] = 0
		}
		for _, e := range edges {
			if e[0] != e[1] {
				fw[e[0]][e[1]], fw[e[1]][e[0]] = 1, 1
			}
		}
		for k := range n {
			for i := range n {
				for j := range n {
					if fw[i][k] < inf && fw[k][j] < inf && fw[i][k]+fw[k][j] < fw[i][j] {
						fw[i][j] = fw[i][k] + fw[k][j]
					}
				}
			}
		}
		var s hopScratch
		for src := range n {
			maxDist := rapid.IntRange(-1, n).Draw(t, "maxDist")
			dist := g.Distances(src, maxDist)
			for v := range n {
				want := int32(fw[src][v])
				if fw[src][v] == inf || (maxDist >= 0 && fw[src][v] > maxDist) {
					want = -1
				}
				if dist[v] != want {
					t.Fatalf("Distances(%d, %d)[%d]: got %v, want %v", src, maxDist, v, dist[v], want)
				}
			}
			for k := 0; k <= n; k++ {
				want := 0
				for v := range n {
					if v != src && fw[src][v] <= k {
						want++
					}
				}
				if got := g.WithinHops(src, k); got != want {
					t.Fatalf("WithinHops(%d, %d): got %v, want %v", src, k, got, want)
				}
				for v := range n {
					if got, want := s.within(g, src, v, k), fw[src][v] <= k; got != want {
						t.Fatalf("within(%d, %d, %d): got %v, want %v", src, v, k, got, want)
					}
				}
				if k == 0 {
					continue
				}
				var want2 []int32
				for v := range n {
					if fw[src][v] == k {
						want2 = append(want2, int32(v))
					}
				}
				got2 := slices.Clone(s.atDistance(g, src, k))
				slices.Sort(got2)
				if !slices.Equal(got2, want2) {
					t.Fatalf("atDistance(%d, %d): got %v, want %v", src, k, got2, want2)
				}
			}
		}
	})
}

// BenchmarkBuildGraph builds a 100,000-node Holme–Kim graph of mean degree
// 20 (and er and ws graphs of the same size). Set SIM_BENCH_1M=1 to also
// build the 1,000,000-node ones (the size the simulator must handle);
// measure peak memory with
//
//	go test -c -o /tmp/sim.test ./sim
//	SIM_BENCH_1M=1 /usr/bin/time -v /tmp/sim.test -test.run '^$' \
//		-test.bench 'BuildGraph/hk-1M' -test.benchtime 1x -test.benchmem
func BenchmarkBuildGraph(b *testing.B) {
	for _, bb := range []struct {
		name string
		kind string
		n    int
	}{
		{"hk-100k", "hk", 100_000},
		{"er-100k", "er", 100_000},
		{"ws-100k", "ws", 100_000},
		{"hk-1M", "hk", 1_000_000},
		{"er-1M", "er", 1_000_000},
		{"ws-1M", "ws", 1_000_000},
	} {
		b.Run(bb.name, func(b *testing.B) {
			if bb.n > 100_000 && os.Getenv("SIM_BENCH_1M") == "" {
				b.Skip("set SIM_BENCH_1M=1 to build the 1,000,000-node graph")
			}
			c := genConfig(bb.kind, bb.n, 20)
			for b.Loop() {
				if _, err := BuildGraph(c, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestEdgeListGzipCutAnywhere: a gzip edge list cut short is called
// truncated wherever the cut falls, also inside a line (whose first part
// the scanner hands over as a last line before the read error).
func TestEdgeListGzipCutAnywhere(t *testing.T) {
	var raw bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&raw, "%d\t%d\n", i*7919%100003, i*104729%100019)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(raw.Bytes())
	zw.Close()
	dir := t.TempDir()
	for i := 1; i <= 16; i++ {
		n := zipped.Len() * i / 17
		cut := filepath.Join(dir, fmt.Sprintf("cut%d.gz", i))
		if err := os.WriteFile(cut, zipped.Bytes()[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadEdgeListFile(cut); err == nil || !strings.Contains(err.Error(), "truncated or corrupt") {
			t.Errorf("gzip cut after %d of %d bytes: got %v, want it called truncated", n, zipped.Len(), err)
		}
	}
}

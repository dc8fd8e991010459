package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/graphs/gen"
)

// graphStream is the PCG stream BuildGraph draws from, so that the graph of
// seed s does not share random numbers with anything else seeded by s.
const graphStream = 0x6772617068 // "graph"

// BuildGraph builds the graph c.Graph names from seed:
//
//   - "er": Erdős–Rényi G(n, m) with n = c.Nodes and m = round(n*c.Degree/2)
//     edges, by gonum's gen.Gnm.
//   - "ws": Watts–Strogatz small world (see wattsStrogatz): a ring on which
//     each node is joined to its d = max(1, round(c.Degree/2)) nearest
//     successors, so mean degree 2d, then each of those edges rewired to a
//     uniformly random far end with probability c.Rewire.
//   - "ba": Barabási–Albert preferential attachment: every new node attaches
//     m = max(1, round(c.Degree/2)) edges, so mean degree ≈ 2m (see
//     holmeKim with triad probability 0).
//   - "hk": Holme–Kim scale-free graph with tunable clustering: as ba, but
//     each edge after a node's first is, with probability c.Triad, a
//     triad-formation step (see holmeKim).
//   - anything else: the path of a SNAP edge list (LoadEdgeListFile); Nodes,
//     Degree, Rewire and Triad are then ignored.
//
// So ws, ba and hk have an even mean degree (ba and hk slightly less:
// 2m(n-m)/n); an odd Degree rounds up (Degree 3 gives 4). The same seed
// always gives the same graph.
//
// Only "er" runs gonum's generator itself. In gonum v0.17.0,
// gen.SmallWorldsBB does not build a ring lattice (its edge index for the
// lattice edge (v, v+i) lands in another row, so nodes 1..d end up joined
// to almost every node), and gen.PreferentialAttachment and
// gen.TunableClusteringScaleFree reweight their sampler over all n nodes
// after every node added, which is O(n²): about 0.6 s for 20,000 nodes and
// hours for 1,000,000. ws, ba and hk are therefore implemented here in
// O(n·m) time; ba and hk follow gonum's process step for step (the tests
// compare them with gonum's on small graphs).
func BuildGraph(c *Config, seed uint64) (*Graph, error) {
	if !IsGenerated(c.Graph) {
		return LoadEdgeListFile(c.Graph)
	}
	if err := checkGenerated(c); err != nil {
		return nil, err
	}
	n := c.Nodes
	src := rand.NewPCG(seed, graphStream)
	b := newBuilder(n)
	switch c.Graph {
	case "er":
		if err := gen.Gnm(b, n, erEdges(n, c.Degree), src); err != nil {
			return nil, fmt.Errorf("sim: generating er graph: %w", err)
		}
	case "ws":
		wattsStrogatz(b, n, halfDegree(c.Degree), c.Rewire, rand.New(src))
	case "ba", "hk":
		p := 0.0
		if c.Graph == "hk" {
			p = c.Triad
		}
		holmeKim(b, n, halfDegree(c.Degree), p, rand.New(src))
	}
	return b.graph(), nil
}

// erEdges is the edge count of an er graph of n nodes and mean degree d.
func erEdges(n int, d float64) int { return int(math.Round(float64(n) * d / 2)) }

// halfDegree is d of ws (successors joined on the ring) and m of ba and hk
// (edges each new node attaches) for a mean degree of about 2·halfDegree.
func halfDegree(degree float64) int { return max(1, int(math.Round(degree/2))) }

// checkGenerated reports nodes, degree, rewire or triad of a generated
// graph that are out of range, or that its generator cannot build: more
// er edges than pairs of nodes, a ws ring wider than the nodes, ba or hk
// attaching more edges than there are nodes. NaN is out of every range.
func checkGenerated(c *Config) error {
	n := c.Nodes
	if n < 2 || n > maxNodes {
		return &KnobError{Knob: "nodes", Value: strconv.Itoa(n), Problem: fmt.Sprintf("out of range (2..%d)", maxNodes)}
	}
	if !(c.Degree >= 1 && c.Degree < float64(n)) {
		return &KnobError{Knob: "degree", Value: fmt.Sprint(c.Degree), Problem: "out of range (1..nodes-1)"}
	}
	switch c.Graph {
	case "er":
		if m, pairs := erEdges(n, c.Degree), n*(n-1)/2; m > pairs {
			return badDegree(c, fmt.Sprintf("er: %d nodes have only %d pairs, not round(nodes·degree/2) = %d", n, pairs, m))
		}
	case "ws":
		if d := halfDegree(c.Degree); 2*d >= n {
			return badDegree(c, fmt.Sprintf("ws rounds it to %d, which needs more than %d nodes", 2*d, 2*d))
		}
	case "ba", "hk":
		if m := halfDegree(c.Degree); m >= n {
			return badDegree(c, fmt.Sprintf("%s attaches %d edges per node, which needs more than %d nodes", c.Graph, m, m))
		}
	}
	if !(c.Rewire >= 0 && c.Rewire <= 1) {
		return &KnobError{Knob: "rewire", Value: fmt.Sprint(c.Rewire), Problem: "out of range (0..1)"}
	}
	if !(c.Triad >= 0 && c.Triad <= 1) {
		return &KnobError{Knob: "triad", Value: fmt.Sprint(c.Triad), Problem: "out of range (0..1)"}
	}
	return nil
}

// badDegree refuses c's degree, within 1..nodes-1 but too large for the
// generator: why says what it needs.
func badDegree(c *Config, why string) error {
	return &KnobError{Knob: "degree", Value: fmt.Sprint(c.Degree), Problem: "too large for this graph (" + why + ")"}
}

// wattsStrogatz builds the Watts–Strogatz model (Nature 393, 1998) in b, as
// networkx's watts_strogatz_graph does: a ring of n nodes, each joined to
// its d successors; then for j = 1..d and every node v in order, with
// probability p the edge (v, v+j) is replaced by (v, w) with w uniform among
// the nodes other than v not already joined to it (left alone if v is
// already joined to all). The edge count stays n*d.
func wattsStrogatz(b *builder, n, d int, p float64, rng *rand.Rand) {
	ringLattice(b, n, d)
	if p == 0 {
		return
	}
	for j := 1; j <= d; j++ {
		for v := range n {
			if rng.Float64() >= p {
				continue
			}
			if len(b.adj[v]) >= n-1 {
				continue
			}
			w := int32(rng.IntN(n))
			for int(w) == v || b.hasEdge(int32(v), w) {
				w = int32(rng.IntN(n))
			}
			b.removeEdge(int32(v), int32((v+j)%n))
			b.addEdge(int32(v), w)
		}
	}
}

// ringLattice joins every node of b to its d successors on a ring of n.
func ringLattice(b *builder, n, d int) {
	for v := range n {
		b.ensure(int64(v))
	}
	for v := range n {
		for i := 1; i <= d; i++ {
			b.addEdge(int32(v), int32((v+i)%n))
		}
	}
}

// holmeKim builds in b the graph of Holme and Kim, "Growing scale-free
// networks with tunable clustering" (Phys. Rev. E 65, 026107, 2002), by the
// same process as gonum's gen.TunableClusteringScaleFree, in O(n·m) rather
// than O(n²) time. With p = 0 it is gonum's gen.PreferentialAttachment
// (Barabási–Albert).
//
// Nodes 0..m-1 start isolated and node m joins all of them. Every later
// node v adds m edges to distinct earlier nodes. Its first edge, and each
// later one with probability 1-p, is a preferential-attachment step: a node
// drawn with probability proportional to its degree at the start of v's
// step, redrawn while it is already joined to v. Otherwise it is a triad
// step: a neighbour, uniformly chosen among those not yet joined to v, of
// the node the last preferential-attachment step chose; if there is none,
// it falls back to preferential attachment.
//
// Degree-proportional draws pick a uniform entry of ends, which lists both
// endpoints of every edge (so node u appears deg(u) times); v's own edges are
// appended only when its step ends, as gonum reweights only then.
func holmeKim(b *builder, n, m int, p float64, rng *rand.Rand) {
	for v := 0; v <= m; v++ {
		b.ensure(int64(v))
	}
	ends := make([]int32, 0, 2*m*(n-m))
	for u := range int32(m) {
		b.addEdge(u, int32(m))
		ends = append(ends, u, int32(m))
	}
	var eligible []int32
	for v := int32(m) + 1; int(v) < n; v++ {
		b.ensure(int64(v))
		frozen := ends // degrees as of the start of v's step
		var u int32    // the last preferential-attachment target
		for i := range m {
			if i > 0 && p > 0 && rng.Float64() < p {
				var w int32
				w, eligible = b.triad(u, v, rng, eligible)
				if w >= 0 {
					b.addEdge(w, v)
					continue
				}
			}
			u = b.preferential(v, frozen, rng, &eligible)
			b.addEdge(u, v)
		}
		for _, w := range b.adj[v] {
			ends = append(ends, w, v)
		}
	}
}

// triad returns a uniformly chosen neighbour of u that is neither v nor
// joined to v, or -1 if there is none. It tries a few random neighbours
// first and only lists the eligible ones (into scratch) when those fail.
func (b *builder) triad(u, v int32, rng *rand.Rand, scratch []int32) (int32, []int32) {
	nb := b.adj[u]
	if len(nb) == 0 {
		return -1, scratch
	}
	for range 8 {
		w := nb[rng.IntN(len(nb))]
		if w != v && !b.hasEdge(w, v) {
			return w, scratch
		}
	}
	scratch = scratch[:0]
	for _, w := range nb {
		if w != v && !b.hasEdge(w, v) {
			scratch = append(scratch, w)
		}
	}
	if len(scratch) == 0 {
		return -1, scratch
	}
	return scratch[rng.IntN(len(scratch))], scratch
}

// preferential returns a node drawn from ends (so with probability
// proportional to its number of entries) among those not joined to v. It
// redraws up to 64 times, then draws exactly from the list of eligible
// entries, so that it always ends.
func (b *builder) preferential(v int32, ends []int32, rng *rand.Rand, scratch *[]int32) int32 {
	for range 64 {
		u := ends[rng.IntN(len(ends))]
		if u != v && !b.hasEdge(u, v) {
			return u
		}
	}
	s := (*scratch)[:0]
	for _, u := range ends {
		if u != v && !b.hasEdge(u, v) {
			s = append(s, u)
		}
	}
	*scratch = s
	return s[rng.IntN(len(s))] // v > m has fewer than m neighbours among at least m+1 nodes
}

// builder is a compact graph.UndirectedBuilder for gonum's generators: a
// neighbour slice per node instead of simple.UndirectedGraph's maps of maps
// (which take over 100 bytes per edge end). Nodes are 0..n-1. The graph it
// converts to is always simple: self loops are never stored and graph()
// removes repeated edges.
type builder struct {
	adj [][]int32
}

var _ graph.UndirectedBuilder = (*builder)(nil)

func newBuilder(capacity int) *builder {
	return &builder{adj: make([][]int32, 0, capacity)}
}

// graph converts b to the compressed form, sorting each neighbour list.
func (b *builder) graph() *Graph {
	n := len(b.adj)
	off := make([]int64, n+1)
	for v, l := range b.adj {
		off[v+1] = off[v] + int64(len(l))
	}
	adj := make([]int32, off[n])
	for v, l := range b.adj {
		copy(adj[off[v]:], l)
		b.adj[v] = nil // let the collector have it as we go
	}
	g := &Graph{off: off, adj: adj}
	g.sortAndDedupe()
	return g
}

func (b *builder) has(id int64) bool { return id >= 0 && id < int64(len(b.adj)) }

func (b *builder) ensure(id int64) {
	if id < 0 || id >= math.MaxInt32 {
		panic(fmt.Sprintf("sim: graph builder: node id %d out of range", id))
	}
	for int64(len(b.adj)) <= id {
		b.adj = append(b.adj, nil)
	}
}

// removeEdge removes the edge u–v if present (order of the remaining
// neighbours changes, deterministically).
func (b *builder) removeEdge(u, v int32) {
	del := func(l []int32, x int32) []int32 {
		if i := slices.Index(l, x); i >= 0 {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
		return l
	}
	b.adj[u] = del(b.adj[u], v)
	b.adj[v] = del(b.adj[v], u)
}

func (b *builder) addEdge(u, v int32) {
	if u == v || b.hasEdge(u, v) {
		return
	}
	b.adj[u] = append(b.adj[u], v)
	b.adj[v] = append(b.adj[v], u)
}

// hasEdge scans the shorter of the two (unsorted) neighbour lists.
func (b *builder) hasEdge(u, v int32) bool {
	if len(b.adj[u]) > len(b.adj[v]) {
		u, v = v, u
	}
	return slices.Contains(b.adj[u], v)
}

// Node implements graph.Graph. It returns nil for a node not yet added.
func (b *builder) Node(id int64) graph.Node {
	if !b.has(id) {
		return nil
	}
	return node(id)
}

// Nodes implements graph.Graph.
func (b *builder) Nodes() graph.Nodes { return &nodeIter{ids: nil, n: len(b.adj), i: -1} }

// From implements graph.Graph: the neighbours of id, in insertion order.
func (b *builder) From(id int64) graph.Nodes {
	if !b.has(id) {
		return &nodeIter{i: -1}
	}
	l := b.adj[id]
	return &nodeIter{ids: l, n: len(l), i: -1}
}

// HasEdgeBetween implements graph.Graph.
func (b *builder) HasEdgeBetween(xid, yid int64) bool {
	return b.has(xid) && b.has(yid) && b.hasEdge(int32(xid), int32(yid))
}

// Edge implements graph.Graph.
func (b *builder) Edge(uid, vid int64) graph.Edge {
	if !b.HasEdgeBetween(uid, vid) {
		return nil
	}
	return edge{node(uid), node(vid)}
}

// EdgeBetween implements graph.Undirected.
func (b *builder) EdgeBetween(xid, yid int64) graph.Edge { return b.Edge(xid, yid) }

// NewNode implements graph.NodeAdder: the next unused id.
func (b *builder) NewNode() graph.Node { return node(len(b.adj)) }

// AddNode implements graph.NodeAdder.
func (b *builder) AddNode(n graph.Node) { b.ensure(n.ID()) }

// NewEdge implements graph.EdgeAdder.
func (b *builder) NewEdge(from, to graph.Node) graph.Edge {
	return edge{from, to}
}

// SetEdge implements graph.EdgeAdder, adding missing end nodes as
// simple.UndirectedGraph does. It drops self loops but does not look for an
// existing edge: gonum's generators check HasEdgeBetween before SetEdge, so
// checking again would double the cost of the largest builds, and graph()
// removes any duplicate that got through anyway.
func (b *builder) SetEdge(e graph.Edge) {
	u, v := e.From().ID(), e.To().ID()
	b.ensure(max(u, v))
	b.ensure(min(u, v))
	if u != v {
		b.adj[u] = append(b.adj[u], int32(v))
		b.adj[v] = append(b.adj[v], int32(u))
	}
}

// node is a builder node: its id.
type node int64

// ID implements graph.Node.
func (n node) ID() int64 { return int64(n) }

// edge is a builder edge. It keeps the nodes it was made from, so that
// From and To do not box a new interface value on every call.
type edge struct{ f, t graph.Node }

// From implements graph.Edge.
func (e edge) From() graph.Node { return e.f }

// To implements graph.Edge.
func (e edge) To() graph.Node { return e.t }

// ReversedEdge implements graph.Edge.
func (e edge) ReversedEdge() graph.Edge { return edge{e.t, e.f} }

// nodeIter iterates over ids (or 0..n-1 when ids is nil).
type nodeIter struct {
	ids []int32
	n   int
	i   int
}

var _ graph.Nodes = (*nodeIter)(nil)

// Next implements graph.Iterator.
func (it *nodeIter) Next() bool {
	if it.i+1 >= it.n {
		it.i = it.n
		return false
	}
	it.i++
	return true
}

// Len implements graph.Iterator: the number of nodes not yet returned.
func (it *nodeIter) Len() int { return max(0, it.n-it.i-1) }

// Reset implements graph.Iterator.
func (it *nodeIter) Reset() { it.i = -1 }

// Node implements graph.Nodes.
func (it *nodeIter) Node() graph.Node {
	if it.i < 0 || it.i >= it.n {
		return nil
	}
	if it.ids == nil {
		return node(it.i)
	}
	return node(it.ids[it.i])
}

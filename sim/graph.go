package sim

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Graph is an undirected simple graph (no self-loops, no multi-edges) on
// nodes 0..N-1 in compressed adjacency form: the neighbours of v are
// adj[off[v]:off[v+1]], sorted ascending. A Graph is immutable once built,
// so any number of goroutines may read it at once.
//
// Memory is 8 bytes per node plus 8 bytes per undirected edge (each edge is
// stored at both ends as an int32), so a 1,000,000-node graph of mean degree
// 20 takes about 88 MB.
type Graph struct {
	off []int64 // len N+1
	adj []int32 // len 2*Edges
}

// NewGraph returns the graph on nodes 0..n-1 with the given edges. Self
// loops are dropped and so are duplicate edges, in either direction. An
// endpoint outside 0..n-1 is an error.
func NewGraph(n int, edges [][2]int32) (*Graph, error) {
	if n < 0 || n > math.MaxInt32 {
		return nil, fmt.Errorf("sim: graph of %d nodes is out of range (0..%d)", n, math.MaxInt32)
	}
	deg := make([]int64, n+1)
	for i, e := range edges {
		for _, v := range e {
			if v < 0 || int(v) >= n {
				return nil, fmt.Errorf("sim: edge %d (%d, %d) has a node outside 0..%d", i, e[0], e[1], n-1)
			}
		}
		if e[0] != e[1] {
			deg[e[0]+1]++
			deg[e[1]+1]++
		}
	}
	for v := 1; v <= n; v++ {
		deg[v] += deg[v-1]
	}
	off := deg // off[v] is the start of v's block
	adj := make([]int32, off[n])
	next := slices.Clone(off[:n])
	for _, e := range edges {
		if e[0] == e[1] {
			continue
		}
		adj[next[e[0]]] = e[1]
		next[e[0]]++
		adj[next[e[1]]] = e[0]
		next[e[1]]++
	}
	g := &Graph{off: off, adj: adj}
	g.sortAndDedupe()
	return g, nil
}

// sortAndDedupe sorts every neighbour block and removes repeated entries,
// compacting adj in place.
func (g *Graph) sortAndDedupe() {
	n := len(g.off) - 1
	var w int64
	start := g.off[0]
	for v := range n {
		end := g.off[v+1]
		block := g.adj[start:end]
		slices.Sort(block)
		block = slices.Compact(block)
		g.off[v] = w
		w += int64(copy(g.adj[w:], block))
		start = end
	}
	g.off[n] = w
	g.adj = slices.Clip(g.adj[:w])
}

// Nodes returns the number of nodes.
func (g *Graph) Nodes() int { return len(g.off) - 1 }

// Edges returns the number of undirected edges.
func (g *Graph) Edges() int { return len(g.adj) / 2 }

// Neighbors returns the neighbours of v in ascending order. The slice is
// shared with the graph and must not be modified.
func (g *Graph) Neighbors(v int) []int32 { return g.adj[g.off[v]:g.off[v+1]:g.off[v+1]] }

// Degree returns the number of neighbours of v.
func (g *Graph) Degree(v int) int { return int(g.off[v+1] - g.off[v]) }

// MeanDegree returns 2*Edges/Nodes (0 for an empty graph).
func (g *Graph) MeanDegree() float64 {
	if g.Nodes() == 0 {
		return 0
	}
	return float64(len(g.adj)) / float64(g.Nodes())
}

// MaxDegree returns the largest degree (0 for an empty graph).
func (g *Graph) MaxDegree() int {
	best := 0
	for v := range g.Nodes() {
		best = max(best, g.Degree(v))
	}
	return best
}

// HasEdge reports whether u and v are adjacent, by binary search in the
// shorter of the two neighbour lists.
func (g *Graph) HasEdge(u, v int) bool {
	if u < 0 || v < 0 || u >= g.Nodes() || v >= g.Nodes() {
		return false
	}
	if g.Degree(u) > g.Degree(v) {
		u, v = v, u
	}
	_, ok := slices.BinarySearch(g.Neighbors(u), int32(v))
	return ok
}

// Distances returns the hop distance from src to every node by breadth-first
// search: -1 for a node that is unreachable or farther than maxDist hops
// (maxDist < 0: no limit). It allocates a slice of Nodes() entries; use it
// for one-off queries, not once per mail on a large graph.
func (g *Graph) Distances(src, maxDist int) []int32 {
	dist := make([]int32, g.Nodes())
	for i := range dist {
		dist[i] = -1
	}
	dist[src] = 0
	queue := []int32{int32(src)}
	for head := 0; head < len(queue); head++ {
		u := queue[head]
		d := dist[u]
		if maxDist >= 0 && int(d) >= maxDist {
			continue
		}
		for _, w := range g.Neighbors(int(u)) {
			if dist[w] < 0 {
				dist[w] = d + 1
				queue = append(queue, w)
			}
		}
	}
	return dist
}

// WithinHops returns the number of nodes other than src that are at most k
// hops from src.
func (g *Graph) WithinHops(src, k int) int {
	if k <= 0 {
		return 0
	}
	var s hopScratch
	count := 0
	s.levels(g, src, k, func(_ int, level []int32) bool {
		count += len(level)
		return true
	})
	return count
}

// Components returns the number of connected components and the number of
// nodes in the largest one. An isolated node is a component of its own.
func (g *Graph) Components() (count int, largest int) {
	n := g.Nodes()
	seen := make([]bool, n)
	var queue []int32
	for s := range n {
		if seen[s] {
			continue
		}
		count++
		seen[s] = true
		queue = append(queue[:0], int32(s))
		for head := 0; head < len(queue); head++ {
			for _, w := range g.Neighbors(int(queue[head])) {
				if !seen[w] {
					seen[w] = true
					queue = append(queue, w)
				}
			}
		}
		largest = max(largest, len(queue))
	}
	return count, largest
}

// hopScratch holds the reusable state of breadth-first searches over one
// graph, so that a search costs only the nodes it visits rather than
// Nodes(). Marks are epoch stamps: a node is marked in the current search
// when its stamp equals the current epoch. It is not safe for concurrent
// use; a Graph may be shared, a hopScratch may not.
type hopScratch struct {
	stampA, stampB []uint32
	epoch          uint32
	front, next    []int32
	frontB         []int32
}

func (s *hopScratch) reset(n int) {
	if len(s.stampA) != n {
		s.stampA = make([]uint32, n)
		s.stampB = make([]uint32, n)
		s.epoch = 0
	}
	s.epoch++
	if s.epoch == 0 { // wrapped: clear and start again
		clear(s.stampA)
		clear(s.stampB)
		s.epoch = 1
	}
}

// levels runs a breadth-first search from src for at most k levels and
// calls visit(d, nodes) with the nodes at exactly d hops, for d = 1, 2, ...
// until visit returns false or the search runs out of levels or nodes. The
// level slice is reused between calls.
func (s *hopScratch) levels(g *Graph, src, k int, visit func(d int, level []int32) bool) {
	s.reset(g.Nodes())
	e := s.epoch
	s.stampA[src] = e
	s.front = append(s.front[:0], int32(src))
	for d := 1; d <= k && len(s.front) > 0; d++ {
		s.next = s.next[:0]
		for _, u := range s.front {
			for _, w := range g.Neighbors(int(u)) {
				if s.stampA[w] != e {
					s.stampA[w] = e
					s.next = append(s.next, w)
				}
			}
		}
		s.front, s.next = s.next, s.front
		if !visit(d, s.front) {
			return
		}
	}
}

// atDistance returns the nodes at exactly d hops from src (d >= 1), in
// breadth-first discovery order, which is deterministic. The slice is
// reused by the next call.
func (s *hopScratch) atDistance(g *Graph, src, d int) []int32 {
	var out []int32
	s.levels(g, src, d, func(level int, nodes []int32) bool {
		if level == d {
			out = nodes
		}
		return level < d
	})
	return out
}

// within reports whether t is at most k hops from src, by bidirectional
// breadth-first search: it always grows the smaller frontier by one full
// level. If the balls of radius a around src and b around t are disjoint,
// the distance exceeds a+b; if growing one of them to a+1 makes them meet,
// the distance is exactly a+b+1.
func (s *hopScratch) within(g *Graph, src, t, k int) bool {
	if src == t {
		return true
	}
	if k <= 0 {
		return false
	}
	s.reset(g.Nodes())
	e := s.epoch
	s.stampA[src], s.stampB[t] = e, e
	s.front = append(s.front[:0], int32(src))
	s.frontB = append(s.frontB[:0], int32(t))
	a, b := 0, 0
	for a+b < k {
		if len(s.front) == 0 || len(s.frontB) == 0 {
			return false
		}
		// Grow the side whose frontier is smaller.
		growA := len(s.front) <= len(s.frontB)
		front, mine, theirs := s.front, s.stampA, s.stampB
		if !growA {
			front, mine, theirs = s.frontB, s.stampB, s.stampA
		}
		s.next = s.next[:0]
		for _, u := range front {
			for _, w := range g.Neighbors(int(u)) {
				if theirs[w] == e {
					return true
				}
				if mine[w] != e {
					mine[w] = e
					s.next = append(s.next, w)
				}
			}
		}
		if growA {
			s.front, s.next = s.next, s.front
			a++
		} else {
			s.frontB, s.next = s.next, s.frontB
			b++
		}
	}
	return false
}

// LoadEdgeList reads a graph in the SNAP edge-list format: one edge per
// line as two non-negative integer node ids separated by spaces or tabs;
// further columns (the sign or time of SNAP's signed and temporal sets) are
// ignored. Lines whose first non-blank character is '#' and blank lines
// are skipped. Ids may be arbitrary (sparse, large); they are renumbered
// 0, 1, 2, ... in order of first appearance. Self loops and repeated edges
// (in either direction) are dropped, and a node that only has a self loop
// is not in the graph. A byte-order mark before the first line is skipped.
// A line that does not start with two ids, or is over maxEdgeLine bytes,
// is an error naming its line number; so is a file without a single edge.
func LoadEdgeList(r io.Reader) (*Graph, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxEdgeLine)
	ids := make(map[uint64]int32)
	parse := func(s string) (uint64, error) {
		raw, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s is not a non-negative integer node id", quoteClip(s))
		}
		return raw, nil
	}
	id := func(raw uint64) (int32, error) {
		if v, ok := ids[raw]; ok {
			return v, nil
		}
		if len(ids) == math.MaxInt32 {
			return 0, fmt.Errorf("more than %d distinct node ids", math.MaxInt32)
		}
		v := int32(len(ids))
		ids[raw] = v
		return v, nil
	}
	edge := func(f []string) ([2]int32, bool, error) {
		a, err := parse(f[0])
		if err != nil {
			return [2]int32{}, false, err
		}
		b, err := parse(f[1])
		if err != nil || a == b {
			return [2]int32{}, false, err // a self loop adds nothing, not even its node
		}
		u, err := id(a)
		if err != nil {
			return [2]int32{}, false, err
		}
		v, err := id(b)
		return [2]int32{u, v}, err == nil, err
	}
	// lineErr is the error of a line that does not parse, unless reading
	// failed under it: the scanner hands over what it read before a read
	// error as a last line, which a truncated file cuts anywhere.
	lineErr := func(err error) error {
		if rerr := sc.Err(); rerr != nil && !errors.Is(rerr, bufio.ErrTooLong) {
			return fmt.Errorf("sim: edge list: %w", rerr)
		}
		return err
	}
	var edges [][2]int32
	line := 1
	for ; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		text = strings.TrimSpace(text)
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 2 {
			return nil, lineErr(fmt.Errorf("sim: edge list line %d: %s: want two node ids", line, quoteClip(text)))
		}
		e, ok, err := edge(f)
		if err != nil {
			return nil, lineErr(fmt.Errorf("sim: edge list line %d: %w", line, err))
		}
		if ok {
			edges = append(edges, e)
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("sim: edge list line %d is over %d bytes: an edge list has two node ids a line", line, maxEdgeLine)
	} else if err != nil {
		return nil, fmt.Errorf("sim: edge list: %w", err)
	}
	g, err := NewGraph(len(ids), edges)
	if err != nil {
		return nil, err
	}
	if g.Edges() == 0 {
		return nil, errors.New("sim: edge list has no edges (only comments, blank lines or self loops)")
	}
	return g, nil
}

// maxEdgeLine is the longest line LoadEdgeList reads.
const maxEdgeLine = 1 << 20

// quoteClip quotes s for an error message, cut to its first 40 bytes.
func quoteClip(s string) string {
	const n = 40
	if len(s) <= n {
		return strconv.Quote(s)
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strconv.Quote(s[:i]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// LoadEdgeListFile reads a SNAP edge list (see LoadEdgeList) from a file.
// A gzip file (as SNAP distributes them) is decompressed first, whatever
// its name.
func LoadEdgeListFile(path string) (*Graph, error) {
	f, err := os.Open(path)
	if err != nil {
		if lower := strings.ToLower(path); errors.Is(err, fs.ErrNotExist) && lower != path && IsGenerated(lower) {
			return nil, fmt.Errorf("sim: graph %q: no such file; the generator is %q, in lower case", path, lower)
		}
		return nil, fmt.Errorf("sim: graph %q is not er, ws, ba, hk or a readable edge-list file: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); string(magic) == "\x1f\x8b" {
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("sim: %s: a damaged gzip file (%w)", path, err)
		}
		defer z.Close()
		r = z
	}
	g, err := LoadEdgeList(r)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return nil, fmt.Errorf("sim: %s is truncated or corrupt (%w)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return g, nil
}

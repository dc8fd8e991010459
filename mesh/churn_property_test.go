package mesh

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/toxmail/toxmail/envelope"
)

// The test below checks the flooding rules of doc.go as properties of the
// whole mesh, over small random friend graphs with random churn, restarts
// and tunables, instead of one hand-made story at a time. rapid shrinks a
// failing case to a short script, printed with the failure.

// chMail is one mail of a churn scenario.
type chMail struct {
	from, to int
	ttl      uint8
	life     time.Duration // 0: the default, a week
}

// chStep is one step of a churn scenario's script.
type chStep struct {
	kind chKind
	node int           // toggle, restart
	d    time.Duration // wait
}

type chKind int

const (
	chWait    chKind = iota // let virtual time pass
	chToggle                // a node goes offline, or comes back
	chRestart               // a node stops and starts again on its store
	chSubmit                // the next mail is submitted
	chRefuse                // a node's mailbox starts refusing for now (full), or takes mail again
)

func (s chStep) String() string {
	switch s.kind {
	case chWait:
		return "wait " + s.d.String()
	case chToggle:
		return fmt.Sprintf("toggle n%d", s.node)
	case chRestart:
		return fmt.Sprintf("restart n%d", s.node)
	case chRefuse:
		return fmt.Sprintf("mailbox of n%d refuses or takes", s.node)
	default:
		return "submit"
	}
}

// chScenario is a whole run: graph, tunables, mails and script.
type chScenario struct {
	nodes  int
	edges  [][2]int
	online []bool
	mails  []chMail
	steps  []chStep
	mem    MemConfig
	cfg    Config
	// tight is a held budget of one to three envelopes: relays evict and
	// turn mail away, so reach is no longer exact; only what a budget
	// must not break is checked.
	tight bool
}

func drawChScenario(t *rapid.T) chScenario {
	var sc chScenario
	sc.nodes = rapid.IntRange(2, 9).Draw(t, "nodes")
	node := rapid.IntRange(0, sc.nodes-1)
	// A tree or a ring with a few chords has long ways round, which churn
	// makes mail take; a random graph has a third of all links.
	switch shape := rapid.SampledFrom([]string{"tree", "ring", "random"}).Draw(t, "shape"); shape {
	case "random":
		for i := range sc.nodes {
			for j := i + 1; j < sc.nodes; j++ {
				if rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("edge n%d-n%d", i, j)) == 0 {
					sc.edges = append(sc.edges, [2]int{i, j})
				}
			}
		}
	default:
		for i := 1; i < sc.nodes; i++ {
			j := i - 1
			if shape == "tree" {
				j = rapid.IntRange(0, i-1).Draw(t, fmt.Sprintf("n%d's parent", i))
			}
			sc.edges = append(sc.edges, [2]int{j, i})
		}
		if shape == "ring" && sc.nodes > 2 {
			sc.edges = append(sc.edges, [2]int{sc.nodes - 1, 0})
		}
		for i := range rapid.IntRange(0, 2).Draw(t, "chords") {
			a, b := node.Draw(t, fmt.Sprintf("chord %d from", i)), node.Draw(t, fmt.Sprintf("chord %d to", i))
			if a != b && !slices.ContainsFunc(sc.edges, func(e [2]int) bool { return e == [2]int{a, b} || e == [2]int{b, a} }) {
				sc.edges = append(sc.edges, [2]int{a, b})
			}
		}
	}
	sc.online = rapid.SliceOfN(rapid.Bool(), sc.nodes, sc.nodes).Draw(t, "online at start")
	nMails := rapid.IntRange(1, 4).Draw(t, "mails")
	for i := range nMails {
		from := node.Draw(t, fmt.Sprintf("mail %d from", i))
		to := rapid.IntRange(0, sc.nodes-2).Draw(t, fmt.Sprintf("mail %d to", i))
		if to >= from {
			to++ // anyone but the sender
		}
		ttl := uint8(rapid.IntRange(1, 6).Draw(t, fmt.Sprintf("mail %d ttl", i)))
		life := time.Duration(rapid.SampledFrom([]int{0, 0, 10, 120}).Draw(t, fmt.Sprintf("mail %d lifetime min", i))) * time.Minute
		sc.mails = append(sc.mails, chMail{from, to, ttl, life})
	}
	step := rapid.Custom(func(t *rapid.T) chStep {
		switch k := chKind(rapid.IntRange(0, 4).Draw(t, "kind")); k {
		case chWait:
			ms := rapid.SampledFrom([]int{20, 300, 5_000, 40_000, 200_000, 900_000}).Draw(t, "ms")
			return chStep{kind: k, d: time.Duration(ms) * time.Millisecond}
		case chSubmit:
			return chStep{kind: k}
		default:
			return chStep{kind: k, node: node.Draw(t, "node")}
		}
	})
	for i := range rapid.IntRange(0, 40).Draw(t, "steps") {
		sc.steps = append(sc.steps, step.Draw(t, fmt.Sprintf("step %d", i)))
	}

	sc.mem = MemConfig{
		Latency:        time.Duration(rapid.SampledFrom([]int{1, 10, 150}).Draw(t, "latency ms")) * time.Millisecond,
		ConnectDelay:   time.Duration(rapid.SampledFrom([]int{0, 1, 10}).Draw(t, "connect delay s")) * time.Second,
		Bandwidth:      float64(rapid.SampledFrom([]int{0, 20_000, 1_000_000}).Draw(t, "bandwidth B/s")),
		ShareEnvelopes: rapid.Bool().Draw(t, "share envelopes"),
	}
	sc.cfg = testConfig()
	sc.cfg.OfferDelay = time.Duration(rapid.SampledFrom([]int{0, 50, 2_000}).Draw(t, "offer delay ms")) * time.Millisecond
	sc.cfg.MaxBatch = rapid.IntRange(1, 4).Draw(t, "max batch")
	sc.cfg.MaxInflightPerFriend = rapid.IntRange(1, 3).Draw(t, "max inflight per friend")
	sc.cfg.MaxInflight = sc.cfg.MaxInflightPerFriend + rapid.IntRange(0, 3).Draw(t, "max inflight more")
	sc.cfg.RequestTimeout = time.Duration(rapid.SampledFrom([]int{1, 30, 120}).Draw(t, "request timeout s")) * time.Second
	if sc.tight = rapid.IntRange(0, 3).Draw(t, "tight budget") == 0; sc.tight {
		k := rapid.IntRange(1, 3).Draw(t, "budget in envelopes")
		sc.cfg.MaxEnvelopeSize = envelope.SealedSize(64)
		sc.cfg.MaxHeldBytes = int64(k * sc.cfg.MaxEnvelopeSize)
		if k > 1 && rapid.Bool().Draw(t, "friend share 1/2") {
			sc.cfg.FriendShare = 0.5
		} else {
			sc.cfg.FriendShare = 1
		}
	}
	return sc
}

// distances returns the hop distance from src to every node (-1: none),
// over paths that avoid the nodes in skip (src itself excepted).
func (sc *chScenario) distances(src int, skip ...int) []int {
	adj := make([][]int, sc.nodes)
	for _, e := range sc.edges {
		if slices.Contains(skip, e[0]) || slices.Contains(skip, e[1]) {
			continue
		}
		adj[e[0]] = append(adj[e[0]], e[1])
		adj[e[1]] = append(adj[e[1]], e[0])
	}
	dist := make([]int, sc.nodes)
	for i := range dist {
		dist[i] = -1
	}
	dist[src] = 0
	for queue := []int{src}; len(queue) > 0; queue = queue[1:] {
		for _, v := range adj[queue[0]] {
			if dist[v] < 0 {
				dist[v] = dist[queue[0]] + 1
				queue = append(queue, v)
			}
		}
	}
	return dist
}

func (sc *chScenario) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d nodes, links", sc.nodes)
	for _, e := range sc.edges {
		fmt.Fprintf(&b, " n%d-n%d", e[0], e[1])
	}
	fmt.Fprintf(&b, "; online at start %v; mails", sc.online)
	for i, m := range sc.mails {
		fmt.Fprintf(&b, " %d: n%d to n%d TTL %d lifetime %v;", i, m.from, m.to, m.ttl, m.life)
	}
	fmt.Fprintf(&b, " network %+v; offer delay %v, batch %d, in flight %d/%d, request timeout %v",
		sc.mem, sc.cfg.OfferDelay, sc.cfg.MaxBatch, sc.cfg.MaxInflightPerFriend, sc.cfg.MaxInflight, sc.cfg.RequestTimeout)
	if sc.tight {
		fmt.Fprintf(&b, "; held budget %d bytes, friend share %v", sc.cfg.MaxHeldBytes, sc.cfg.FriendShare)
	}
	return b.String()
}

// chRun is a scenario being played on a testNet.
type chRun struct {
	sc     *chScenario
	tn     *testNet
	online []bool
	// refusing marks the nodes whose mailbox refuses for now (full).
	refusing []bool
	ids      []envelope.ID // submitted mails, in order
	expiry   []time.Time   // when each expires (0: in a week, past the test)
	dist     [][]int       // dist[i]: from mail i's sender
	log      []string      // what happened, for the failure message
}

func chName(i int) string { return fmt.Sprintf("n%d", i) }

func (r *chRun) submit() {
	m := r.sc.mails[len(r.ids)]
	opt := []func(*Outgoing){withTTL(m.ttl)}
	var exp time.Time
	if m.life > 0 {
		opt = append(opt, withLifetime(m.life))
		exp = r.tn.clock.Now().Add(m.life)
	}
	r.ids = append(r.ids, r.tn.send(chName(m.from), chName(m.to), fmt.Sprintf("mail %d", len(r.ids)), opt...))
	r.expiry = append(r.expiry, exp)
}

// checkSafety checks what must hold at every moment: no copy is held with
// more hops left than its TTL allows at that distance from the sender, or
// past its expiry; no mail is delivered twice, to anyone but its
// recipient, or beyond its TTL.
func (r *chRun) checkSafety() error {
	byID := map[envelope.ID]int{}
	for i, id := range r.ids {
		byID[id] = i
	}
	for i, id := range r.ids {
		m := r.sc.mails[i]
		s := r.tn.status(chName(m.from), id)
		if h := r.heldHops(m.from, i); (s == StatusQueued || s == StatusOffered) != (h == int(m.ttl)) {
			return fmt.Errorf("mail %d: its sender n%d holds it with %d hops left (TTL %d, -1: not held) and its outbox says %v", i, m.from, h, m.ttl, s)
		}
	}
	for x := range r.sc.nodes {
		n := r.tn.nodes[chName(x)]
		for _, h := range n.node.Held() {
			i, ok := byID[h.ID]
			if !ok {
				return fmt.Errorf("n%d holds %x, which nobody sent", x, h.ID[:4])
			}
			d, ttl := r.dist[i][x], int(r.sc.mails[i].ttl)
			if d < 0 || int(h.Hops)+d > ttl {
				return fmt.Errorf("n%d holds mail %d with %d hops left at distance %d from its sender (TTL %d)", x, i, h.Hops, d, ttl)
			}
			// Expiry is kept in whole seconds.
			if exp := r.expiry[i]; !exp.IsZero() && r.tn.clock.Now().After(exp.Add(time.Second)) {
				return fmt.Errorf("n%d still holds mail %d, which expired at %v", x, i, exp)
			}
		}
		for _, dl := range n.box.deliveries() {
			i, ok := byID[dl.Letter.ID]
			if !ok || r.sc.mails[i].to != x {
				return fmt.Errorf("n%d was delivered %x, which is not its mail", x, dl.Letter.ID[:4])
			}
			if c := n.box.times(dl.Letter.ID); c != 1 {
				return fmt.Errorf("n%d was delivered mail %d %d times", x, i, c)
			}
			if d := r.dist[i][x]; d < 0 || d > int(r.sc.mails[i].ttl) {
				return fmt.Errorf("n%d at distance %d was delivered mail %d, whose TTL is %d", x, d, i, r.sc.mails[i].ttl)
			}
		}
	}
	return nil
}

// checkSettled checks where every mail is once all nodes have been online
// long enough: delivered if and only if its recipient is within its TTL;
// then shown delivered in the sender's outbox and held by nobody; else
// held by exactly the nodes nearer than the TTL, each with the hops the
// shortest path leaves it. A mail that has expired meanwhile is held by
// nobody, and the sender's outbox shows it expired unless its ack came.
// With a tight budget, only mail to a friend of the sender's must have
// arrived.
func (r *chRun) checkSettled() error {
	for i, id := range r.ids {
		m := r.sc.mails[i]
		d := r.dist[i]
		reach := d[m.to] >= 0 && d[m.to] <= int(m.ttl)
		got := r.tn.nodes[chName(m.to)].box.times(id) == 1
		if !r.expiry[i].IsZero() {
			s := r.tn.status(chName(m.from), id)
			if s != StatusExpired && (s != StatusDelivered || !got) {
				return fmt.Errorf("mail %d expired (delivered %v), and its sender's outbox says %v", i, got, s)
			}
			continue // held by nobody: checkSafety
		}
		// With a tight budget, mail may be turned away on the way; but
		// the sender holds its own mail whatever the budget, so a
		// friend of the sender's gets it.
		if !r.sc.tight && got != reach || r.sc.tight && !got && d[m.to] == 1 {
			return fmt.Errorf("mail %d (n%d to n%d, TTL %d, distance %d): delivered %v, want %v", i, m.from, m.to, m.ttl, d[m.to], got, reach)
		}
		if got {
			if s := r.tn.status(chName(m.from), id); s != StatusDelivered {
				return fmt.Errorf("mail %d was delivered, but its sender's outbox says %v", i, s)
			}
		}
		for x := range r.sc.nodes {
			if r.sc.tight && !got {
				break // the sender holds it: checkSafety
			}
			hops := r.heldHops(x, i)
			want := -1 // not held
			if !got && x != m.to && d[x] >= 0 && d[x] < int(m.ttl) {
				want = int(m.ttl) - d[x]
			}
			if hops != want {
				return fmt.Errorf("mail %d (n%d to n%d, TTL %d, delivered %v): n%d at distance %d holds it with %d hops left, want %d (-1: not held)",
					i, m.from, m.to, m.ttl, got, x, d[x], hops, want)
			}
		}
	}
	return nil
}

// heldHops returns the hops left of node x's copy of mail i (-1: none).
func (r *chRun) heldHops(x, i int) int {
	for _, h := range r.tn.nodes[chName(x)].node.Held() {
		if h.ID == r.ids[i] {
			return int(h.Hops)
		}
	}
	return -1
}

// checkFlooded checks, while the nodes in down are offline and all others
// have been online long enough, that each undelivered mail whose sender is
// online has reached every online node the TTL lets it reach over online
// nodes, with at least the hops that path leaves: a copy that came the
// long way round while a node was offline has been raised since. (Mails
// that expire are gone by then.)
func (r *chRun) checkFlooded(down []int) error {
	for i, m := range r.sc.mails {
		if slices.Contains(down, m.from) || !r.expiry[i].IsZero() || r.tn.nodes[chName(m.to)].box.times(r.ids[i]) > 0 {
			continue
		}
		d := r.sc.distances(m.from, down...)
		for x := range r.sc.nodes {
			if x == m.to || d[x] < 0 || d[x] >= int(m.ttl) {
				continue
			}
			if h, want := r.heldHops(x, i), int(m.ttl)-d[x]; h < want {
				return fmt.Errorf("mail %d (n%d to n%d, TTL %d), with n%v offline: n%d at distance %d over online nodes holds it with %d hops left, want at least %d (-1: not held)",
					i, m.from, m.to, m.ttl, down, x, d[x], h, want)
			}
		}
	}
	return nil
}

func (r *chRun) setOnline(x int, on bool) {
	r.online[x] = on
	r.tn.net.SetOnline(r.tn.nodes[chName(x)].kp.Public, on)
}

func (r *chRun) play() error {
	for i := range r.sc.mails {
		r.dist = append(r.dist, r.sc.distances(r.sc.mails[i].from))
	}
	for _, s := range r.sc.steps {
		r.log = append(r.log, s.String())
		switch s.kind {
		case chWait:
			r.tn.run(s.d)
		case chToggle:
			r.setOnline(s.node, !r.online[s.node])
		case chRestart:
			n := r.tn.restart(chName(s.node), r.tn.nodes[chName(s.node)].store)
			if r.online[s.node] {
				r.tn.net.SetOnline(n.kp.Public, true)
			}
		case chSubmit:
			if len(r.ids) < len(r.sc.mails) {
				r.submit()
			}
		case chRefuse:
			r.refusing[s.node] = !r.refusing[s.node]
			var err error
			if r.refusing[s.node] {
				err = tempErr{}
			}
			r.tn.nodes[chName(s.node)].box.setFail(err)
		}
		if err := r.checkSafety(); err != nil {
			return err
		}
	}
	r.log = append(r.log, "the rest submitted; every mailbox takes mail; all but the recipients online for 6h; all online for 6h")
	for x := range r.sc.nodes {
		r.tn.nodes[chName(x)].box.setFail(nil)
	}
	for len(r.ids) < len(r.sc.mails) {
		r.submit()
	}
	var down []int
	for x := range r.sc.nodes {
		to := slices.ContainsFunc(r.sc.mails, func(m chMail) bool { return m.to == x })
		r.setOnline(x, !to)
		if to {
			down = append(down, x)
		}
	}
	r.tn.run(6 * time.Hour)
	if err := r.checkSafety(); err != nil {
		return err
	}
	if !r.sc.tight {
		if err := r.checkFlooded(down); err != nil {
			return err
		}
	}
	for x := range r.sc.nodes {
		r.setOnline(x, true)
	}
	r.tn.run(6 * time.Hour)
	if err := r.checkSafety(); err != nil {
		return err
	}
	return r.checkSettled()
}

// TestFloodUnderChurnProperties: over random graphs of up to nine nodes
// (trees and rings with chords, and sparse random graphs), with nodes
// going offline, coming back and restarting on their stores while mail is
// in flight, mailboxes refusing mail for a while (full), mails that expire
// on the way, and random latencies, bandwidths, batch sizes, offer
// delays, in-flight limits and request timeouts:
//   - at every step, no node holds a copy with more hops left than
//     TTL minus its distance from the sender, or past its expiry; no mail
//     is delivered twice, to anyone but its recipient, or beyond its TTL;
//     and a sender holds its mail, with its whole TTL, exactly while its
//     outbox says queued or offered;
//   - with the recipients offline and everyone else online for six
//     hours, each undelivered mail has reached every node its TTL reaches
//     over online nodes, with at least the hops that path leaves (hop
//     upgrades have caught up with copies that came the long way round);
//   - once every node has been online for six hours more, each mail has
//     been delivered exactly when its recipient is within its TTL, the
//     sender's outbox shows it delivered and no node still holds it; a
//     mail out of reach is held by exactly the nodes nearer than its TTL,
//     each with the hops its shortest path leaves; a mail that expired is
//     held by nobody and shown expired unless its ack came.
//
// In one case in four the held budget is one to three envelopes, so
// relays evict and turn mail away; then reach is not exact, and what is
// checked is that the sender holds its mail until it is delivered or
// expires, that a friend of the sender's gets it, and that delivered mail
// is purged everywhere and shown delivered (which found that an ack
// arriving after its relay copy was evicted went no further:
// TestRegressionAckAfterEviction).
//
// A copy left short of its hops (upgrades or raises switched off) shows in
// one case in a few hundred, so the test runs ten times rapid's checks
// (1,000 by default, about two seconds without -race; with -rapid.seed,
// the same cases ten times).
func TestFloodUnderChurnProperties(t *testing.T) {
	for range 10 {
		rapid.Check(t, func(rt *rapid.T) { checkChurnScenario(t, rt, nil) })
	}
}

// TestFloodUnderChurnPropertiesBadger is TestFloodUnderChurnProperties on
// the nodes' real store, BadgerStore (in memory: a restarted node takes up
// the same store, as from disk), a hundred cases a run.
func TestFloodUnderChurnPropertiesBadger(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		checkChurnScenario(t, rt, func() Store {
			s, err := OpenBadgerStore(BadgerOptions{InMemory: true, GCInterval: -1, MaxEnvelopeSize: 64 << 10})
			if err != nil {
				t.Fatalf("OpenBadgerStore: %v", err)
			}
			return s
		})
	})
}

// checkChurnScenario plays one drawn scenario on stores from open (nil:
// MemStores); t takes the harness's own failures (set-up), rt the
// properties'.
func checkChurnScenario(t *testing.T, rt *rapid.T, open func() Store) {
	sc := drawChScenario(rt)
	tn := newTestNet(t, sc.mem)
	for i := range sc.nodes {
		var s Store
		if open != nil {
			s = open()
		}
		tn.add(chName(i), sc.cfg, s)
	}
	defer func() {
		for _, n := range tn.nodes {
			n.node.Close()
			n.store.Close()
		}
	}()
	for _, e := range sc.edges {
		tn.friends(chName(e[0]), chName(e[1]))
	}
	r := &chRun{sc: &sc, tn: tn, online: append([]bool(nil), sc.online...), refusing: make([]bool, sc.nodes)}
	for i, on := range sc.online {
		r.setOnline(i, on)
	}
	if err := r.play(); err != nil {
		rt.Fatalf("%v\nscenario: %v\nscript: %s\n%s", err, &sc, strings.Join(r.log, "; "), tn)
	}
}

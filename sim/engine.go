package sim

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// Epoch is the simulated time every run starts at. A fixed date keeps the
// envelopes' expiry epochs, and so the output, identical between runs.
var Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// Random streams: each seed drives independent streams for each part of a
// scenario, so that the strategies compared under one seed see the same
// churn and the same mails.
const (
	streamWorkload = iota + 1
	streamKeys
	streamChurn // per node: streamChurn<<32 | node
	streamSeal  // per node: streamSeal<<32 | node
)

// scenario is what one seed fixes for every run under it: the mails, the
// participants' keys, and (through per-node random streams) the churn.
type scenario struct {
	seed  uint64
	mails []Mail
	// keys holds a real key pair for every sender and recipient. Other
	// nodes only relay, so their public keys are random 32-byte names:
	// nothing is ever sealed to them.
	keys map[int32]envelope.KeyPair
}

func newScenario(c *Config, g *Graph, seed uint64) (*scenario, error) {
	mails, err := BuildWorkload(c, g, rand.New(rand.NewPCG(seed, streamWorkload)))
	if err != nil {
		return nil, err
	}
	sc := &scenario{seed: seed, mails: mails, keys: make(map[int32]envelope.KeyPair)}
	var parts []int32
	for _, m := range mails {
		parts = append(parts, m.From, m.To)
	}
	slices.Sort(parts)
	parts = slices.Compact(parts)
	rng := rand.New(rand.NewPCG(seed, streamKeys))
	for _, v := range parts {
		var sk envelope.SecretKey
		fillRandom(rng, sk[:])
		kp, err := envelope.KeyPairFromSecret(sk)
		if err != nil {
			return nil, err
		}
		sc.keys[v] = kp
	}
	return sc, nil
}

// identity returns node v's key pair.
func (sc *scenario) identity(v int32) envelope.KeyPair {
	if kp, ok := sc.keys[v]; ok {
		return kp
	}
	// Keys differ in their first bytes, as real keys do (the mesh and
	// MemNetwork find friends by a key's first 8 bytes).
	var kp envelope.KeyPair
	binary.BigEndian.PutUint64(kp.Public[0:], mix64(sc.seed<<32^uint64(v)))
	binary.BigEndian.PutUint64(kp.Public[8:], uint64(v))
	kp.Public[16] = 0xA5 // never a valid-looking secret's public key by accident of zero
	binary.BigEndian.PutUint64(kp.Public[24:], sc.seed)
	return kp
}

// mix64 is SplitMix64's finaliser: a bijection that spreads every input
// bit over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func fillRandom(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(b[i:], w[:])
	}
}

// rngReader adapts a seeded generator to io.Reader for the sealing code.
type rngReader struct{ r *rand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	fillRandom(r.r, p)
	return len(p), nil
}

// plan says which network a strategy runs on.
type plan struct {
	strategy string
	ttl      int
	nodes    int // nodes simulated, relay included
	edges    func(func(u, v int32))
	relay    int32 // the always-on relay node; -1 if none
	noAcks   bool
	present  func(int32) bool // nodes that exist in this network
}

func makePlan(c *Config, g *Graph, sc *scenario, strategy string, ttl int) (*plan, error) {
	p := &plan{strategy: strategy, ttl: ttl, nodes: g.Nodes(), relay: -1}
	everyone := func(int32) bool { return true }
	switch strategy {
	case StrategyFlood, StrategyFloodNoAck:
		p.noAcks = strategy == StrategyFloodNoAck
		p.present = everyone
		p.edges = func(f func(u, v int32)) {
			for u := range g.Nodes() {
				for _, v := range g.Neighbors(u) {
					if int32(u) < v {
						f(int32(u), v)
					}
				}
			}
		}
	case StrategyDirect:
		p.ttl = 1
		pairs := mailPairs(sc.mails)
		inPairs := participants(sc.mails)
		p.present = func(v int32) bool { return inPairs[v] }
		p.edges = func(f func(u, v int32)) {
			for _, e := range pairs {
				f(e[0], e[1])
			}
		}
	case StrategyRelay:
		p.ttl = 2
		p.relay = int32(g.Nodes())
		p.nodes = g.Nodes() + 1
		inPairs := participants(sc.mails)
		p.present = func(v int32) bool { return v == p.relay || inPairs[v] }
		p.edges = func(f func(u, v int32)) {
			for _, v := range sortedKeys(inPairs) {
				f(v, p.relay)
			}
		}
	default:
		return nil, fmt.Errorf("sim: unknown strategy %q", strategy)
	}
	if p.ttl < 1 || p.ttl > MaxTTL {
		return nil, fmt.Errorf("sim: ttl %d out of range 1..%d", p.ttl, MaxTTL)
	}
	return p, nil
}

// mailPairs returns the distinct unordered sender–recipient pairs, sorted.
func mailPairs(mails []Mail) [][2]int32 {
	var out [][2]int32
	for _, m := range mails {
		a, b := min(m.From, m.To), max(m.From, m.To)
		out = append(out, [2]int32{a, b})
	}
	slices.SortFunc(out, func(x, y [2]int32) int {
		if x[0] != y[0] {
			return int(x[0] - y[0])
		}
		return int(x[1] - y[1])
	})
	return slices.Compact(out)
}

func participants(mails []Mail) map[int32]bool {
	m := make(map[int32]bool)
	for _, x := range mails {
		m[x.From], m[x.To] = true, true
	}
	return m
}

func sortedKeys(m map[int32]bool) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// meshConfig is the configuration every simulated node runs with.
func meshConfig(c *Config, p *plan, mails int) mesh.Config {
	mc := mesh.DefaultConfig()
	mc.TTL = uint8(p.ttl)
	mc.MaxHops = max(mc.MaxHops, uint8(p.ttl))
	mc.Lifetime = c.Lifetime
	mc.MaxLifetime = max(mc.MaxLifetime, c.Lifetime)
	mc.MaxHeldBytes = c.MaxHeldBytes
	// One friend's share must hold the largest envelope (Config.Validate
	// checks that the largest mail fits).
	mc.MaxEnvelopeSize = min(mc.MaxEnvelopeSize, int(float64(c.MaxHeldBytes)*mc.FriendShare))
	mc.NoAcks = p.noAcks
	// The seen set is a bitset in memory: no cache in front of it.
	mc.DedupeSize = 0
	// Nothing to sweep between expiries: the store is in memory.
	mc.SweepInterval = 0
	return mc
}

// mailBody is the deterministic body of mail i: a header naming it, then
// filler up to size bytes.
func mailBody(i, size int) []byte {
	head := fmt.Sprintf("Subject: simulated mail %d\r\n\r\n", i)
	b := make([]byte, max(size, len(head)))
	copy(b, head)
	for j := len(head); j < len(b); j++ {
		b[j] = 'a' + byte(j%26)
	}
	return b
}

package sim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/toxmail/toxmail/envelope"
	"github.com/toxmail/toxmail/mesh"
)

// Strategy names, as in Config.Strategies.
const (
	// StrategyDirect: the sender befriends each recipient and retries until
	// it is online; nobody relays (TTL 1).
	StrategyDirect = "direct"
	// StrategyRelay: one always-on relay node that every node is friends
	// with, and nothing else (TTL 2: sender → relay → recipient).
	StrategyRelay = "relay"
	// StrategyFlood: the toxmail mesh over the social graph, at each TTL.
	StrategyFlood = "flood"
	// StrategyFloodNoAck: the mesh without acks: relays hold copies until
	// they expire.
	StrategyFloodNoAck = "flood-noack"
)

// Strategies lists every strategy, in the order reports show them.
var Strategies = []string{StrategyDirect, StrategyRelay, StrategyFlood, StrategyFloodNoAck}

// Config is one simulation study: a graph, a churn model, a workload, link
// properties, and the TTLs, strategies and seeds to compare. The zero value
// is not valid; start from DefaultConfig.
type Config struct {
	// Graph.
	Nodes  int     // number of nodes (ignored for an edge-list file)
	Graph  string  // "er", "ws", "ba", "hk", or the path of a SNAP edge list
	Degree float64 // mean degree (er, ws; ba and hk attach Degree/2 edges per node)
	Rewire float64 // ws: probability of rewiring each edge, 0..1
	Triad  float64 // hk: probability of a triad-formation step, 0..1

	// Churn.
	Churn    string        // "none", "exp", "weibull" or "kad"
	MeanOn   time.Duration // exp: mean online session
	MeanOff  time.Duration // exp: mean offline period
	OnShape  float64       // weibull: online session shape
	OnScale  time.Duration // weibull: online session scale
	OffShape float64       // weibull: offline period shape
	OffScale time.Duration // weibull: offline period scale
	AlwaysOn float64       // fraction of nodes that never go offline, 0..1

	// Links.
	Latency      time.Duration // one-way frame latency
	Bandwidth    float64       // bytes per second per directed link (0: unlimited)
	ConnectDelay time.Duration // from both ends online to the friend link being up

	// Workload.
	Messages   int           // mails per run
	Days       float64       // simulated time per run, in days
	Window     time.Duration // mails are created uniformly over [0, Window); 0: over DefaultWindow, or all of a shorter run
	Distance   int           // 0: random pairs; d > 0: recipient exactly d links from the sender
	SizeMedian int           // mail body size: log-normal median, bytes
	SizeSigma  float64       // log-normal sigma (0: every mail is SizeMedian)
	SizeMax    int           // largest body, bytes

	// Mesh knobs the simulated nodes share (the rest are mesh defaults).
	Lifetime     time.Duration // envelope lifetime
	MaxHeldBytes int64         // per-node budget for held envelopes

	// What to compare.
	TTLs       []int    // hop limits for flood and flood-noack
	Strategies []string // subset of Strategies
	Seeds      int      // runs per (strategy, TTL), seeds Seed, Seed+1, ...
	Seed       uint64   // first seed
	// GraphSeed draws a generated graph; -1 (the default) means Seed. Every
	// seed of a study runs on the one graph, so run k of a study is
	// `--seed Seed+k --graph-seed Seed` alone.
	GraphSeed int64

	// Jobs is how many runs are simulated at once, each on its own core.
	// 0 means one per CPU, as long as the estimated peak memory of the
	// runs going at once fits in three quarters of the machine's: a run
	// that does not fit beside those going waits, and a smaller one after
	// it in line may start instead. Runs are independent and
	// deterministic, so the report does not depend on it; memory grows
	// with it.
	Jobs int
}

// Kad preset: Weibull session and inter-session times measured in the KAD
// network (Steiner, En-Najjary, Biersack: "Long term study of peer behavior
// in the KAD DHT", IEEE/ACM ToN 2009).
const (
	KadOnShape  = 0.615
	KadOnScale  = time.Duration(169.5 * float64(time.Minute))
	KadOffShape = 0.476
	KadOffScale = time.Duration(413.7 * float64(time.Minute))
)

// DefaultConfig returns the defaults every front end (the config file's
// [sim] section, the flags) starts from.
func DefaultConfig() Config {
	return Config{
		Nodes:  1000,
		Graph:  "hk",
		Degree: 20,
		Rewire: 0.1,
		Triad:  0.5,

		Churn:    "kad",
		MeanOn:   4 * time.Hour,
		MeanOff:  12 * time.Hour,
		OnShape:  KadOnShape,
		OnScale:  KadOnScale,
		OffShape: KadOffShape,
		OffScale: KadOffScale,
		AlwaysOn: 0,

		Latency:      50 * time.Millisecond,
		Bandwidth:    1 << 20, // ~1 MB/s, Tox lossless packets on loopback
		ConnectDelay: 10 * time.Second,

		Messages:   200,
		Days:       7,
		Window:     0, // DefaultWindow, or all of a shorter run
		Distance:   0,
		SizeMedian: 4 << 10,
		SizeSigma:  1,
		SizeMax:    1 << 20,

		Lifetime:     7 * 24 * time.Hour,
		MaxHeldBytes: 256 << 20,

		TTLs:       []int{1, 2, 3, 4, 5, 6},
		Strategies: slices.Clone(Strategies),
		Seeds:      1,
		Seed:       1,
		GraphSeed:  -1,
	}
}

// GraphSeedOf returns the seed that draws the study's graph: GraphSeed,
// or Seed when it is -1.
func (c *Config) GraphSeedOf() uint64 {
	if c.GraphSeed < 0 {
		return c.Seed
	}
	return uint64(c.GraphSeed)
}

// DefaultWindow is what a Window of 0, the default, stands for: mails are
// created over the first day, or over the whole run when it is shorter. A
// Window given is never cut: Validate refuses one longer than the run.
const DefaultWindow = 24 * time.Hour

// CreationWindow returns the time over which mails are created: Window,
// or for 0 DefaultWindow cut to the run's Duration.
func (c *Config) CreationWindow() time.Duration {
	if c.Window == 0 {
		return min(DefaultWindow, c.Duration())
	}
	return c.Window
}

// Duration returns the simulated time of one run.
func (c *Config) Duration() time.Duration {
	return time.Duration(c.Days * float64(24*time.Hour))
}

// maxNodes is the most nodes a generated graph may have.
const maxNodes = 10_000_000

// KnobError is a Config value that Validate refuses.
type KnobError struct {
	// Knob is the value's key in the [sim] section ("seeds"): the one
	// value that is wrong, not the others it was checked with.
	Knob string
	// Value is the value refused, "" when the knob is empty.
	Value string
	// Problem says what is wrong and what is allowed: "out of range
	// (1..1000)".
	Problem string
	// Item is set when Value is one item of a list knob (ttl, strategies)
	// rather than the knob's whole value.
	Item bool
}

// Error reads "sim: seeds = 0 is out of range (1..1000)", or "sim: ttl is
// empty; ..." without a value.
func (e *KnobError) Error() string {
	if e.Value == "" {
		return "sim: " + e.Knob + " is " + e.Problem
	}
	return "sim: " + e.Knob + " = " + e.Value + " is " + e.Problem
}

// Validate reports the first knob out of range, naming it and its range,
// as a *KnobError. NaN is out of every range, and so are infinities.
func (c *Config) Validate() error {
	bad := func(knob, rng string, v any) error {
		return &KnobError{Knob: knob, Value: fmt.Sprint(v), Problem: "out of range (" + rng + ")"}
	}
	// in reports lo <= x <= hi; false for NaN.
	in := func(x, lo, hi float64) bool { return x >= lo && x <= hi }
	positive := func(xs ...float64) bool {
		for _, x := range xs {
			if !(x > 0 && x <= math.MaxFloat64) {
				return false
			}
		}
		return true
	}
	if c.Graph == "" {
		return &KnobError{Knob: "graph", Problem: "empty (er, ws, ba, hk or an edge-list file)"}
	}
	if IsGenerated(c.Graph) {
		if err := checkGenerated(c); err != nil {
			return err
		}
	}
	switch {
	case !in(c.Rewire, 0, 1):
		return bad("rewire", "0..1", c.Rewire)
	case !in(c.Triad, 0, 1):
		return bad("triad", "0..1", c.Triad)
	case !slices.Contains([]string{"none", "exp", "weibull", "kad"}, c.Churn):
		return &KnobError{Knob: "churn", Value: strconv.Quote(c.Churn), Problem: "not one of none, exp, weibull, kad"}
	case c.Churn == "exp" && c.MeanOn <= 0:
		return bad("mean_on", "> 0 with churn exp", c.MeanOn)
	case c.Churn == "exp" && c.MeanOff <= 0:
		return bad("mean_off", "> 0 with churn exp", c.MeanOff)
	case c.Churn == "weibull" && !positive(c.OnShape):
		return bad("on_shape", "> 0 with churn weibull", c.OnShape)
	case c.Churn == "weibull" && !positive(c.OnScale.Minutes()):
		return bad("on_scale", "> 0 with churn weibull", c.OnScale)
	case c.Churn == "weibull" && !positive(c.OffShape):
		return bad("off_shape", "> 0 with churn weibull", c.OffShape)
	case c.Churn == "weibull" && !positive(c.OffScale.Minutes()):
		return bad("off_scale", "> 0 with churn weibull", c.OffScale)
	case !in(c.AlwaysOn, 0, 1):
		return bad("always_on", "0..1", c.AlwaysOn)
	case c.Latency < 0 || c.Latency > time.Hour:
		return bad("latency", "0s..1h", c.Latency)
	case !in(c.Bandwidth, 0, math.MaxFloat64):
		return bad("bandwidth", ">= 0 (0: unlimited)", c.Bandwidth)
	case c.ConnectDelay < 0 || c.ConnectDelay > time.Hour:
		return bad("connect_delay", "0s..1h", c.ConnectDelay)
	case c.Messages < 1 || c.Messages > 1_000_000:
		return bad("messages", "1..1000000", c.Messages)
	case !(c.Days > 0 && c.Days <= 365) || c.Duration() < time.Second:
		return bad("days", "(0, 365], at least a second", c.Days)
	case c.Window < 0 || c.Window > c.Duration():
		return bad("window", "0 (the first day, or all of a shorter run) or (0, days]", c.Window)
	case c.Distance < 0 || c.Distance > 64:
		return bad("distance", "0..64", c.Distance)
	case c.SizeMax < 1 || c.SizeMax > 8<<20-1024:
		return bad("size_max", "1..8387584", c.SizeMax)
	case c.SizeMedian < 1 || c.SizeMedian > c.SizeMax:
		return bad("size_median", fmt.Sprintf("1..size_max, which is %d", c.SizeMax), c.SizeMedian)
	case !in(c.SizeSigma, 0, 5):
		return bad("size_sigma", "0..5", c.SizeSigma)
	case c.Lifetime < time.Minute || c.Lifetime > 14*24*time.Hour:
		return bad("lifetime", "1m..336h", c.Lifetime)
	case c.MaxHeldBytes < minHeldBytes(c.SizeMax):
		return bad("max_held_bytes", fmt.Sprintf(">= %d: four times the largest sealed mail (size_max %d), since one friend's share of the budget (mesh.friend_share, 0.25) must hold it",
			minHeldBytes(c.SizeMax), c.SizeMax), c.MaxHeldBytes)
	case len(c.TTLs) == 0 && (slices.Contains(c.Strategies, StrategyFlood) || slices.Contains(c.Strategies, StrategyFloodNoAck)):
		return &KnobError{Knob: "ttl", Problem: fmt.Sprintf("empty; give at least one hop limit (1..%d)", MaxTTL)}
	case len(c.Strategies) == 0:
		return &KnobError{Knob: "strategies", Problem: fmt.Sprintf("empty (choose from %v)", Strategies)}
	case c.Seeds < 1 || c.Seeds > 1000:
		return bad("seeds", "1..1000", c.Seeds)
	case c.Seed > math.MaxInt64-uint64(c.Seeds-1):
		return bad("seed", fmt.Sprintf("0..%d, so that the last of %d seeds is at most %d", uint64(math.MaxInt64)-uint64(c.Seeds-1), c.Seeds, uint64(math.MaxInt64)), c.Seed)
	case c.GraphSeed < -1:
		return bad("graph_seed", "-1 (the first seed)..9223372036854775807", c.GraphSeed)
	case c.Jobs < 0 || c.Jobs > 256:
		return bad("jobs", "0 (one per CPU)..256", c.Jobs)
	}
	// A range's items were not written one by one: the error names the
	// smallest item when one is too small, else the largest, each an end
	// of what the user wrote ("1-100": 100 is out of range).
	if lo, hi := slices.Min(c.TTLs), slices.Max(c.TTLs); lo < 1 || hi > MaxTTL {
		named := hi
		if lo < 1 {
			named = lo
		}
		e := bad("ttl", fmt.Sprintf("1..%d", MaxTTL), named).(*KnobError)
		e.Item = len(c.TTLs) > 1
		return e
	}
	for _, s := range c.Strategies {
		if s == "" {
			return &KnobError{Knob: "strategies", Problem: `missing one: an empty item ("", or a stray comma)`}
		}
		if !slices.Contains(Strategies, s) {
			return &KnobError{Knob: "strategies", Value: strconv.Quote(s), Problem: fmt.Sprintf("not one of %v", Strategies),
				Item: len(c.Strategies) > 1}
		}
	}
	return nil
}

// IsGenerated reports whether graph names a generator (er, ws, ba, hk)
// rather than an edge-list file.
func IsGenerated(graph string) bool {
	return slices.Contains([]string{"er", "ws", "ba", "hk"}, graph)
}

// minHeldBytes is the smallest budget in which a simulated node can relay
// the largest mail: one friend's share of it (mesh.DefaultConfig's
// FriendShare) must hold the mail sealed. Never less than 1 MiB.
func minHeldBytes(sizeMax int) int64 {
	share := mesh.DefaultConfig().FriendShare
	return max(1<<20, int64(math.Ceil(float64(envelope.SealedSize(sizeMax))/share)))
}

package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Quantiles summarise a set of durations in seconds. N is how many there
// were; with N = 0 the other fields are 0.
type Quantiles struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
}

// Result is what one run measured.
type Result struct {
	Strategy string `json:"strategy"`
	TTL      int    `json:"ttl"`
	Seed     uint64 `json:"seed"`
	Nodes    int    `json:"nodes"` // nodes simulated (direct and relay leave out nodes that send and receive nothing)

	Created       int     `json:"created"`
	Delivered     int     `json:"delivered"`
	DeliveryRatio float64 `json:"delivery_ratio"`
	// Reachable counts the mails whose recipient was online at some moment
	// after their sender was (after creation, before expiry): what an
	// ideal always-on relay with instant links would deliver, the bound on
	// every strategy. It depends only on the churn and the mail, so it is
	// the same for every run of a seed.
	Reachable      int       `json:"reachable"`
	ReachableRatio float64   `json:"reachable_ratio"`
	LatencyS       Quantiles `json:"latency_s"`     // creation to the recipient's inbox
	AcksSeen       int       `json:"acks_seen"`     // mails whose sender saw the ack
	AckLatencyS    Quantiles `json:"ack_latency_s"` // creation to "delivered" in the sender's outbox
	HopsMean       float64   `json:"hops_mean"`     // friend links travelled by delivered mail
	HopsMax        int       `json:"hops_max"`
	Duplicates     int       `json:"duplicates"` // second deliveries of one mail to its recipient: must be 0

	Frames            uint64     `json:"frames"` // offer, request, envelope and ack frames sent
	FramesByKind      FrameCount `json:"frames_by_kind"`
	Bytes             uint64     `json:"bytes"`
	HelloFrames       uint64     `json:"hello_frames"` // session set-up, paid whether or not there is mail
	Offers            uint64     `json:"offers"`       // offered IDs handled by receivers
	FramesPerDelivery float64    `json:"frames_per_delivery"`
	BytesPerDelivery  float64    `json:"bytes_per_delivery"`

	PeakHeldBytesPerNode int64   `json:"peak_held_bytes_per_node"` // the most any node held at once
	MeanHeldBytesPerNode float64 `json:"mean_held_bytes_per_node"` // over nodes and time

	Events uint64 `json:"events"` // clock callbacks run

	Latencies []float64 `json:"-"` // every delivered mail's latency, sorted (for CDFs)
}

// FrameCount counts the frames of a run by kind (hellos are counted in
// Result.HelloFrames).
type FrameCount struct {
	Offer    uint64 `json:"offer"`
	Request  uint64 `json:"request"`
	Envelope uint64 `json:"envelope"`
	Ack      uint64 `json:"ack"`
}

// Summary aggregates the runs of one strategy and TTL over the seeds, with
// 95% confidence intervals (Student's t) across seeds; see summarise for
// how each column is formed. An interval needs two runs that say
// something: the latency and per-delivery intervals are 0 when fewer than
// two runs delivered mail (RunsDelivering), which means unknown, not
// exact.
type Summary struct {
	Strategy        string  `json:"strategy"`
	TTL             int     `json:"ttl"`
	Runs            int     `json:"runs"`
	RunsDelivering  int     `json:"runs_delivering"` // runs that delivered mail: the latencies are theirs
	DeliveryRatio   float64 `json:"delivery_ratio"`
	DeliveryRatioCI float64 `json:"delivery_ratio_ci95"` // Student's t half-width over the seeds
	// DeliveryRatioLo and DeliveryRatioHi bound the delivery ratio's 95%
	// interval, the one to read: the Student's t interval kept within
	// [0, 1] and widened to hold the Wilson interval of every seed's mails
	// pooled, so at least 95%. With one seed it is the Wilson interval
	// alone, which takes the mails as independent though they share one
	// churn: narrower than seeds would show.
	DeliveryRatioLo     float64 `json:"delivery_ratio_ci95_lo"`
	DeliveryRatioHi     float64 `json:"delivery_ratio_ci95_hi"`
	ReachableRatio      float64 `json:"reachable_ratio"`
	LatencyP50          float64 `json:"latency_p50_s"`
	LatencyP90          float64 `json:"latency_p90_s"`
	LatencyP99          float64 `json:"latency_p99_s"`
	LatencyP50CI        float64 `json:"latency_p50_ci95"`
	HopsMean            float64 `json:"hops_mean"`         // links travelled by delivered mail, over the runs that delivered
	AckLatencyP50       float64 `json:"ack_latency_p50_s"` // creation to the sender's ack, over the runs whose senders saw acks
	FramesPerDelivery   float64 `json:"frames_per_delivery"`
	FramesPerDeliveryCI float64 `json:"frames_per_delivery_ci95"`
	BytesPerDelivery    float64 `json:"bytes_per_delivery"`
	BytesPerDeliveryCI  float64 `json:"bytes_per_delivery_ci95"`
	PeakHeldBytes       float64 `json:"peak_held_bytes_per_node"`
	MeanHeldBytes       float64 `json:"mean_held_bytes_per_node"`
	Duplicates          int     `json:"duplicates"`
}

// GraphInfo describes the social graph of a study.
type GraphInfo struct {
	Kind       string  `json:"kind"`
	Nodes      int     `json:"nodes"`
	Edges      int     `json:"edges"`
	MeanDegree float64 `json:"mean_degree"`
	MaxDegree  int     `json:"max_degree"`
	// The generator's knobs, as given, for generated graphs only: the
	// degree asked for (er draws round(nodes·degree/2) edges, ws, ba and
	// hk round it to an even number); ws's rewire and hk's triad
	// probability.
	Degree *float64 `json:"degree,omitempty"`
	Rewire *float64 `json:"rewire,omitempty"`
	Triad  *float64 `json:"triad,omitempty"`
}

// ChurnInfo describes the churn model of a study.
type ChurnInfo struct {
	Model        string  `json:"model"`
	Availability float64 `json:"availability"` // long-run fraction of time a churning node is online
	MeanOnS      float64 `json:"mean_on_s"`
	MeanOffS     float64 `json:"mean_off_s"`
	AlwaysOn     float64 `json:"always_on"`
	// OnlineFraction is the long-run fraction of all nodes online:
	// AlwaysOn + (1-AlwaysOn)·Availability.
	OnlineFraction float64 `json:"online_fraction"`
	// Weibull sessions ("weibull" and "kad" only).
	Weibull *WeibullInfo `json:"weibull,omitempty"`
}

// WeibullInfo is a Weibull churn model's parameters.
type WeibullInfo struct {
	OnShape   float64 `json:"on_shape"`
	OnScaleS  float64 `json:"on_scale_s"`
	OffShape  float64 `json:"off_shape"`
	OffScaleS float64 `json:"off_scale_s"`
}

// StudyInfo is the rest of what a study was given, so that its report
// says how to run it again.
type StudyInfo struct {
	TTLs         []int    `json:"ttl"`
	Strategies   []string `json:"strategies"`
	Seed         uint64   `json:"seed"`       // the first seed
	Seeds        int      `json:"seeds"`      // seeds Seed, Seed+1, ...: each its own mails, keys and churn
	GraphSeed    uint64   `json:"graph_seed"` // the seed that drew the graph every run shares
	Distance     int      `json:"distance"`
	WindowS      float64  `json:"window_s"` // mails were created over [0, WindowS)
	SizeMedian   int      `json:"size_median"`
	SizeSigma    float64  `json:"size_sigma"`
	SizeMax      int      `json:"size_max"`
	LifetimeS    float64  `json:"lifetime_s"`
	MaxHeldBytes int64    `json:"max_held_bytes"`
	LatencyS     float64  `json:"latency_s"`
	Bandwidth    float64  `json:"bandwidth"` // bytes per second per direction; 0: unlimited
	ConnectS     float64  `json:"connect_delay_s"`
}

// Report is a whole study: what was simulated and every run's results.
type Report struct {
	Graph     GraphInfo `json:"graph"`
	Churn     ChurnInfo `json:"churn"`
	Messages  int       `json:"messages"`
	Days      float64   `json:"days"`
	Study     StudyInfo `json:"study"`
	Runs      []Result  `json:"runs"`
	Summaries []Summary `json:"summary"`
}

// Study is a configured comparison: one graph, and for each seed one
// scenario (mails, keys, churn) shared by every strategy and TTL.
type Study struct {
	cfg   Config
	graph *Graph
	churn *Churn

	costsOnce sync.Once
	costs     []float64 // runMemory by job index, once asked for
}

// NewStudy validates c and builds its graph.
func NewStudy(c Config) (*Study, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	// Each TTL and strategy once, the TTLs in order, as --ttl gives them:
	// a config file's [4, 4] is one TTL, not a second seed of it.
	c.TTLs = slices.Compact(slices.Sorted(slices.Values(c.TTLs)))
	var strategies []string
	for _, st := range c.Strategies {
		if !slices.Contains(strategies, st) {
			strategies = append(strategies, st)
		}
	}
	c.Strategies = strategies
	g, err := BuildGraph(&c, c.GraphSeedOf())
	if err != nil {
		return nil, err
	}
	ch, err := NewChurn(&c)
	if err != nil {
		return nil, err
	}
	return &Study{cfg: c, graph: g, churn: ch}, nil
}

// Graph returns the study's social graph.
func (s *Study) Graph() *Graph { return s.graph }

// Config returns the study's configuration.
func (s *Study) Config() Config { return s.cfg }

// job is one run of a study.
type job struct {
	strategy string
	ttl      int
}

// jobs lists the runs of one seed in report order: strategies in the order
// of Strategies; flood and flood-noack once per TTL, the others once.
func (s *Study) jobs() []job {
	var out []job
	for _, st := range Strategies {
		if !slices.Contains(s.cfg.Strategies, st) {
			continue
		}
		switch st {
		case StrategyFlood, StrategyFloodNoAck:
			for _, t := range s.cfg.TTLs {
				out = append(out, job{st, t})
			}
		default:
			out = append(out, job{st, 0})
		}
	}
	return out
}

// cost ranks a job by the work it is expected to take: a flood's grows
// with its TTL (each hop reaches more friends, and each of them offers every
// copy on), while direct and relay runs flood nothing.
func (j job) cost() int {
	switch j.strategy {
	case StrategyFlood, StrategyFloodNoAck:
		return 1 + j.ttl
	}
	return 0
}

// dispatchOrder lists the runs of jobs over seeds (run i is seed
// i/len(jobs), job i%len(jobs)) most expensive first, so that the runs
// going at once finish close together rather than leaving the longest
// alone at the end. Ties keep report order. Results are reported in report
// order whatever order they ran in.
func dispatchOrder(jobs []job, seeds int) []int {
	order := make([]int, len(jobs)*seeds)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return jobs[b%len(jobs)].cost() - jobs[a%len(jobs)].cost()
	})
	return order
}

// Runs returns how many runs Run will make.
func (s *Study) Runs() int { return len(s.jobs()) * s.cfg.Seeds }

// Progress is how far a study has got. Work is counted in simulated hours
// of all runs together, so that a long run shows progress too.
type Progress struct {
	Hours, TotalHours int64 // simulated hours done, and in all
	Runs, TotalRuns   int   // runs finished, and in all
	// Finished is the run that just finished; nil when the call only
	// reports hours.
	Finished *Result
}

// Run simulates every strategy, TTL and seed, as many runs at a time as
// Config.Jobs allows (see there; runs start most expensive first, unless
// one waits for memory), calling progress (if not nil) after every
// simulated hour of each run and after each run, from one goroutine at a
// time. The report lists the runs
// in a fixed order (seed, then strategy, then TTL) whatever order they
// finish in. It stops early, with ctx's error, when ctx is done.
func (s *Study) Run(ctx context.Context, progress func(Progress)) (*Report, error) {
	c := &s.cfg
	rep := &Report{
		Graph:    graphInfo(c, s.graph),
		Churn:    churnInfo(c, s.churn),
		Messages: c.Messages,
		Days:     c.Days,
		Study: StudyInfo{TTLs: slices.Clone(c.TTLs), Strategies: slices.Clone(c.Strategies),
			Seed: c.Seed, Seeds: c.Seeds, GraphSeed: c.GraphSeedOf(), Distance: c.Distance, WindowS: c.CreationWindow().Seconds(),
			SizeMedian: c.SizeMedian, SizeSigma: c.SizeSigma, SizeMax: c.SizeMax,
			LifetimeS: c.Lifetime.Seconds(), MaxHeldBytes: c.MaxHeldBytes,
			LatencyS: c.Latency.Seconds(), Bandwidth: c.Bandwidth, ConnectS: c.ConnectDelay.Seconds()},
	}

	jobs := s.jobs()
	scenarios := make([]*scenario, c.Seeds)
	for k := range scenarios {
		sc, err := newScenario(c, s.graph, c.Seed+uint64(k))
		if err != nil {
			return nil, err
		}
		scenarios[k] = sc
	}
	total := len(jobs) * c.Seeds
	results := make([]*Result, total)
	sched := s.schedule()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hoursPerRun := int64(math.Ceil(c.Duration().Hours()))
	var mu sync.Mutex // serialises progress
	p := Progress{TotalHours: hoursPerRun * int64(total), TotalRuns: total}
	report := func(hours int64, r *Result) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		p.Hours += hours
		p.Finished = r
		if r != nil {
			p.Runs++
		}
		progress(p)
	}
	tick := func() { report(1, nil) }
	type outcome struct {
		i   int
		r   *Result
		err error
	}
	done := make(chan outcome)
	var firstErr error
	// launch starts every run the schedule lets start now.
	launch := func() {
		for firstErr == nil && ctx.Err() == nil {
			i, ok := sched.start()
			if !ok {
				return
			}
			go func() {
				sc, j := scenarios[i/len(jobs)], jobs[i%len(jobs)]
				r, err := runOne(ctx, c, s.graph, s.churn, sc, j.strategy, j.ttl, tick)
				if err != nil && ctx.Err() == nil {
					err = fmt.Errorf("sim: %s ttl %d seed %d: %w", j.strategy, j.ttl, sc.seed, err)
				}
				done <- outcome{i, r, err}
			}()
		}
	}
	launch()
	for sched.running > 0 {
		o := <-done
		sched.finish(o.i)
		switch {
		case o.err != nil:
			if firstErr == nil {
				firstErr = o.err
				cancel()
			}
		default:
			results[o.i] = o.r
			if firstErr == nil {
				report(0, o.r)
			}
		}
		launch()
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	for _, r := range results {
		rep.Runs = append(rep.Runs, *r)
	}
	rep.Summaries = summarise(rep.Runs)
	return rep, nil
}

// summarise groups runs by strategy and TTL, in the order they first
// appear. Rates and sizes are means over the runs; latencies are means over
// the runs that delivered mail (a run that delivered nothing has none);
// frames and bytes per delivered mail are ratios of totals (RatioCI95), so
// a run that sent frames and delivered nothing makes mail dearer rather
// than free. The delivery ratio's interval is ratioBounds'.
func summarise(runs []Result) []Summary {
	var out []Summary
	type key struct {
		s string
		t int
	}
	var order []key
	groups := map[key][]*Result{}
	for i := range runs {
		k := key{runs[i].Strategy, runs[i].TTL}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], &runs[i])
	}
	mean := func(rs []*Result, f func(*Result) float64) (float64, float64) {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		m, h := MeanCI95(xs)
		return roundTo(m, 4), roundTo(h, 4)
	}
	perDelivery := func(rs []*Result, f func(*Result) uint64) (float64, float64) {
		ys, xs := make([]float64, len(rs)), make([]float64, len(rs))
		for i, r := range rs {
			ys[i], xs[i] = float64(f(r)), float64(r.Delivered)
		}
		q, h := RatioCI95(ys, xs)
		if math.IsNaN(q) {
			return 0, 0 // nothing delivered
		}
		return roundTo(q, 4), roundTo(h, 4)
	}
	for _, k := range order {
		rs := groups[k]
		sm := Summary{Strategy: k.s, TTL: k.t, Runs: len(rs)}
		sm.DeliveryRatio, sm.DeliveryRatioCI = mean(rs, func(r *Result) float64 { return r.DeliveryRatio })
		sm.DeliveryRatioLo, sm.DeliveryRatioHi = ratioBounds(rs, sm.DeliveryRatio, sm.DeliveryRatioCI)
		sm.ReachableRatio, _ = mean(rs, func(r *Result) float64 { return r.ReachableRatio })
		sm.FramesPerDelivery, sm.FramesPerDeliveryCI = perDelivery(rs, func(r *Result) uint64 { return r.Frames })
		sm.BytesPerDelivery, sm.BytesPerDeliveryCI = perDelivery(rs, func(r *Result) uint64 { return r.Bytes })
		sm.PeakHeldBytes, _ = mean(rs, func(r *Result) float64 { return float64(r.PeakHeldBytesPerNode) })
		sm.MeanHeldBytes, _ = mean(rs, func(r *Result) float64 { return r.MeanHeldBytesPerNode })
		for _, r := range rs {
			sm.Duplicates += r.Duplicates
		}
		delivering := slices.DeleteFunc(slices.Clone(rs), func(r *Result) bool { return r.Delivered == 0 })
		sm.RunsDelivering = len(delivering)
		if len(delivering) > 0 {
			sm.LatencyP50, sm.LatencyP50CI = mean(delivering, func(r *Result) float64 { return r.LatencyS.P50 })
			sm.LatencyP90, _ = mean(delivering, func(r *Result) float64 { return r.LatencyS.P90 })
			sm.LatencyP99, _ = mean(delivering, func(r *Result) float64 { return r.LatencyS.P99 })
			sm.HopsMean, _ = mean(delivering, func(r *Result) float64 { return r.HopsMean })
		}
		if acked := slices.DeleteFunc(slices.Clone(rs), func(r *Result) bool { return r.AcksSeen == 0 }); len(acked) > 0 {
			sm.AckLatencyP50, _ = mean(acked, func(r *Result) float64 { return r.AckLatencyS.P50 })
		}
		out = append(out, sm)
	}
	return out
}

func roundTo(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// graphInfo describes g, drawn as c says.
func graphInfo(c *Config, g *Graph) GraphInfo {
	gi := GraphInfo{Kind: c.Graph, Nodes: g.Nodes(), Edges: g.Edges(),
		MeanDegree: roundTo(g.MeanDegree(), 3), MaxDegree: g.MaxDegree()}
	val := func(x float64) *float64 { return &x } // a copy: the report does not alias c
	if IsGenerated(c.Graph) {
		gi.Degree = val(c.Degree)
	}
	switch c.Graph {
	case "ws":
		gi.Rewire = val(c.Rewire)
	case "hk":
		gi.Triad = val(c.Triad)
	}
	return gi
}

// churnInfo describes ch, made from c.
func churnInfo(c *Config, ch *Churn) ChurnInfo {
	ci := ChurnInfo{Model: c.Churn, Availability: roundTo(ch.Availability(), 4),
		MeanOnS: ch.MeanOn().Seconds(), MeanOffS: ch.MeanOff().Seconds(), AlwaysOn: c.AlwaysOn,
		OnlineFraction: roundTo(ch.OnlineFraction(), 4)}
	if onShape, onScale, offShape, offScale, ok := ch.Weibull(); ok {
		ci.Weibull = &WeibullInfo{OnShape: onShape, OnScaleS: onScale.Seconds(), OffShape: offShape, OffScaleS: offScale.Seconds()}
	}
	return ci
}

// ratioBounds returns the 95% interval of a delivery ratio whose mean over
// the runs rs is m, with Student's t half-width half: the t interval,
// kept inside [0, 1], and widened to hold the Wilson interval of all the
// runs' mails pooled. Two or three seeds that happen to agree give a t
// interval of nothing, and ones that differ can give one past 0 or 1; the
// mails themselves are a sample, whose spread the Wilson interval bounds
// (and, with one seed, is all that is known).
func ratioBounds(rs []*Result, m, half float64) (lo, hi float64) {
	var delivered, created int
	for _, r := range rs {
		delivered += r.Delivered
		created += r.Created
	}
	wlo, whi := WilsonCI95(delivered, created)
	lo, hi = max(0, m-half), min(1, m+half)
	return roundTo(min(lo, wlo), 4), roundTo(max(hi, whi), 4)
}

package sim

import (
	"context"
	"sync"
	"testing"
	"time"
)

// benchGraphs are the flood benchmarks' graphs by node count, built once.
var benchGraphs = map[int]func() (*Graph, error){
	20000: sync.OnceValues(func() (*Graph, error) { return floodGraph(20000) }),
	1000:  sync.OnceValues(func() (*Graph, error) { return floodGraph(1000) }),
}

func floodGraph(nodes int) (*Graph, error) {
	c := onlineFloodConfig(1, nodes)
	return BuildGraph(&c, c.Seed)
}

// onlineFloodConfig floods n mails, one a minute, over a Holme–Kim graph
// of the given nodes and mean degree 20 with every node online: each mail
// reaches every node, almost every offer is of an ID its receiver has
// already seen, and each offer travels in a frame of its own (nothing else
// is in flight to batch it with): the worst case per offer.
func onlineFloodConfig(n, nodes int) Config {
	c := DefaultConfig()
	c.Nodes, c.Graph, c.Degree = nodes, "hk", 20
	c.Churn = "none"
	c.ConnectDelay, c.Latency = 0, 10*time.Millisecond
	c.Messages = n
	c.Window = time.Duration(n) * time.Minute
	c.Days = (c.Window + 10*time.Minute).Hours() / 24
	c.SizeMedian, c.SizeSigma = 1024, 0
	c.TTLs = []int{8}
	c.Strategies = []string{StrategyFlood}
	return c
}

// kadConfig is the workload of the simulator's sweeps, scaled down: 5,000
// nodes of a Holme–Kim graph (m = 10) under kad churn, 200 mails over 7
// days, TTL 8. Offers come in batches when friends come online.
func kadConfig() Config {
	c := DefaultConfig()
	c.Nodes, c.Graph, c.Degree, c.Churn = 5000, "hk", 20, "kad"
	c.TTLs = []int{8}
	c.Strategies = []string{StrategyFlood}
	return c
}

// BenchmarkSimOffers measures the offers the real mesh code handles per
// second inside the engine, the figure the simulator's speed depends on.
// Building the network is not timed.
//
//   - flood-online: b.N mails flooded one after another over 20,000 nodes
//     that are all online; one op is one mail.
//   - flood-online-1k: the same over 1,000 nodes, whose state mostly fits
//     in the processor's caches: the cost of the code itself, with less
//     waiting on memory.
//   - kad: one op is a whole 7-day run of 5,000 nodes under kad churn.
func BenchmarkSimOffers(b *testing.B) {
	b.Run("flood-online", func(b *testing.B) { benchOnlineFlood(b, 20000) })
	b.Run("flood-online-1k", func(b *testing.B) { benchOnlineFlood(b, 1000) })
	b.Run("kad", benchKad)
}

func benchOnlineFlood(b *testing.B, nodes int) {
	g, err := benchGraphs[nodes]()
	if err != nil {
		b.Fatal(err)
	}
	c := onlineFloodConfig(b.N, nodes)
	w := benchWorld(b, &c, g)
	defer w.close()
	w.clock.RunUntil(Epoch.Add(time.Second)) // friends connected, hellos exchanged
	var before uint64
	for _, v := range w.nodes {
		before += v.node.Stats().OffersIn
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	end := Epoch.Add(c.Duration())
	w.clock.RunUntil(end)
	elapsed := time.Since(start)
	b.StopTimer()
	r := w.result(end)
	if r.Delivered != r.Created {
		b.Fatalf("delivered %d of %d", r.Delivered, r.Created)
	}
	reportOffers(b, r.Offers-before, r.Events, elapsed)
	b.ReportMetric(float64(r.Offers-before)/float64(b.N), "offers/mail")
}

func benchKad(b *testing.B) {
	c := kadConfig()
	g, err := BuildGraph(&c, c.Seed)
	if err != nil {
		b.Fatal(err)
	}
	ch, err := NewChurn(&c)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := newScenario(&c, g, c.Seed)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var offers, events uint64
	var elapsed time.Duration
	for range b.N {
		start := time.Now()
		r, err := runOne(context.Background(), &c, g, ch, sc, StrategyFlood, 8, nil)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if r.Delivered == 0 {
			b.Fatal("nothing delivered")
		}
		offers += r.Offers
		events += r.Events
	}
	reportOffers(b, offers, events, elapsed)
}

// benchWorld builds the network of one flood run of c over g.
func benchWorld(b *testing.B, c *Config, g *Graph) *world {
	ch, err := NewChurn(c)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := newScenario(c, g, c.Seed)
	if err != nil {
		b.Fatal(err)
	}
	w, err := newWorld(c, g, ch, sc, StrategyFlood, 8)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func reportOffers(b *testing.B, offers, events uint64, elapsed time.Duration) {
	b.ReportMetric(float64(offers)/elapsed.Seconds(), "offers/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(offers), "ns/offer")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(events), "ns/event")
}

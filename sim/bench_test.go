package sim

import (
	"sync"
	"testing"
	"time"
)

var benchGraph = sync.OnceValues(func() (*Graph, error) {
	c := benchConfig(1)
	return BuildGraph(&c, c.Seed)
})

// benchConfig floods n mails, one a minute, over a 20,000-node Holme–Kim
// graph of mean degree 20 with every node online: each mail reaches every
// node, so almost every offer is of an ID its receiver has already seen.
func benchConfig(n int) Config {
	c := DefaultConfig()
	c.Nodes, c.Graph, c.Degree = 20000, "hk", 20
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

// BenchmarkSimOffers measures the offers the real mesh code handles per
// second inside the engine (the figure the simulator's speed depends on):
// b.N mails flooded one after another. Building the network is not timed.
func BenchmarkSimOffers(b *testing.B) {
	b.Log(TuneGC()) // as `toxmail sim` does
	g, err := benchGraph()
	if err != nil {
		b.Fatal(err)
	}
	c := benchConfig(b.N)
	ch, err := NewChurn(&c)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := newScenario(&c, g, c.Seed)
	if err != nil {
		b.Fatal(err)
	}
	w, err := newWorld(&c, g, ch, sc, StrategyFlood, 8)
	if err != nil {
		b.Fatal(err)
	}
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
	offers := r.Offers - before
	b.ReportMetric(float64(offers)/elapsed.Seconds(), "offers/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(offers), "ns/offer")
	b.ReportMetric(float64(offers)/float64(b.N), "offers/mail")
}

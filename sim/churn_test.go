package sim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func churnConfig(kind string) *Config {
	c := DefaultConfig()
	c.Churn = kind
	c.MeanOn, c.MeanOff = 2*time.Hour, 6*time.Hour
	c.OnShape, c.OnScale = 0.8, 90*time.Minute
	c.OffShape, c.OffScale = 1.5, 5*time.Hour
	return &c
}

func mustChurn(t testing.TB, c *Config) *Churn {
	t.Helper()
	ch, err := NewChurn(c)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestChurnMeans(t *testing.T) {
	weibullMean := func(shape float64, scale time.Duration) time.Duration {
		return time.Duration(float64(scale) * math.Gamma(1+1/shape))
	}
	tests := []struct {
		kind             string
		meanOn, meanOff  time.Duration
		wantAvailability float64
	}{
		{"exp", 2 * time.Hour, 6 * time.Hour, 0.25},
		{"weibull", weibullMean(0.8, 90*time.Minute), weibullMean(1.5, 5*time.Hour), -1},
		{"kad", weibullMean(KadOnShape, KadOnScale), weibullMean(KadOffShape, KadOffScale), -1},
	}
	for _, tt := range tests {
		ch := mustChurn(t, churnConfig(tt.kind))
		if got, want := ch.MeanOn(), tt.meanOn; absDur(got-want) > time.Millisecond {
			t.Errorf("%s: MeanOn: got %v, want %v", tt.kind, got, want)
		}
		if got, want := ch.MeanOff(), tt.meanOff; absDur(got-want) > time.Millisecond {
			t.Errorf("%s: MeanOff: got %v, want %v", tt.kind, got, want)
		}
		want := tt.wantAvailability
		if want < 0 {
			want = float64(tt.meanOn) / float64(tt.meanOn+tt.meanOff)
		}
		if got := ch.Availability(); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: Availability: got %v, want %v", tt.kind, got, want)
		}

		// Sample means of Next within 3% of the model means.
		rng := rand.New(rand.NewPCG(1, 2))
		const draws = 200_000
		for _, online := range []bool{true, false} {
			var sum float64
			for range draws {
				d := ch.Next(rng, online)
				if d < MinSession || d > MaxSession {
					t.Fatalf("%s: Next = %v is outside [%v, %v]", tt.kind, d, MinSession, MaxSession)
				}
				sum += float64(d)
			}
			want := tt.meanOff
			if online {
				want = tt.meanOn
			}
			if got := sum / draws; math.Abs(got-float64(want)) > 0.03*float64(want) {
				t.Errorf("%s: mean of Next(online=%v): got %v, want %v ± 3%%", tt.kind, online, time.Duration(got), want)
			}
		}
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// TestKadAvailability checks the Kad preset against the closed form
// E[on]/(E[on]+E[off]) with the Weibull mean scale·Γ(1+1/shape), whatever
// the On*/Off* fields say.
func TestKadAvailability(t *testing.T) {
	on := KadOnScale.Minutes() * math.Gamma(1+1/KadOnShape)
	off := KadOffScale.Minutes() * math.Gamma(1+1/KadOffShape)
	want := on / (on + off)
	c := churnConfig("kad")
	c.OnShape, c.OnScale, c.OffShape, c.OffScale = 3, time.Second, 3, time.Hour
	if got := mustChurn(t, c).Availability(); math.Abs(got-want) > 1e-9 {
		t.Errorf("got %v, want %v", got, want)
	}
	// About 0.213: a Kad peer is online a fifth of the time.
	if want < 0.20 || want > 0.23 {
		t.Errorf("closed form: got %v, want about 0.213", want)
	}
}

// TestChurnStartStationary checks that the fraction of nodes Start puts
// online matches Availability, and for exp that the residual has the full
// mean (memorylessness).
func TestChurnStartStationary(t *testing.T) {
	for _, kind := range []string{"exp", "weibull", "kad"} {
		ch := mustChurn(t, churnConfig(kind))
		rng := rand.New(rand.NewPCG(7, 1))
		const nodes = 20_000
		on := 0
		var residualOn float64
		for range nodes {
			online, next := ch.Start(rng)
			if next < MinSession || next > MaxSession {
				t.Fatalf("%s: Start residual %v is outside [%v, %v]", kind, next, MinSession, MaxSession)
			}
			if online {
				on++
				residualOn += float64(next)
			}
		}
		if got, want := float64(on)/nodes, ch.Availability(); math.Abs(got-want) > 0.02 {
			t.Errorf("%s: online fraction: got %v, want %v ± 0.02", kind, got, want)
		}
		if kind == "exp" {
			got, want := residualOn/float64(on), float64(ch.MeanOn())
			if math.Abs(got-want) > 0.05*want {
				t.Errorf("exp: mean residual online: got %v, want %v ± 5%%", time.Duration(got), ch.MeanOn())
			}
		}
	}
}

// TestChurnWeibullResidual checks the stationary residual against renewal
// theory: for an on period of shape k the mean residual is
// E[X²]/(2E[X]) = scale·Γ(1+2/k)/(2Γ(1+1/k)), not E[X].
func TestChurnWeibullResidual(t *testing.T) {
	c := churnConfig("weibull")
	ch := mustChurn(t, c)
	rng := rand.New(rand.NewPCG(3, 3))
	var sum float64
	n := 0
	for range 40_000 {
		if online, next := ch.Start(rng); online {
			sum += float64(next)
			n++
		}
	}
	k, scale := c.OnShape, float64(c.OnScale)
	want := scale * math.Gamma(1+2/k) / (2 * math.Gamma(1+1/k))
	if got := sum / float64(n); math.Abs(got-want) > 0.05*want {
		t.Errorf("got %v, want %v ± 5%%", time.Duration(got), time.Duration(want))
	}
}

func TestChurnAlwaysOn(t *testing.T) {
	tests := []struct {
		kind     string
		alwaysOn float64
		want     float64
	}{
		{"exp", 0, 0},
		{"exp", 0.3, 0.3},
		{"kad", 1, 1},
		{"weibull", 0.05, 0.05},
		{"none", 0, 1},
	}
	for _, tt := range tests {
		c := churnConfig(tt.kind)
		c.AlwaysOn = tt.alwaysOn
		ch := mustChurn(t, c)
		rng := rand.New(rand.NewPCG(5, 5))
		const nodes = 50_000
		on := 0
		for range nodes {
			if ch.AlwaysOn(rng) {
				on++
			}
		}
		if got := float64(on) / nodes; math.Abs(got-tt.want) > 0.01 {
			t.Errorf("%s always_on=%v: got %v, want %v ± 0.01", tt.kind, tt.alwaysOn, got, tt.want)
		}
		// OnlineFraction counts both kinds of node: those always on and
		// the churning ones Start puts online.
		online := 0
		for range nodes {
			if ch.AlwaysOn(rng) {
				online++
			} else if up, _ := ch.Start(rng); up {
				online++
			}
		}
		if got, want := float64(online)/nodes, ch.OnlineFraction(); math.Abs(got-want) > 0.015 {
			t.Errorf("%s always_on=%v: %v online, want OnlineFraction %v ± 0.015", tt.kind, tt.alwaysOn, got, want)
		}
	}
}

func TestChurnNone(t *testing.T) {
	ch := mustChurn(t, churnConfig("none"))
	rng := rand.New(rand.NewPCG(1, 1))
	if online, next := ch.Start(rng); !online || next != MaxSession {
		t.Errorf("Start: got %v, %v, want true, %v", online, next, MaxSession)
	}
	if got, want := ch.Next(rng, true), MaxSession; got != want {
		t.Errorf("Next: got %v, want %v", got, want)
	}
	if got, want := ch.Availability(), 1.0; got != want {
		t.Errorf("Availability: got %v, want %v", got, want)
	}
}

func TestChurnClipped(t *testing.T) {
	tests := []struct {
		scale time.Duration
		want  time.Duration
	}{
		{time.Nanosecond, MinSession},
		{2 * MaxSession, MaxSession},
	}
	for _, tt := range tests {
		c := churnConfig("weibull")
		c.OnShape, c.OnScale = 50, tt.scale // shape 50: draws within a few % of scale
		ch := mustChurn(t, c)
		rng := rand.New(rand.NewPCG(1, 1))
		if got := ch.Next(rng, true); got != tt.want {
			t.Errorf("scale %v: got %v, want %v", tt.scale, got, tt.want)
		}
	}
}

func TestChurnDeterministic(t *testing.T) {
	for _, kind := range []string{"none", "exp", "weibull", "kad"} {
		ch := mustChurn(t, churnConfig(kind))
		draw := func(seed uint64) []time.Duration {
			rng := rand.New(rand.NewPCG(seed, 9))
			var out []time.Duration
			for range 50 {
				ch.AlwaysOn(rng)
				online, next := ch.Start(rng)
				out = append(out, next, ch.Next(rng, online), ch.Next(rng, !online))
			}
			return out
		}
		a, b, c := draw(1), draw(1), draw(2)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: draw %d: got %v, want %v", kind, i, b[i], a[i])
			}
		}
		if kind != "none" && equalDurations(a, c) {
			t.Errorf("%s: seeds 1 and 2 gave the same draws", kind)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestNewChurnErrors(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"unknown model", func(c *Config) { c.Churn = "poisson" }, "poisson"},
		{"exp zero mean", func(c *Config) { c.Churn, c.MeanOff = "exp", 0 }, "mean_on/mean_off"},
		{"weibull zero shape", func(c *Config) { c.Churn, c.OnShape = "weibull", 0 }, "on_shape"},
		{"weibull negative scale", func(c *Config) { c.Churn, c.OffScale = "weibull", -time.Second }, "off_scale"},
		{"always_on above 1", func(c *Config) { c.AlwaysOn = 1.5 }, "always_on"},
	}
	for _, tt := range tests {
		c := churnConfig("exp")
		tt.mod(c)
		_, err := NewChurn(c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	// kad ignores the On*/Off* fields, even invalid ones.
	c := churnConfig("kad")
	c.OnShape = -1
	if _, err := NewChurn(c); err != nil {
		t.Errorf("kad with a bad on_shape: got %v, want nil", err)
	}
}

package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults: %v", err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		mod  func(c *Config)
		want string // in the error; the knob, as the CLI's hints find it
	}{
		{"nodes", func(c *Config) { c.Nodes = 1 }, "sim: nodes = 1 "},
		{"degree NaN", func(c *Config) { c.Degree = nan }, "sim: degree = NaN "},
		{"degree Inf", func(c *Config) { c.Degree = inf }, "sim: degree = +Inf "},
		{"er rounds past the pairs", func(c *Config) { c.Graph, c.Nodes, c.Degree = "er", 4, 3.5 }, "sim: degree = 3.5 "},
		{"ws rounds past the ring", func(c *Config) { c.Graph, c.Nodes, c.Degree = "ws", 10, 9 }, "sim: degree = 9 "},
		{"rewire NaN", func(c *Config) { c.Graph, c.Rewire = "ws", nan }, "sim: rewire = NaN "},
		{"triad NaN", func(c *Config) { c.Triad = nan }, "sim: triad = NaN "},
		{"always_on NaN", func(c *Config) { c.AlwaysOn = nan }, "sim: always_on = NaN "},
		{"bandwidth NaN", func(c *Config) { c.Bandwidth = nan }, "sim: bandwidth = NaN "},
		{"bandwidth Inf", func(c *Config) { c.Bandwidth = inf }, "sim: bandwidth = +Inf "},
		{"days NaN", func(c *Config) { c.Days = nan }, "sim: days = NaN "},
		{"size_sigma NaN", func(c *Config) { c.SizeSigma = nan }, "sim: size_sigma = NaN "},
		{"weibull shape NaN", func(c *Config) { c.Churn, c.OnShape = "weibull", nan }, "sim: on_shape = NaN"},
		{"weibull scale 0", func(c *Config) { c.Churn, c.OffScale = "weibull", 0 }, "sim: off_scale = 0s"},
		{"window past days", func(c *Config) { c.Days, c.Window = 1, 25*time.Hour }, "sim: window = "},
		{"seeds wrap past the last seed", func(c *Config) { c.Seed, c.Seeds = math.MaxInt64, 2 }, "sim: seed = "},
		{"strategy", func(c *Config) { c.Strategies = []string{"flood", "foo"} }, `sim: strategies = "foo" `},
		{"graph seed", func(c *Config) { c.GraphSeed = -2 }, "sim: graph_seed = -2 "},
		{"ttl past the mesh's limit", func(c *Config) { c.TTLs = []int{8, 65} }, "sim: ttl = 65 is out of range (1..64)"},
		// A size_max under the median names size_max, not the median
		// that was fine before it changed.
		{"size_max 0", func(c *Config) { c.SizeMax = 0 }, "sim: size_max = 0 "},
		{"size_median past size_max", func(c *Config) { c.SizeMax = 100 }, "sim: size_median = 4096 is out of range (1..size_max, which is 100)"},
		// A friend's share of the budget (a quarter) must hold the
		// largest mail: before, 1 MiB..4 MiB passed here and every run
		// failed in the mesh's own check.
		{"max_held_bytes under four sealed mails", func(c *Config) { c.MaxHeldBytes = 2 << 20 }, "sim: max_held_bytes = 2097152 is out of range (>= 4325920: four times the largest sealed mail (size_max 1048576)"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error starting %q", tt.name, err, tt.want)
		}
	}
	// The default window is cut to a shorter run; a window chosen longer
	// than the run is an error.
	c = DefaultConfig()
	c.Days = 0.5
	if err := c.Validate(); err != nil || c.CreationWindow() != 12*time.Hour {
		t.Errorf("half a day with the default window: %v, window %v; want nil, 12h", err, c.CreationWindow())
	}
	for _, w := range []time.Duration{13 * time.Hour, DefaultWindow} {
		c.Window = w
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "sim: window = "+w.String()+" ") {
			t.Errorf("a %v window in half a day: got %v", w, err)
		}
	}
	c = DefaultConfig()
	c.Days = 1e-9 // under a second
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "sim: days = ") {
		t.Errorf("days = 1e-9: got %v", err)
	}

	// Edge lists ignore the generator's knobs; the last seed may be the
	// largest.
	c = DefaultConfig()
	c.Graph, c.Degree = "friends.txt", nan
	c.Seed, c.Seeds = math.MaxInt64-1, 2
	if err := c.Validate(); err != nil {
		t.Errorf("edge list with a NaN degree, seeds up to MaxInt64: %v", err)
	}
}

// Of values checked together, the one that is wrong is named, so that an
// error points at its line in the config file.
func TestValidateNamesTheWrongKnob(t *testing.T) {
	for _, c := range []struct {
		mod  func(*Config)
		knob string
	}{
		{func(c *Config) { c.Churn, c.MeanOn, c.MeanOff = "exp", 4*time.Hour, 0 }, "mean_off"},
		{func(c *Config) { c.Churn, c.MeanOn, c.MeanOff = "exp", 0, 4*time.Hour }, "mean_on"},
		{func(c *Config) { c.Churn, c.OffShape = "weibull", 0 }, "off_shape"},
		{func(c *Config) { c.Churn, c.OnScale = "weibull", -time.Minute }, "on_scale"},
	} {
		cfg := DefaultConfig()
		c.mod(&cfg)
		var ke *KnobError
		if err := cfg.Validate(); !errors.As(err, &ke) || ke.Knob != c.knob {
			t.Errorf("got %v, want a KnobError naming %s", err, c.knob)
		}
	}
}

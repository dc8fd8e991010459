package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Session length bounds: every period Next and Start return is clipped to
// [MinSession, MaxSession]. The lower bound keeps the event queue from
// filling with zero-length sessions; the upper bound keeps heavy-tailed
// draws (a Weibull shape below 1) from overflowing time.Duration. With the
// Kad preset the chance of a draw beyond a year is about e^-30, so clipping
// moves the means by nothing measurable.
const (
	// MinSession is the shortest session or offline period.
	MinSession = time.Millisecond
	// MaxSession is the longest session or offline period, and the session
	// of a node under "none".
	MaxSession = 365 * 24 * time.Hour
)

// warmupCycles is how many mean on+off cycles Start simulates before time 0
// for the Weibull models.
const warmupCycles = 30

// Churn draws each node's on/off sessions: "none" (always on), "exp"
// (exponential on/off with Config.MeanOn/MeanOff), "weibull"
// (Config.OnShape/OnScale, OffShape/OffScale), "kad" (weibull with the Kad*
// preset constants from config.go, regardless of the On*/Off* fields).
// Config.AlwaysOn is the fraction of nodes that never go offline.
//
// A Churn holds no random state: every draw takes the caller's *rand.Rand,
// so one Churn may serve any number of nodes and goroutines.
type Churn struct {
	kind     string
	alwaysOn float64
	// Model parameters in nanoseconds; for exp only the means are used.
	onShape, onScale   float64
	offShape, offScale float64
	meanOn, meanOff    float64
}

// NewChurn returns the churn model c describes, or an error naming the bad
// knob.
func NewChurn(c *Config) (*Churn, error) {
	if c.AlwaysOn < 0 || c.AlwaysOn > 1 || math.IsNaN(c.AlwaysOn) {
		return nil, fmt.Errorf("sim: always_on = %v is out of range (0..1)", c.AlwaysOn)
	}
	ch := &Churn{kind: c.Churn, alwaysOn: c.AlwaysOn}
	weibull := func(onShape float64, onScale time.Duration, offShape float64, offScale time.Duration) error {
		if !(onShape > 0 && offShape > 0 && onScale > 0 && offScale > 0) {
			return fmt.Errorf("sim: on_shape/on_scale/off_shape/off_scale = %v/%v/%v/%v must all be > 0",
				onShape, onScale, offShape, offScale)
		}
		ch.onShape, ch.onScale = onShape, float64(onScale)
		ch.offShape, ch.offScale = offShape, float64(offScale)
		ch.meanOn = weibullMean(ch.onShape, ch.onScale)
		ch.meanOff = weibullMean(ch.offShape, ch.offScale)
		return nil
	}
	switch c.Churn {
	case "none":
		ch.meanOn, ch.meanOff = float64(MaxSession), 0
	case "exp":
		if c.MeanOn <= 0 || c.MeanOff <= 0 {
			return nil, fmt.Errorf("sim: mean_on/mean_off = %v/%v must both be > 0", c.MeanOn, c.MeanOff)
		}
		ch.meanOn, ch.meanOff = float64(c.MeanOn), float64(c.MeanOff)
	case "weibull":
		if err := weibull(c.OnShape, c.OnScale, c.OffShape, c.OffScale); err != nil {
			return nil, err
		}
	case "kad":
		if err := weibull(KadOnShape, KadOnScale, KadOffShape, KadOffScale); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sim: churn = %q is not one of none, exp, weibull, kad", c.Churn)
	}
	return ch, nil
}

// weibullMean is scale·Γ(1+1/shape).
func weibullMean(shape, scale float64) float64 { return scale * math.Gamma(1+1/shape) }

// Availability returns the long-run fraction of time a churning node is
// online, E[on]/(E[on]+E[off]), with the Weibull mean scale·Γ(1+1/shape); 1
// for "none". Always-on nodes are not counted.
func (ch *Churn) Availability() float64 {
	if ch.kind == "none" {
		return 1
	}
	return ch.meanOn / (ch.meanOn + ch.meanOff)
}

// OnlineFraction returns the long-run fraction of nodes online, the
// always-on ones included: AlwaysOn + (1-AlwaysOn)·Availability.
func (ch *Churn) OnlineFraction() float64 {
	return ch.alwaysOn + (1-ch.alwaysOn)*ch.Availability()
}

// Weibull returns the shapes and scales of the on and off sessions of a
// "weibull" or "kad" model; ok is false for the others.
func (ch *Churn) Weibull() (onShape float64, onScale time.Duration, offShape float64, offScale time.Duration, ok bool) {
	if ch.kind != "weibull" && ch.kind != "kad" {
		return 0, 0, 0, 0, false
	}
	return ch.onShape, time.Duration(ch.onScale), ch.offShape, time.Duration(ch.offScale), true
}

// MeanOn returns the mean online session (MaxSession for "none").
func (ch *Churn) MeanOn() time.Duration { return time.Duration(ch.meanOn) }

// MeanOff returns the mean offline period (0 for "none").
func (ch *Churn) MeanOff() time.Duration { return time.Duration(ch.meanOff) }

// AlwaysOn draws whether a node never goes offline: true with probability
// Config.AlwaysOn, and always true for "none". It consumes exactly one draw
// from rng whatever the model, so changing always_on does not shift the
// random numbers of anything drawn after it.
func (ch *Churn) AlwaysOn(rng *rand.Rand) bool {
	u := rng.Float64()
	return ch.kind == "none" || u < ch.alwaysOn
}

// Next returns the length of a new online session (online true) or offline
// period (online false), clipped to [MinSession, MaxSession]. For "none" it
// returns MaxSession without drawing.
func (ch *Churn) Next(rng *rand.Rand, online bool) time.Duration {
	var x float64
	switch ch.kind {
	case "none":
		return MaxSession
	case "exp":
		mean := ch.meanOff
		if online {
			mean = ch.meanOn
		}
		x = rng.ExpFloat64() * mean
	default: // weibull, kad: scale·E^(1/shape) with E ~ Exp(1) is Weibull(shape, scale)
		shape, scale := ch.offShape, ch.offScale
		if online {
			shape, scale = ch.onShape, ch.onScale
		}
		x = scale * math.Pow(rng.ExpFloat64(), 1/shape)
	}
	return clipSession(x)
}

func clipSession(x float64) time.Duration {
	if !(x >= float64(MinSession)) { // also catches NaN
		return MinSession
	}
	if x >= float64(MaxSession) {
		return MaxSession
	}
	return time.Duration(x)
}

// Start draws a node's state at time 0 and how long until its first switch,
// as if its on/off process had been running forever (the stationary start),
// so that a run does not begin with every node freshly online.
//
//   - "none": online, MaxSession.
//   - "exp": exact, by memorylessness: online with probability
//     Availability, and the residual time is a fresh exponential draw with
//     the mean of that state.
//   - "weibull", "kad": the residual of a Weibull period is not Weibull, so
//     Start simulates the alternating renewal process from time -W, W = 30
//     mean cycles (30·(E[on]+E[off])), starting online with probability
//     Availability, and returns the state the process is in at time 0 and the
//     time left in that period. After 30 cycles the start has been forgotten
//     to well within the tests' 2% tolerance; it costs about 60 draws.
//
// The residual is at least MinSession.
func (ch *Churn) Start(rng *rand.Rand) (online bool, next time.Duration) {
	switch ch.kind {
	case "none":
		return true, MaxSession
	case "exp":
		online = rng.Float64() < ch.Availability()
		return online, ch.Next(rng, online)
	}
	w := warmupCycles * (ch.meanOn + ch.meanOff)
	t := -w
	online = rng.Float64() < ch.Availability()
	for {
		d := float64(ch.Next(rng, online))
		if t+d > 0 {
			return online, clipSession(t + d)
		}
		t += d
		online = !online
	}
}

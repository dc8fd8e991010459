package mesh

import (
	"bytes"
	"testing"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// FuzzFrames feeds arbitrary bytes to the frame decoders: no panic, and an
// accepted frame re-encodes to the same bytes.
func FuzzFrames(f *testing.F) {
	id := envelope.ID{1, 2, 3}
	f.Add(encodeHello(nil, 42))
	f.Add(encodeOffer(7, []offerItem{{id: id, hops: 3, size: 700, expiry: 1 << 40}}))
	f.Add(encodeRequest(nil, 7, []envelope.ID{id}, nil))
	f.Add(encodeRequest(nil, 7, []envelope.ID{id}, []envelope.ID{id, id}))
	f.Add(encodeRequest(nil, 0, nil, nil))
	f.Add(encodeAcks(nil, []envelope.Ack{{ID: id}}))
	f.Add([]byte{1, 2, 0, 0, 0, 1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, p, err := frameType(b)
		if err != nil {
			return
		}
		var re []byte
		switch typ {
		case frameHello:
			if s, err := decodeHello(p); err == nil {
				re = encodeHello(nil, s)
			}
		case frameOffer:
			if seq, items, err := decodeOffer(p, nil); err == nil {
				re = encodeOffer(seq, items)
			}
		case frameRequest:
			if seq, ids, nWant, err := decodeRequest(p, nil); err == nil {
				re = encodeRequest(nil, seq, ids[:nWant], ids[nWant:])
			}
		case frameAck:
			if acks, err := decodeAcks(p, nil); err == nil {
				re = encodeAcks(nil, acks)
			}
		}
		if re != nil && !bytes.Equal(re, b) {
			t.Fatalf("accepted frame re-encodes differently")
		}
	})
}

// FuzzHandleFrame throws arbitrary frames at a node holding some state,
// from a friend: it must never panic, and its budget must hold.
func FuzzHandleFrame(f *testing.F) {
	tn := newTestNet(f, MemConfig{})
	tn.add("A", testConfig(), nil)
	tn.add("B", testConfig(), nil)
	tn.add("nobody", testConfig(), nil)
	tn.friends("A", "B")
	tn.online("A", "B")
	tn.run(time.Second)
	id := tn.send("A", "nobody", "held")
	tn.run(time.Second)
	env, _ := tn.nodes["B"].store.Envelope(id)
	f.Add(encodeEnvelope(env, 2))
	// An envelope addressed to B, so the fuzzer reaches opening and delivery.
	mine, err := envelope.NewKeyring(envelope.Config{Identity: tn.nodes["A"].kp}).Seal(envelope.SealParams{
		To: tn.nodes["B"].kp.Public, Body: []byte("Subject: x\r\n\r\nfor B\r\n"),
		Created: tn.clock.Now(), Expiry: tn.clock.Now().Add(time.Hour), Hops: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(encodeEnvelope(mine.Encode(), 1))
	f.Add(encodeOffer(1, []offerItem{{id: id, hops: 9, size: 700, expiry: epoch2030.Unix() + 3600}}))
	f.Add(encodeRequest(nil, 0, []envelope.ID{id}, nil))
	f.Add(encodeAcks(nil, []envelope.Ack{{ID: id}}))
	f.Add(encodeHello(nil, 9))
	b := tn.nodes["B"].node
	a := tn.nodes["A"].kp.Public
	f.Fuzz(func(t *testing.T, frame []byte) {
		b.HandleFrame(a, frame)
		if s := b.Stats(); s.HeldBytes > b.cfg.MaxHeldBytes {
			t.Fatalf("held %d bytes over budget", s.HeldBytes)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ttl zero", func(c *Config) { c.TTL = 0 }, "TTL"},
		{"ttl over max", func(c *Config) { c.TTL = 9 }, "TTL"},
		{"max hops", func(c *Config) { c.MaxHops = 65 }, "MaxHops"},
		{"lifetime", func(c *Config) { c.Lifetime = 15 * 24 * time.Hour }, "Lifetime"},
		{"max lifetime", func(c *Config) { c.MaxLifetime = time.Minute }, "MaxLifetime"},
		{"skew", func(c *Config) { c.ClockSkew = -1 }, "ClockSkew"},
		{"envelope size", func(c *Config) { c.MaxEnvelopeSize = 10 }, "MaxEnvelopeSize"},
		{"held bytes", func(c *Config) { c.MaxHeldBytes = 1 }, "MaxHeldBytes"},
		{"share zero", func(c *Config) { c.FriendShare = 0 }, "FriendShare"},
		{"share big", func(c *Config) { c.FriendShare = 1.5 }, "FriendShare"},
		{"dedupe", func(c *Config) { c.DedupeSize = 1 }, "DedupeSize"},
		{"timeout", func(c *Config) { c.RequestTimeout = 0 }, "RequestTimeout"},
		{"offer delay", func(c *Config) { c.OfferDelay = time.Minute }, "OfferDelay"},
		{"batch", func(c *Config) { c.MaxBatch = 5000 }, "MaxBatch"},
		{"sweep", func(c *Config) { c.SweepInterval = -time.Second }, "SweepInterval"},
		{"retention", func(c *Config) { c.OutboxRetention = -1 }, "OutboxRetention"},
		{"retry", func(c *Config) { c.DeliverRetry = 0 }, "DeliverRetry"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want+" = ")) {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

func TestVirtualClockOrder(t *testing.T) {
	c := NewVirtualClock(epoch2030)
	var got []int
	c.AfterFunc(2*time.Second, func() { got = append(got, 2) })
	c.AfterFunc(time.Second, func() { got = append(got, 1) })
	stop := c.AfterFunc(time.Second, func() { got = append(got, 99) })
	c.AfterFunc(time.Second, func() { got = append(got, 11) })
	if !stop.Stop() || stop.Stop() {
		t.Fatal("Stop should report true once, then false")
	}
	c.Advance(1500 * time.Millisecond)
	if len(got) != 2 || got[0] != 1 || got[1] != 11 {
		t.Fatalf("got %v, want [1 11]", got)
	}
	if !c.Now().Equal(epoch2030.Add(1500 * time.Millisecond)) {
		t.Fatalf("now %v", c.Now())
	}
	if n := c.Run(10); n != 1 || got[2] != 2 {
		t.Fatalf("Run ran %d, got %v", n, got)
	}
}

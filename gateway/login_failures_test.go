package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var loginT0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

// TestLoginFailures: after a name's first failure its passwords are
// checked one at a time, spaced by a delay that doubles with each failure;
// a success or 15 quiet minutes end it.
func TestLoginFailures(t *testing.T) {
	const base = time.Second
	var f LoginFailures
	reserve := func(user string, at time.Time, want time.Duration) {
		t.Helper()
		if got, ok := f.Reserve(user, base, at); !ok || got != want {
			t.Fatalf("Reserve(%s) at +%v = %v, %v; want %v", user, at.Sub(loginT0), got, ok, want)
		}
	}
	failed := func(user string, at time.Time, want time.Duration) {
		t.Helper()
		if got := f.Failed(user, base, at); got != want {
			t.Fatalf("Failed(%s) at +%v = %v; want %v", user, at.Sub(loginT0), got, want)
		}
	}
	reserve("alice", loginT0, 0) // no failures: at once
	failed("alice", loginT0, base)
	// Two guesses at once on two connections: the second waits its turn.
	reserve("alice", loginT0.Add(base), 0)
	reserve("alice", loginT0.Add(base), base)
	failed("alice", loginT0.Add(base), 2*base)
	reserve("bob", loginT0, 0) // other names are not held up
	f.Succeeded("alice")
	reserve("alice", loginT0.Add(2*base), 0)
	failed("alice", loginT0.Add(2*base), base)
	reserve("alice", loginT0.Add(2*base+loginFailureMemory+time.Minute), 0) // forgotten
	if d, ok := f.Reserve("carol", 0, loginT0); d != 0 || !ok || f.Failed("carol", 0, loginT0) != 0 {
		t.Error("base 0 must turn the limit off")
	}
	for range 10 {
		f.Failed("dave", base, loginT0)
	}
	if d := f.Failed("dave", base, loginT0); d != loginMaxDelay {
		t.Errorf("the delay after 11 failures is %v, want the cap %v", d, loginMaxDelay)
	}
	long := strings.Repeat("x", 100)
	f.Failed(long, base, loginT0)
	if d := f.Failed(long[:64], base, loginT0); d != 2*base {
		t.Errorf("a name and its first 64 bytes: delay %v, want them counted together", d)
	}
}

// guessesPerHour simulates attackers that keep conns connections guessing
// user's password for an hour, each guess taking its turn (Reserve), then
// its answer's delay (Failed), and counts the passwords checked.
func guessesPerHour(t *testing.T, f *LoginFailures, user string, conns int) int {
	const base = time.Second
	free := make([]time.Time, conns) // when each connection may guess next
	for i := range free {
		free[i] = loginT0
	}
	end := loginT0.Add(time.Hour)
	checked := 0
	for step := 0; ; step++ {
		if step == 2_000_000 {
			t.Fatal("the simulated hour did not end")
		}
		i := 0
		for j := range free {
			if free[j].Before(free[i]) {
				i = j
			}
		}
		now := free[i]
		if !now.Before(end) {
			break
		}
		wait, ok := f.Reserve(user, base, now)
		if !ok {
			free[i] = now.Add(time.Second) // refused at once: guess again soon
			continue
		}
		checked++
		at := now.Add(wait)
		free[i] = at.Add(f.Failed(user, base, at))
	}
	return checked
}

// TestLoginFailuresBoundGuesses: more connections buy no more guesses, and
// made-up names filling the record do not lift the limit for a real one
// (review of this change: 128 connections got 3,847 guesses an hour past
// the 2-minute cap, and 118,149 after 1,024 junk names).
func TestLoginFailuresBoundGuesses(t *testing.T) {
	one := guessesPerHour(t, &LoginFailures{}, "alice", 1)
	many := guessesPerHour(t, &LoginFailures{}, "alice", 128)
	t.Logf("passwords checked in an hour: %d on one connection, %d on 128", one, many)
	if many > one+130 {
		t.Errorf("128 connections checked %d passwords in an hour, one connection %d", many, one)
	}
	var f LoginFailures
	for i := range loginMaxFailUsers {
		f.Failed(fmt.Sprint("junk", i), time.Second, loginT0)
	}
	if n := guessesPerHour(t, &f, "alice", 128); n > one+130 {
		t.Errorf("after %d junk names 128 connections checked %d passwords in an hour, one connection %d",
			loginMaxFailUsers, n, one)
	}
	if len(f.users) > loginMaxFailUsers+1 {
		t.Errorf("the record holds %d names, more than %d", len(f.users), loginMaxFailUsers+1)
	}
}

package gateway

import (
	"sync"
	"time"
)

// LoginFailures rate-limits password guessing by user name, whatever
// connection the guesses come on and, when the SMTP and POP3 servers share
// one (SMTPConfig.Failures, POP3Config.Failures), whichever server checks
// them. A name's passwords are checked one at a time: each check takes a
// turn (Reserve) before it runs and ends with Failed, Succeeded or
// Abandoned. Turns are spaced by a delay that doubles with each recent
// failure and with each check still waiting or running (base, 2×base, …
// up to 30 s), so guesses sent together on many connections are spread out
// as if they had failed one after another. A guess whose turn is more than
// 2 minutes away is refused without a check. Opening more connections
// thus buys no more guesses: at most one a delay, after a first few.
//
// A correct password forgets the name's failures, unless other checks of
// it are waiting (they may be the guesser's), and 15 minutes without a
// check forget them too. While someone guesses, the name's owner waits for
// a turn too, or is refused for now: a soft lockout, the price of a limit
// that extra connections cannot get round. The servers listen on loopback
// by default.
//
// The record holds 1,024 names, stale ones swept when it is full; while it
// is full of live ones, names it cannot hold share one entry, so that
// made-up names cannot lift the limit. A LoginFailures is safe for
// concurrent use; the zero value is ready.
type LoginFailures struct {
	mu        sync.Mutex
	users     map[string]*loginFailure
	lastSweep time.Time
}

// loginFailure is one name's state: recent failures, checks waiting or
// running, when it was last used, and the earliest time the next check
// may run.
type loginFailure struct {
	n       int
	pending int
	last    time.Time
	next    time.Time
}

const (
	loginFailureMemory = 15 * time.Minute // a name's state is forgotten after this
	loginMaxFailUsers  = 1024             // names tracked
	loginMaxDelay      = 30 * time.Second // the longest the delay grows
	loginMaxWait       = 2 * time.Minute  // the longest a guess waits for its turn
	loginSweepEvery    = time.Minute      // how often, at most, a full record is swept
	loginOverflow      = "\x00"           // the entry of names past loginMaxFailUsers; no user name has a NUL
)

// Reserve takes a turn for checking user's password at now. It returns
// how long to wait before checking, and false if the turn is more than 2
// minutes away: answer a temporary failure without checking (and do not
// call Failed, Succeeded or Abandoned). A name nobody is checking and
// that has no recent failure is checked at once. A base of zero or less
// turns the limit off.
func (f *LoginFailures) Reserve(user string, base time.Duration, now time.Time) (time.Duration, bool) {
	if base <= 0 {
		return 0, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.entry(user, now)
	slot := later(u.next, now)
	wait := slot.Sub(now)
	if wait > loginMaxWait {
		return 0, false
	}
	u.next = slot.Add(loginDelay(base, u.n+u.pending+1))
	u.pending++
	u.last = now
	return wait, true
}

// Failed ends a turn of user whose password was wrong, at now, and
// returns how long to wait before answering: base, doubled for each recent
// failure of the name, at most 30 s. A base of zero or less means no wait.
func (f *LoginFailures) Failed(user string, base time.Duration, now time.Time) time.Duration {
	if base <= 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.entry(user, now)
	u.pending = max(u.pending-1, 0)
	u.n++
	u.last = now
	d := loginDelay(base, u.n)
	u.next = later(u.next, now.Add(d))
	return d
}

// Succeeded ends a turn of user whose password was right. The name's
// failures are forgotten unless other checks of it are still waiting.
func (f *LoginFailures) Succeeded(user string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key, u := f.lookup(user, now)
	if u == nil {
		return
	}
	u.pending = max(u.pending-1, 0)
	if u.pending == 0 {
		delete(f.users, key)
	}
}

// Abandoned ends a turn of user that was never checked (the connection
// ended, or the server stopped, while it waited).
func (f *LoginFailures) Abandoned(user string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, u := f.lookup(user, now); u != nil {
		u.pending = max(u.pending-1, 0)
	}
}

// lookup returns the key and entry that hold user's state, if any: its
// own, or the shared one while the record is full. f.mu is held.
func (f *LoginFailures) lookup(user string, now time.Time) (string, *loginFailure) {
	key := loginKey(user)
	u, ok := f.users[key]
	if !ok {
		key = loginOverflow
		if u, ok = f.users[key]; !ok {
			return "", nil
		}
	}
	if now.Sub(u.last) > loginFailureMemory {
		*u = loginFailure{}
	}
	return key, u
}

// entry returns the entry that holds user's state, making one if there is
// none: its own if the record has room (after sweeping stale names, at
// most once a minute), else the shared one. f.mu is held.
func (f *LoginFailures) entry(user string, now time.Time) *loginFailure {
	key := loginKey(user)
	if u, ok := f.users[key]; ok {
		if now.Sub(u.last) > loginFailureMemory {
			*u = loginFailure{}
		}
		return u
	}
	if f.users == nil {
		f.users = make(map[string]*loginFailure)
	}
	if len(f.users) >= loginMaxFailUsers && now.Sub(f.lastSweep) >= loginSweepEvery {
		f.lastSweep = now
		for name, g := range f.users {
			if now.Sub(g.last) > loginFailureMemory {
				delete(f.users, name)
			}
		}
	}
	if len(f.users) >= loginMaxFailUsers {
		key = loginOverflow // full of live names: share one entry
		if u, ok := f.users[key]; ok {
			if now.Sub(u.last) > loginFailureMemory {
				*u = loginFailure{}
			}
			return u
		}
	}
	u := &loginFailure{last: now}
	f.users[key] = u
	return u
}

// loginDelay is the delay for n failures (or checks in the way): base
// doubled n-1 times, at most loginMaxDelay.
func loginDelay(base time.Duration, n int) time.Duration {
	return min(base<<min(n-1, 5), loginMaxDelay)
}

// loginKey bounds the memory one name costs.
func loginKey(user string) string {
	if len(user) > 64 {
		return user[:64]
	}
	return user
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

package gateway

import (
	"sync"
	"time"
)

// LoginFailures rate-limits password guessing by user name, whatever
// connection the guesses come on and, when the SMTP and POP3 servers share
// one (SMTPConfig.Failures, POP3Config.Failures), whichever server checks
// them. After a name's first failure, its passwords are checked one at a
// time, spaced by a delay that doubles with each failure (base, 2×base, …
// up to 30 s): a guess waits for its turn before its password is checked
// (Reserve), and a failure is answered after the delay (Failed). A guess
// whose turn is more than 2 minutes away is refused without a check, so
// opening more connections buys no more guesses: at most one a delay. A
// correct password ends the delay (Succeeded); so do 15 minutes without a
// failure.
//
// While someone guesses, the name's owner waits for a turn too, or is
// refused for now: a soft lockout, the price of a limit that extra
// connections cannot get round. The servers listen on loopback by default.
//
// The record holds 1,024 names; while it is full, names it cannot hold
// share one entry, so that made-up names cannot lift the limit. A
// LoginFailures is safe for concurrent use; the zero value is ready.
type LoginFailures struct {
	mu    sync.Mutex
	users map[string]*loginFailure
}

// loginFailure is one name's recent failures: how many, the last, and the
// earliest time its next password check may run.
type loginFailure struct {
	n    int
	last time.Time
	next time.Time
}

const (
	loginFailureMemory = 15 * time.Minute // a name's failures are forgotten after this
	loginMaxFailUsers  = 1024             // names whose failures are tracked
	loginMaxDelay      = 30 * time.Second // the longest the delay grows
	loginMaxWait       = 2 * time.Minute  // the longest a guess waits for its turn
	loginOverflow      = "\x00"           // the entry of names past loginMaxFailUsers; no user name has a NUL
)

// Reserve is called before user's password is checked, at now. It returns
// how long to wait before checking it, and false if the check must not
// run (the name's queue is over 2 minutes long): answer a temporary
// failure. A name without recent failures is checked at once. A base of
// zero or less turns the limit off.
func (f *LoginFailures) Reserve(user string, base time.Duration, now time.Time) (time.Duration, bool) {
	if base <= 0 {
		return 0, true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.entry(user, now, false)
	if u == nil || u.n == 0 {
		return 0, true
	}
	slot := later(u.next, now)
	wait := slot.Sub(now)
	if wait > loginMaxWait {
		return 0, false
	}
	u.next = slot.Add(loginDelay(base, u.n))
	return wait, true
}

// Failed records a failed check of user's password at now and returns how
// long to wait before answering it: base, doubled for each recent failure
// of the name, at most 30 s. A base of zero or less means no wait.
func (f *LoginFailures) Failed(user string, base time.Duration, now time.Time) time.Duration {
	if base <= 0 {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.entry(user, now, true)
	u.n++
	u.last = now
	d := loginDelay(base, u.n)
	u.next = later(u.next, now.Add(d))
	return d
}

// Succeeded forgets user's failed logins.
func (f *LoginFailures) Succeeded(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, loginKey(user))
}

// entry returns user's entry (the shared one if the record is full),
// forgetting it if it is stale; create makes it if there is none. f.mu is
// held.
func (f *LoginFailures) entry(user string, now time.Time, create bool) *loginFailure {
	key := loginKey(user)
	u, ok := f.users[key]
	if !ok {
		if u, ok = f.users[loginOverflow]; !ok || len(f.users) < loginMaxFailUsers {
			u = nil
		}
	}
	if u != nil && now.Sub(u.last) > loginFailureMemory {
		*u = loginFailure{}
	}
	if u != nil || !create {
		return u
	}
	if f.users == nil {
		f.users = make(map[string]*loginFailure)
	}
	if len(f.users) >= loginMaxFailUsers {
		for name, g := range f.users {
			if now.Sub(g.last) > loginFailureMemory {
				delete(f.users, name)
			}
		}
		if len(f.users) >= loginMaxFailUsers {
			key = loginOverflow // full: share the overflow entry
			if u = f.users[key]; u != nil {
				return u
			}
		}
	}
	u = &loginFailure{}
	f.users[key] = u
	return u
}

// loginDelay is the delay after n failures: base doubled n-1 times, at
// most loginMaxDelay.
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

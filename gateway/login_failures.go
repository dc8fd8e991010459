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
// that extra connections cannot get round. So does a mail client that
// logs in on several connections at once: its later ones wait 1, 3, 7 s….
// The servers listen on loopback by default.
//
// With Known set, each name that can log in keeps an entry of its own,
// and every other name shares one: made-up names can neither fill the
// record nor hold up a real user (though their shared queue tells a
// guesser which names are not real). Without it, the record holds 1,024
// names, those unused for 15 minutes swept when it is full, and names past
// that share the one entry: there a flood of made-up names can hold up a
// user who has not logged in for 15 minutes. A LoginFailures is safe for concurrent use; the zero value is
// ready.
type LoginFailures struct {
	// Known, if set, reports whether user can log in at all; it is set
	// before the servers start.
	Known func(user string) bool

	mu        sync.Mutex
	users     map[string]*loginFailure
	shared    loginFailure // the names that have no entry of their own
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
	loginMaxFailUsers  = 1024             // names tracked without Known
	loginMaxDelay      = 30 * time.Second // the longest the delay grows
	loginMaxWait       = 2 * time.Minute  // the longest a guess waits for its turn
	loginSweepEvery    = time.Minute      // how often, at most, a full record is swept
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
	u := f.entry(user, now, true)
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
	u := f.entry(user, now, true)
	u.pending = max(u.pending-1, 0)
	u.n++
	u.last = now
	d := loginDelay(base, u.n)
	u.next = later(u.next, now.Add(d))
	return d
}

// Succeeded ends a turn of user whose password was right. The name's
// failures are forgotten unless other checks of it are still waiting; the
// shared entry's never are (another name's success says nothing of them).
func (f *LoginFailures) Succeeded(user string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.entry(user, now, false)
	if u == nil {
		return
	}
	u.pending = max(u.pending-1, 0)
	if u.pending == 0 && u != &f.shared {
		*u = loginFailure{last: now} // kept, so the name stays in the record
	}
}

// RecentFailures returns how many of user's recent checks failed. When
// Reserve refuses a turn for a name with none, the turns ahead are logins
// made at once, not guesses, and the refusal should say so.
func (f *LoginFailures) RecentFailures(user string, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.entry(user, now, false); u != nil {
		return u.n
	}
	return 0
}

// Abandoned ends a turn of user that was never checked (the connection
// ended, or the server stopped, while it waited).
func (f *LoginFailures) Abandoned(user string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.entry(user, now, false); u != nil {
		u.pending = max(u.pending-1, 0)
	}
}

// entry returns the entry that holds user's state, reset if it is stale:
// the name's own, or the shared one for a name Known says cannot log in,
// or (without Known) while the record is full. With create it makes the
// name's own entry if the name may have one (sweeping a full record of
// stale names, at most once a minute); without, it returns nil
// where it would have made one. f.mu is held.
func (f *LoginFailures) entry(user string, now time.Time, create bool) *loginFailure {
	key := loginKey(user)
	u, ok := f.users[key]
	if !ok {
		known := f.Known != nil && f.Known(user)
		switch {
		case f.Known != nil && !known:
			u = &f.shared
		case !create && (known || len(f.users) < loginMaxFailUsers):
			return nil
		case !create:
			u = &f.shared
		case known || f.room(now):
			if f.users == nil {
				f.users = make(map[string]*loginFailure)
			}
			u = &loginFailure{last: now}
			f.users[key] = u
		default:
			u = &f.shared
		}
	}
	if now.Sub(u.last) > loginFailureMemory {
		*u = loginFailure{last: now}
	}
	return u
}

// room reports whether the record has room for a name of its own,
// sweeping stale names if it is full (at most once a minute).
// f.mu is held.
func (f *LoginFailures) room(now time.Time) bool {
	if len(f.users) >= loginMaxFailUsers && now.Sub(f.lastSweep) >= loginSweepEvery {
		f.lastSweep = now
		for name, g := range f.users {
			if now.Sub(g.last) > loginFailureMemory {
				delete(f.users, name)
			}
		}
	}
	return len(f.users) < loginMaxFailUsers
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

package gateway

import (
	"sync"
	"time"
)

// LoginFailures remembers recent failed logins by user name, so that the
// wait before a wrong password is answered grows with them whatever
// connection they come on, and, when the SMTP and POP3 servers share one
// (SMTPConfig.Failures, POP3Config.Failures), whichever of the two checks
// the password. Failed answers for one name are also spaced out one after
// another: opening more connections does not buy more guesses. A
// LoginFailures is safe for concurrent use; the zero value is ready.
type LoginFailures struct {
	mu    sync.Mutex
	users map[string]loginFailure
}

// loginFailure is one user name's recent failures: how many, the last,
// and when the answer to the latest one is due.
type loginFailure struct {
	n    int
	last time.Time
	next time.Time
}

const (
	loginFailureMemory = 15 * time.Minute // a name's failures are forgotten after this
	loginMaxFailUsers  = 1024             // names whose failures are tracked
	loginMaxDelay      = 30 * time.Second // the longest a failure's own delay grows
	loginMaxWait       = 2 * time.Minute  // the longest one answer waits
)

// Failed records a failed login of user at now and returns how long to
// wait before answering it: base, doubled for each recent failure of the
// name up to 30 s, counted from the moment the previous failure of the name
// is answered (at most 2 minutes in all). A base of zero or less means no
// wait. Past 1,024 names with recent failures, a new name waits base.
func (f *LoginFailures) Failed(user string, base time.Duration, now time.Time) time.Duration {
	if base <= 0 {
		return 0
	}
	user = loginKey(user)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users == nil {
		f.users = make(map[string]loginFailure)
	}
	u, ok := f.users[user]
	if ok && now.Sub(u.last) > loginFailureMemory {
		u = loginFailure{}
	}
	if !ok && len(f.users) >= loginMaxFailUsers {
		for name, g := range f.users {
			if now.Sub(g.last) > loginFailureMemory {
				delete(f.users, name)
			}
		}
		if len(f.users) >= loginMaxFailUsers {
			return base // too many names to track: the base delay only
		}
	}
	u.n++
	u.last = now
	u.next = later(u.next, now).Add(min(base<<min(u.n-1, 5), loginMaxDelay))
	f.users[user] = u
	return min(u.next.Sub(now), loginMaxWait)
}

// Succeeded forgets user's failed logins.
func (f *LoginFailures) Succeeded(user string) {
	user = loginKey(user)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, user)
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

package tox

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// RequestPolicy decides what happens to a friend request.
type RequestPolicy uint8

// Friend-request policies.
const (
	// AcceptKnown accepts requests from contacts (TransportConfig.Known)
	// and leaves the rest pending for approval. The default.
	AcceptKnown RequestPolicy = iota
	// AcceptAll accepts every request.
	AcceptAll
	// Manual leaves every request pending for approval.
	Manual
)

// String returns the policy's config name.
func (p RequestPolicy) String() string {
	return [...]string{"known", "all", "manual"}[p]
}

// ParseRequestPolicy parses "known", "all" or "manual".
func ParseRequestPolicy(s string) (RequestPolicy, error) {
	switch s {
	case "known":
		return AcceptKnown, nil
	case "all":
		return AcceptAll, nil
	case "manual":
		return Manual, nil
	}
	return 0, fmt.Errorf("tox: friend request policy %q: want known, all or manual", s)
}

// Request is a friend request waiting for approval.
type Request struct {
	Key      PublicKey
	Message  string
	Received time.Time
}

// maxPending bounds the requests kept for approval; the oldest go first.
const maxPending = 256

// ErrNoRequest means there is no pending request from that key.
var ErrNoRequest = errors.New("tox: no pending friend request from that key")

// onFriendRequest runs on the Tox goroutine: it only queues the request,
// so that Known (which may read files or the address book) never runs there.
func (t *Transport) onFriendRequest(pk PublicKey, message string) {
	t.events.push(event{kind: evFriendRequest, pk: pk, text: message})
}

// decideRequest applies the policy, on the dispatch goroutine.
func (t *Transport) decideRequest(pk PublicKey, message string) {
	accept := t.cfg.Policy == AcceptAll || (t.cfg.Policy == AcceptKnown && t.cfg.Known != nil && t.cfg.Known(pk))
	if accept {
		t.do(func(c *Core) {
			num, err := c.AddFriendNoRequest(pk)
			if errors.Is(err, ErrAlreadyFriend) {
				num, err = c.FriendByPublicKey(pk)
			}
			if err != nil {
				t.log.Warn("accepting friend request failed", "from", pk, "err", err)
				return
			}
			t.mu.Lock()
			t.addFriendLocked(num, pk)
			delete(t.pending, pk)
			t.mu.Unlock()
			t.log.Info("friend request accepted", "from", pk, "policy", t.cfg.Policy)
		})
		return
	}
	r := Request{Key: pk, Message: message, Received: time.Now()}
	t.mu.Lock()
	if t.byKey[pk] != nil {
		// Befriended while the request waited its turn (AddFriend): the
		// two requests make the friendship, and nothing is left to approve.
		t.mu.Unlock()
		return
	}
	if old, ok := t.pending[pk]; ok {
		// The same key asking again keeps its place: sent over and
		// over, requests would otherwise stay newest and push the rest
		// out.
		r.Received = old.Received
	}
	t.pending[pk] = r
	var dropped *PublicKey
	if len(t.pending) > maxPending {
		var oldest PublicKey
		first := true
		for k, p := range t.pending {
			if first || p.Received.Before(t.pending[oldest].Received) {
				oldest, first = k, false
			}
		}
		delete(t.pending, oldest)
		dropped = &oldest
	}
	t.mu.Unlock()
	t.log.Info("friend request pending approval", "from", pk)
	if dropped != nil {
		if ok, held := t.pendingDropLog.Allow(time.Now()); ok {
			t.log.Warn("friend request dropped unanswered: more wait for approval than are kept",
				"from", *dropped, "kept", maxPending, "not_logged_since_the_last", held)
		}
	}
	if t.cfg.OnRequest != nil {
		t.cfg.OnRequest(r)
	}
}

// Pending lists friend requests waiting for approval, oldest first.
func (t *Transport) Pending() []Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Request, 0, len(t.pending))
	for _, r := range t.pending {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Received.Before(out[j].Received) })
	return out
}

// Approve accepts a pending friend request.
func (t *Transport) Approve(pk PublicKey) error {
	t.mu.Lock()
	_, ok := t.pending[pk]
	delete(t.pending, pk)
	x := t.tox
	t.mu.Unlock()
	if !ok {
		return ErrNoRequest
	}
	if x == nil {
		return ErrClosed
	}
	return t.AddFriendNoRequest(pk)
}

// Deny drops a pending friend request.
func (t *Transport) Deny(pk PublicKey) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pending[pk]; !ok {
		return ErrNoRequest
	}
	delete(t.pending, pk)
	return nil
}

// AddFriend sends a friend request to a Tox address, and drops any pending
// request from it: the two requests make the friendship.
func (t *Transport) AddFriend(addr Address, message string) error {
	x := t.attached()
	if x == nil {
		return ErrClosed
	}
	num, err := x.AddFriend(addr, message)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.addFriendLocked(num, addr.PublicKey())
	delete(t.pending, addr.PublicKey())
	t.mu.Unlock()
	return nil
}

// AddFriendNoRequest adds a friend by public key without a request (both
// sides must add each other), and drops any pending request from it.
func (t *Transport) AddFriendNoRequest(pk PublicKey) error {
	x := t.attached()
	if x == nil {
		return ErrClosed
	}
	num, err := x.AddFriendNoRequest(pk)
	if err != nil && !errors.Is(err, ErrAlreadyFriend) {
		return err
	}
	if err != nil {
		if num, err = x.FriendByPublicKey(pk); err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.addFriendLocked(num, pk)
	delete(t.pending, pk)
	t.mu.Unlock()
	return nil
}

// DeleteFriend removes a friend: its queued frames and text are dropped and
// the mesh is told it is offline.
func (t *Transport) DeleteFriend(pk PublicKey) error {
	x := t.attached()
	if x == nil {
		return ErrClosed
	}
	t.mu.Lock()
	f := t.byKey[pk]
	t.mu.Unlock()
	if f == nil {
		return fmt.Errorf("tox: %s: %w", pk.Short(), ErrFriendNotFound)
	}
	// The number is looked up by key on the Tox goroutine, in the same
	// call that deletes it: a number read before could by then belong to
	// another friend (a racing delete, and a new friend taking its number).
	err := x.Do(func(c *Core) error {
		num, err := c.FriendByPublicKey(pk)
		if err != nil {
			return err
		}
		return c.DeleteFriend(num)
	})
	if err != nil {
		return err
	}
	t.mu.Lock()
	online := f.online()
	t.stats.FramesLost += uint64(f.q.drop())
	if f.in.reset() {
		t.stats.PartialsLost++
	}
	delete(t.byKey, pk)
	if t.byNum[f.num] == f {
		delete(t.byNum, f.num)
	}
	t.mu.Unlock()
	if online {
		t.events.push(event{kind: evOnline, pk: pk, online: false})
	}
	return nil
}

func (t *Transport) attached() *Tox {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tox
}

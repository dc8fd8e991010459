package envelope

import (
	"container/list"
	"sync"

	"golang.org/x/crypto/nacl/box"
)

// sharedCache is a small LRU of precomputed box keys, keyed by peer public
// key, so that a node opening many envelopes from one friend (or sealing
// many to one recipient) runs X25519 once for that peer.
type sharedCache struct {
	mu    sync.Mutex
	cap   int
	order *list.List // of *sharedEntry, most recent first
	index map[PublicKey]*list.Element
}

type sharedEntry struct {
	peer PublicKey
	key  [32]byte
}

func newSharedCache(capacity int) *sharedCache {
	return &sharedCache{cap: capacity, order: list.New(), index: make(map[PublicKey]*list.Element)}
}

// get returns the shared key between sk and peer, computing it on a miss.
func (c *sharedCache) get(peer PublicKey, sk *SecretKey) *[32]byte {
	if c == nil || c.cap <= 0 {
		var k [32]byte
		box.Precompute(&k, (*[32]byte)(&peer), (*[32]byte)(sk))
		return &k
	}
	c.mu.Lock()
	if el, ok := c.index[peer]; ok {
		c.order.MoveToFront(el)
		k := el.Value.(*sharedEntry).key
		c.mu.Unlock()
		return &k
	}
	c.mu.Unlock()

	e := &sharedEntry{peer: peer}
	box.Precompute(&e.key, (*[32]byte)(&peer), (*[32]byte)(sk))
	k := e.key

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.index[peer]; !ok {
		c.index[peer] = c.order.PushFront(e)
		for c.order.Len() > c.cap {
			old := c.order.Remove(c.order.Back()).(*sharedEntry)
			delete(c.index, old.peer)
		}
	}
	return &k
}

// len reports how many keys are cached.
func (c *sharedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

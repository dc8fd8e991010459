package envelope

import (
	"container/list"
	"fmt"
	"sync"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/salsa20/salsa"
)

// sharedKey is box.Precompute with the check box leaves out: X25519 with a
// low-order public key gives an all-zero secret that anyone can compute, so
// it is refused (curve25519.X25519 reports it). The result is HSalsa20 of
// the secret, exactly as NaCl's crypto_box_beforenm.
func sharedKey(sk *SecretKey, pk PublicKey) (*[32]byte, error) {
	s, err := curve25519.X25519(sk[:], pk[:])
	if err != nil {
		return nil, fmt.Errorf("envelope: public key %s is not usable: %w", pk.Short(), err)
	}
	var in [32]byte
	copy(in[:], s)
	var zero [16]byte
	key := new([32]byte)
	salsa.HSalsa20(key, &zero, &in, &salsa.Sigma)
	return key, nil
}

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
// Unusable (low-order) keys are refused and never cached.
func (c *sharedCache) get(peer PublicKey, sk *SecretKey) (*[32]byte, error) {
	if c == nil || c.cap <= 0 {
		return sharedKey(sk, peer)
	}
	c.mu.Lock()
	if el, ok := c.index[peer]; ok {
		c.order.MoveToFront(el)
		k := el.Value.(*sharedEntry).key
		c.mu.Unlock()
		return &k, nil
	}
	c.mu.Unlock()

	key, err := sharedKey(sk, peer)
	if err != nil {
		return nil, err
	}
	e := &sharedEntry{peer: peer, key: *key}
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
	return &k, nil
}

// len reports how many keys are cached.
func (c *sharedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

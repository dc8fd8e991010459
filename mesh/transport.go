package mesh

import (
	"errors"

	"github.com/toxmail/toxmail/envelope"
)

// FriendKey names a friend by its long-term Tox public key.
type FriendKey = envelope.PublicKey

// Friend is a friend as the transport sees it.
type Friend struct {
	Key    FriendKey
	Online bool
}

// Transport carries frames between a node and its friends. The mesh does
// not know what is underneath: Tox lossless packets, MemNetwork, or the
// simulator.
type Transport interface {
	// Friends lists the node's friends and whether each is online now.
	Friends() []Friend
	// Send queues one frame for a friend and returns without blocking. The
	// transport may keep frame after the call; the node does not touch it
	// again. An error wrapping ErrOffline or ErrBackpressure is temporary:
	// the mesh offers again later.
	Send(to FriendKey, frame []byte) error
	// SetHandler registers the receiver of frames and online events. The
	// transport calls it from its own goroutine(s), never from inside Send.
	SetHandler(h Handler)
}

// Handler receives what a Transport delivers.
type Handler interface {
	// HandleFrame is called for each whole frame from a friend. The
	// handler takes ownership of frame: the transport must not reuse it,
	// unless the handler is a FrameBorrower that borrows it.
	HandleFrame(from FriendKey, frame []byte)
	// HandleOnline is called when a friend's connection comes up or goes down.
	HandleOnline(friend FriendKey, online bool)
}

// FramePool is an optional Transport capability: a transport inside one
// process (MemNetwork) lends the node the buffers it builds frames in and
// reuses a frame's buffer once the frame has been delivered to a
// FrameBorrower, rather than leaving one allocation a frame to the garbage
// collector. Send takes ownership of the frame as it always does.
type FramePool interface {
	// FrameBuffer returns an empty buffer with room for n bytes.
	FrameBuffer(n int) []byte
}

// FrameBorrower is an optional Handler capability: a handler that keeps
// nothing of a frame once HandleFrame returns says so, and a transport
// with a FramePool then reuses the frame's buffer. Node borrows every
// frame but envelopes, whose bytes it keeps.
type FrameBorrower interface {
	// BorrowsFrame reports, before HandleFrame is called with frame,
	// whether the handler is done with frame when HandleFrame returns.
	BorrowsFrame(frame []byte) bool
}

// SharedEnvelope is an envelope handed from node to node inside one
// process. Bytes are shared by every node that holds the envelope and are
// never modified; their hop byte is stale (the hop counter travels beside
// them). ID was computed from Bytes by a node of this process when the
// envelope first arrived, so the receiver does not hash them again.
type SharedEnvelope struct {
	ID    envelope.ID
	Bytes []byte
}

// EnvelopeCarrier is an optional Transport capability: a transport inside
// one process (MemNetwork with MemConfig.ShareEnvelopes, as the simulator
// uses it) can carry an envelope as a SharedEnvelope instead of as a frame,
// which saves copying and hashing its body at every hop. A node whose
// transport has it sends envelope bodies through SendEnvelope; errors mean
// what they mean for Send.
type EnvelopeCarrier interface {
	SendEnvelope(to FriendKey, env SharedEnvelope, hops uint8) error
}

// EnvelopeHandler is the receiving side of EnvelopeCarrier; Node
// implements it.
type EnvelopeHandler interface {
	// HandleEnvelope is called for an envelope from a friend, with the hops
	// it may still travel.
	HandleEnvelope(from FriendKey, env SharedEnvelope, hops uint8)
}

// Transport errors. Both are temporary.
var (
	// ErrOffline means the friend is not connected.
	ErrOffline = errors.New("mesh: friend offline")
	// ErrBackpressure means the friend's send queue is full.
	ErrBackpressure = errors.New("mesh: send queue full")
)

// Temporary reports whether err means "try again later" rather than "drop".
// It is true for errors wrapping ErrOffline, ErrBackpressure, or any error
// with a `Temporary() bool` method returning true.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrOffline) || errors.Is(err, ErrBackpressure) {
		return true
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

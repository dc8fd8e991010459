// Package tox is toxmail's cgo binding to libtoxcore (0.2.18, Debian
// libtoxcore-dev) and the only package of the module that imports "C".
//
// # Ownership
//
// libtoxcore is not thread-safe. Every *C.Tox therefore has exactly one
// owner goroutine, started by New, and every libtoxcore call and every
// callback happens on it. The binding has two layers:
//
//   - Core is the thin layer: each method calls libtoxcore directly. A
//     *Core is valid only on the owner goroutine: inside a function given
//     to Tox.Do, inside the iterate and close hooks, and inside callbacks
//     (which are invoked by tox_iterate, itself on the owner goroutine).
//   - Tox owns a Core and its goroutine. The goroutine runs tox_iterate
//     at the pace libtoxcore asks for (tox_iteration_interval), runs the
//     functions given to Do as they arrive, and runs the iterate hook
//     after every iteration and every Wake. The methods of *Tox wrap Do and
//     may be called from any goroutine except the owner one: a callback or
//     hook that calls them waits for itself and deadlocks.
//
// Callbacks (Options.Callbacks) must not block; they receive copies of
// libtoxcore's buffers and typically enqueue work. A transport pumps its
// send queue from the iterate hook: send until ErrSendQ, then continue
// after the next iteration.
//
// The callbacks find their *Tox through a runtime/cgo.Handle passed to
// libtoxcore as user_data; there is no global registry.
//
// # Transport
//
// Transport is the mesh.Transport over Tox (see chunk.go for the framing):
// mesh frames are cut into lossless custom packets 160 and 161, queued per
// friend and pumped from the iterate hook until SENDQ, so one slow friend
// never holds up another; received frames go to the mesh from a dispatch
// goroutine, so mesh work never holds up Tox. It also tells mesh peers from
// plain Tox clients (silent for HelloTimeout; a toxmail transport announces
// itself with packet 162 on every new connection, before its mesh has
// started), carries text messages both
// ways (SendText, TextFromMail, MailFromText) and applies the friend-request
// policy (AcceptKnown, AcceptAll, Manual). Attach it to a running Tox.
//
// # Network defaults
//
// DefaultOptions is a real node: UDP and IPv6 on, hole punching and DHT
// announcements on, libtoxcore's default ports (UDP 33445..33545), no TCP
// relay server, no proxy, and LAN discovery OFF, unlike libtoxcore: a mail
// node should not broadcast its presence on every network it joins.
//
// LoopbackOptions is for tests and demos: IPv6, LAN discovery, hole
// punching and DHT announcements off. Such instances must be bootstrapped
// only to 127.0.0.1 (each other's UDPPort and DHTKey, or a local
// tox-bootstrapd). The package's tests never contact a public node.
//
// A proxy requires UDP off (Options.Validate enforces it), since
// libtoxcore would otherwise send UDP around the proxy.
//
// # Errors
//
// Every TOX_ERR_* code becomes an *Error ("tox: friend_send_lossless_packet:
// SENDQ"); compare with errors.Is against the sentinels (ErrSendQ,
// ErrFriendNotConnected, ErrFriendNotFound, ...). Input is checked in Go
// before calling libtoxcore (lengths, packet IDs, UTF-8), so no input
// panics or reaches C unchecked. SENDQ and FRIEND_NOT_CONNECTED are
// Temporary and match mesh.ErrBackpressure and mesh.ErrOffline.
//
// # Profiles
//
// SaveProfile and LoadProfile store the savedata (which contains the
// secret key) atomically with mode 0600, optionally encrypted with a
// passphrase by toxencryptsave. Secrets are never logged: SecretKey
// redacts itself in every format.
package tox

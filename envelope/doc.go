// Package envelope implements toxmail's sealed envelope: the wire format,
// sealing and opening, envelope IDs, recipient tags, size padding and
// delivery acknowledgements.
//
// The package is pure: it performs no I/O and never reads a clock. Callers
// pass the current time and, optionally, a source of randomness.
//
// # Security properties
//
//   - Content: the ciphertext is a NaCl box (X25519, XSalsa20-Poly1305) to the
//     recipient's long-term Tox public key; only the recipient can open it.
//   - Sender: the outer box is made with a fresh ephemeral key pair, so a relay
//     sees a random public key, never the sender's. Inside, a second box from
//     the sender's long-term key to the recipient authenticates the sender:
//     the recipient learns and verifies the sender's public key, so the sender
//     cannot be forged across the mesh.
//   - Recipient: relays see a 16-byte tag, HMAC-SHA256(recipient key, epoch),
//     where the epoch is the day of the envelope's expiry. A party that does
//     not know the recipient's public key cannot link the tag to it. A party
//     that does know it (every friend of the recipient, anyone given the Tox
//     ID) can recognise envelopes addressed to that key, and anyone can see
//     that envelopes expiring on the same day carry the same tag and therefore
//     go to the same recipient.
//   - Size: the sealed content is padded with the Padmé scheme (at most 12%
//     overhead, leaking O(log log n) bits of the length), never below 512 bytes.
//   - Integrity: the ID is SHA-256 over every field except the hop counter, the
//     only field a relay may change. A relay recomputes the ID before it holds
//     or forwards an envelope; any change to a committed field changes the ID,
//     and any change to the ciphertext fails the Poly1305 check on opening.
//     The outer nonce is a hash of the ephemeral and recipient keys (as in
//     libsodium's sealed boxes), so the ephemeral key cannot be swapped for
//     another encoding of it that X25519 treats alike (its ignored top bit,
//     or u and 1/u): that would give one mail several IDs that all open, and
//     every ID-keyed dedupe, the inbox's included, would take each as new.
//     Envelopes sealed before this rule (2026-12-07) do not open.
//   - Ack: the ack secret travels inside the ciphertext and its hash in the
//     header, so anyone holding the envelope can check an ack and only the
//     recipient can make one.
//   - Expiry: absolute, in Unix seconds, committed by the ID and authenticated
//     inside the ciphertext.
//
// # Wire format, version 1
//
// All integers are big-endian.
//
//	offset size field
//	0      1    version (1)
//	1      1    kind (1 = sealed mail)
//	2      1    hops remaining (the only mutable field)
//	3      1    flags (0; anything else is rejected)
//	4      8    expiry, Unix seconds
//	12     16   recipient tag
//	28     32   ephemeral public key
//	60     32   ack hash = SHA-256("toxmail/ack/v1" || ack secret)
//	92     24   nonce = SHA-256("toxmail/outer-nonce/v1\x00" || ephemeral key || recipient key)[:24]
//	116    4    ciphertext length n
//	120    n    ciphertext = box(outer, nonce, recipient, ephemeral)
//
// The outer plaintext is
//
//	4      inner length m
//	32     sender public key
//	24     inner nonce
//	m-56   box(payload, inner nonce, recipient, sender)
//	...    zero padding up to the Padmé bucket
//
// and the payload is
//
//	1      payload version (1)
//	8      expiry     } must equal the header fields: the sender
//	16     tag        } authenticates them
//	32     ack hash   }
//	32     ack secret
//	8      created, Unix milliseconds
//	1      TTL: the hops the sender gave it (path length = TTL - hops)
//	...    body
package envelope

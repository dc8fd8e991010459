// Package gateway connects mail clients to the mesh: SMTP submission
// (emersion/go-smtp), a POP3 server of our own (RFC 1939 and RFC 2449),
// recipient resolution (raw Tox ID, address book, tox1 DNS), and the
// mesh.Mailbox that stores opened mail in the inbox with delivery headers.
//
// It knows nothing of Tox the network: Tox IDs are parsed here as an
// address format only.
package gateway

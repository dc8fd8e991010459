package tox

/*
#include "bridge.h"
*/
import "C"

import (
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Core is the thin wrapper around one *C.Tox: each method is one or two
// libtoxcore calls.
//
// A Core is valid ONLY on its owner goroutine: inside a function passed to
// Tox.Do, an iterate or close hook, or a callback. Never keep it or use it
// from another goroutine; libtoxcore is not thread-safe and the race would
// corrupt its state. After Close, methods return ErrClosed (or zero values)
// instead of touching freed memory.
type Core struct {
	ptr *C.Tox
	// busy records lossless traffic since the loop last looked (a send
	// met a full queue, or a packet arrived): the loop then iterates
	// sooner, so queues drain and acknowledgements go out faster.
	busy bool
}

// bytesPtr returns a C view of b's first byte, or nil for an empty b. The
// memory holds no Go pointers, so cgo lets C read it during the call.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// strPtr returns a C view of s's bytes (not NUL-terminated), or nil.
func strPtr(s string) *C.uint8_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s)))
}

func keyPtr(k *PublicKey) *C.uint8_t { return (*C.uint8_t)(unsafe.Pointer(&k[0])) }

func (c *Core) closed() bool { return c == nil || c.ptr == nil }

// Address returns our Tox ID (public key, nospam, checksum).
func (c *Core) Address() Address {
	var a Address
	if c.closed() {
		return a
	}
	C.tox_self_get_address(c.ptr, (*C.uint8_t)(unsafe.Pointer(&a[0])))
	return a
}

// Nospam returns the nospam value of our address.
func (c *Core) Nospam() uint32 {
	if c.closed() {
		return 0
	}
	return uint32(C.tox_self_get_nospam(c.ptr))
}

// PublicKey returns our long-term public key.
func (c *Core) PublicKey() PublicKey {
	var k PublicKey
	if c.closed() {
		return k
	}
	C.tox_self_get_public_key(c.ptr, keyPtr(&k))
	return k
}

// SecretKey returns our long-term secret key (redacted when printed).
func (c *Core) SecretKey() SecretKey {
	var k SecretKey
	if c.closed() {
		return k
	}
	C.tox_self_get_secret_key(c.ptr, (*C.uint8_t)(unsafe.Pointer(&k[0])))
	return k
}

// DHTKey returns this session's DHT public key, which a peer needs (with
// the UDP port) to bootstrap from us. It changes with every New.
func (c *Core) DHTKey() PublicKey {
	var k PublicKey
	if c.closed() {
		return k
	}
	C.tox_self_get_dht_id(c.ptr, keyPtr(&k))
	return k
}

// UDPPort returns the bound UDP port, or ErrNotBound with UDP off.
func (c *Core) UDPPort() (uint16, error) {
	const op = opSelfGetUDPPort
	if c.closed() {
		return 0, closedError(op)
	}
	var e C.Tox_Err_Get_Port
	p := C.tox_self_get_udp_port(c.ptr, &e)
	if err := toxError(op, int(e)); err != nil {
		return 0, err
	}
	return uint16(p), nil
}

// TCPPort returns the port of our TCP relay server, or ErrNotBound when it
// is off (Options.TCPPort 0).
func (c *Core) TCPPort() (uint16, error) {
	const op = opSelfGetTCPPort
	if c.closed() {
		return 0, closedError(op)
	}
	var e C.Tox_Err_Get_Port
	p := C.tox_self_get_tcp_port(c.ptr, &e)
	if err := toxError(op, int(e)); err != nil {
		return 0, err
	}
	return uint16(p), nil
}

// Savedata returns the profile: keys, nospam, name, friends, DHT nodes.
// It contains the secret key; store it with SaveProfile.
func (c *Core) Savedata() []byte {
	if c.closed() {
		return nil
	}
	n := C.tox_get_savedata_size(c.ptr)
	b := make([]byte, int(n))
	C.tox_get_savedata(c.ptr, bytesPtr(b))
	return b
}

// SelfConnection returns our connection to the DHT.
func (c *Core) SelfConnection() Connection {
	if c.closed() {
		return ConnectionNone
	}
	return Connection(C.tox_self_get_connection_status(c.ptr))
}

// IterationInterval returns how long libtoxcore wants to wait before the
// next tox_iterate.
func (c *Core) IterationInterval() time.Duration {
	if c.closed() {
		return 0
	}
	return time.Duration(C.tox_iteration_interval(c.ptr)) * time.Millisecond
}

// iterate runs one tox_iterate; callbacks receive the handle.
func (c *Core) iterate(h uintptr) {
	C.toxmail_iterate(c.ptr, C.uintptr_t(h))
}

// checkText validates a UTF-8 text field of 1..max bytes (0 allowed when
// emptyOK).
func checkText(op, what, s string, max int, emptyOK bool) error {
	if len(s) == 0 && !emptyOK {
		return rejectf(op, ErrNoMessage, "%s is empty", what)
	}
	if len(s) > max {
		return rejectf(op, ErrTooLong, "%s is %d bytes, at most %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return invalidf(op, "%s is not valid UTF-8", what)
	}
	return nil
}

// SetName sets our nickname (at most MaxNameLength bytes of UTF-8; empty
// clears it). Friends see it after the next iterations.
func (c *Core) SetName(name string) error {
	const op = opSelfSetName
	if c.closed() {
		return closedError(op)
	}
	if err := checkText(op, "name", name, MaxNameLength, true); err != nil {
		return err
	}
	var e C.Tox_Err_Set_Info
	C.tox_self_set_name(c.ptr, strPtr(name), C.size_t(len(name)), &e)
	return toxError(op, int(e))
}

// SetStatusMessage sets our status message (at most
// MaxStatusMessageLength bytes of UTF-8; empty clears it).
func (c *Core) SetStatusMessage(msg string) error {
	const op = opSelfSetStatusMessage
	if c.closed() {
		return closedError(op)
	}
	if err := checkText(op, "status message", msg, MaxStatusMessageLength, true); err != nil {
		return err
	}
	var e C.Tox_Err_Set_Info
	C.tox_self_set_status_message(c.ptr, strPtr(msg), C.size_t(len(msg)), &e)
	return toxError(op, int(e))
}

// checkKey rejects what libtoxcore's public_key_valid rejects (and would
// report as BAD_CHECKSUM): a key with the top bit set, which no Curve25519
// public key has.
func checkKey(op string, pk PublicKey) error {
	if pk[PublicKeySize-1] >= 0x80 {
		return invalidf(op, "%s is not a valid public key (top bit set)", pk.Short())
	}
	return nil
}

// checkHost validates a host name or IP literal and port for op.
func checkHost(op, host string, port uint16) error {
	if host == "" || len(host) >= MaxHostnameLength || strings.IndexByte(host, 0) >= 0 {
		return invalidf(op, "host must be 1..%d bytes without NUL", MaxHostnameLength-1)
	}
	if port == 0 {
		return invalidf(op, "port must be 1..65535")
	}
	return nil
}

// Bootstrap sends a "get nodes" request to a DHT node. host is an IP
// literal or a name; a name is resolved here, blocking the owner
// goroutine, so prefer IP literals. Success only means the request was
// sent: watch SelfConnection.
func (c *Core) Bootstrap(host string, port uint16, dhtKey PublicKey) error {
	const op = opBootstrap
	if c.closed() {
		return closedError(op)
	}
	if err := checkHost(op, host, port); err != nil {
		return err
	}
	ch := C.CString(host)
	defer C.free(unsafe.Pointer(ch))
	var e C.Tox_Err_Bootstrap
	C.tox_bootstrap(c.ptr, ch, C.uint16_t(port), keyPtr(&dhtKey), &e)
	return toxError(op, int(e))
}

// AddTCPRelay adds a TCP relay (needed when UDP is off or blocked). Same
// host rules as Bootstrap.
func (c *Core) AddTCPRelay(host string, port uint16, key PublicKey) error {
	const op = opAddTCPRelay
	if c.closed() {
		return closedError(op)
	}
	if err := checkHost(op, host, port); err != nil {
		return err
	}
	ch := C.CString(host)
	defer C.free(unsafe.Pointer(ch))
	var e C.Tox_Err_Bootstrap
	C.tox_add_tcp_relay(c.ptr, ch, C.uint16_t(port), keyPtr(&key), &e)
	return toxError(op, int(e))
}

// AddFriend adds the owner of addr as a friend and sends a friend request
// carrying message (1..MaxFriendRequest bytes of UTF-8). It returns the
// friend number, valid until DeleteFriend or the end of this instance.
func (c *Core) AddFriend(addr Address, message string) (uint32, error) {
	const op = opFriendAdd
	if c.closed() {
		return 0, closedError(op)
	}
	if !addr.Valid() {
		return 0, rejectf(op, ErrBadChecksum, "address checksum mismatch")
	}
	if err := checkKey(op, addr.PublicKey()); err != nil {
		return 0, err
	}
	if err := checkText(op, "friend request message", message, MaxFriendRequest, false); err != nil {
		return 0, err
	}
	var e C.Tox_Err_Friend_Add
	fn := C.tox_friend_add(c.ptr, (*C.uint8_t)(unsafe.Pointer(&addr[0])), strPtr(message), C.size_t(len(message)), &e)
	if err := toxError(op, int(e)); err != nil {
		return 0, err
	}
	return uint32(fn), nil
}

// AddFriendNoRequest adds pk as a friend without sending a request: to
// accept a FriendRequest, or when both sides add each other.
func (c *Core) AddFriendNoRequest(pk PublicKey) (uint32, error) {
	const op = opFriendAddNorequest
	if c.closed() {
		return 0, closedError(op)
	}
	if err := checkKey(op, pk); err != nil {
		return 0, err
	}
	var e C.Tox_Err_Friend_Add
	fn := C.tox_friend_add_norequest(c.ptr, keyPtr(&pk), &e)
	if err := toxError(op, int(e)); err != nil {
		return 0, err
	}
	return uint32(fn), nil
}

// DeleteFriend removes a friend. The friend is not told; to it we simply
// go offline. The number may be reused by the next AddFriend.
func (c *Core) DeleteFriend(fn uint32) error {
	const op = opFriendDelete
	if c.closed() {
		return closedError(op)
	}
	var e C.Tox_Err_Friend_Delete
	C.tox_friend_delete(c.ptr, C.uint32_t(fn), &e)
	return toxError(op, int(e))
}

// FriendByPublicKey returns the friend number of pk, or ErrFriendNotFound.
func (c *Core) FriendByPublicKey(pk PublicKey) (uint32, error) {
	const op = opFriendByPublicKey
	if c.closed() {
		return 0, closedError(op)
	}
	var e C.Tox_Err_Friend_By_Public_Key
	fn := C.tox_friend_by_public_key(c.ptr, keyPtr(&pk), &e)
	if err := toxError(op, int(e)); err != nil {
		return 0, err
	}
	return uint32(fn), nil
}

// Friends returns the friend numbers in libtoxcore's order.
func (c *Core) Friends() []uint32 {
	if c.closed() {
		return nil
	}
	n := int(C.tox_self_get_friend_list_size(c.ptr))
	if n == 0 {
		return []uint32{}
	}
	list := make([]uint32, n)
	C.tox_self_get_friend_list(c.ptr, (*C.uint32_t)(unsafe.Pointer(&list[0])))
	return list
}

// FriendPublicKey returns a friend's long-term public key.
func (c *Core) FriendPublicKey(fn uint32) (PublicKey, error) {
	const op = opFriendGetPublicKey
	var k PublicKey
	if c.closed() {
		return k, closedError(op)
	}
	var e C.Tox_Err_Friend_Get_Public_Key
	C.tox_friend_get_public_key(c.ptr, C.uint32_t(fn), keyPtr(&k), &e)
	if err := toxError(op, int(e)); err != nil {
		return PublicKey{}, err
	}
	return k, nil
}

// FriendConnection returns the connection to a friend (None when offline).
func (c *Core) FriendConnection(fn uint32) (Connection, error) {
	const op = opFriendGetConnectionStatus
	if c.closed() {
		return ConnectionNone, closedError(op)
	}
	var e C.Tox_Err_Friend_Query
	s := C.tox_friend_get_connection_status(c.ptr, C.uint32_t(fn), &e)
	if err := toxError(op, int(e)); err != nil {
		return ConnectionNone, err
	}
	return Connection(s), nil
}

// FriendName returns a friend's nickname as last received (not validated
// as UTF-8: it comes from the network).
func (c *Core) FriendName(fn uint32) (string, error) {
	const op = opFriendGetName
	if c.closed() {
		return "", closedError(op)
	}
	var e C.Tox_Err_Friend_Query
	n := C.tox_friend_get_name_size(c.ptr, C.uint32_t(fn), &e)
	if err := toxError(op, int(e)); err != nil {
		return "", err
	}
	b := make([]byte, int(n)+1) // never empty, so the pointer is valid
	C.tox_friend_get_name(c.ptr, C.uint32_t(fn), bytesPtr(b), &e)
	if err := toxError(op, int(e)); err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// FriendStatusMessage returns a friend's status message as last received.
func (c *Core) FriendStatusMessage(fn uint32) (string, error) {
	const op = opFriendGetStatusMessage
	if c.closed() {
		return "", closedError(op)
	}
	var e C.Tox_Err_Friend_Query
	n := C.tox_friend_get_status_message_size(c.ptr, C.uint32_t(fn), &e)
	if err := toxError(op, int(e)); err != nil {
		return "", err
	}
	b := make([]byte, int(n)+1)
	C.tox_friend_get_status_message(c.ptr, C.uint32_t(fn), bytesPtr(b), &e)
	if err := toxError(op, int(e)); err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// SendMessage queues a text message (1..MaxMessageLength bytes of UTF-8)
// to an online friend and returns its message ID, which
// Callbacks.FriendReadReceipt reports once the friend's instance has it.
// ErrSendQ and ErrFriendNotConnected are temporary.
func (c *Core) SendMessage(fn uint32, typ MessageType, text string) (uint32, error) {
	const op = opFriendSendMessage
	if c.closed() {
		return 0, closedError(op)
	}
	if typ != MessageNormal && typ != MessageAction {
		return 0, invalidf(op, "message type %d is not normal or action", int(typ))
	}
	if err := checkText(op, "message", text, MaxMessageLength, false); err != nil {
		return 0, err
	}
	var e C.Tox_Err_Friend_Send_Message
	id := C.tox_friend_send_message(c.ptr, C.uint32_t(fn), C.Tox_Message_Type(typ), strPtr(text),
		C.size_t(len(text)), &e)
	if e == C.TOX_ERR_FRIEND_SEND_MESSAGE_SENDQ {
		c.busy = true
	}
	if err := toxError(op, int(e)); err != nil {
		return 0, err
	}
	return uint32(id), nil
}

// SendLossless queues one lossless custom packet to an online friend.
// data[0] is the packet ID, LosslessFirstID..LosslessLastID (160..191);
// len(data) is at most MaxCustomPacket. libtoxcore copies data before
// returning. Packets arrive reliably and in order, while the connection
// lasts. ErrSendQ (the queue is full: retry after the next iteration) and
// ErrFriendNotConnected are temporary.
func (c *Core) SendLossless(fn uint32, data []byte) error {
	const op = opFriendSendLosslessPacket
	if c.closed() {
		return closedError(op)
	}
	if len(data) == 0 {
		return rejectf(op, ErrNoMessage, "empty packet")
	}
	if len(data) > MaxCustomPacket {
		return rejectf(op, ErrTooLong, "packet is %d bytes, at most %d", len(data), MaxCustomPacket)
	}
	if data[0] < LosslessFirstID || data[0] > LosslessLastID {
		return invalidf(op, "packet ID %d is not in %d..%d", data[0], LosslessFirstID, LosslessLastID)
	}
	var e C.Tox_Err_Friend_Custom_Packet
	C.tox_friend_send_lossless_packet(c.ptr, C.uint32_t(fn), bytesPtr(data), C.size_t(len(data)), &e)
	if e == C.TOX_ERR_FRIEND_CUSTOM_PACKET_SENDQ {
		c.busy = true
	}
	return toxError(op, int(e))
}

// libLimits returns libtoxcore's own limits, for the test that checks the
// constants above.
func libLimits() map[string]int {
	return map[string]int{
		"public_key":     int(C.tox_public_key_size()),
		"secret_key":     int(C.tox_secret_key_size()),
		"nospam":         int(C.tox_nospam_size()),
		"address":        int(C.tox_address_size()),
		"message":        int(C.tox_max_message_length()),
		"custom_packet":  int(C.tox_max_custom_packet_size()),
		"friend_request": int(C.tox_max_friend_request_length()),
		"name":           int(C.tox_max_name_length()),
		"status_message": int(C.tox_max_status_message_length()),
		"hostname":       int(C.tox_max_hostname_length()),
	}
}

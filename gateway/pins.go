package gateway

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/toxmail/toxmail/envelope"
)

// KeyPins remembers the key each address was first resolved to by tox1
// DNS, so that a later answer giving another key (a spoofed or hijacked
// record) is noticed instead of silently redirecting mail: trust on first
// use, as SSH's known_hosts. Resolver.Pins uses it.
type KeyPins interface {
	// Pin records key for addr if addr has no key yet, and returns the key
	// recorded before (the zero key if there was none).
	Pin(addr string, key envelope.PublicKey) (envelope.PublicKey, error)
}

// MaxPins bounds the addresses a PinFile records; past it new addresses
// are resolved without a pin (and Pin says so).
const MaxPins = 65536

// PinFile is a KeyPins kept in a text file of one line per address:
//
//	carol@example.org 1A2B…(64 hex digits) 2026-12-07T01:02:03Z
//
// the address, the key it first resolved to and when. Lines starting with
// '#' and blank lines are ignored. To accept an address's new key, delete
// its line (Reload reads the file again), or add the address to the
// address book, which tox1 DNS never overrides. New pins are appended and
// synced, the file is kept at mode 0600, and it is never rewritten.
type PinFile struct {
	path string
	now  func() time.Time

	mu      sync.Mutex
	pins    map[string]envelope.PublicKey
	skipped []int             // malformed lines, by number
	needNL  bool              // the file ends in a line cut short: start the next on a new line
	digest  [sha256.Size]byte // of the bytes last read
	stamp   pinStamp          // the file's size and time when last read
}

// pinStamp is a file's size and modification time.
type pinStamp struct {
	size int64
	mod  time.Time
}

// OpenPinFile reads the pin file at path, which need not exist yet. A
// malformed line (a line cut short by a crash, or a bad edit) is skipped
// and left in the file; Skipped lists them.
func OpenPinFile(path string) (*PinFile, error) {
	p := &PinFile{path: path, now: time.Now, pins: make(map[string]envelope.PublicKey)}
	if _, err := p.Reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload reads the file again if its bytes changed since they were last
// read, so that a line deleted by hand takes effect on a running node, and
// reports whether they had. A file that is gone holds no pins.
func (p *PinFile) Reload() (bool, error) {
	// Under p.mu throughout, so that a Pin cannot append between the
	// read and the new map, which would lose it from the map.
	p.mu.Lock()
	defer p.mu.Unlock()
	// A file of the same size and time is taken as unchanged without
	// reading it: a node calls Reload every few seconds.
	var stamp pinStamp
	if fi, err := os.Stat(p.path); err == nil {
		stamp = pinStamp{fi.Size(), fi.ModTime()}
		if stamp == p.stamp {
			return false, nil
		}
	}
	data, err := os.ReadFile(p.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("gateway: tox1 key pins: %w", err)
	}
	sum := sha256.Sum256(data)
	p.stamp = stamp
	if sum == p.digest {
		return false, nil
	}
	pins := make(map[string]envelope.PublicKey)
	var skipped []int
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		addr, key, ok := parsePin(line)
		if !ok {
			skipped = append(skipped, n)
			continue
		}
		if _, dup := pins[addr]; !dup && len(pins) < MaxPins {
			pins[addr] = key // the first line for an address counts
		}
	}
	p.pins, p.skipped, p.digest = pins, skipped, sum
	p.needNL = len(data) > 0 && data[len(data)-1] != '\n'
	return true, nil
}

// parsePin parses "address key [time]".
func parsePin(line string) (string, envelope.PublicKey, bool) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return "", envelope.PublicKey{}, false
	}
	addr, err := pinKey(fields[0])
	if err != nil {
		return "", envelope.PublicKey{}, false
	}
	key, err := envelope.ParsePublicKey(fields[1])
	if err != nil {
		return "", envelope.PublicKey{}, false
	}
	return addr, key, true
}

// Path returns the file's path.
func (p *PinFile) Path() string { return p.path }

// Skipped returns the numbers of the lines the last read could not parse.
func (p *PinFile) Skipped() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.skipped)
}

// Len returns how many addresses are pinned.
func (p *PinFile) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pins)
}

// Lookup returns the key pinned for addr, if any, without pinning.
func (p *PinFile) Lookup(addr string) (envelope.PublicKey, bool) {
	addr, err := pinKey(addr)
	if err != nil {
		return envelope.PublicKey{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.pins[addr]
	return k, ok
}

// Pin implements KeyPins. The new line is on disk before Pin returns.
func (p *PinFile) Pin(addr string, key envelope.PublicKey) (envelope.PublicKey, error) {
	addr, err := pinKey(addr)
	if err != nil {
		return envelope.PublicKey{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.pins[addr]; ok {
		return prev, nil
	}
	if len(p.pins) >= MaxPins {
		return envelope.PublicKey{}, fmt.Errorf("gateway: tox1 key pins: %s holds %d addresses, the most it keeps", p.path, MaxPins)
	}
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return envelope.PublicKey{}, fmt.Errorf("gateway: tox1 key pins: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // a file made by hand may be readable by others
		f.Close()
		return envelope.PublicKey{}, fmt.Errorf("gateway: tox1 key pins: %w", err)
	}
	line := fmt.Sprintf("%s %s %s\n", addr, key, p.now().UTC().Format(time.RFC3339))
	if p.needNL {
		line = "\n" + line
	}
	_, werr := f.WriteString(line)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return envelope.PublicKey{}, fmt.Errorf("gateway: tox1 key pins: %w", werr)
	}
	p.pins[addr] = key
	p.needNL = false
	// The file is no longer what was last read: the next Reload parses it
	// whatever its bytes, even if a deletion brings them back to those.
	p.digest, p.stamp = [sha256.Size]byte{}, pinStamp{}
	return envelope.PublicKey{}, nil
}

// pinKey is the form of an address pins are kept under: normalised and in
// lower case, as the tox1 DNS name it is looked up by is case-blind.
func pinKey(addr string) (string, error) {
	norm, err := NormalizeAddress(addr)
	return strings.ToLower(norm), err
}

package daemon

// Free disk space. Badger maps its files into memory: when the disk fills
// up under a write, the process dies of SIGBUS instead of getting an error
// (dgraph-io/badger#1682). So the node looks before it writes what others
// can make it write: a submitted mail (SMTP answers 452 4.3.1), a mail for
// this node (delivery waits and is retried), a relay copy (not taken, as
// if over budget; the sender keeps it and offers it again).

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/toxmail/toxmail/mesh"
)

// errNoRoom means the data directory's file system is short of space.
var errNoRoom = errors.New("the disk is nearly full")

// minFree is the space the data directory must keep free, in bytes: room
// for a few of the largest envelopes in each store, whose write-ahead logs
// and value logs hold data twice or more until garbage collection.
func minFree(maxEnvelope int) uint64 { return 64<<20 + 4*uint64(maxEnvelope) }

// spaceCheck returns a function that reports errNoRoom while the file
// system holding dir has less than need bytes free for this user.
func spaceCheck(dir string, need uint64, free func(string) (uint64, error)) func() error {
	return func() error {
		n, err := free(dir)
		if err != nil {
			return nil // cannot tell: let the write try, and fail if it must
		}
		if n < need {
			return fmt.Errorf("%w: %d MiB free in %s, want at least %d MiB (delete mail, or free space on that disk)", errNoRoom, n>>20, dir, need>>20)
		}
		return nil
	}
}

// roomCheck is the node's spaceCheck for its data directory.
func (d *Daemon) roomCheck() func() error {
	free := d.opts.FreeSpace
	if free == nil {
		free = statfsFree
	}
	return spaceCheck(d.cfg.DataDir, minFree(d.cfg.Mesh.MaxEnvelopeSize), free)
}

// statfsFree is the space available to an unprivileged user on the file
// system holding dir.
func statfsFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// spaceStore is the node's store, which refuses a batch that holds a new
// envelope while the disk is short of space. Everything else goes through:
// deletions, acks and the seen set are small, and deleting frees space.
type spaceStore struct {
	*mesh.BadgerStore
	check func() error
}

// Apply implements mesh.Store.
func (s spaceStore) Apply(b *mesh.Batch) error {
	for i := range b.Ops {
		if b.Ops[i].Kind == mesh.OpPutHeld {
			if err := s.check(); err != nil {
				return fmt.Errorf("daemon: envelope not stored: %w", err)
			}
			break
		}
	}
	return s.BadgerStore.Apply(b)
}

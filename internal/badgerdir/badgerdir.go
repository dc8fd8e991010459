// Package badgerdir checks a badger directory before badger opens it, so
// that damage on disk is reported instead of silently losing data or
// crashing the node.
//
// Badger v4.9.6 trusts its MANIFEST, the log of which table files make up
// the store. If the MANIFEST is missing or cut short, badger opens the
// store with the tables it still lists (none at all, for a missing one)
// and deletes every other table file: the data is gone without a word. A
// table whose index is damaged makes badger panic in a goroutine of its
// own, which no caller can recover; a table damaged elsewhere opens, and
// the keys in the damaged blocks read as not found.
//
// [Prepare] reads what badger would read, in the caller's goroutine:
//
//   - table files but no MANIFEST, or a MANIFEST that lists no table
//     although table files are there (except the state a crash in the
//     first flush leaves, see firstFlushCrash): an error, and nothing is
//     touched;
//   - a MANIFEST listing a table whose file is missing, or a listed table
//     whose index or block checksums are wrong: an error naming the file;
//   - table files the MANIFEST does not list (a crash during a flush or a
//     compaction leaves a few; a MANIFEST that lost its last records
//     leaves the newest tables): moved to a directory beside the store
//     instead of being deleted by badger, with a warning that says where;
//   - empty value-log (.vlog) and memtable (.mem) files: removed, with a
//     warning. Badger creates such a file and only then sizes it, so a
//     crash in between leaves it empty, and badger then refuses to open
//     the store ("Create a new file"); an empty file holds no data.
package badgerdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"
)

// ErrDamaged is wrapped by every error Prepare returns for damage on disk.
var ErrDamaged = errors.New("damaged on disk")

// UnlistedSuffix is appended to the store's directory to name the
// directory that unlisted table files are moved to.
const UnlistedSuffix = "-unlisted"

// Prepare checks the badger directory dir before it is opened, as the
// package comment describes, and moves table files the MANIFEST does not
// list out of badger's way. A directory that does not exist yet, or holds
// no table file, passes. It takes badger's own directory lock while it
// works, so it fails like badger.Open if another process has the store
// open. log may be nil.
func Prepare(dir string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tables, err := listTables(dir)
	if err != nil {
		return err
	}
	empty, err := emptyLogs(dir)
	if err != nil || len(tables) == 0 && len(empty) == 0 {
		return err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := removeEmptyLogs(dir, empty, log); err != nil || len(tables) == 0 {
		return err
	}
	mf, err := readManifest(dir, tables)
	if err != nil {
		return err
	}
	var unlisted []uint64
	for _, id := range slices.Sorted(maps.Keys(tables)) {
		if _, ok := mf.Tables[id]; !ok {
			unlisted = append(unlisted, id)
		}
	}
	var buf []byte // one table at a time, reused
	for id, tm := range mf.Tables {
		size, ok := tables[id]
		if !ok {
			return damaged(dir, "MANIFEST lists table %s, which is missing", table.IDToFilename(id))
		}
		if int64(cap(buf)) < size {
			buf = make([]byte, size)
		}
		if err := verifyTable(filepath.Join(dir, table.IDToFilename(id)), id, tm, buf[:size]); err != nil {
			return damaged(dir, "%v", err)
		}
	}
	if len(unlisted) == 0 {
		return nil
	}
	to, n, err := moveUnlisted(dir, unlisted, tables)
	if err != nil {
		return err
	}
	log.Warn("store: moved table files its MANIFEST does not list out of the store; "+
		"a crash during a flush or compaction leaves a few, and they can then be deleted, "+
		"but if data is missing the MANIFEST lost records: stop the node and restore the store from a backup",
		"dir", dir, "to", to, "files", len(unlisted), "bytes", n)
	return nil
}

// emptyLogs lists the value-log and memtable files of dir that are empty.
func emptyLogs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	var empty []string
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".vlog") && !strings.HasSuffix(name, ".mem") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
		if fi.Size() == 0 {
			empty = append(empty, name)
		}
	}
	return empty, nil
}

// removeEmptyLogs removes the files of emptyLogs, once dir is locked: each
// is checked to be empty again first.
func removeEmptyLogs(dir string, names []string, log *slog.Logger) error {
	for _, name := range names {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil || fi.Size() != 0 {
			continue
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("store %s: removing the empty %s: %w", dir, name, err)
		}
		log.Warn("store: removed an empty log file that a crash left as badger created it; it held no data",
			"dir", dir, "file", name)
	}
	return nil
}

// listTables returns the size of each table file in dir by table ID.
func listTables(dir string) (map[uint64]int64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	tables := make(map[uint64]int64)
	for _, e := range ents {
		id, ok := table.ParseFileID(e.Name())
		if !ok || !e.Type().IsRegular() || e.Name() != table.IDToFilename(id) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
		tables[id] = fi.Size()
	}
	return tables, nil
}

// readManifest replays dir's MANIFEST as badger will, and refuses one that
// is missing or lists no table while tables exist.
func readManifest(dir string, tables map[uint64]int64) (badger.Manifest, error) {
	var total int64
	for _, n := range tables {
		total += n
	}
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		return badger.Manifest{}, damaged(dir, "%s (%d bytes) but no MANIFEST: badger would open the store empty and delete the table files; "+
			"restore the store from a backup, or move the directory aside to start with an empty one", tableCount(len(tables)), total)
	}
	if err != nil {
		return badger.Manifest{}, fmt.Errorf("store %s: %w", dir, err)
	}
	defer f.Close()
	mf, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
	if err != nil {
		return badger.Manifest{}, damaged(dir, "MANIFEST: %v", err)
	}
	if len(mf.Tables) == 0 && !firstFlushCrash(dir, tables) {
		return badger.Manifest{}, damaged(dir, "MANIFEST lists no table but there are %s (%d bytes): "+
			"badger would open the store empty and delete the table files; restore the store from a backup, or "+
			"move the table files (*.sst) aside to start with what is left", tableCount(len(tables)), total)
	}
	return mf, nil
}

// firstFlushCrash reports whether a store whose MANIFEST lists no table
// is in the state a crash in its first flush leaves: one table, the first
// a store makes (000001.sst), and the memtable log (*.mem) that holds
// every key of it; badger recovers them all from the log. Any other store
// with tables and an empty MANIFEST lost its MANIFEST: a node killed with
// tables on disk leaves a *.mem too, so a log alone proves nothing.
func firstFlushCrash(dir string, tables map[uint64]int64) bool {
	if _, first := tables[1]; !first || len(tables) != 1 {
		return false
	}
	m, err := filepath.Glob(filepath.Join(dir, "*.mem"))
	return err == nil && len(m) > 0
}

// verifyTable reads a table file whole into buf, which it fills, and
// checks its index and every block's checksum, recovering badger's panic
// on a damaged index. The file is read, not mapped, so that nothing is
// left mapped whatever badger does.
func verifyTable(path string, id uint64, tm badger.TableManifest, buf []byte) (err error) {
	if tm.KeyID != 0 {
		return nil // encrypted: these stores never encrypt, and the key is not at hand
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.ReadFull(f, buf); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	name := filepath.Base(path)
	defer func() {
		if r := recover(); r != nil { // badger's reaction to a damaged index or block
			err = fmt.Errorf("table %s is damaged: its index or a block cannot be decoded", name)
		}
	}()
	opt := table.Options{BlockSize: 4 << 10, Compression: tm.Compression}
	t, err := table.OpenInMemoryTable(buf, id, &opt)
	if err != nil {
		return fmt.Errorf("table %s is damaged: %w", name, err)
	}
	t.Fd = f // badger names the file in a checksum error
	if err := t.VerifyChecksum(); err != nil {
		return fmt.Errorf("table %s is damaged: %w", name, err)
	}
	return nil
}

// moveUnlisted moves the unlisted tables to a new directory beside dir and
// returns its path and the bytes moved.
func moveUnlisted(dir string, ids []uint64, tables map[uint64]int64) (string, int64, error) {
	to := filepath.Join(filepath.Clean(dir)+UnlistedSuffix, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.MkdirAll(to, 0o700); err != nil {
		return "", 0, fmt.Errorf("store %s: %w", dir, err)
	}
	var n int64
	for _, id := range ids {
		name := table.IDToFilename(id)
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(to, name)); err != nil {
			return "", 0, fmt.Errorf("store %s: moving unlisted table: %w", dir, err)
		}
		n += tables[id]
	}
	return to, n, nil
}

// lockDir takes badger's directory lock (an exclusive flock on the
// directory itself) and returns its release.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("store %s is in use by another process: %w", dir, err)
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}

func damaged(dir, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", dir, ErrDamaged, fmt.Sprintf(format, args...))
}

func tableCount(n int) string {
	if n == 1 {
		return "1 table file"
	}
	return fmt.Sprintf("%d table files", n)
}

package badgerdir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

const testKeys = 30_000

// testOptions gives stores of several tables from a few megabytes.
func testOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithLogger(nil).
		WithMemTableSize(1 << 20).WithValueThreshold(1 << 10).WithValueLogFileSize(1 << 20).
		WithNumCompactors(2).WithBlockCacheSize(1 << 20)
}

// newStore writes testKeys keys of 100 bytes in a new store and closes it.
func newStore(t *testing.T) string {
	t.Helper()
	return buildStore(t, testOptions)
}

// buildStore is newStore with the options opts gives for a directory.
func buildStore(t *testing.T, opts func(dir string) badger.Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	db, err := badger.Open(opts(dir))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < testKeys; i += 1000 {
		wb := db.NewWriteBatch()
		for j := i; j < i+1000; j++ {
			if err := wb.Set(key(j), bytes.Repeat([]byte{byte(j)}, 100)); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(tableFiles(t, dir)); n < 3 {
		t.Fatalf("the store has %d tables; the tests need several", n)
	}
	return dir
}

func key(i int) []byte { return fmt.Appendf(nil, "key%08d", i) }

// countKeys opens dir with badger and counts its keys.
func countKeys(t *testing.T, dir string) int {
	t.Helper()
	db, err := badger.Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tableFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// logBuffer returns a logger writing text into the returned buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

func TestPrepareHealthyStore(t *testing.T) {
	dir := newStore(t)
	before := tableFiles(t, dir)
	log, buf := logBuffer()
	if err := Prepare(dir, log); err != nil {
		t.Fatalf("Prepare of a healthy store: %v", err)
	}
	if after := tableFiles(t, dir); len(after) != len(before) {
		t.Fatalf("%d tables before Prepare, %d after", len(before), len(after))
	}
	if buf.Len() != 0 {
		t.Errorf("Prepare logged on a healthy store: %s", buf)
	}
	if _, err := os.Stat(dir + UnlistedSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Prepare made %s for a healthy store (%v)", dir+UnlistedSuffix, err)
	}
	if n := countKeys(t, dir); n != testKeys {
		t.Fatalf("%d keys after Prepare, want %d", n, testKeys)
	}
}

func TestPrepareNewStore(t *testing.T) {
	if err := Prepare(filepath.Join(t.TempDir(), "none"), nil); err != nil {
		t.Fatalf("Prepare of a directory not made yet: %v", err)
	}
	if err := Prepare(t.TempDir(), nil); err != nil {
		t.Fatalf("Prepare of an empty directory: %v", err)
	}
}

// TestPrepareRefusesLostManifest: without Prepare, badger opens a store
// whose MANIFEST is gone or empty with no keys and deletes its tables.
// Prepare refuses, and leaves every file where it was.
func TestPrepareRefusesLostManifest(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(manifest string) error
		want   string
	}{
		{"missing", os.Remove, "no MANIFEST"},
		{"header only", func(p string) error { return os.Truncate(p, 8) }, "lists no table"},
		{"torn first record", func(p string) error { return os.Truncate(p, 20) }, "lists no table"},
		{"empty", func(p string) error { return os.Truncate(p, 0) }, "MANIFEST:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := newStore(t)
			before := tableFiles(t, dir)
			if err := tt.damage(filepath.Join(dir, badger.ManifestFilename)); err != nil {
				t.Fatal(err)
			}
			err := Prepare(dir, nil)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Prepare = %v, want ErrDamaged saying %q", err, tt.want)
			}
			if after := tableFiles(t, dir); len(after) != len(before) {
				t.Fatalf("%d tables before Prepare, %d after", len(before), len(after))
			}
		})
	}
}

// TestPrepareFirstFlushCrash: a crash in a store's first flush leaves one
// table, a MANIFEST that lists none, and the memtable log that holds every
// key. Badger recovers them all from the log: Prepare moves the table
// aside instead of refusing the store (review of this change).
func TestPrepareFirstFlushCrash(t *testing.T) {
	live := filepath.Join(t.TempDir(), "live")
	db, err := badger.Open(testOptions(live))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	err = db.Update(func(txn *badger.Txn) error {
		for i := range n {
			if err := txn.Set(key(i), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The state a crash leaves: the open store's files as they are...
	crashed := filepath.Join(t.TempDir(), "store")
	if err := os.CopyFS(crashed, os.DirFS(live)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(crashed, "LOCK"))
	if err := db.Close(); err != nil { // ...plus the table the flush wrote
		t.Fatal(err)
	}
	tables := tableFiles(t, live)
	if len(tables) != 1 {
		t.Fatalf("the flush wrote %d tables, want 1", len(tables))
	}
	data, err := os.ReadFile(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(crashed, filepath.Base(tables[0])), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(crashed, nil); err != nil {
		t.Fatalf("Prepare after a crash in the first flush: %v", err)
	}
	if got := countKeys(t, crashed); got != n {
		t.Fatalf("%d keys after the crash, want %d", got, n)
	}
}

// TestPrepareLostManifestBesideLog: a node killed with tables on disk
// leaves a memtable log too, so a log does not make a MANIFEST that lists
// no table look like a crash in the first flush (review of this change:
// every table was moved aside and the store opened nearly empty).
func TestPrepareLostManifestBesideLog(t *testing.T) {
	dir := newStore(t)
	before := tableFiles(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "00009.mem"), make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, badger.ManifestFilename), 8); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(dir, nil); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Prepare = %v, want ErrDamaged", err)
	}
	if after := tableFiles(t, dir); len(after) != len(before) {
		t.Fatalf("%d tables before Prepare, %d after", len(before), len(after))
	}
}

// TestPrepareKeepsUnlistedTables: a MANIFEST that lost its last records
// lists only the oldest tables. Badger would delete the others; Prepare
// moves them aside and says where, and putting the MANIFEST and the files
// back gives every key back.
func TestPrepareKeepsUnlistedTables(t *testing.T) {
	// Without compactions every MANIFEST record adds a table, so each of
	// its first records lists tables that are all still on disk (with
	// them, the records of a compaction at the end may leave no such cut).
	dir := buildStore(t, func(dir string) badger.Options { return testOptions(dir).WithNumCompactors(0) })
	before := tableFiles(t, dir)
	manifest := filepath.Join(dir, badger.ManifestFilename)
	whole, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	cutManifest(t, manifest, whole)
	log, buf := logBuffer()
	if err := Prepare(dir, log); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	moved, err := filepath.Glob(filepath.Join(dir+UnlistedSuffix, "*", "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	if left := tableFiles(t, dir); len(moved) == 0 || len(moved)+len(left) != len(before) {
		t.Fatalf("%d tables before; %d moved and %d left", len(before), len(moved), len(left))
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), dir+UnlistedSuffix) {
		t.Errorf("the warning does not say where the tables went: %s", buf)
	}
	if n := countKeys(t, dir); n >= testKeys {
		t.Fatalf("%d keys with the MANIFEST cut short: the test cut nothing", n)
	}

	// Restore: the files were kept, so nothing is lost.
	for _, p := range moved {
		if err := os.Rename(p, filepath.Join(dir, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(manifest, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(dir, nil); err != nil {
		t.Fatalf("Prepare after the restore: %v", err)
	}
	if n := countKeys(t, dir); n != testKeys {
		t.Fatalf("%d keys after the restore, want %d", n, testKeys)
	}
}

// TestPrepareMovesCrashLeftover: a table a crash left unlisted (written,
// never recorded) is moved aside, and the store keeps every key.
func TestPrepareMovesCrashLeftover(t *testing.T) {
	dir := newStore(t)
	tables := tableFiles(t, dir)
	data, err := os.ReadFile(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "999999.sst"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(dir, nil); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if moved, _ := filepath.Glob(filepath.Join(dir+UnlistedSuffix, "*", "999999.sst")); len(moved) != 1 {
		t.Fatalf("the leftover table was not moved aside: %v", moved)
	}
	if n := countKeys(t, dir); n != testKeys {
		t.Fatalf("%d keys, want %d", n, testKeys)
	}
}

// TestPrepareRefusesDamagedTable: a listed table that is missing, whose
// index is damaged (badger panics in a goroutine of its own) or whose data
// is damaged (badger reads its keys as not found) is an error naming it.
func TestPrepareRefusesDamagedTable(t *testing.T) {
	zero := func(at func(size int64) int64, n int) func(string) error {
		return func(p string) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			_, err = f.WriteAt(make([]byte, n), at(fi.Size()))
			return err
		}
	}
	for _, tt := range []struct {
		name   string
		damage func(path string) error
		want   string
	}{
		{"missing", os.Remove, "which is missing"},
		{"index", zero(func(n int64) int64 { return n - 64 }, 64), "is damaged"},
		{"first block", zero(func(int64) int64 { return 100 }, 64), "is damaged"},
		{"middle block", zero(func(n int64) int64 { return n / 3 }, 4096), "is damaged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := newStore(t)
			path := tableFiles(t, dir)[1]
			if err := tt.damage(path); err != nil {
				t.Fatal(err)
			}
			err := Prepare(dir, nil)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), filepath.Base(path)) {
				t.Fatalf("Prepare = %v, want ErrDamaged naming %s and saying %q", err, filepath.Base(path), tt.want)
			}
		})
	}
}

func TestPrepareStoreInUse(t *testing.T) {
	dir := newStore(t)
	db, err := badger.Open(testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Prepare(dir, nil); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Prepare of a store badger has open = %v, want an in-use error", err)
	}
}

// cutManifest writes the shortest prefix of the MANIFEST whole that lists
// a table, and only tables still on disk, as if its later records were
// lost.
func cutManifest(t *testing.T, path string, whole []byte) {
	t.Helper()
	dir := filepath.Dir(path)
	onDisk := len(tableFiles(t, dir))
	for end := 8; end+8 <= len(whole); {
		end += 8 + int(binary.BigEndian.Uint32(whole[end:end+4]))
		if err := os.WriteFile(path, whole[:end], 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		mf, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(""))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The cut must list tables that are all still there (an early
		// record may list one that a compaction has since deleted,
		// which Prepare rightly refuses as damage), and not all of those
		// on disk (else it cut nothing that matters).
		if len(mf.Tables) > 0 && len(mf.Tables) < onDisk && allExist(dir, mf.Tables) {
			return
		}
	}
	t.Fatal("no record of the MANIFEST lists some but not all tables on disk, every one it lists still there")
}

// allExist reports whether every table listed is in dir.
func allExist(dir string, tables map[uint64]badger.TableManifest) bool {
	for id := range tables {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%06d.sst", id))); err != nil {
			return false
		}
	}
	return true
}

// BenchmarkPrepare measures the check at open on a store shaped like the
// mesh store's seen set: 1,000,000 random 33-byte keys with 8-byte values,
// uncompressed. Building the store is not timed; SetBytes is the size of
// its tables, so MB/s is the rate at which Prepare reads and checks them.
func BenchmarkPrepare(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "store")
	o := badger.DefaultOptions(dir).WithLogger(nil).WithCompression(options.None).
		WithMemTableSize(16 << 20).WithSyncWrites(false)
	db, err := badger.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		wb := db.NewWriteBatch()
		for range 10_000 {
			k := make([]byte, 33)
			for i := range k {
				k[i] = byte(rng.Uint32())
			}
			if err := wb.Set(k, make([]byte, 8)); err != nil {
				b.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	tables, err := listTables(dir)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, n := range tables {
		size += n
	}
	b.SetBytes(size)
	for b.Loop() {
		if err := Prepare(dir, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/(1<<20), "table-MiB")
}

// TestPrepareRemovesEmptyLogs: a crash as badger creates a value-log or
// memtable file leaves it empty, and badger refuses to open the store
// ("Create a new file"). Prepare removes such files, with a warning, and
// the store opens with every key; a store with no table yet too.
func TestPrepareRemovesEmptyLogs(t *testing.T) {
	for _, name := range []string{"000099.vlog", "00099.mem"} {
		t.Run(name, func(t *testing.T) {
			dir := newStore(t)
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if db, err := badger.Open(testOptions(dir)); err == nil {
				db.Close()
				t.Fatal("badger opened the store with an empty log file: this test shows nothing")
			}
			if err := os.Truncate(path, 0); err != nil { // the failed open may have sized it
				t.Fatal(err)
			}
			log, buf := logBuffer()
			if err := Prepare(dir, log); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the empty %s is still there (%v)", name, err)
			}
			if !strings.Contains(buf.String(), "removed an empty log file") {
				t.Errorf("no warning: %q", buf)
			}
			if n := countKeys(t, dir); n != testKeys {
				t.Fatalf("%d keys after Prepare, want %d", n, testKeys)
			}
		})
	}
	dir := t.TempDir() // no table yet: the crash came at the first start
	if err := os.WriteFile(filepath.Join(dir, "000001.vlog"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(dir, nil); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, dir); n != 0 {
		t.Fatalf("%d keys in a new store", n)
	}
}

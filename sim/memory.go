package sim

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// TuneGC trades memory for speed the way a long simulation wants, unless
// the user chose with the GOGC or GOMEMLIMIT environment variables: the
// garbage collector runs when the heap has grown 4× since the last
// collection (not 2×), which halves the time a large run spends collecting,
// and a soft memory limit of three quarters of the machine's memory makes
// it collect sooner rather than run out. It returns a note saying what it
// set, for logs. The simulator's command and its benchmarks call it; the
// sim package itself never does.
func TuneGC() string {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return "GC settings from the environment"
	}
	debug.SetGCPercent(400)
	note := "GOGC=400"
	if total := physicalMemory(); total > 0 {
		limit := total / 4 * 3
		debug.SetMemoryLimit(limit)
		note += ", GOMEMLIMIT=" + strconv.FormatInt(limit>>20, 10) + "MiB"
	}
	return note
}

// physicalMemory reads MemTotal from /proc/meminfo; 0 if unknown.
func physicalMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

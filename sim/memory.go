package sim

import (
	"bufio"
	"os"
	"path"
	"strconv"
	"strings"
)

// physicalMemory is the memory this process may use: the machine's
// (MemTotal in /proc/meminfo), or less when a memory cgroup limits it, as
// in a container. 0 if unknown.
func physicalMemory() int64 {
	total := memTotal("/proc/meminfo")
	if lim := cgroupMemoryLimit("/proc/self/cgroup", "/sys/fs/cgroup"); lim > 0 && (total == 0 || lim < total) {
		return lim
	}
	return total
}

// memTotal reads MemTotal from a meminfo file; 0 if unknown.
func memTotal(meminfo string) int64 {
	f, err := os.Open(meminfo)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil || kb <= 0 {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupMemoryLimit returns the tightest memory limit on this process's
// cgroup and its ancestors, read under mount (cgroup v2's memory.max, or
// v1's memory/…/memory.limit_in_bytes), as /proc/self/cgroup (the file
// procCgroup) places it; 0 when there is none or it cannot be read. Inside
// a cgroup namespace the path is "/", and the files at the mount's root
// are the container's own.
func cgroupMemoryLimit(procCgroup, mount string) int64 {
	data, err := os.ReadFile(procCgroup)
	if err != nil {
		return 0
	}
	var best int64
	tighter := func(file string) {
		if v := readLimit(file); v > 0 && (best == 0 || v < best) {
			best = v
		}
	}
	for line := range strings.Lines(string(data)) {
		// hierarchy-ID:controllers:path
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			continue
		}
		var root, file string
		switch {
		case f[0] == "0" && f[1] == "": // v2
			root, file = mount, "memory.max"
		case hasController(f[1], "memory"): // v1
			root, file = path.Join(mount, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		for dir := path.Clean(f[2]); ; dir = path.Dir(dir) {
			tighter(path.Join(root, dir, file))
			if dir == "/" {
				break
			}
		}
	}
	return best
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readLimit reads a cgroup limit file: a byte count, or "max" (none: 0).
// v1 writes no limit as a huge number, which the caller's comparison with
// the machine's memory discards.
func readLimit(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v <= 0 {
		return 0
	}
	return v
}

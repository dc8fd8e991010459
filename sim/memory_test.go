package sim

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The memory a study budgets for is the tightest cgroup limit on the
// process's group or its ancestors, v1 or v2, and none when the files say
// "max", are missing or are not numbers.
func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		self  string
		files map[string]string
		want  int64
	}{
		{"v2 own group", "0::/box/job\n", map[string]string{
			"box/job/memory.max": "4294967296\n", "box/memory.max": "max\n"}, 4 << 30},
		{"v2 parent tighter", "0::/box/job\n", map[string]string{
			"box/job/memory.max": "max\n", "box/memory.max": "1073741824\n"}, 1 << 30},
		{"v2 namespace root", "0::/\n", map[string]string{"memory.max": "2147483648\n"}, 2 << 30},
		{"v2 no limit", "0::/box\n", map[string]string{"box/memory.max": "max\n"}, 0},
		{"v1 memory controller", "4:memory:/pa/x\n3:cpu,cpuacct:/\n", map[string]string{
			"memory/pa/x/memory.limit_in_bytes": "3221225472\n",
			"memory/memory.limit_in_bytes":      "9223372036854771712\n"}, 3 << 30},
		{"v1 shared with another controller", "4:cpu,memory:/y\n", map[string]string{
			"memory/y/memory.limit_in_bytes": "536870912\n"}, 512 << 20},
		{"v1 other controllers only", "3:cpu:/y\n", map[string]string{
			"memory/y/memory.limit_in_bytes": "536870912\n"}, 0},
		{"garbage", "0::/z\nnot a line\n", map[string]string{"z/memory.max": "lots\n"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mount := filepath.Join(dir, "cg")
			writeFiles(t, mount, tc.files)
			writeFiles(t, dir, map[string]string{"self": tc.self})
			if got := cgroupMemoryLimit(filepath.Join(dir, "self"), mount); got != tc.want {
				t.Fatalf("limit %d, want %d", got, tc.want)
			}
		})
	}
	if got := cgroupMemoryLimit(filepath.Join(t.TempDir(), "missing"), "/nonexistent"); got != 0 {
		t.Fatalf("no cgroup file: limit %d", got)
	}
}

func TestMemTotal(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ok":  "MemFree: 5 kB\nMemTotal:       24683744 kB\n",
		"bad": "MemTotal: many kB\n",
	})
	if got := memTotal(filepath.Join(dir, "ok")); got != 24683744<<10 {
		t.Fatalf("MemTotal %d", got)
	}
	for _, f := range []string{"bad", "missing"} {
		if got := memTotal(filepath.Join(dir, f)); got != 0 {
			t.Fatalf("%s: MemTotal %d, want 0", f, got)
		}
	}
}

package memlimit

import (
	"testing"
	"testing/fstest"
)

func TestCgroup(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		limit int64
		ok    bool
		err   bool
	}{
		{"v2 limit", map[string]string{"sys/fs/cgroup/memory.max": "1073741824\n"}, 1 << 30, true, false},
		{"v2 unlimited", map[string]string{"sys/fs/cgroup/memory.max": "max\n"}, 0, false, false},
		{"v1 limit", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n"}, 512 << 20, true, false},
		{"v1 unlimited", map[string]string{"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false, false},
		{"no cgroup", map[string]string{}, 0, false, false},
		{"garbage", map[string]string{"sys/fs/cgroup/memory.max": "lots"}, 0, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := fstest.MapFS{}
			for name, data := range tc.files {
				root[name] = &fstest.MapFile{Data: []byte(data)}
			}
			limit, ok, err := Cgroup(root)
			if limit != tc.limit || ok != tc.ok || (err != nil) != tc.err {
				t.Fatalf("Cgroup = %d, %v, %v; want %d, %v, error %v", limit, ok, err, tc.limit, tc.ok, tc.err)
			}
		})
	}
}

func TestApplyLeavesGOMEMLIMITAlone(t *testing.T) {
	if got, err := Apply(func(k string) string { return map[string]string{"GOMEMLIMIT": "100MiB"}[k] }); got != 0 || err != nil {
		t.Fatalf("Apply with GOMEMLIMIT set = %d, %v; want 0, nil", got, err)
	}
}

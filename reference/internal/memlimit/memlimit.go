// Package memlimit gives the Go runtime a soft memory limit below the container's (cgroup)
// limit, so the collector works harder as the heap nears it instead of letting garbage grow
// until the kernel kills the process. GOMEMLIMIT, when set, wins: the runtime already read it.
package memlimit

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Share is the part of the cgroup limit given to the Go heap; the rest covers stacks, the
// runtime's own memory and what the kernel charges for sockets and page cache.
const Share = 0.8

// cgroupFiles are where cgroup v2 and v1 publish a memory limit, relative to the root.
var cgroupFiles = []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"}

// Cgroup reads the memory limit of the process's cgroup from root (a file system rooted at
// "/"); ok is false when there is none ("max", or v1's near-2^63 "unlimited").
func Cgroup(root fs.FS) (limit int64, ok bool, err error) {
	for _, name := range cgroupFiles {
		b, err := fs.ReadFile(root, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false, errors.New(name + ": not a byte count: " + s)
		}
		if n <= 0 || n >= math.MaxInt64/2 {
			return 0, false, nil
		}
		return n, true, nil
	}
	return 0, false, nil
}

// Apply sets the runtime's soft limit to Share of the cgroup limit unless GOMEMLIMIT is set;
// it returns the limit set (0 when none).
func Apply(getenv func(string) string) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, ok, err := Cgroup(os.DirFS("/"))
	if err != nil || !ok {
		return 0, err
	}
	soft := int64(float64(limit) * Share)
	debug.SetMemoryLimit(soft)
	return soft, nil
}

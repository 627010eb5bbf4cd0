package storage

import "sort"

// entryKey names one Pulsar entry (a stored batch) of a partition topic.
type entryKey struct{ ledger, entry int64 }

func (a entryKey) less(b entryKey) bool {
	return a.ledger < b.ledger || a.ledger == b.ledger && a.entry < b.entry
}

// point says that the entry at pos starts at offset.
type point struct {
	offset int64
	pos    entryKey
}

// sparseIndex maps offsets to entry positions so a fetch at an arbitrary offset starts near it
// instead of scanning from the beginning. It is bounded: when full, every other point is
// dropped, so the gaps grow but the memory does not.
type sparseIndex struct {
	points []point // sorted by offset (and so by position)
	max    int
}

func newSparseIndex(max int) *sparseIndex { return &sparseIndex{max: max} }

func (x *sparseIndex) add(p point) {
	n := len(x.points)
	i := sort.Search(n, func(i int) bool { return x.points[i].offset >= p.offset })
	if i < n && x.points[i].offset == p.offset {
		return
	}
	if i == n {
		x.points = append(x.points, p)
	} else {
		x.points = append(x.points, point{})
		copy(x.points[i+1:], x.points[i:])
		x.points[i] = p
	}
	if len(x.points) > x.max {
		kept := x.points[:0]
		for j := range x.points {
			// Keep the last point: it is the freshest and the most used.
			if j%2 == 0 || j == len(x.points)-1 {
				kept = append(kept, x.points[j])
			}
		}
		x.points = kept
	}
}

// floor returns the point with the greatest offset <= off.
func (x *sparseIndex) floor(off int64) (point, bool) {
	i := sort.Search(len(x.points), func(i int) bool { return x.points[i].offset > off })
	if i == 0 {
		return point{}, false
	}
	return x.points[i-1], true
}

// ceil returns the point with the least offset > off.
func (x *sparseIndex) ceil(off int64) (point, bool) {
	i := sort.Search(len(x.points), func(i int) bool { return x.points[i].offset > off })
	if i == len(x.points) {
		return point{}, false
	}
	return x.points[i], true
}

// thin keeps at most n points, evenly spread, the last one always.
func (x *sparseIndex) thin(n int) {
	if len(x.points) <= n || n < 2 {
		return
	}
	step := (len(x.points) + n - 2) / (n - 1)
	kept := make([]point, 0, n)
	for j := 0; j < len(x.points)-1; j += step {
		kept = append(kept, x.points[j])
	}
	x.points = append(kept, x.points[len(x.points)-1])
}

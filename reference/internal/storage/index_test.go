package storage

import "testing"

func TestSparseIndexFloorAndBound(t *testing.T) {
	x := newSparseIndex(8)
	for i := int64(0); i < 100; i++ {
		x.add(point{offset: i * 10, pos: entryKey{1, i}})
	}
	if len(x.points) > 8 {
		t.Fatalf("index grew to %d points, bound is 8", len(x.points))
	}
	cases := []struct {
		off    int64
		ok     bool
		atMost int64
	}{{-1, false, 0}, {0, true, 0}, {995, true, 995}, {10_000, true, 990}}
	for _, c := range cases {
		p, ok := x.floor(c.off)
		if ok != c.ok {
			t.Fatalf("floor(%d) ok=%v, want %v", c.off, ok, c.ok)
		}
		if ok && (p.offset > c.off || p.offset > c.atMost) {
			t.Fatalf("floor(%d) = %d, want <= %d", c.off, p.offset, c.atMost)
		}
	}
	if p, _ := x.floor(10_000); p.offset != 990 {
		t.Fatalf("the newest point must survive thinning, got %d", p.offset)
	}
}

func TestSparseIndexOutOfOrderInsert(t *testing.T) {
	x := newSparseIndex(100)
	for _, o := range []int64{50, 10, 30, 10, 70} {
		x.add(point{offset: o})
	}
	want := []int64{10, 30, 50, 70}
	if len(x.points) != len(want) {
		t.Fatalf("got %d points, want %d", len(x.points), len(want))
	}
	for i, o := range want {
		if x.points[i].offset != o {
			t.Fatalf("point %d = %d, want %d", i, x.points[i].offset, o)
		}
	}
}

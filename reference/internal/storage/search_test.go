package storage

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

// fakeTopic is a topic's entries with their first offsets, as Pulsar would hand them out:
// ledgers of uneven sizes (one empty, as a freshly rolled ledger is), entries of 1-50 records.
type fakeTopic struct {
	ledgers []Ledger
	first   []int64 // first offset of entry number n
	end     int64   // high watermark
}

func newFakeTopic(seed int64, ledgerSizes []int64, logStart int64) fakeTopic {
	r := rand.New(rand.NewSource(seed))
	t := fakeTopic{end: logStart}
	for i, n := range ledgerSizes {
		t.ledgers = append(t.ledgers, Ledger{ID: int64(10 + 3*i), Entries: n})
		for e := int64(0); e < n; e++ {
			t.first = append(t.first, t.end)
			t.end += 1 + r.Int63n(50)
		}
	}
	return t
}

// want is the entry a linear scan would stop at: the last whose first offset is <= target.
func (t fakeTopic) want(target int64) int64 {
	n := sort.Search(len(t.first), func(i int) bool { return t.first[i] > target }) - 1
	if n < 0 {
		return 0
	}
	return int64(n)
}

func TestEntryListNumbersAcrossLedgers(t *testing.T) {
	l := newEntryList([]Ledger{{ID: 5, Entries: 3}, {ID: 7, Entries: 0}, {ID: 9, Entries: 2}})
	if l.total != 5 {
		t.Fatalf("total = %d, want 5", l.total)
	}
	for n, want := range []entryKey{{5, 0}, {5, 1}, {5, 2}, {9, 0}, {9, 1}} {
		if got := l.at(int64(n)); got != want {
			t.Fatalf("at(%d) = %v, want %v", n, got, want)
		}
		if got, ok := l.number(want); !ok || got != int64(n) {
			t.Fatalf("number(%v) = %d, %v; want %d", want, got, ok, n)
		}
	}
	for _, ek := range []entryKey{{7, 0}, {5, 3}, {9, -1}, {11, 0}, {1, 0}} {
		if _, ok := l.number(ek); ok {
			t.Fatalf("number(%v) found a position the topic does not have", ek)
		}
	}
}

func TestBisectFindsTheEntryHoldingAnOffset(t *testing.T) {
	topics := []struct {
		name     string
		sizes    []int64
		logStart int64
	}{
		{"one entry", []int64{1}, 0},
		{"one ledger", []int64{1000}, 0},
		{"rolled ledgers", []int64{700, 0, 1, 5000, 33}, 0},
		{"trimmed start", []int64{250, 250}, 1_000_000},
	}
	for _, tc := range topics {
		t.Run(tc.name, func(t *testing.T) {
			ft := newFakeTopic(int64(len(tc.sizes)), tc.sizes, tc.logStart)
			n := int64(len(ft.first))
			limit := int(math.Ceil(math.Log2(float64(n))))
			targets := []int64{tc.logStart - 1, tc.logStart, ft.end - 1, ft.end + 10}
			for i := 0; i < 200; i++ {
				targets = append(targets, tc.logStart+rand.Int63n(ft.end-tc.logStart))
			}
			for _, e := range []int64{0, n / 2, n - 1} {
				targets = append(targets, ft.first[e], ft.first[e]-1, ft.first[e]+1)
			}
			for _, target := range targets {
				probes := 0
				got, err := bisect(0, n, target, func(e int64) (int64, error) {
					probes++
					return ft.first[e], nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if want := ft.want(target); got != want {
					t.Fatalf("offset %d: entry %d, want %d", target, got, want)
				}
				if probes > limit {
					t.Fatalf("offset %d: %d probes over %d entries, want at most %d", target, probes, n, limit)
				}
			}
		})
	}
}

func TestBisectWithinKnownBounds(t *testing.T) {
	ft := newFakeTopic(7, []int64{10_000}, 0)
	// The index already knows entries 4000 and 4100: only the 100 between are searched.
	target := ft.first[4050] + 1
	probes := 0
	got, err := bisect(4000, 4100, target, func(e int64) (int64, error) {
		if e <= 4000 || e >= 4100 {
			t.Fatalf("probed entry %d outside the known bounds", e)
		}
		probes++
		return ft.first[e], nil
	})
	if err != nil || got != 4050 {
		t.Fatalf("got entry %d (%v), want 4050", got, err)
	}
	if probes > 7 {
		t.Fatalf("%d probes for 100 entries", probes)
	}
}

func TestSparseIndexCeil(t *testing.T) {
	x := newSparseIndex(16)
	for _, o := range []int64{10, 20, 30} {
		x.add(point{offset: o})
	}
	for _, c := range []struct {
		off  int64
		want int64
		ok   bool
	}{{5, 10, true}, {10, 20, true}, {29, 30, true}, {30, 0, false}} {
		p, ok := x.ceil(c.off)
		if ok != c.ok || ok && p.offset != c.want {
			t.Fatalf("ceil(%d) = %d, %v; want %d, %v", c.off, p.offset, ok, c.want, c.ok)
		}
	}
}

// BenchmarkLocate compares the entries read to position a fetch at a random offset of a
// million-entry topic with no index points (a restarted gateway): bisecting versus reading
// forward from the first entry, as the partition did before it could list ledgers.
func BenchmarkLocate(b *testing.B) {
	ft := newFakeTopic(1, []int64{50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000,
		50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000, 50_000}, 0)
	n := int64(len(ft.first))
	r := rand.New(rand.NewSource(2))
	b.Run("bisect", func(b *testing.B) {
		reads := 0
		for i := 0; i < b.N; i++ {
			target := r.Int63n(ft.end)
			if _, err := bisect(0, n, target, func(e int64) (int64, error) { reads++; return ft.first[e], nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(reads)/float64(b.N), "entries-read/op")
	})
	b.Run("read-forward", func(b *testing.B) {
		reads := 0
		for i := 0; i < b.N; i++ {
			target := r.Int63n(ft.end)
			for e := int64(0); e < n && ft.first[e] <= target; e++ {
				reads++
			}
		}
		b.ReportMetric(float64(reads)/float64(b.N), "entries-read/op")
	})
}

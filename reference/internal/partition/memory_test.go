package partition

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

func recs(ts ...int64) []records.Record {
	out := make([]records.Record, len(ts))
	for i, t := range ts {
		out[i] = records.Record{Timestamp: t, Value: []byte{byte(i)}}
	}
	return out
}

// offsets flattens what Read returned, one slice per batch.
func offsets(bs []Batch) [][]int64 {
	var out [][]int64
	for _, b := range bs {
		var o []int64
		for _, r := range b.Records {
			o = append(o, r.Offset)
		}
		out = append(out, o)
	}
	return out
}

func TestMemoryOffsets(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	l, _ := m.Partition(TP{"t", 0})
	changed := l.Changed()
	if base, _ := l.Append(ctx, recs(10, 20, 30), nil); base != 0 {
		t.Fatalf("first base %d", base)
	}
	select {
	case <-changed:
	default:
		t.Fatal("an append must close the change channel taken before it")
	}
	if base, _ := l.Append(ctx, recs(40, 50), nil); base != 3 {
		t.Fatalf("second base %d, want 3: offsets are continuous", base)
	}
	size := (&records.Record{Value: []byte{0}}).Size()
	cases := []struct {
		name     string
		offset   int64
		maxBytes int
		want     [][]int64
	}{
		{"everything, one batch per append", 0, 1 << 20, [][]int64{{0, 1, 2}, {3, 4}}},
		{"from the middle of a batch", 1, 1 << 20, [][]int64{{1, 2}, {3, 4}}},
		{"a limit stops inside a batch", 0, 4 * size, [][]int64{{0, 1, 2}, {3}}},
		{"the first record even when larger than the limit", 2, 1, [][]int64{{2}}},
		{"at the high watermark", 5, 1 << 20, nil},
	}
	for _, tc := range cases {
		got, err := l.Read(ctx, tc.offset, tc.maxBytes)
		if err != nil || !reflect.DeepEqual(offsets(got), tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, offsets(got), err, tc.want)
		}
	}

	if err := l.DeleteBefore(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ls, _ := l.LogStart(ctx)
	off, ts, _ := l.OffsetForTimestamp(ctx, 0)
	if ls != 2 || off != 2 || ts != 30 {
		t.Fatalf("after DeleteBefore(2): log start %d, earliest by time %d@%d; want 2, 2@30", ls, off, ts)
	}
	if off, ts, _ := l.OffsetForTimestamp(ctx, 41); off != 4 || ts != 50 {
		t.Fatalf("by time 41: %d@%d, want 4@50", off, ts)
	}
	if off, ts, _ := l.OffsetForTimestamp(ctx, 51); off != -1 || ts != -1 {
		t.Fatalf("by time 51: %d@%d, want -1@-1", off, ts)
	}

	// A deleted topic comes back empty; its log starts are gone once forgotten.
	m.Forget("t")
	if err := m.ForgetLogStarts(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	l, _ = m.Partition(TP{"t", 0})
	if base, _ := l.Append(ctx, recs(1), nil); base != 0 {
		t.Fatalf("recreated topic starts at %d", base)
	}
	if ls, _ := l.LogStart(ctx); ls != 0 {
		t.Fatalf("recreated topic's log start %d", ls)
	}
}

func TestMemoryFails(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	l, _ := m.Partition(TP{"t", 0})
	down := errors.New("down")
	m.Fail(down)
	if _, err := m.Partition(TP{"t", 0}); !errors.Is(err, down) {
		t.Errorf("Partition: %v", err)
	}
	if _, err := l.Append(ctx, recs(1), nil); !errors.Is(err, down) {
		t.Errorf("Append: %v", err)
	}
	if _, err := l.HighWatermark(ctx); !errors.Is(err, down) {
		t.Errorf("HighWatermark: %v", err)
	}
	m.Fail(nil)
	if _, err := l.Append(ctx, recs(1), nil); err != nil {
		t.Errorf("healed: %v", err)
	}
}

// A batch whose write failed gets the Broken chain, and one that names it as the chain it
// follows is refused with nothing stored.
func TestMemoryBrokenChain(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	l, _ := m.Partition(TP{"t", 0})
	m.Fail(errors.New("down"))
	wait, chain, err := l.Begin(ctx, Write{Records: recs(1)})
	if err != nil || chain != Broken {
		t.Fatalf("Begin while down: chain %d, %v; want Broken and the failure in the wait", chain, err)
	}
	if _, err := wait(); err == nil {
		t.Fatal("the failed write's wait succeeded")
	}
	m.Fail(nil)
	if _, _, err := l.Begin(ctx, Write{Records: recs(1), After: chain}); !errors.Is(err, ErrChainBroken) {
		t.Fatalf("a batch following the failed one: %v, want ErrChainBroken", err)
	}
	if hwm, _ := l.HighWatermark(ctx); hwm != 0 {
		t.Fatalf("high watermark %d: the refused batch was stored", hwm)
	}
}

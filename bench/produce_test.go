package bench

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gauge counts records held and the most held at once, over every sender sharing it.
type gauge struct{ held, most atomic.Int64 }

func (g *gauge) add(d int64) {
	h := g.held.Add(d)
	for m := g.most.Load(); h > m && !g.most.CompareAndSwap(m, h); m = g.most.Load() {
	}
}

// fakeSender acknowledges each record after delay (failing every failEvery-th).
type fakeSender struct {
	delay     time.Duration
	failEvery int64
	n         atomic.Int64
	held      *gauge
	mu        sync.Mutex
	stamps    []time.Time
}

func (f *fakeSender) send(_ context.Context, v []byte, done func(error)) {
	n := f.n.Add(1)
	if f.held == nil {
		f.held = &gauge{}
	}
	f.held.add(1)
	f.mu.Lock()
	f.stamps = append(f.stamps, stamp(v))
	f.mu.Unlock()
	time.AfterFunc(f.delay, func() {
		f.held.add(-1)
		if f.failEvery > 0 && n%f.failEvery == 0 {
			done(errors.New("refused"))
			return
		}
		done(nil)
	})
}

func (f *fakeSender) close() {}

func TestFlatKeepsToTheWindowAndTimesEachRecord(t *testing.T) {
	g := &gauge{}
	a, b := &fakeSender{delay: 5 * time.Millisecond, held: g}, &fakeSender{delay: 5 * time.Millisecond, failEvery: 10, held: g}
	p := &producer{senders: []sender{a, b}, window: newWindow(8, 1<<20), values: newPayloads(1024, 8), start: time.Now(), duration: 300 * time.Millisecond}
	out := p.run(context.Background())
	if got := g.most.Load(); got > 8 {
		t.Errorf("held %d records at once, window 8", got)
	}
	sent := a.n.Load() + b.n.Load()
	if out.records+out.failed != sent || out.failed != b.n.Load()/10 || out.err == nil {
		t.Fatalf("sent %d, acknowledged %d, failed %d (err %v)", sent, out.records, out.failed, out.err)
	}
	// 8 in flight, 5 ms each: about 1,600 records a second, so some 480 in 300 ms.
	if out.records < 100 || out.bytes != out.records*1024 {
		t.Fatalf("%d records, %d bytes", out.records, out.bytes)
	}
	if p50 := out.publish.Quantile(0.5); p50 < 5*time.Millisecond || p50 > 50*time.Millisecond {
		t.Errorf("publish p50 %v, the fake takes 5 ms", p50)
	}
	if s := out.seconds(); s < 0.3 || s > 1 {
		t.Errorf("%.3f s from first send to last acknowledgement", s)
	}
}

func TestPacedKeepsTheRateAndCountsStalls(t *testing.T) {
	f := &fakeSender{delay: time.Millisecond}
	start := time.Now()
	p := &producer{senders: []sender{f}, window: newWindow(100, 1<<20), values: newPayloads(100, 100), start: start, duration: 500 * time.Millisecond, rate: 1000}
	out := p.run(context.Background())
	if out.records != 500 || out.behind != 0 {
		t.Fatalf("1,000/s for 0.5 s: %d records, %d behind", out.records, out.behind)
	}
	// Every value carries the time it was due (or the pacer woke), never before it was due;
	// how much later depends on the scheduler (a loaded machine wakes the pacer late).
	for k, st := range f.stamps {
		due := start.Add(time.Duration(k) * time.Millisecond)
		if st.Before(due) || st.Sub(due) > time.Second {
			t.Fatalf("record %d stamped %v after its due time", k, st.Sub(due))
		}
	}
	if p99 := out.publish.Quantile(0.99); p99 > 500*time.Millisecond {
		t.Errorf("publish p99 %v with a 1 ms fake", p99)
	}

	// A path that holds each record for 100 ms behind a window of 5 falls behind: records
	// wait for the window, and the wait counts.
	slow := &fakeSender{delay: 100 * time.Millisecond}
	p = &producer{senders: []sender{slow}, window: newWindow(5, 1<<20), values: newPayloads(100, 5), start: time.Now(), duration: 300 * time.Millisecond, rate: 1000}
	out = p.run(context.Background())
	if out.behind == 0 || out.records > 200 {
		t.Fatalf("a 50/s path asked for 1,000/s: %d records, %d behind", out.records, out.behind)
	}
	if p50 := out.publish.Quantile(0.5); p50 < 200*time.Millisecond {
		t.Errorf("publish p50 %v: the window's wait must count", p50)
	}
}

func TestSettleLeavesTheFirstRecordsUntimed(t *testing.T) {
	f := &fakeSender{delay: time.Millisecond}
	p := &producer{senders: []sender{f}, window: newWindow(10, 1<<20), values: newPayloads(100, 10), start: time.Now(), duration: 400 * time.Millisecond, rate: 100, settle: 200 * time.Millisecond}
	out := p.run(context.Background())
	// Records due from 200 ms on are timed; one due earlier is timed only if the pacer woke
	// for it after 200 ms (a loaded machine).
	if n := out.publish.Count(); out.records != 40 || n < 20 || n >= 40 {
		t.Fatalf("%d records, %d timed; want 40 and the last 20 or a few more", out.records, n)
	}
}

func TestFlatSendsAtLeastOneRecordPerSender(t *testing.T) {
	a, b := &fakeSender{delay: time.Millisecond}, &fakeSender{delay: time.Millisecond}
	// A round whose time was up before its goroutines ran.
	p := &producer{senders: []sender{a, b}, window: newWindow(8, 1<<20), values: newPayloads(100, 8), start: time.Now().Add(-time.Second), duration: time.Millisecond}
	if out := p.run(context.Background()); out.records != 2 || a.n.Load() != 1 || b.n.Load() != 1 {
		t.Fatalf("%d records (%d, %d sent), want one per sender", out.records, a.n.Load(), b.n.Load())
	}
}

func TestWindowTakesLargeRecordsWhole(t *testing.T) {
	w := newWindow(10, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if !w.acquire(ctx, 5000) {
		t.Fatal("a record larger than the window must still go, alone")
	}
	if w.acquire(ctx, 1) {
		t.Fatal("nothing fits beside it")
	}
	w.release(5000)
	if !w.acquire(context.Background(), 600) || !w.acquire(context.Background(), 400) {
		t.Fatal("released bytes must be usable again")
	}
}

func TestPayloads(t *testing.T) {
	p := newPayloads(1024, 2)
	at := time.Unix(1_800_000_000, 123)
	v := p.get(at)
	if len(v) != 1024 || !stamp(v).Equal(at) {
		t.Fatalf("%d bytes stamped %v", len(v), stamp(v))
	}
	p.put(v)
	if w := p.get(at.Add(time.Second)); &w[0] != &v[0] || !stamp(w).Equal(at.Add(time.Second)) {
		t.Fatal("a returned buffer is reused and stamped again")
	}
	if !stamp([]byte{1}).IsZero() {
		t.Fatal("a value too short carries no stamp")
	}
}

func TestPrime(t *testing.T) {
	if err := prime(context.Background(), &fakeSender{delay: time.Millisecond}, newPayloads(100, 1)); err != nil {
		t.Fatal(err)
	}
	if err := prime(context.Background(), &fakeSender{delay: time.Millisecond, failEvery: 1}, newPayloads(100, 1)); err == nil {
		t.Fatal("a refused priming record is an error")
	}
}

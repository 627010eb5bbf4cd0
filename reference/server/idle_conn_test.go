package server

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/wiretap"
)

// memSample is what the process holds: heap spans in use, goroutine stacks, goroutines.
type memSample struct {
	heap, stack uint64
	goroutines  int
}

func sampleMem() memSample {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{heap: m.HeapInuse, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// collected is the sample after two collections (the second empties sync.Pool's victim cache).
func collected() memSample {
	runtime.GC()
	runtime.GC()
	return sampleMem()
}

// firstStep is what each connection sends, and what must come back, in one step of
// firstRequests.
type firstStep struct {
	req   func(i int) kmsg.Request
	check func(t *testing.T, i int, resp kmsg.Response)
}

// firstRequests sends on every connection at once what the load suite's clients send first:
// ApiVersions, Metadata for all topics, a one-record Produce (acks all) and a Fetch of that
// record, one step at a time, reading every answer before the next step. The server serves the
// connections concurrently; the test runs no goroutine per connection.
func firstRequests(t *testing.T, conns []net.Conn) {
	offsets := make([]int64, len(conns))
	value := string(make([]byte, 100))
	steps := []firstStep{
		{func(int) kmsg.Request {
			req := kmsg.NewPtrApiVersionsRequest()
			req.ClientSoftwareName, req.ClientSoftwareVersion = "kop-load", "1"
			return req
		}, func(t *testing.T, _ int, r kmsg.Response) {
			wantCode(t, "ApiVersions", r.(*kmsg.ApiVersionsResponse).ErrorCode, nil)
		}},
		{func(int) kmsg.Request { return metadataReq() }, func(t *testing.T, _ int, r kmsg.Response) {
			if got := len(r.(*kmsg.MetadataResponse).Topics); got != 1 {
				t.Fatalf("Metadata: %d topics", got)
			}
		}},
		{func(int) kmsg.Request { return produceReq(topic, 0, -1, batchOf(value).encode(t)) }, func(t *testing.T, i int, r kmsg.Response) {
			p := produced(r)
			wantCode(t, "Produce", p.ErrorCode, nil)
			offsets[i] = p.BaseOffset
		}},
		{func(i int) kmsg.Request {
			req := fetchReq(topic, 0, offsets[i])
			req.MaxWaitMillis, req.SessionEpoch = 500, -1
			// The record just written, and few after it: with collections off, the test's
			// garbage must stay small.
			req.MaxBytes, req.Topics[0].Partitions[0].PartitionMaxBytes = 1<<10, 1<<10
			return req
		}, func(t *testing.T, _ int, r kmsg.Response) {
			if p := fetched(r); p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
				t.Fatalf("Fetch: %v, %d bytes", p.ErrorCode, len(p.RecordBatches))
			}
		}},
	}
	for s, step := range steps {
		corr := int32(s + 1)
		var key int16
		for i, c := range conns {
			req := step.req(i)
			key = req.Key()
			if _, err := c.Write(requestFrame(fmt.Sprintf("load-client-%d", i), corr, req)); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range conns {
			step.check(t, i, readAnswer(t, c, key, corr))
		}
	}
}

// loadVersions are the versions the load suite's clients send.
var loadVersions = map[int16]int16{
	kmsg.ApiVersions.Int16(): 3, kmsg.Metadata.Int16(): 7, kmsg.Produce.Int16(): 7, kmsg.Fetch.Int16(): 11,
}

// requestFrame is req at the load suite's version, from clientID.
func requestFrame(clientID string, corr int32, req kmsg.Request) []byte {
	v := loadVersions[req.Key()]
	req.SetVersion(v)
	b := kbin.AppendInt16(nil, req.Key())
	b = kbin.AppendInt16(b, v)
	b = kbin.AppendInt32(b, corr)
	b = kbin.AppendNullableString(b, &clientID)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	return append(kbin.AppendInt32(nil, int32(len(b))), b...)
}

// readAnswer reads the response to the request of API key sent with corr, without a buffered
// reader: the test's own memory per connection is part of what it measures.
func readAnswer(t *testing.T, c net.Conn, key int16, corr int32) kmsg.Response {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("reading the response to %s: %v", kmsg.NameForKey(key), err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if got := int32(binary.BigEndian.Uint32(buf)); got != corr {
		t.Fatalf("correlation id %d, want %d", got, corr)
	}
	body := buf[4:]
	resp := kmsg.ResponseForKey(key)
	resp.SetVersion(loadVersions[key])
	if resp.IsFlexible() && key != kmsg.ApiVersions.Int16() {
		body = body[1:] // the response header's empty tag section
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decoding %s: %v", kmsg.NameForKey(key), err)
	}
	return resp
}

// dialAll opens n connections to addr, each with a deadline generous enough for a slow machine.
func dialAll(t *testing.T, addr string, n int) []net.Conn {
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Minute))
		conns = append(conns, c)
	}
	return conns
}

// perConn is the growth from before to after, per connection.
func perConn(before, after uint64, n int) int64 { return (int64(after) - int64(before)) / int64(n) }

// deepCall uses about n bytes of stack, as serving a request can (Pulsar's client, a codec).
//
//go:noinline
func deepCall(n int) byte {
	var frame [1 << 10]byte
	frame[n%len(frame)] = byte(n)
	if n <= len(frame) {
		return frame[0]
	}
	return deepCall(n-len(frame)) + frame[n%len(frame)]
}

// An idle connection that has served a client's first requests (ApiVersions, Metadata, a
// one-record Produce and a Fetch, as the load suite's clients do, all at once) costs little:
// its goroutine's small stack, however deep serving went, its socket and a few small
// structures. Collections are off while the clients are served (a gateway with a large heap
// collects seldom, an idle one hardly ever), so stacks are as serving left them and the heap
// holds all that serving allocated: a connection waiting on Pulsar grows it by no buffer. The
// idle connections' heap is read after two collections. The wire tap is on, as in the load
// suite, and the test's own end of each connection counts too.
func TestIdleConnectionsAreCheap(t *testing.T) {
	const n = 500
	var (
		gated    atomic.Bool
		arrived  atomic.Int32
		inFlight memSample
		release  = make(chan struct{})
	)
	// While gated, appends go 40 KiB deep, then wait until every connection's Produce is in
	// flight, as they wait for Pulsar's acknowledgements when many clients connect at once.
	slowAppends := func(s *setup) {
		s.hooks.beforeAppend = func() {
			if !gated.Load() {
				return
			}
			deepCall(40 << 10)
			if arrived.Add(1) == n {
				inFlight = sampleMem()
				close(release)
			}
			<-release
		}
	}
	e := newEnv(t, withConfig(func(c *Config) { c.Tap = wiretap.New() }), slowAppends)
	// Pools, lazily built tables and the partition exist before the first measurement.
	firstRequests(t, dialAll(t, e.addr, 1))
	before := collected()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	conns := dialAll(t, e.addr, n)
	gated.Store(true)
	firstRequests(t, conns)
	idle := sampleMem()
	idle.heap = collected().heap

	heap, stack := perConn(before.heap, inFlight.heap, n), perConn(before.stack, inFlight.stack, n)
	t.Logf("%d connections waiting on Produce, each: %d bytes (heap %d, stack %d, no collection yet)", n, heap+stack, heap, stack)
	if heap > 24<<10 && !raceEnabled { // the race detector drops pooled buffers at random
		t.Errorf("a connection waiting on Produce grew the heap by %d bytes, want at most 24 KiB", heap)
	}
	heap, stack = perConn(before.heap, idle.heap, n), perConn(before.stack, idle.stack, n)
	goroutines := idle.goroutines - before.goroutines
	t.Logf("%d idle connections, each: %d bytes (heap %d, stack %d), %.2f goroutines",
		n, heap+stack, heap, stack, float64(goroutines)/n)
	if heap+stack > 48<<10 {
		t.Errorf("an idle connection costs %d bytes, want at most 48 KiB", heap+stack)
	}
	if goroutines > n+5 {
		t.Errorf("%d idle connections run %d goroutines, want one each", n, goroutines)
	}
	runtime.KeepAlive(conns)
}

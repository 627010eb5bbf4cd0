package pulsarwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
)

// fakeBroker speaks the broker's side of what a producer needs. Receipts are sent by the
// test (ack), so it decides when entries are acknowledged.
type fakeBroker struct {
	t        *testing.T
	ln       net.Listener
	redirect string // when set, lookups are redirected there
	token    string // when set, CONNECT must carry it
	max      int    // when set, the max_message_size CONNECTED announces

	mu      sync.Mutex
	conns   []net.Conn
	entries []sent // in arrival order
	arrived chan struct{}
	pongs   int

	// The reader's side (reader_test.go).
	last      Position      // what GET_LAST_MESSAGE_ID answers
	lastBatch int           // and its batch index, when > 0
	subs      []subscribed  // in arrival order
	flows     chan flowed   // FLOW commands
	acks      chan Position // cumulative ACKs
	closed    chan uint64   // consumers the client closed
}

type sent struct {
	conn     net.Conn
	producer uint64
	seq      uint64
	meta     msg
	messages []decodedMessage
}

type decodedMessage struct {
	meta    msg
	payload string
}

func newBroker(t *testing.T) *fakeBroker {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{t: t, ln: ln, arrived: make(chan struct{}, 100),
		flows: make(chan flowed, 100), acks: make(chan Position, 100), closed: make(chan uint64, 100)}
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			go b.serve(c)
		}
	}()
	return b
}

func (b *fakeBroker) url() string { return "pulsar://" + b.ln.Addr().String() }

func (b *fakeBroker) send(c net.Conn, typ int, body []byte) {
	c.Write(simpleFrame(baseCommand(typ, body)))
}

func (b *fakeBroker) serve(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		total, size := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
		rest := make([]byte, total-4)
		if _, err := io.ReadFull(r, rest); err != nil {
			return
		}
		cmd, err := decodeCommand(rest[:size])
		if err != nil {
			b.t.Errorf("broker: %v", err)
			return
		}
		switch cmd.typ {
		case cmdConnect:
			if b.token != "" && (cmd.body.str(5) != "token" || string(cmd.body[3].bytes) != b.token) {
				b.send(c, cmdError, putString(putVarint(putVarint(nil, 1, 0), 2, 12), 3, "bad token"))
				continue
			}
			connected := putString(nil, 1, "fake")
			if b.max > 0 {
				connected = putVarint(connected, 3, uint64(b.max))
			}
			b.send(c, cmdConnected, connected)
		case cmdLookup:
			target := b.url()
			if b.redirect != "" {
				target = b.redirect
			}
			resp := putString(nil, 1, target)
			kind := uint64(1)
			if b.redirect != "" {
				kind = 0
			}
			resp = putVarint(resp, 3, kind)
			resp = putVarint(resp, 4, cmd.body.uint(2))
			b.send(c, cmdLookupResponse, resp)
		case cmdProducer:
			resp := putVarint(nil, 1, cmd.body.uint(3))
			resp = putString(resp, 2, "fake-producer")
			resp = putVarint(resp, 3, uint64(1<<64-1)) // last sequence id -1
			b.send(c, cmdProducerSuccess, resp)
		case cmdSend:
			b.entry(c, cmd, rest[size:])
		case cmdSubscribe, cmdFlow, cmdLastMessageID, cmdCloseConsumer, cmdAck:
			b.reader(c, cmd)
		case cmdPong:
			b.mu.Lock()
			b.pongs++
			b.mu.Unlock()
		}
	}
}

// entry checks a SEND's payload (magic, checksum, metadata, batch) and records it.
func (b *fakeBroker) entry(c net.Conn, cmd command, p []byte) {
	if len(p) < 10 || p[0] != 0x0e || p[1] != 0x01 {
		b.t.Errorf("send without the magic number")
		return
	}
	if sum := binary.BigEndian.Uint32(p[2:]); sum != crc32.Checksum(p[6:], crc32.MakeTable(crc32.Castagnoli)) {
		b.t.Errorf("send with a wrong checksum")
		return
	}
	n := binary.BigEndian.Uint32(p[6:])
	meta, err := decode(p[10 : 10+n])
	if err != nil {
		b.t.Errorf("metadata: %v", err)
		return
	}
	batch := p[10+n:]
	if meta.has(8) { // a Snappy block, as Pulsar's consumers decompress it
		raw, err := snappy.Decode(nil, batch)
		if err != nil || len(raw) != int(meta.uint(9)) {
			b.t.Errorf("snappy block: %d bytes (metadata says %d), %v", len(raw), meta.uint(9), err)
			return
		}
		batch = raw
	}
	var ms []decodedMessage
	for len(batch) > 0 {
		sz := binary.BigEndian.Uint32(batch)
		sm, err := decode(batch[4 : 4+sz])
		if err != nil {
			b.t.Errorf("message metadata: %v", err)
			return
		}
		batch = batch[4+sz:]
		pl := sm.uint(3)
		ms = append(ms, decodedMessage{meta: sm, payload: string(batch[:pl])})
		batch = batch[pl:]
	}
	b.mu.Lock()
	b.entries = append(b.entries, sent{conn: c, producer: cmd.body.uint(1), seq: cmd.body.uint(2), meta: meta, messages: ms})
	b.mu.Unlock()
	b.arrived <- struct{}{}
}

func (b *fakeBroker) at(i int) sent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.entries[i]
}

// ack sends the receipt of the i-th entry that arrived, at (ledger 7, entry i).
func (b *fakeBroker) ack(i int) {
	e := b.at(i)
	id := putVarint(putVarint(nil, 1, 7), 2, uint64(i))
	b.send(e.conn, cmdSendReceipt, putBytes(putVarint(putVarint(nil, 1, e.producer), 2, e.seq), 3, id))
}

func (b *fakeBroker) waitArrived(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-b.arrived:
		case <-time.After(5 * time.Second):
			t.Fatalf("fewer than %d entries arrived", n)
		}
	}
}

type result struct {
	i             int
	ledger, entry int64
	err           error
}

func entryOf(i int) *Entry {
	e := NewEntry(64)
	e.Add(&Message{Key: fmt.Sprint("key", i), HasKey: true, EventTime: 1000 + uint64(i),
		Properties: []Property{{"h", "v"}}, Payload: []byte(fmt.Sprint("first", i))})
	e.Add(&Message{Payload: []byte(fmt.Sprint("second", i))})
	return e
}

func producer(t *testing.T, url string, timeout time.Duration) (*Client, *Producer) {
	t.Helper()
	c, err := NewClient(url, "", timeout, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := c.Producer(ctx, "persistent://t/n/topic")
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

func sendAll(p *Producer, n int, results chan<- result) {
	for i := range n {
		p.Send(entryOf(i), func(l, e int64, err error) { results <- result{i, l, e, err} })
	}
}

func TestEntriesInFlightAreAcknowledgedInOrder(t *testing.T) {
	b := newBroker(t)
	_, p := producer(t, b.url(), 5*time.Second)
	results := make(chan result, 5)
	sendAll(p, 5, results)
	// All five reach the broker before any is acknowledged: none waited for the one before.
	b.waitArrived(t, 5)
	select {
	case r := <-results:
		t.Fatalf("entry %d settled before any acknowledgement: %v", r.i, r.err)
	default:
	}
	for i := range 5 {
		b.ack(i)
	}
	for i := range 5 {
		r := <-results
		if r.i != i || r.err != nil || r.ledger != 7 || r.entry != int64(i) {
			t.Fatalf("outcome %d: %+v, want entry %d at 7:%d", i, r, i, i)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, e := range b.entries {
		if e.seq != uint64(i) || e.meta.str(1) != "fake-producer" || e.meta.uint(11) != 2 || e.meta.str(6) != fmt.Sprint("key", i) {
			t.Errorf("entry %d: seq %d, producer %q, %d messages, key %q", i, e.seq, e.meta.str(1), e.meta.uint(11), e.meta.str(6))
		}
		if len(e.messages) != 2 {
			t.Fatalf("entry %d has %d messages", i, len(e.messages))
		}
		m0, m1 := e.messages[0], e.messages[1]
		kv, _ := m0.meta.sub(1)
		if m0.payload != fmt.Sprint("first", i) || m0.meta.str(2) != fmt.Sprint("key", i) || m0.meta.uint(5) != 1000+uint64(i) ||
			kv.str(1) != "h" || kv.str(2) != "v" {
			t.Errorf("entry %d message 0: %q key %q time %d property %q=%q", i, m0.payload, m0.meta.str(2), m0.meta.uint(5), kv.str(1), kv.str(2))
		}
		if m1.payload != fmt.Sprint("second", i) || m1.meta.has(2) || m1.meta.has(5) || m1.meta.has(1) {
			t.Errorf("entry %d message 1: %q, key set %v, time set %v", i, m1.payload, m1.meta.has(2), m1.meta.has(5))
		}
	}
}

func TestAFailureFailsEveryEntryInFlight(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(b *fakeBroker)
	}{
		{"send error", func(b *fakeBroker) {
			e := b.at(1)
			b.send(e.conn, cmdSendError, putString(putVarint(putVarint(putVarint(nil, 1, e.producer), 2, e.seq), 3, 3), 4, "persistence"))
		}},
		{"producer closed by the broker", func(b *fakeBroker) {
			e := b.at(1)
			b.send(e.conn, cmdCloseProducer, putVarint(putVarint(nil, 1, e.producer), 2, 9))
		}},
		{"connection lost", func(b *fakeBroker) { b.at(1).conn.Close() }},
		{"receipt out of order", func(b *fakeBroker) { b.ack(2) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t)
			c, p := producer(t, b.url(), 5*time.Second)
			results := make(chan result, 3)
			sendAll(p, 3, results)
			b.waitArrived(t, 3)
			b.ack(0)
			if r := <-results; r.i != 0 || r.err != nil {
				t.Fatalf("entry 0: %+v", r)
			}
			tc.breakIt(b)
			for want := 1; want < 3; want++ {
				select {
				case r := <-results:
					if r.i != want || r.err == nil {
						t.Fatalf("outcome %+v, want entry %d failed", r, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("entry %d was never settled", want)
				}
			}
			if p.Err() == nil {
				t.Fatal("the producer should be done")
			}
			p.Send(entryOf(9), func(_, _ int64, err error) { results <- result{9, 0, 0, err} })
			if r := <-results; r.err == nil {
				t.Fatal("a send on a failed producer succeeded")
			}
			// A new producer works (on a new connection when the old one was lost).
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p2, err := c.Producer(ctx, "persistent://t/n/topic")
			if err != nil {
				t.Fatal(err)
			}
			p2.Send(entryOf(3), func(l, e int64, err error) { results <- result{3, l, e, err} })
			b.waitArrived(t, 1)
			b.ack(3)
			if r := <-results; r.err != nil || r.entry != 3 {
				t.Fatalf("new producer: %+v", r)
			}
		})
	}
}

func TestAnUnansweredEntryFailsAfterTheTimeout(t *testing.T) {
	b := newBroker(t)
	_, p := producer(t, b.url(), 300*time.Millisecond)
	results := make(chan result, 1)
	start := time.Now()
	sendAll(p, 1, results)
	select {
	case r := <-results:
		if r.err == nil || !strings.Contains(r.err.Error(), "did not acknowledge") {
			t.Fatalf("outcome %+v", r)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Fatalf("failed after %v, before the timeout", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an unanswered entry was waited for past the timeout and a tick")
	}
}

func TestLookupRedirectsAndTheTokenIsSent(t *testing.T) {
	owner := newBroker(t)
	owner.token = "secret"
	front := newBroker(t)
	front.token = "secret"
	front.redirect = owner.url()
	c, err := NewClient(front.url(), "secret", 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.Producer(context.Background(), "persistent://t/n/topic")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	p.Send(entryOf(0), func(_, _ int64, err error) { done <- err })
	owner.waitArrived(t, 1) // the entry went to the owner, not the broker asked first
	owner.ack(0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	bad, _ := NewClient(owner.url(), "wrong", 5*time.Second, nil)
	defer bad.Close()
	if _, err := bad.Producer(context.Background(), "persistent://t/n/topic"); err == nil || !strings.Contains(err.Error(), "bad token") {
		t.Fatalf("a wrong token: %v", err)
	}
}

func TestPingIsAnswered(t *testing.T) {
	b := newBroker(t)
	producer(t, b.url(), 5*time.Second)
	b.mu.Lock()
	c := b.conns[0]
	b.mu.Unlock()
	b.send(c, cmdPing, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		n := b.pongs
		b.mu.Unlock()
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no pong")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServiceURLs(t *testing.T) {
	for url, ok := range map[string]bool{
		"pulsar://h:6650": true, "pulsar://h:6650/": true, "pulsar+ssl://h:6651": false,
		"pulsar://a:6650,b:6650": false, "http://h:8080": false, "pulsar://": false,
	} {
		_, err := NewClient(url, "", time.Second, nil)
		if Supported(url) != ok || (err == nil) != ok {
			t.Errorf("%s: Supported %v, NewClient error %v; want supported %v", url, Supported(url), err, ok)
		}
	}
}

// An entry over the broker's max message size is refused before it is sent, alone: the
// producer and the entries around it go on (the broker would close the whole connection).
func TestAnEntryOverTheBrokersLimitIsRefusedAlone(t *testing.T) {
	b := newBroker(t)
	b.max = 200
	_, p := producer(t, b.url(), 5*time.Second)
	big := NewEntry(300)
	big.Add(&Message{Payload: make([]byte, 300)})
	if err := p.Send(big, func(int64, int64, error) { t.Error("the refused entry's outcome was reported") }); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Send of 300 bytes to a broker taking 200: %v, want ErrTooLarge", err)
	}
	results := make(chan result, 1)
	sendAll(p, 1, results)
	b.waitArrived(t, 1)
	b.ack(0)
	if r := <-results; r.err != nil || r.entry != 0 {
		t.Fatalf("the entry after: %+v", r)
	}
}

// Whatever a broker sends, reading it never panics and a frame's size is bounded.
func FuzzReadCommand(f *testing.F) {
	f.Add(simpleFrame(baseCommand(cmdPing, nil)))
	f.Add(simpleFrame(baseCommand(cmdSendReceipt, putBytes(putVarint(putVarint(nil, 1, 1), 2, 0), 3, putVarint(nil, 1, 7)))))
	f.Add(simpleFrame(baseCommand(cmdLookupResponse, putVarint(putString(nil, 1, "pulsar://x:1"), 4, 1))))
	f.Add([]byte{0, 0, 0, 2, 0, 0, 0, 9})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, rest, err := readFrame(bufio.NewReader(bytes.NewReader(b)), maxFrame)
		if err != nil {
			return
		}
		cn := &conn{replies: map[uint64]chan command{}, producers: map[uint64]*Producer{},
			readers: map[uint64]*Reader{}, done: make(chan struct{})}
		cn.werr = errors.New("not connected") // answers (pongs) go nowhere
		cn.dispatch(c, rest)
	})
}

// A compressed entry carries Pulsar's Snappy block of the batch and its uncompressed size; an
// incompressible one is sent as it is.
func TestCompressedEntries(t *testing.T) {
	b := newBroker(t)
	_, p := producer(t, b.url(), 5*time.Second)
	text := []byte(strings.Repeat("kafka pulsar gateway ", 50))
	e := NewEntry(2048)
	e.Add(&Message{Payload: text})
	e.Add(&Message{Payload: text})
	plain := len(e.payload)
	e.Compress()
	compressed := len(e.payload)
	noise := NewEntry(256)
	noise.Add(&Message{Payload: []byte{0x8f, 0x12, 0xa3, 0x44, 0x09, 0xfe, 0x71, 0x3c}})
	noise.Compress()
	results := make(chan result, 2)
	p.Send(e, func(l, en int64, err error) { results <- result{0, l, en, err} })
	p.Send(noise, func(l, en int64, err error) { results <- result{1, l, en, err} })
	b.waitArrived(t, 2)
	b.mu.Lock()
	got, raw := b.entries[0], b.entries[1]
	b.mu.Unlock()
	if got.meta.uint(8) != compressionSnappy || got.meta.uint(9) != uint64(plain) || len(got.messages) != 2 ||
		got.messages[0].payload != string(text) || got.messages[1].payload != string(text) {
		t.Fatalf("compressed entry: compression %d, uncompressed size %d (want %d), %d messages", got.meta.uint(8), got.meta.uint(9), plain, len(got.messages))
	}
	if compressed >= plain/4 {
		t.Fatalf("compressed to %d of %d bytes", compressed, plain)
	}
	if raw.meta.has(8) || len(raw.messages) != 1 {
		t.Fatalf("incompressible entry: compression set %v, %d messages", raw.meta.has(8), len(raw.messages))
	}
}

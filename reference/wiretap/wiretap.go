// Package wiretap records what each Kafka client sent on the wire: every request's API key and
// version, when it arrived and when it was answered, and for Fetch the long-poll parameters and
// what came back. The conformance suite reads it (over HTTP, see Handler) to prove the protocol
// level of a matrix cell from the versions a client really used, and to observe a fetch parked
// on the server before racing it.
//
// The reference server records server-side when started with a debug address; the suite's
// level proxies record the same way for Kafka and external targets. Memory is bounded: at most
// MaxClients client ids (the oldest forgotten first) and MaxEvents events per client id (later
// ones counted, not kept); the version summary of a client id is always complete.
package wiretap

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Bounds of a Tap.
const (
	MaxClients = 4096
	MaxEvents  = 2048
	// maxClientID bounds the client id kept (Kafka allows up to 32767 bytes).
	maxClientID = 256
)

// Event is one request of one client.
type Event struct {
	Key     int16 `json:"key"`
	Version int16 `json:"version"`
	// StartUs and EndUs are Unix microseconds; EndUs is 0 while the request is unanswered.
	StartUs  int64 `json:"start_us"`
	EndUs    int64 `json:"end_us,omitempty"`
	Answered bool  `json:"answered"`
	// NoResponse marks a request that is never answered (Produce with acks=0).
	NoResponse bool   `json:"no_response,omitempty"`
	Fetch      *Fetch `json:"fetch,omitempty"`
}

// Pending reports whether the request is still waiting for its response.
func (e Event) Pending() bool { return !e.Answered && !e.NoResponse }

// Start is when the request arrived.
func (e Event) Start() time.Time { return time.UnixMicro(e.StartUs) }

// End is when the response left (zero while pending).
func (e Event) End() time.Time {
	if e.EndUs == 0 {
		return time.Time{}
	}
	return time.UnixMicro(e.EndUs)
}

// Fetch is what a Fetch request asked for and what its response said.
type Fetch struct {
	MaxWaitMs  int32            `json:"max_wait_ms"`
	MinBytes   int32            `json:"min_bytes"`
	MaxBytes   int32            `json:"max_bytes"`
	ErrorCode  int16            `json:"error_code,omitempty"`
	Partitions []FetchPartition `json:"partitions"`
}

// FetchPartition is one partition of a Fetch: the request's offset, the response's fields.
type FetchPartition struct {
	Topic          string `json:"topic"`
	Partition      int32  `json:"partition"`
	Offset         int64  `json:"offset"`
	ErrorCode      int16  `json:"error_code"`
	HighWatermark  int64  `json:"high_watermark"`
	LogStartOffset int64  `json:"log_start_offset"`
	Bytes          int    `json:"bytes"` // record batch bytes returned
}

// Client is everything recorded for one client id.
type Client struct {
	// Versions is every (API key -> versions) the client sent, complete even when events
	// were dropped.
	Versions map[int16][]int16 `json:"versions"`
	Events   []Event           `json:"events"`
	Dropped  int               `json:"dropped,omitempty"`
}

// Tap is a bounded, concurrency-safe record of requests by client id. A nil *Tap records
// nothing, so callers need not check whether tapping is on.
type Tap struct {
	mu      sync.Mutex
	clients map[string]*clientLog
	order   []string // insertion order, for forgetting the oldest client id
	now     func() time.Time
}

type clientLog struct {
	sent    []int32 // the (API key, version) pairs sent, packed by apiVersion, sorted
	keys    int     // distinct API keys in sent
	events  []Event
	dropped int
}

// Bounds of one client id's versions.
const (
	maxKeys        = 128 // more API keys than Kafka has: not a real client
	maxKeyVersions = 64
)

// apiVersion packs an API key and a version into one value, a key's versions together and in
// order: a slice of them costs a few bytes a pair, where maps of maps cost hundreds a client.
func apiVersion(key, version int16) int32 {
	return int32(key)<<16 | int32(uint16(version)^0x8000)
}

func unpack(kv int32) (key, version int16) { return int16(kv >> 16), int16(uint16(kv) ^ 0x8000) }

// note records that key was sent at version; false when key is one API key too many.
func (cl *clientLog) note(key, version int16) bool {
	kv := apiVersion(key, version)
	at, seen := slices.BinarySearch(cl.sent, kv)
	if seen {
		return true
	}
	first, _ := slices.BinarySearch(cl.sent, apiVersion(key, math.MinInt16))
	n := 0 // the key's versions kept
	for first+n < len(cl.sent) && cl.sent[first+n]>>16 == int32(key) {
		n++
	}
	if n == 0 {
		if cl.keys >= maxKeys {
			return false
		}
		cl.keys++
	}
	if n < maxKeyVersions {
		cl.sent = slices.Insert(cl.sent, at, kv)
	}
	return true
}

// New returns an empty tap.
func New() *Tap { return &Tap{clients: map[string]*clientLog{}, now: time.Now} }

// Call is one recorded request; End records its response.
type Call struct {
	t     *Tap
	id    string
	index int // into the client's events; -1 when the event was not kept
}

// Begin records a request. req may be nil (the proxy does not decode every request); a Fetch
// request's parameters are kept.
func (t *Tap) Begin(clientID string, key, version int16, req kmsg.Request) *Call {
	if t == nil {
		return nil
	}
	if len(clientID) > maxClientID {
		clientID = clientID[:maxClientID]
	}
	ev := Event{Key: key, Version: version}
	if fr, ok := req.(*kmsg.FetchRequest); ok {
		ev.Fetch = fetchOf(fr)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ev.StartUs = t.now().UnixMicro()
	cl := t.clients[clientID]
	if cl == nil {
		cl = &clientLog{}
		t.clients[clientID] = cl
		t.order = append(t.order, clientID)
		for len(t.order) > MaxClients {
			delete(t.clients, t.order[0])
			t.order = t.order[1:]
		}
	}
	if !cl.note(key, version) {
		cl.dropped++
		return &Call{t: t, id: clientID, index: -1}
	}
	if len(cl.events) >= MaxEvents {
		cl.dropped++
		return &Call{t: t, id: clientID, index: -1}
	}
	cl.events = append(cl.events, ev)
	return &Call{t: t, id: clientID, index: len(cl.events) - 1}
}

func fetchOf(r *kmsg.FetchRequest) *Fetch {
	f := &Fetch{MaxWaitMs: r.MaxWaitMillis, MinBytes: r.MinBytes, MaxBytes: r.MaxBytes}
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			if len(f.Partitions) >= 256 {
				return f
			}
			f.Partitions = append(f.Partitions, FetchPartition{Topic: t.Topic, Partition: p.Partition, Offset: p.FetchOffset,
				HighWatermark: -1, LogStartOffset: -1})
		}
	}
	return f
}

// End records the response; resp may be nil when it was not decoded. NoResponse is for
// requests that are never answered.
func (c *Call) End(resp kmsg.Response) { c.finish(resp, false) }

// NoResponse records that the request gets no response (Produce with acks=0).
func (c *Call) NoResponse() { c.finish(nil, true) }

func (c *Call) finish(resp kmsg.Response, none bool) {
	if c == nil || c.index < 0 {
		return
	}
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	cl := t.clients[c.id]
	if cl == nil || c.index >= len(cl.events) {
		return // forgotten meanwhile
	}
	ev := &cl.events[c.index]
	if none {
		ev.NoResponse = true
		return
	}
	ev.Answered, ev.EndUs = true, t.now().UnixMicro()
	if fr, ok := resp.(*kmsg.FetchResponse); ok && ev.Fetch != nil {
		ev.Fetch.ErrorCode = fr.ErrorCode
		for _, rt := range fr.Topics {
			for _, rp := range rt.Partitions {
				for i := range ev.Fetch.Partitions {
					fp := &ev.Fetch.Partitions[i]
					if fp.Topic == rt.Topic && fp.Partition == rp.Partition {
						fp.ErrorCode, fp.HighWatermark, fp.LogStartOffset = rp.ErrorCode, rp.HighWatermark, rp.LogStartOffset
						fp.Bytes = len(rp.RecordBatches)
					}
				}
			}
		}
	}
}

// Snapshot returns a copy of what was recorded for every client id starting with prefix.
func (t *Tap) Snapshot(prefix string) map[string]Client {
	out := map[string]Client{}
	if t == nil {
		return out
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, cl := range t.clients {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		c := Client{Versions: map[int16][]int16{}, Events: make([]Event, len(cl.events)), Dropped: cl.dropped}
		for _, kv := range cl.sent {
			k, v := unpack(kv)
			c.Versions[k] = append(c.Versions[k], v)
		}
		for i, ev := range cl.events {
			if ev.Fetch != nil {
				f := *ev.Fetch
				f.Partitions = append([]FetchPartition(nil), f.Partitions...)
				ev.Fetch = &f
			}
			c.Events[i] = ev
		}
		out[id] = c
	}
	return out
}

// Path is where Handler answers.
const Path = "/debug/wire"

// Handler serves GET Path?prefix=<client id prefix> as JSON: {"clients": {id: Client}}.
// An empty prefix is refused: the suite always asks for one spec's clients.
func (t *Tap) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		prefix := r.URL.Query().Get("prefix")
		if prefix == "" {
			http.Error(w, "the prefix parameter (a client id prefix) is required", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Snapshot{Clients: t.Snapshot(prefix)})
	})
}

// Snapshot is Handler's JSON document.
type Snapshot struct {
	Clients map[string]Client `json:"clients"`
}

// Query asks a tap served at baseURL (http://host:port) for the clients whose id starts with
// prefix.
func Query(ctx context.Context, baseURL, prefix string) (map[string]Client, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+Path+"?prefix="+url.QueryEscape(prefix), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wire tap at %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("wire tap at %s answered %s: %s", baseURL, resp.Status, strings.TrimSpace(string(body)))
	}
	var s Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("wire tap at %s: %w", baseURL, err)
	}
	return s.Clients, nil
}

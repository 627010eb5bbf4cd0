package wiretap

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRecordsVersionsAndFetches(t *testing.T) {
	tap := New()
	clock := time.Unix(100, 0)
	tap.now = func() time.Time { return clock }
	fr := kmsg.NewPtrFetchRequest()
	fr.MaxWaitMillis, fr.MinBytes = 500, 10
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset = 0, 7
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)

	call := tap.Begin("spec1.franz-go", 1, 11, fr)
	tap.Begin("spec1.franz-go", 0, 8, nil).NoResponse()
	tap.Begin("spec1.franz-go", 0, 7, nil).End(nil)
	tap.Begin("spec2.sarama", 3, 5, nil)

	snap := tap.Snapshot("spec1.")
	ev := snap["spec1.franz-go"].Events[0]
	if !ev.Pending() || ev.Fetch == nil || ev.Fetch.MaxWaitMs != 500 || ev.Fetch.Partitions[0].Offset != 7 {
		t.Fatalf("parked fetch not recorded as pending with its parameters: %+v", ev)
	}
	clock = clock.Add(300 * time.Millisecond)
	resp := kmsg.NewPtrFetchResponse()
	rt := kmsg.NewFetchResponseTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.HighWatermark, rp.LogStartOffset, rp.RecordBatches = 9, 2, make([]byte, 61)
	rt.Partitions = append(rt.Partitions, rp)
	resp.Topics = append(resp.Topics, rt)
	call.End(resp)

	snap = tap.Snapshot("spec1.")
	if len(snap) != 1 {
		t.Fatalf("prefix spec1. matched %d clients, want 1", len(snap))
	}
	c := snap["spec1.franz-go"]
	ev = c.Events[0]
	p := ev.Fetch.Partitions[0]
	if ev.Pending() || ev.End().Sub(ev.Start()) != 300*time.Millisecond || p.HighWatermark != 9 || p.LogStartOffset != 2 || p.Bytes != 61 {
		t.Errorf("answered fetch: %+v %+v", ev, p)
	}
	if !c.Events[1].NoResponse || c.Events[1].Pending() {
		t.Errorf("acks=0 produce must not stay pending: %+v", c.Events[1])
	}
	if got := fmt.Sprint(c.Versions); got != "map[0:[7 8] 1:[11]]" {
		t.Errorf("versions %s", got)
	}
}

func TestBounded(t *testing.T) {
	tap := New()
	for i := 0; i < MaxClients+10; i++ {
		tap.Begin(fmt.Sprintf("c%d", i), 0, 0, nil)
	}
	if n := len(tap.Snapshot("c")); n != MaxClients {
		t.Errorf("%d client ids kept, want %d", n, MaxClients)
	}
	if _, ok := tap.Snapshot("c0")["c0"]; ok {
		t.Error("the oldest client id should be forgotten first")
	}
	for i := 0; i < MaxEvents+5; i++ {
		tap.Begin("busy", 3, 1, nil)
	}
	c := tap.Snapshot("busy")["busy"]
	if len(c.Events) != MaxEvents || c.Dropped != 5 || len(c.Versions[3]) != 1 {
		t.Errorf("events %d dropped %d versions %v", len(c.Events), c.Dropped, c.Versions)
	}
	var nilTap *Tap
	nilTap.Begin("x", 0, 0, nil).End(nil) // a disabled tap records nothing and never panics
}

// A client id's versions are kept in order, negative ones too, up to 64 a key and 128 keys; a
// request of one key more is counted, not kept.
func TestVersionsBounded(t *testing.T) {
	tap := New()
	for _, v := range []int16{3, -1, 32767, 3, -32768, 0} {
		tap.Begin("c", -5, v, nil)
	}
	for v := range int16(70) {
		tap.Begin("c", 1, v, nil)
	}
	for k := range int16(200) {
		tap.Begin("c", k+2, 0, nil)
	}
	c := tap.Snapshot("c")["c"]
	if got := fmt.Sprint(c.Versions[-5]); got != "[-32768 -1 0 3 32767]" {
		t.Errorf("key -5: versions %s", got)
	}
	if len(c.Versions[1]) != 64 || c.Versions[1][63] != 63 {
		t.Errorf("key 1: %d versions %v, want the first 64", len(c.Versions[1]), c.Versions[1])
	}
	if len(c.Versions) != 128 || c.Dropped != 74 || len(c.Events) != 6+70+126 {
		t.Errorf("%d keys, %d dropped, %d events; want 128, 74, 202", len(c.Versions), c.Dropped, len(c.Events))
	}
}

func TestHandlerAndQuery(t *testing.T) {
	tap := New()
	tap.Begin("s9.kafka-go", 18, 3, nil).End(nil)
	srv := httptest.NewServer(tap.Handler())
	defer srv.Close()
	got, err := Query(context.Background(), srv.URL, "s9.")
	if err != nil || len(got["s9.kafka-go"].Events) != 1 {
		t.Fatalf("query: %v %+v", err, got)
	}
	resp, err := http.Get(srv.URL + Path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no prefix: %d, want 400", resp.StatusCode)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	if _, err := Query(context.Background(), gone.URL, "s9."); err == nil {
		t.Error("a tap that does not answer must be an error")
	}
}

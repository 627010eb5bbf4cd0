package server

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/records"
)

// A Produce's partitions are decoded within a budget of produceDecodeBudget max messages: while
// the partitions decoded first wait on Pulsar, the others wait for the budget undecoded, and
// get REQUEST_TIMED_OUT if the request's timeout runs out first.
func TestProduceBoundsDecodedRecords(t *testing.T) {
	const parts = 2 * produceDecodeBudget
	var arrived atomic.Int32
	over := make(chan struct{}) // one Append more than the budget allows: no need to wait on
	var once sync.Once
	held := func(s *setup) {
		s.hooks.append = func(ctx context.Context) error {
			if arrived.Add(1) > produceDecodeBudget {
				once.Do(func() { close(over) })
			}
			select { // Pulsar does not answer within the request's timeout
			case <-ctx.Done():
			case <-over:
			}
			return errors.New("no answer from Pulsar")
		}
	}
	e := newEnv(t, held)
	if err := e.catalog.Create(context.Background(), "wide", parts); err != nil {
		t.Fatal(err)
	}
	// Each partition's records decompress to nearly max message bytes (64 KiB in the env).
	raw := batch{values: []string{string(make([]byte, 60<<10))}, codec: records.CodecGzip, pid: -1}.encode(t)
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 500
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "wide"
	for p := range int32(parts) {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, raw
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := e.dial().do(req, 8).(*kmsg.ProduceResponse)

	n := int(arrived.Load())
	if n < 1 || n > produceDecodeBudget {
		t.Fatalf("%d partitions were decoded and written at once, want 1 to %d", n, produceDecodeBudget)
	}
	codes := map[int16]int{}
	for _, p := range resp.Topics[0].Partitions {
		codes[p.ErrorCode]++
	}
	want := map[int16]int{kerr.KafkaStorageError.Code: n, kerr.RequestTimedOut.Code: parts - n}
	if codes[kerr.KafkaStorageError.Code] != want[kerr.KafkaStorageError.Code] || codes[kerr.RequestTimedOut.Code] != want[kerr.RequestTimedOut.Code] {
		t.Errorf("answers by code %v, want %v: the partitions that never got the budget timed out", codes, want)
	}
}

// Headers named with the storage's reserved property prefix (__kafka.) are the client's own:
// they come back from Fetch exactly as produced, and the record's key, value and timestamp
// are the ones produced.
func TestReservedHeaderNamesRoundTrip(t *testing.T) {
	hs := []records.Header{{Key: "__kafka.offset", Value: []byte("42")}, {Key: "__kafka.null-value", Value: []byte("1")},
		{Key: "__kafka.timestamp", Value: []byte("5")}, {Key: "__kafka.headers", Value: nil}, {Key: "trace", Value: []byte("t")}}
	want := records.Record{Timestamp: 1700000000000, Key: []byte("k"), Value: []byte("v"), Headers: hs}
	e := newEnv(t)
	c := e.dial()
	if r := c.produceTo(0, withCRC(records.AppendBatch(nil, []records.Record{want})), 8); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	batches, err := records.Decode(fetched(c.do(fetchReq(topic, 0, 0), 11)).RecordBatches, 1<<20)
	if err != nil || len(batches) != 1 || len(batches[0].Records) != 1 {
		t.Fatalf("fetched %+v, %v", batches, err)
	}
	got := batches[0].Records[0]
	if got.Timestamp != want.Timestamp || string(got.Key) != "k" || string(got.Value) != "v" || !reflect.DeepEqual(got.Headers, hs) {
		t.Errorf("fetched %+v, want %+v", got, want)
	}
}

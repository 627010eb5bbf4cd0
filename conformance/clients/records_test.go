package clients

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batchSeen is what one Produce request carried for one partition.
type batchSeen struct {
	acks      int16
	topic     string
	partition int32
	batches   int
	records   int32
	codec     int8 // compression bits of the first batch
}

// seeProduce lists a Produce request's partitions.
func seeProduce(r kmsg.Request) []batchSeen {
	req := r.(*kmsg.ProduceRequest)
	var out []batchSeen
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			b := batchSeen{acks: req.Acks, topic: t.Topic, partition: p.Partition, codec: -1}
			for rest := p.Records; len(rest) > 0; {
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(rest); err != nil {
					break
				}
				if b.codec < 0 {
					b.codec = int8(rb.Attributes & 0x7)
				}
				b.batches++
				b.records += rb.NumRecords
				rest = rest[12+int(rb.Length):] // FirstOffset and Length precede what Length counts
			}
			out = append(out, b)
		}
	}
	return out
}

// produceSeen is every partition of every Produce request the cluster served for topic.
func produceSeen(w *wire[[]batchSeen], topic string) []batchSeen {
	var out []batchSeen
	for _, req := range w.all() {
		for _, b := range req {
			if b.topic == topic {
				out = append(out, b)
			}
		}
	}
	return out
}

// fetchSeen is a Fetch request's limits for one topic.
type fetchSeen struct {
	maxWaitMillis, minBytes, maxBytes, partitionMaxBytes int32
}

func seeFetch(topic string) func(kmsg.Request) []fetchSeen {
	return func(r kmsg.Request) []fetchSeen {
		req := r.(*kmsg.FetchRequest)
		var out []fetchSeen
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				if t.Topic == topic {
					out = append(out, fetchSeen{req.MaxWaitMillis, req.MinBytes, req.MaxBytes, p.PartitionMaxBytes})
				}
			}
		}
		return out
	}
}

// TestAdapterProduceConsume produces one call to partitions 0 and 2 of a three-partition topic
// with each acks mode and reads both back: content, order, offsets, high watermark, and one
// batch per partition on the wire with the acks asked for.
func TestAdapterProduceConsume(t *testing.T) {
	for _, kind := range []string{"kafka-go", "franz-go", "sarama"} {
		for _, acks := range []Acks{AcksNone, AcksLeader, AcksAll} {
			t.Run(fmt.Sprintf("%s/acks=%d", kind, acks), func(t *testing.T) {
				t.Parallel()
				f := setup(t, kind, nil)
				produces := observe(f.c, kmsg.Produce, seeProduce)
				topic := f.topic(3)
				recs := sampleRecords(topic, 10)
				for i := range recs {
					recs[i].Partition = int32(i%2) * 2 // 0, 2, 0, 2, ...
				}
				got, err := f.cl.Produce(f.ctx, ProduceConfig{Acks: acks}, recs)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range got {
					want := int64(i / 2)
					if acks == AcksNone {
						want = -1
					}
					if r.Partition != recs[i].Partition || r.Offset != want {
						t.Errorf("record %d produced to %d@%d, want %d@%d", i, r.Partition, r.Offset, recs[i].Partition, want)
					}
				}
				for _, p := range []int32{0, 2} {
					back, err := f.cl.Consume(f.ctx, ConsumeConfig{}, topic, p, 0, 5)
					if err != nil {
						t.Fatalf("consuming partition %d: %v", p, err)
					}
					for i, r := range back {
						if d := sameRecord(r, recs[2*i+int(p/2)], int64(i), emptyAsNull(kind)); d != "" {
							t.Errorf("partition %d record %d: %s", p, i, d)
						}
						if r.HighWatermark != 5 {
							t.Errorf("partition %d record %d: high watermark %d, want 5", p, i, r.HighWatermark)
						}
					}
				}
				seen := produceSeen(produces, topic)
				if len(seen) != 2 {
					t.Fatalf("Produce requests carried %d partitions of %s, want 2 (one batch per partition): %+v", len(seen), topic, seen)
				}
				for _, b := range seen {
					if b.acks != int16(acks) || b.batches != 1 || b.records != 5 {
						t.Errorf("partition %d: acks %d, %d batches of %d records; want acks %d, 1 batch of 5", b.partition, b.acks, b.batches, b.records, acks)
					}
				}
			})
		}
	}
}

// TestAdapterCompression produces a compressed batch with each codec, checks the codec on the
// wire, and reads the records back, also from the middle of the batch.
func TestAdapterCompression(t *testing.T) {
	codecs := map[string]int8{"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
	for _, kind := range []string{"kafka-go", "franz-go", "sarama"} {
		for _, codec := range Codecs {
			t.Run(kind+"/"+codec.Name, func(t *testing.T) {
				t.Parallel()
				f := setup(t, kind, nil)
				produces := observe(f.c, kmsg.Produce, seeProduce)
				topic := f.topic(1)
				recs := sampleRecords(topic, 20)
				if _, err := f.cl.Produce(f.ctx, ProduceConfig{Acks: AcksAll, Compression: codec.Name}, recs); err != nil {
					t.Fatal(err)
				}
				seen := produceSeen(produces, topic)
				if len(seen) != 1 || seen[0].codec != codecs[codec.Name] || seen[0].records != 20 {
					t.Errorf("Produce requests for %s: %+v; want one batch of 20 records with codec %d", topic, seen, codecs[codec.Name])
				}
				back, err := f.cl.Consume(f.ctx, ConsumeConfig{}, topic, 0, 13, 7)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range back {
					if d := sameRecord(r, recs[13+i], int64(13+i), emptyAsNull(kind)); d != "" {
						t.Errorf("record %d: %s", 13+i, d)
					}
				}
			})
		}
	}
}

// TestKafkaGoReaderReadsEmptyAsNull pins down what kafka-go's Reader does to empty bytes (the
// reason for Kind.EmptyAsNull): an empty key, value and header value come back null.
func TestKafkaGoReaderReadsEmptyAsNull(t *testing.T) {
	f := setup(t, "kafka-go", nil)
	topic := f.topic(1)
	rec := Record{Topic: topic, Key: []byte{}, Value: []byte{}, Headers: []Header{{Key: "h", Value: []byte{}}}, Timestamp: time.UnixMilli(1e12)}
	f.produce([]Record{rec})
	// franz-go shows the record was written with empty, not null, fields.
	written, err := f.open("franz-go", func(*Target) {}).Consume(f.ctx, ConsumeConfig{}, topic, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameRecord(written[0], rec, 0, false); d != "" {
		t.Fatalf("as written: %s", d)
	}
	back, err := f.cl.Consume(f.ctx, ConsumeConfig{}, topic, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := back[0]; r.Key != nil || r.Value != nil || r.Headers[0].Value != nil {
		t.Errorf("kafka-go's Reader returned key %q, value %q, header %q; it used to return empty bytes as nil", r.Key, r.Value, r.Headers[0].Value)
	}
}

// TestAdapterConsumeWithLimits checks the fetch limits on the wire: a first record over the
// limits comes back whole (KIP-74), and MaxWait and MinBytes, when set, are sent as they are.
func TestAdapterConsumeWithLimits(t *testing.T) {
	for _, kind := range []string{"kafka-go", "franz-go", "sarama"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f := setup(t, kind, nil)
			limited, longPoll := f.topic(1), f.topic(1)
			limitedFetches := observe(f.c, kmsg.Fetch, seeFetch(limited))
			longPollFetches := observe(f.c, kmsg.Fetch, seeFetch(longPoll))
			big := Record{Topic: limited, Key: []byte("big"), Value: bytes.Repeat([]byte("0123456789abcdef"), 16<<10)} // 256 KiB
			small := sampleRecords(limited, 3)
			f.produce([]Record{big})
			f.produce(small)
			got, err := f.cl.Consume(f.ctx, ConsumeConfig{MaxBytes: 16 << 10, PartitionMaxBytes: 16 << 10}, limited, 0, 0, 4)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[0].Value, big.Value) {
				t.Errorf("the 256 KiB record came back as %d bytes", len(got[0].Value))
			}
			for i, r := range got[1:] {
				if d := sameRecord(r, small[i], int64(1+i), emptyAsNull(kind)); d != "" {
					t.Errorf("record %d: %s", 1+i, d)
				}
			}
			sent := firstFetch(t, limitedFetches)
			if kind == "sarama" { // its response limit is Net.MaxResponseSize, not a fetch setting
				sent.maxBytes = sent.partitionMaxBytes
			}
			// kafka-go adds a fetch response header's size to its one limit.
			if sent.maxBytes < 16<<10 || sent.maxBytes > 17<<10 || sent.partitionMaxBytes < 16<<10 || sent.partitionMaxBytes > 17<<10 {
				t.Errorf("fetch limits on the wire: %+v, want 16 KiB", sent)
			}
			// kafka-go derives the wire max wait from a deadline it sets microseconds earlier, so
			// a busy machine can shave a millisecond off.
			if kind == "kafka-go" && (!nearMillis(sent.maxWaitMillis, 500) || sent.minBytes != 1) {
				t.Errorf("default long poll on the wire: %+v, want 500 ms and 1 byte", sent)
			}

			f.produce(sampleRecords(longPoll, 2))
			if _, err := f.cl.Consume(f.ctx, ConsumeConfig{MaxWait: 200 * time.Millisecond, MinBytes: 7}, longPoll, 0, 0, 2); err != nil {
				t.Fatal(err)
			}
			if sent := firstFetch(t, longPollFetches); !nearMillis(sent.maxWaitMillis, 200) || sent.minBytes != 7 {
				t.Errorf("long poll on the wire: %+v, want 200 ms and 7 bytes", sent)
			}
		})
	}
}

func firstFetch(t *testing.T, w *wire[[]fetchSeen]) fetchSeen {
	t.Helper()
	for _, req := range w.all() {
		if len(req) > 0 {
			return req[0]
		}
	}
	t.Fatal("no fetch for the topic")
	return fetchSeen{}
}

// TestAdapterLargeRecord produces records around kfake's message.max.bytes (1 MiB): the one
// under it is written; the one over it reaches the server, which refuses it with
// MESSAGE_TOO_LARGE, a code the adapter's error keeps.
func TestAdapterLargeRecord(t *testing.T) {
	for _, kind := range []string{"kafka-go", "franz-go", "sarama"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f := setup(t, kind, nil)
			produces := observe(f.c, kmsg.Produce, seeProduce)
			topic := f.topic(1)
			f.produce([]Record{{Topic: topic, Value: make([]byte, 900<<10)}})
			_, err := f.cl.Produce(f.ctx, ProduceConfig{Acks: AcksAll}, []Record{{Topic: topic, Value: make([]byte, 1536<<10)}})
			if code := ErrorCode(err); code != kerr.MessageTooLarge.Code {
				t.Fatalf("error %v has code %d, want MESSAGE_TOO_LARGE", err, code)
			}
			if n := len(produceSeen(produces, topic)); n < 2 {
				t.Errorf("%d Produce requests reached the server, want the refused record's too", n)
			}
			if end, err := f.cl.ListOffset(f.ctx, topic, 0, Latest); err != nil || end != 1 {
				t.Errorf("log end %d (%v), want 1: the refused record is not written", end, err)
			}
		})
	}
}

// TestKafkaGoErrorsKeepCodes checks that the Writer's and the Reader's errors reach ErrorCode,
// within a bounded time instead of retries until the context ends.
func TestKafkaGoErrorsKeepCodes(t *testing.T) {
	f := setup(t, "kafka-go", nil)
	topic := f.topic(1)
	f.produce(sampleRecords(topic, 5))
	for _, tc := range []struct {
		what string
		code int16
		call func() error
	}{
		{"producing to a missing topic", kerr.UnknownTopicOrPartition.Code, func() error {
			_, err := f.cl.Produce(f.ctx, ProduceConfig{Acks: AcksAll}, sampleRecords("missing-topic", 1))
			return err
		}},
		{"consuming past the log end", kerr.OffsetOutOfRange.Code, func() error {
			_, err := f.cl.Consume(f.ctx, ConsumeConfig{}, topic, 0, 50, 1)
			return err
		}},
	} {
		start := time.Now()
		err := tc.call()
		if code := ErrorCode(err); code != tc.code {
			t.Errorf("%s: error %v has code %d, want %d", tc.what, err, code, tc.code)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: the error took %s", tc.what, took)
		}
	}
}

// nearMillis says whether a max wait sent on the wire is want, give or take 5 ms.
func nearMillis(got, want int32) bool { return got >= want-5 && got <= want }

package server

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/idempotence"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

// log is partition p of topic "t" in the env's memory store.
func (e *env) log(p int32) partition.Log {
	l, err := e.logs.Partition(partition.TP{Topic: topic, Partition: p})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// highWatermark is partition p's high watermark, read from the store.
func (e *env) highWatermark(p int32) int64 {
	hwm, err := e.log(p).HighWatermark(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return hwm
}

// produceTo writes one batch to partition p of "t" at version v and returns the answer.
func (c *client) produceTo(p int32, raw []byte, v int16) kmsg.ProduceResponseTopicPartition {
	return produced(c.do(produceReq(topic, p, -1, raw), v))
}

// producesCode is a case that produces raw to partition 0 and expects code and nothing stored.
func producesCode(raw func(t testing.TB) []byte, want *kerr.Error) func(*testing.T, *env, int16) {
	return func(t *testing.T, e *env, v int16) {
		r := e.dial().produceTo(0, raw(t), v)
		wantCode(t, "produce", r.ErrorCode, want)
		if r.BaseOffset != -1 || e.highWatermark(0) != 0 {
			t.Errorf("base offset %d, high watermark %d: nothing must be stored", r.BaseOffset, e.highWatermark(0))
		}
	}
}

// idempotent is a batch of producer 42.
func idempotent(epoch int16, seq int32, values ...string) batch {
	return batch{values: values, pid: 42, epoch: epoch, seq: seq}
}

func TestProduce(t *testing.T) {
	enc := func(b batch) func(testing.TB) []byte { return b.encode }
	forVersions(t, kmsg.Produce, []versionCase{
		{name: "batches get continuous offsets", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			for _, want := range []int64{0, 2} {
				r := c.produceTo(1, batchOf("a", "b").encode(t), v)
				wantCode(t, "produce", r.ErrorCode, nil)
				logStart := int64(-1)
				if v >= 5 {
					logStart = 0
				}
				if r.BaseOffset != want || r.LogAppendTime != -1 || r.LogStartOffset != logStart {
					t.Errorf("base %d append time %d log start %d; want %d, -1, %d", r.BaseOffset, r.LogAppendTime, r.LogStartOffset, want, logStart)
				}
			}
			got, _ := e.log(1).Read(context.Background(), 0, 1<<20)
			if len(got) != 2 || len(got[1].Records) != 2 {
				t.Fatalf("stored %+v: want two entries of two records", got)
			}
			if r := got[1].Records[1]; string(r.Key) != "k" || string(r.Value) != "b" || r.Timestamp != 1001 {
				t.Errorf("stored %+v: key, value and producer timestamp kept", r)
			}
		}},
		{name: "responses carry the log start DeleteRecords moved", from: 5, run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.produceTo(0, batchOf("a", "b", "c").encode(t), v)
			e.log(0).DeleteBefore(context.Background(), 2)
			if r := c.produceTo(0, batchOf("d").encode(t), v); r.BaseOffset != 3 || r.LogStartOffset != 2 {
				t.Errorf("base %d log start %d, want 3 and 2", r.BaseOffset, r.LogStartOffset)
			}
		}},
		{name: "acks=0 writes and answers nothing", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.send(produceReq(topic, 0, 0, batchOf("a").encode(t)), v)
			c.served() // the next response on the connection is ApiVersions'
			if hwm := e.highWatermark(0); hwm != 1 {
				t.Errorf("high watermark %d, want 1", hwm)
			}
		}},
		{name: "acks other than -1, 0, 1 are INVALID_REQUIRED_ACKS", run: func(t *testing.T, e *env, v int16) {
			r := produced(e.dial().do(produceReq(topic, 0, 2, batchOf("a").encode(t)), v))
			wantCode(t, "acks=2", r.ErrorCode, kerr.InvalidRequiredAcks)
		}},
		{name: "a bad CRC is CORRUPT_MESSAGE", run: producesCode(func(t testing.TB) []byte {
			raw := batchOf("a").encode(t)
			raw[len(raw)-1] ^= 0xff
			return raw
		}, kerr.CorruptMessage)},
		{name: "no records is CORRUPT_MESSAGE", run: producesCode(func(testing.TB) []byte { return nil }, kerr.CorruptMessage)},
		{name: "magic 1 is UNSUPPORTED_FOR_MESSAGE_FORMAT", run: producesCode(func(t testing.TB) []byte {
			raw := batchOf("a").encode(t)
			raw[16] = 1
			return raw
		}, kerr.UnsupportedForMessageFormat)},
		{name: "a batch over max message bytes is MESSAGE_TOO_LARGE", run: producesCode(
			enc(batchOf(string(make([]byte, 1<<16)))), kerr.MessageTooLarge)},
		// The env's request limit (1 MiB) is far above its max message bytes (64 KiB): the
		// decompressed records are bounded by the latter.
		{name: "records that decompress beyond max message bytes are MESSAGE_TOO_LARGE", run: producesCode(
			enc(batch{values: []string{string(make([]byte, 100<<10))}, codec: records.CodecGzip, pid: -1}), kerr.MessageTooLarge)},
		{name: "zstd below v7 is UNSUPPORTED_COMPRESSION_TYPE", below: 7, run: producesCode(
			enc(batch{values: []string{"z"}, codec: records.CodecZstd, pid: -1}), kerr.UnsupportedCompressionType)},
		{name: "compressed batches are stored decompressed", run: func(t *testing.T, e *env, v int16) {
			codecs := []int16{records.CodecGzip}
			if v >= 7 {
				codecs = append(codecs, records.CodecZstd)
			}
			for i, codec := range codecs {
				r := e.dial().produceTo(0, batch{values: []string{"x", "y"}, codec: codec, pid: -1}.encode(t), v)
				if r.ErrorCode != 0 || r.BaseOffset != int64(2*i) {
					t.Errorf("codec %d: %v base %d", codec, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
				}
			}
		}},
		{name: "batches of two producers in one partition are INVALID_RECORD", run: producesCode(func(t testing.TB) []byte {
			return append(idempotent(0, 0, "a").encode(t), batchOf("b").encode(t)...)
		}, kerr.InvalidRecord)},
		{name: "a failing log is KAFKA_STORAGE_ERROR", run: func(t *testing.T, e *env, v int16) {
			e.logs.Fail(errors.New("bookies down"))
			wantCode(t, "produce", e.dial().produceTo(0, batchOf("a").encode(t), v).ErrorCode, kerr.KafkaStorageError)
		}},
		{name: "a lookup outlasting the request's timeout is REQUEST_TIMED_OUT", opts: []envOpt{stuckLookups},
			run: func(t *testing.T, e *env, v int16) {
				req := produceReq(topic, 0, 1, batchOf("a").encode(t))
				req.TimeoutMillis = 1
				wantCode(t, "produce", produced(e.dial().do(req, v)).ErrorCode, kerr.RequestTimedOut)
			}},
		{name: "an idempotent retry answers its first offset and is not written again", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.produceTo(0, batchOf("before").encode(t), v)
			first := c.produceTo(0, idempotent(0, 0, "a", "b").encode(t), v)
			retry := c.produceTo(0, idempotent(0, 0, "a", "b").encode(t), v)
			if first.ErrorCode != 0 || retry.ErrorCode != 0 || first.BaseOffset != 1 || retry.BaseOffset != 1 || e.highWatermark(0) != 3 {
				t.Errorf("first %+v retry %+v high watermark %d; want both at 1, 3 records", first, retry, e.highWatermark(0))
			}
			wantCode(t, "next batch", c.produceTo(0, idempotent(0, 2, "c").encode(t), v).ErrorCode, nil)
		}},
		{name: "a retry of a write stored without an answer is answered its offset, not written twice", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.produceTo(0, batchOf("before").encode(t), v)
			var once sync.Once
			e.logs.LoseAcks(func() (lose bool) { once.Do(func() { lose = true }); return })
			lost := c.produceTo(0, idempotent(0, 0, "a", "b").encode(t), v)
			wantCode(t, "write whose answer was lost", lost.ErrorCode, kerr.KafkaStorageError)
			retry := c.produceTo(0, idempotent(0, 0, "a", "b").encode(t), v)
			if retry.ErrorCode != 0 || retry.BaseOffset != 1 || e.highWatermark(0) != 3 {
				t.Errorf("retry %+v, high watermark %d; want base 1 and the batch stored once (3 records)", retry, e.highWatermark(0))
			}
			wantCode(t, "next batch", c.produceTo(0, idempotent(0, 2, "c").encode(t), v).ErrorCode, nil)
		}},
		{name: "a retry after a gateway restart is answered its offset, not written twice", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			first := c.produceTo(0, idempotent(0, 0, "a", "b").encode(t), v)
			e.srv.producers = idempotence.NewTable(10) // what a restarted gateway remembers
			retry := c.produceTo(0, idempotent(0, 0, "a", "b").encode(t), v)
			if first.BaseOffset != 0 || retry.ErrorCode != 0 || retry.BaseOffset != 0 || e.highWatermark(0) != 2 {
				t.Errorf("first %+v retry %+v, high watermark %d; want both at 0, 2 records", first, retry, e.highWatermark(0))
			}
			wantCode(t, "a gap after the restart", c.produceTo(0, idempotent(0, 5, "x").encode(t), v).ErrorCode, kerr.OutOfOrderSequenceNumber)
		}},
		{name: "a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.produceTo(0, idempotent(0, 0, "a").encode(t), v)
			wantCode(t, "gap", c.produceTo(0, idempotent(0, 5, "b").encode(t), v).ErrorCode, kerr.OutOfOrderSequenceNumber)
		}},
		{name: "an older producer epoch is INVALID_PRODUCER_EPOCH", run: func(t *testing.T, e *env, v int16) {
			c := e.dial()
			c.produceTo(0, idempotent(1, 0, "a").encode(t), v)
			wantCode(t, "old epoch", c.produceTo(0, idempotent(0, 1, "b").encode(t), v).ErrorCode, kerr.InvalidProducerEpoch)
		}},
	})
}

func TestInitProducerID(t *testing.T) {
	// initializes is a case asking for a producer id (as producer id/epoch, -1/-1 for none):
	// the answer, and whether the id is a fresh one or the one named.
	initializes := func(txn *string, id int64, epoch int16, want *kerr.Error, fresh bool, wantEpoch int16) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.TransactionalID, req.ProducerID, req.ProducerEpoch = txn, id, epoch
			r := e.dial().do(req, v).(*kmsg.InitProducerIDResponse)
			wantCode(t, "init producer id", r.ErrorCode, want)
			switch {
			case want != nil && (r.ProducerID != -1 || r.ProducerEpoch != -1):
				t.Errorf("producer %d epoch %d, want -1/-1", r.ProducerID, r.ProducerEpoch)
			case want == nil && (fresh && (r.ProducerID <= 0 || r.ProducerID == id) || !fresh && r.ProducerID != id || r.ProducerEpoch != wantEpoch):
				t.Errorf("producer %d epoch %d; want a fresh id: %v, epoch %d", r.ProducerID, r.ProducerEpoch, fresh, wantEpoch)
			}
		}
	}
	forVersions(t, kmsg.InitProducerID, []versionCase{
		{name: "a fresh producer id at epoch 0", run: initializes(nil, -1, -1, nil, true, 0)},
		// As in Kafka, only a transactional producer's epoch is bumped (KIP-360): a producer id
		// and epoch without a transactional id get a fresh id, so no connection can bump, and so
		// fence, a producer id that was handed to another.
		{name: "naming a producer id and epoch gets a fresh id at epoch 0", from: 3, run: initializes(nil, 5, 2, nil, true, 0)},
		{name: "an exhausted epoch gets a fresh id", from: 3, run: initializes(nil, 5, math.MaxInt16-1, nil, true, 0)},
		{name: "another connection's producer id is not bumped", from: 3, run: func(t *testing.T, e *env, v int16) {
			owner := e.dial().do(kmsg.NewPtrInitProducerIDRequest(), v).(*kmsg.InitProducerIDResponse)
			req := kmsg.NewPtrInitProducerIDRequest()
			req.ProducerID, req.ProducerEpoch = owner.ProducerID, owner.ProducerEpoch
			other := e.dial().do(req, v).(*kmsg.InitProducerIDResponse)
			if owner.ErrorCode != 0 || other.ErrorCode != 0 || other.ProducerID == owner.ProducerID || other.ProducerEpoch != 0 {
				t.Errorf("owner %d/%d, the other connection %d/%d: want a different id at epoch 0", owner.ProducerID, owner.ProducerEpoch, other.ProducerID, other.ProducerEpoch)
			}
		}},
		{name: "a transactional id is TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
			run: initializes(kmsg.StringPtr("txn"), -1, -1, kerr.TransactionalIDAuthorizationFailed, false, -1)},
	})
}

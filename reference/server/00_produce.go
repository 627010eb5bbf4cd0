package server

// Produce, key 0, versions 3–8 (record batch magic v2; the levels 1.0–2.6 never send older).
//
// Each partition's batches are decoded (any codec), checked (CRC, size, structure) and written
// to the partition's Pulsar topic as one Pulsar batch; the response carries the base offset
// read back from Pulsar's broker entry index. acks must be -1, 0 or 1 (INVALID_REQUIRED_ACKS);
// acks=0 writes and sends no response, as Kafka does. Errors per partition:
// TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION (also for a name no topic can have, as
// Kafka), NOT_LEADER_OR_FOLLOWER when the topic could not be looked up (REQUEST_TIMED_OUT when
// the request's timeout ran out first), CORRUPT_MESSAGE (also a batch claiming more records
// than its bytes hold), UNSUPPORTED_FOR_MESSAGE_FORMAT, MESSAGE_TOO_LARGE (below),
// UNSUPPORTED_COMPRESSION_TYPE (zstd below v7), INVALID_RECORD (one partition's batches from
// more than one producer), KAFKA_STORAGE_ERROR (Pulsar failed). v5+ responses carry the
// partition's log start (moved by DeleteRecords).
// MESSAGE_TOO_LARGE is a partition's batches over max message bytes, compressed or
// decompressed: the records become one Pulsar entry, stored decompressed, so decompression
// stops once it passes max message bytes (never the request limit); a compressed batch whose
// header claims more records than max message bytes could hold (7 bytes each at least), or a
// zstd window over 8 MiB (or max message bytes when larger), is refused without decompressing.
// Partitions are written concurrently; records within a partition keep their order. Decoded
// records are bounded per request: a partition takes max message bytes of the request's budget
// (produceDecodeBudget of them) before it is decoded, keeps what its records take while they
// are written, and gives it back once written, so a request naming many partitions (or one
// partition many times) holds a few max messages of decoded records, not one per partition; a
// partition whose turn does not come within the request's timeout gets REQUEST_TIMED_OUT and is
// not written.
// A partition's records are written as one Pulsar entry, all or nothing (MESSAGE_TOO_LARGE
// when they would not fit one); once Pulsar acknowledged them the answer is success, with
// base offset or log start -1 if they could not be learned in time.
// Idempotent batches (producer id >= 0) are checked against the producer's last five batches on
// the partition: a retry is answered with the offsets it got the first time and not written
// again; a gap gets OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH. The
// batches are stored with their producer, so the window is read back from the partition's last
// producerLookback records on the first idempotent write after the gateway starts and after a
// write whose outcome was in doubt (Pulsar did not answer): a retry across a gateway restart or
// a Pulsar outage is still recognised.
// A producer id issued to another principal gets UNKNOWN_PRODUCER_ID (producer_ids.go).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sync/semaphore"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/idempotence"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
	"github.com/kop-conformance/kop-conformance/reference/records"
)

func init() { register(kmsg.Produce, 3, 8, handleProduce) }

func handleProduce(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.ProduceRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	if timeout <= 0 || timeout > 2*time.Minute {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	pipelined := false
	defer func() {
		if !pipelined {
			cancel()
		}
	}()

	topics := rc.resolver(ctx, kmsg.Produce)
	maxMsg := int64(s.cfg.MaxMessageBytes)
	budget := semaphore.NewWeighted(produceDecodeBudget * maxMsg)
	var (
		wg       sync.WaitGroup
		finishMu sync.Mutex
		finishes []func()
	)
	// One partition is sent on the connection's goroutine: another would only add a stack.
	one := len(req.Topics) == 1 && len(req.Topics[0].Partitions) == 1
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(t.Partitions))
		resp.Topics = append(resp.Topics, rt)
		out := resp.Topics[len(resp.Topics)-1].Partitions
		topic := topicState{err: kerr.InvalidRequiredAcks}
		if req.Acks == -1 || req.Acks == 0 || req.Acks == 1 {
			topic = topics.topic(t.Topic)
		}
		for i, p := range t.Partitions {
			rp := &out[i]
			*rp = kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = -1, -1, -1
			if e := topic.partition(p.Partition); e != nil {
				rp.ErrorCode = e.Code
				continue
			}
			if err := budget.Acquire(ctx, maxMsg); err != nil || ctx.Err() != nil {
				if err == nil {
					budget.Release(maxMsg)
				}
				rp.ErrorCode = kerr.RequestTimedOut.Code
				continue
			}
			wg.Add(1)
			write := func() {
				defer wg.Done()
				h := &held{budget, maxMsg}
				defer h.release()
				where := fmt.Sprintf("Produce %s/%d", t.Topic, p.Partition)
				defer recoverAs(s.log, where, func() { rp.ErrorCode = kerr.UnknownServerError.Code })
				finish := s.producePartition(ctx, req.Version, partition.TP{Topic: t.Topic, Partition: p.Partition}, p.Records, rp, h)
				if finish != nil {
					finishMu.Lock()
					finishes = append(finishes, func() {
						defer recoverAs(s.log, where, func() { rp.ErrorCode = kerr.UnknownServerError.Code })
						finish()
					})
					finishMu.Unlock()
				}
			}
			if one {
				write()
			} else {
				go write()
			}
		}
	}
	wg.Wait()
	// Every partition's records are on their way, in order; what is left is waiting for
	// Pulsar's answers. Each wait ends within the Pulsar operation timeout.
	finish := func() {
		defer cancel()
		for _, f := range finishes {
			f()
		}
	}
	switch {
	case req.Acks == 0:
		finish()
		return noResponse, nil
	case rc.conn != nil && rc.conn.canPipeline():
		pipelined = true
		return &pipelinedResponse{Response: resp, finish: finish}, nil
	}
	finish()
	return resp, nil
}

// produceDecodeBudget is how many max messages of decoded records one Produce holds at most;
// minHeld is the least a partition being written holds of it (its goroutine and records), which
// bounds the partitions in flight too.
const (
	produceDecodeBudget = 4
	minHeld             = 4 << 10
)

// held is the part of a Produce's decode budget one partition holds.
type held struct {
	budget *semaphore.Weighted
	n      int64
}

// shrink gives back all but size bytes (at least minHeld) of what the partition holds.
func (h *held) shrink(size int64) {
	size = min(max(size, minHeld), h.n)
	h.budget.Release(h.n - size)
	h.n = size
}

func (h *held) release() {
	h.budget.Release(h.n)
	h.n = 0
}

func producerKey(tp partition.TP) string { return tp.Topic + "/" + strconv.Itoa(int(tp.Partition)) }

// producePartition checks a partition's records and sends them on their way; finish, when not
// nil, waits for Pulsar's answer and completes rp. Calls for one partition that follow one
// another are stored in that order.
func (s *Server) producePartition(ctx context.Context, version int16, tp partition.TP, raw []byte, rp *kmsg.ProduceResponseTopicPartition, h *held) (finish func()) {
	if len(raw) > int(s.cfg.MaxMessageBytes) {
		rp.ErrorCode = kerr.MessageTooLarge.Code
		return nil
	}
	batches, err := records.Decode(raw, int(s.cfg.MaxMessageBytes))
	switch {
	case errors.Is(err, records.ErrUnsupportedMagic):
		rp.ErrorCode = kerr.UnsupportedForMessageFormat.Code
		return nil
	case errors.Is(err, records.ErrTooLarge):
		rp.ErrorCode = kerr.MessageTooLarge.Code
		return nil
	case err != nil:
		s.log.Warn("produce: rejected batch", "topic", tp.Topic, "partition", tp.Partition, "reason", err)
		rp.ErrorCode = kerr.CorruptMessage.Code
		return nil
	}
	if len(batches) == 0 {
		rp.ErrorCode = kerr.CorruptMessage.Code
		return nil
	}
	recs := batches[0].Records // one batch is the usual case: no copy
	compressed := false        // stored compressed if the client compressed any of them
	for i, b := range batches {
		compressed = compressed || records.Codec(b.Header.Attributes) != records.CodecNone
		if records.Codec(b.Header.Attributes) == records.CodecZstd && version < 7 {
			rp.ErrorCode = kerr.UnsupportedCompressionType.Code // zstd needs Produce v7+ (KIP-110)
			return nil
		}
		if b.Header.ProducerID != batches[0].Header.ProducerID || b.Header.ProducerEpoch != batches[0].Header.ProducerEpoch {
			rp.ErrorCode = kerr.InvalidRecord.Code // one request's batches for a partition come from one producer
			return nil
		}
		if i > 0 {
			if i == 1 {
				recs = append(recs[:len(recs):len(recs)], b.Records...)
			} else {
				recs = append(recs, b.Records...)
			}
		}
	}
	if len(recs) == 0 {
		rp.ErrorCode = kerr.CorruptMessage.Code
		return nil
	}
	size := 0
	for i := range recs {
		size += recs[i].Size()
	}
	h.shrink(int64(size))
	if len(recs) > 1 && s.cfg.Faults.On(faults.LoseRecord) {
		recs = recs[:len(recs)-1]
	}
	// Idempotent batches: check the sequence and begin the write under the partition's lock,
	// and settle the outcome in order once Pulsar answered.
	first, last := batches[0].Header, batches[len(batches)-1].Header
	if pid := first.ProducerID; pid >= 0 && s.producerIDRefused(ctx, pid, rp) {
		return nil
	}
	p, err := s.logs.Partition(tp)
	if err != nil {
		s.storageFailed(tp, rp, err)
		return nil
	}
	var ident *partition.Producer
	if pid := first.ProducerID; pid >= 0 {
		ident = &partition.Producer{ID: pid, Epoch: first.ProducerEpoch, FirstSeq: first.FirstSequence,
			LastSeq: last.FirstSequence + last.NumRecords - 1}
	}
	wait, settle := s.beginWrite(ctx, p, tp, recs, compressed, ident, rp)
	if wait == nil {
		return nil
	}
	return func() {
		base, err := func() (base int64, err error) {
			// Settled whatever happens, a panic in the wait included: an unsettled write
			// would hold its producer's later batches forever.
			defer func() { settle(base, err == nil) }()
			err = errors.New("no outcome")
			return wait()
		}()
		if err != nil {
			s.storageFailed(tp, rp, err)
			return
		}
		rp.BaseOffset = base
		if version >= 5 {
			// The write stands whatever happens here: an unknown log start is answered as -1.
			if rp.LogStartOffset, err = p.LogStart(ctx); err != nil {
				s.log.Warn("produce: log start after a write", "topic", tp.Topic, "partition", tp.Partition, "err", err)
				rp.LogStartOffset = -1
			}
		}
	}
}

// beginWrite sends recs on their way (nil wait: rp holds the answer). For an idempotent
// producer it checks the sequence and begins the write under the partition's producer lock,
// and settle records the outcome, in order, once Pulsar answered (settle is then never nil).
func (s *Server) beginWrite(ctx context.Context, p partition.Log, tp partition.TP, recs []records.Record, compressed bool, ident *partition.Producer, rp *kmsg.ProduceResponseTopicPartition) (partition.Wait, func(base int64, ok bool)) {
	if ident == nil {
		wait, _, err := p.Begin(ctx, partition.Write{Records: recs, Compress: compressed})
		if err != nil {
			s.storageFailed(tp, rp, err) // nothing was sent
			return nil, nil
		}
		return wait, func(int64, bool) {}
	}
	prod := s.producers.Partition(producerKey(tp))
	prod.Lock()
	defer prod.Unlock()
	for {
		if !s.producerCheck(ctx, p, prod, ident, tp, rp) {
			return nil, nil
		}
		wait, chain, err := p.Begin(ctx, partition.Write{Records: recs, Producer: ident,
			After: partition.Chain(prod.After(ident.ID)), Compress: compressed})
		if errors.Is(err, partition.ErrChainBroken) {
			// The batch this one follows may not be stored: wait for its outcome, then
			// check again (a retry of it will come first, or this one is out of order).
			if !waitSettled(ctx, prod) {
				rp.ErrorCode = kerr.RequestTimedOut.Code
				return nil, nil
			}
			continue
		}
		if err != nil {
			s.storageFailed(tp, rp, err) // nothing was sent
			return nil, nil
		}
		w := prod.Begin(ident.ID, ident.Epoch, ident.FirstSeq, ident.LastSeq, uint64(chain))
		return wait, func(base int64, ok bool) {
			prod.Lock()
			defer prod.Unlock()
			prod.Settle(w, base, ok, time.Now()) // a failure doubts the window
		}
	}
}

// producerCheck judges an idempotent batch against the partition's window (prod, locked): true
// to write it; otherwise rp holds the answer. A window in doubt is read back first, once the
// writes in flight settled; a batch that does not follow one in flight waits for it.
func (s *Server) producerCheck(ctx context.Context, p partition.Log, prod *idempotence.Partition, ident *partition.Producer, tp partition.TP, rp *kmsg.ProduceResponseTopicPartition) bool {
	for {
		if !prod.Loaded() && prod.Busy() {
			if !waitSettled(ctx, prod) {
				rp.ErrorCode = kerr.RequestTimedOut.Code
				return false
			}
			continue
		}
		if !prod.Loaded() && s.cfg.Faults.On(faults.ForgetProducers) {
			prod.Load(nil, time.Now())
		} else if !prod.Loaded() {
			if err := loadProducers(ctx, p, prod); err != nil {
				s.storageFailed(tp, rp, err)
				return false
			}
		}
		switch v, base := prod.Check(ident.ID, ident.Epoch, ident.FirstSeq, ident.LastSeq); v {
		case idempotence.Duplicate:
			rp.BaseOffset = base
			return false
		case idempotence.StaleEpoch:
			rp.ErrorCode = kerr.InvalidProducerEpoch.Code
			return false
		case idempotence.OutOfOrder:
			rp.ErrorCode = kerr.OutOfOrderSequenceNumber.Code
			return false
		case idempotence.InFlight:
			if !waitSettled(ctx, prod) {
				rp.ErrorCode = kerr.RequestTimedOut.Code
				return false
			}
		default:
			return true
		}
	}
}

// waitSettled waits, with prod unlocked, until one of its writes settles; false if ctx ended.
func waitSettled(ctx context.Context, prod *idempotence.Partition) bool {
	ch := prod.Settled()
	prod.Unlock()
	defer prod.Lock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// producerLookback is how many of a partition's last records are read back to rebuild its
// idempotence window after a gateway start or a write in doubt: Kafka keeps a producer's last
// five batches, and a retry follows its original closely.
const producerLookback = 10000

// loadProducers rebuilds a partition's idempotence window from the batches the log holds.
func loadProducers(ctx context.Context, p partition.Log, prod *idempotence.Partition) error {
	bs, err := p.RecentProducers(ctx, producerLookback)
	if err != nil {
		return fmt.Errorf("reading back idempotent batches: %w", err)
	}
	out := make([]idempotence.Batch, len(bs))
	for i, b := range bs {
		out[i] = idempotence.Batch{ID: b.ID, Epoch: b.Epoch, First: b.FirstSeq, Last: b.LastSeq, Base: b.Base}
	}
	prod.Load(out, time.Now())
	return nil
}

// storageFailed answers a partition whose write Pulsar did not acknowledge (MESSAGE_TOO_LARGE
// for a batch no Pulsar entry can hold).
func (s *Server) storageFailed(tp partition.TP, rp *kmsg.ProduceResponseTopicPartition, err error) {
	rp.BaseOffset = -1
	if errors.Is(err, partition.ErrBatchTooLarge) {
		rp.ErrorCode = kerr.MessageTooLarge.Code
		return
	}
	s.log.Error("produce: storage", "topic", tp.Topic, "partition", tp.Partition, "err", err)
	s.cfg.Metrics.PulsarError("produce")
	rp.ErrorCode = kerr.KafkaStorageError.Code
}

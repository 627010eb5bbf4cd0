package clients

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

var _ Transactional = (*franz)(nil)

// ProduceTransactions runs each batch as one transaction of a kgo transactional producer:
// BeginTransaction, ProduceSync (every record acked), EndTransaction with TryCommit or TryAbort.
// The producer id is initialised (InitProducerId) with the first transaction.
func (f *franz) ProduceTransactions(ctx context.Context, txnID, topic string, partition int32, batches []TxnBatch) ([]Record, error) {
	cl, err := kgo.NewClient(f.opts(
		kgo.TransactionalID(txnID),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []Record
	for i, b := range batches {
		if err := cl.BeginTransaction(); err != nil {
			return out, fmt.Errorf("franz-go: beginning transaction %d: %w", i, err)
		}
		in := make([]*kgo.Record, len(b.Records))
		for j, r := range b.Records {
			r.Topic, r.Partition = topic, partition
			in[j] = toKgo(r)
		}
		res := cl.ProduceSync(ctx, in...)
		if err := res.FirstErr(); err != nil {
			// Leave nothing open behind the failure; the error that matters is the produce's.
			_ = cl.AbortBufferedRecords(ctx)
			_ = cl.EndTransaction(ctx, kgo.TryAbort)
			return out, fmt.Errorf("franz-go: producing transaction %d: %w", i, err)
		}
		for j, kr := range in { // ProduceSync filled each record's offset in place
			r := b.Records[j]
			r.Topic, r.Partition, r.Offset = topic, kr.Partition, kr.Offset
			out = append(out, r)
		}
		end := kgo.TryAbort
		if b.Commit {
			end = kgo.TryCommit
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			return out, fmt.Errorf("franz-go: ending transaction %d (commit %v): %w", i, b.Commit, err)
		}
	}
	return out, nil
}

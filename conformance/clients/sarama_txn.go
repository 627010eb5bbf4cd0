package clients

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

var _ Transactional = (*saramaClient)(nil)

// ProduceTransactions runs each batch as one transaction of a sarama transactional
// SyncProducer: BeginTxn, SendMessages (every record acked), CommitTxn or AbortTxn. sarama
// initialises the producer id (InitProducerId) when the producer is created.
func (s *saramaClient) ProduceTransactions(_ context.Context, txnID, topic string, partition int32, batches []TxnBatch) ([]Record, error) {
	cfg := *s.cfg
	// sarama's requirements for a transactional producer: idempotence, acks=all, one request
	// in flight per broker.
	cfg.Producer.Transaction.ID = txnID
	cfg.Producer.Idempotent, cfg.Net.MaxOpenRequests = true, 1
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max, cfg.Producer.Retry.Backoff = 5, 100*time.Millisecond
	// Transaction requests are retried while the coordinator is not ready (Kafka creates
	// __transaction_state on the first transactional id) and while the previous transaction's
	// markers are written (CONCURRENT_TRANSACTIONS): up to 20 s instead of sarama's 5.
	cfg.Producer.Transaction.Retry.Max, cfg.Producer.Transaction.Retry.Backoff = 100, 200*time.Millisecond
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(s.addrs, &cfg)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	var out []Record
	for i, b := range batches {
		if err := p.BeginTxn(); err != nil {
			return out, fmt.Errorf("sarama: beginning transaction %d: %w", i, err)
		}
		msgs := saramaMessages(topic, partition, b.Records)
		if err := p.SendMessages(msgs); err != nil {
			_ = p.AbortTxn()
			var pe sarama.ProducerErrors
			if errors.As(err, &pe) && len(pe) > 0 {
				err = pe[0].Err
			}
			return out, fmt.Errorf("sarama: producing transaction %d: %w", i, err)
		}
		for j, m := range msgs {
			r := b.Records[j]
			r.Topic, r.Partition, r.Offset = topic, m.Partition, m.Offset
			out = append(out, r)
		}
		end := p.AbortTxn
		if b.Commit {
			end = p.CommitTxn
		}
		if err := end(); err != nil {
			return out, fmt.Errorf("sarama: ending transaction %d (commit %v): %w", i, b.Commit, err)
		}
	}
	return out, nil
}

// saramaMessages are recs as sarama producer messages to one partition.
func saramaMessages(topic string, partition int32, recs []Record) []*sarama.ProducerMessage {
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		r.Topic, r.Partition = topic, partition
		msgs[i] = saramaMessage(r)
	}
	return msgs
}

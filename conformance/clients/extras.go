package clients

import (
	"context"
	"time"
)

// Optional capabilities of the adapters, for features not every client has (the rules say
// which: rules.Feature.Lacking). A spec type-asserts its client to the interface it needs.

// SASL mechanisms (Credentials.Mechanism).
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// Roles of the SASL mechanisms other than PLAIN (Target.Users), on targets that serve them.
const (
	UserSCRAMSHA256 = "scram-sha-256"      // the allowed principal, by SCRAM-SHA-256
	UserSCRAMSHA512 = "scram-sha-512"      // the allowed principal, by SCRAM-SHA-512
	UserOAuth       = "oauthbearer"        // the allowed principal, by an unsecured JWT
	UserOAuthDenied = "oauthbearer-denied" // a principal without grants, by an unsecured JWT
)

// TxnBatch is the records of one transaction and how it ends.
type TxnBatch struct {
	Records []Record
	Commit  bool // false: aborted
}

// Transactional clients have a transactional producer (their consumers read committed records
// with ConsumeConfig.Isolation).
type Transactional interface {
	// ProduceTransactions runs one transaction per batch, in order, with one transactional
	// producer (InitProducerId once for txnID): it begins the transaction, produces the
	// batch's records to topic/partition, waits for their acks, and commits or aborts. It
	// returns every produced record with its offset, in order.
	ProduceTransactions(ctx context.Context, txnID, topic string, partition int32, batches []TxnBatch) ([]Record, error)
}

// TopicConfigurer clients create topics with topic configs (CreateTopics' config entries).
type TopicConfigurer interface {
	// CreateTopicWithConfigs is CreateTopic with configs; the error carries the Kafka code.
	CreateTopicWithConfigs(ctx context.Context, topic string, partitions int32, configs map[string]string) error
}

// Timestamp types of a consumed record (the batch attribute bit, KIP-32).
const (
	TimestampUnknown       int8 = -1 // the client does not say
	TimestampCreateTime    int8 = 0
	TimestampLogAppendTime int8 = 1
)

// AppendTimes clients report the timestamps a broker assigns on topics with
// message.timestamp.type=LogAppendTime.
type AppendTimes interface {
	TopicConfigurer
	// ProduceAppendTime produces recs (acks=all, in order; one partition) and returns them
	// with offsets and with Timestamp set to the produce response's LogAppendTime: the
	// broker's time. When the response says -1 (CreateTime) it is the zero time, or the
	// producer's own timestamp where the client reports that instead (sarama).
	ProduceAppendTime(ctx context.Context, recs []Record) ([]Record, error)
	// ConsumeTimestampTypes is Consume, also returning each record's timestamp type
	// (TimestampUnknown where the client does not expose it).
	ConsumeTimestampTypes(ctx context.Context, topic string, partition int32, offset int64, n int) ([]Record, []int8, error)
}

// UnsecuredJWTLifetime is how long the tokens the adapters mint for OAUTHBEARER are valid.
const UnsecuredJWTLifetime = time.Hour

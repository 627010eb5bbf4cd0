package config

import (
	"flag"
	"fmt"
)

// DataLimits bound what one request may ask of the topic catalog and of the data, so that no
// count a client sends is trusted. The defaults are Kafka's where Kafka has one.
type DataLimits struct {
	// MaxPartitionsPerTopic is the most partitions CreateTopics may give a topic and
	// CreatePartitions may grow it to (Kafka has no such limit; Pulsar's
	// maxNumPartitionsPerPartitionedTopic is 0, unlimited, by default: the suite's Pulsar sets it
	// to this default, so topics created around the gateway are bounded too). Above it:
	// INVALID_PARTITIONS.
	MaxPartitionsPerTopic int32
	// MaxPartitionsPerRequest is the most partitions one CreateTopics or CreatePartitions
	// request may name in all, each topic counting for its partition count and at least 1.
	// Above it every topic of the request gets INVALID_PARTITIONS.
	MaxPartitionsPerRequest int32
	// FetchMaxBytes is the most a Fetch response carries whatever the request asks (Kafka's
	// broker setting fetch.max.bytes), except that a first record batch larger than it still
	// comes whole (KIP-74).
	FetchMaxBytes int32
}

// DefaultDataLimits are the limits without flags: 1000 partitions per topic, 10,000 per
// request, and Kafka's fetch.max.bytes default of 55 MiB.
var DefaultDataLimits = DataLimits{MaxPartitionsPerTopic: 1000, MaxPartitionsPerRequest: 10000, FetchMaxBytes: 57671680}

// OrDefaults is l with each zero field set to its default.
func (l DataLimits) OrDefaults() DataLimits {
	if l.MaxPartitionsPerTopic == 0 {
		l.MaxPartitionsPerTopic = DefaultDataLimits.MaxPartitionsPerTopic
	}
	if l.MaxPartitionsPerRequest == 0 {
		l.MaxPartitionsPerRequest = DefaultDataLimits.MaxPartitionsPerRequest
	}
	if l.FetchMaxBytes == 0 {
		l.FetchMaxBytes = DefaultDataLimits.FetchMaxBytes
	}
	return l
}

// dataLimitFlags registers the data limits' flags (and KOP_* variables) on fs; the function it
// returns sets c.DataLimits from them once fs is parsed, and checks them against c.
func dataLimitFlags(fs *flag.FlagSet, env func(name, def string) string) func(c *Config) error {
	d := DefaultDataLimits
	perTopic := fs.String("max-partitions-per-topic", env("KOP_MAX_PARTITIONS_PER_TOPIC", fmt.Sprint(d.MaxPartitionsPerTopic)),
		"most partitions a topic may have through CreateTopics and CreatePartitions; above it INVALID_PARTITIONS (env KOP_MAX_PARTITIONS_PER_TOPIC)")
	perRequest := fs.String("max-partitions-per-request", env("KOP_MAX_PARTITIONS_PER_REQUEST", fmt.Sprint(d.MaxPartitionsPerRequest)),
		"most partitions one CreateTopics or CreatePartitions request may name in all; above it INVALID_PARTITIONS for every topic (env KOP_MAX_PARTITIONS_PER_REQUEST)")
	fetchMax := fs.String("fetch-max-bytes", env("KOP_FETCH_MAX_BYTES", fmt.Sprint(d.FetchMaxBytes)),
		"most bytes a Fetch response carries whatever the request asks (Kafka's fetch.max.bytes); a larger first record batch still comes whole (env KOP_FETCH_MAX_BYTES)")
	return func(c *Config) error {
		l := &c.DataLimits
		var err error
		if l.MaxPartitionsPerTopic, err = int32Flag("max-partitions-per-topic", *perTopic, 1); err != nil {
			return err
		}
		if l.MaxPartitionsPerRequest, err = int32Flag("max-partitions-per-request", *perRequest, 1); err != nil {
			return err
		}
		if l.FetchMaxBytes, err = int32Flag("fetch-max-bytes", *fetchMax, 1024); err != nil {
			return err
		}
		if l.MaxPartitionsPerRequest < l.MaxPartitionsPerTopic {
			return fmt.Errorf("max-partitions-per-request (%d) is below max-partitions-per-topic (%d): a topic at the limit could never be created",
				l.MaxPartitionsPerRequest, l.MaxPartitionsPerTopic)
		}
		if c.DefaultPartitions > l.MaxPartitionsPerTopic {
			return fmt.Errorf("default-partitions (%d) is over max-partitions-per-topic (%d)", c.DefaultPartitions, l.MaxPartitionsPerTopic)
		}
		return nil
	}
}

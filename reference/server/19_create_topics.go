package server

// CreateTopics, key 19, versions 0–5.
//
// Creates Pulsar partitioned topics (Kafka topic t is naming.ToPulsar(t), so a name holding
// "-partition-" is served too). Kafka's checks, in Kafka's order: no produce grant
// (TOPIC_AUTHORIZATION_FAILED), duplicate names in one request (INVALID_REQUEST), invalid names
// (INVALID_TOPIC_EXCEPTION; also the gateway's reserved __kop prefix), manual replica
// assignment (INVALID_REQUEST: the gateway does not place replicas), partitions below 1
// (INVALID_PARTITIONS; -1 means the default from v4), partitions over max-partitions-per-topic
// (INVALID_PARTITIONS, 1000 by default), a replication factor other than 1 or -1
// (INVALID_REPLICATION_FACTOR: Pulsar's bookies own replication and this is one broker), an
// existing topic (TOPIC_ALREADY_EXISTS), then the configs (after the existence check, as
// Kafka's controller does). validate_only checks without creating. When Pulsar cannot be asked
// whether the topic exists: REQUEST_TIMED_OUT (retriable, as a Kafka broker answers when the
// controller cannot be reached); when the creation itself fails: UNKNOWN_SERVER_ERROR.
//
// Configs: message.timestamp.type=LogAppendTime is refused with INVALID_CONFIG ("is not served:
// records keep the producer's timestamp"): the gateway never stamps records with its own time.
// CreateTime, or no setting, is accepted; any other value (or null) is INVALID_CONFIG, as in
// Kafka. Every other config is accepted and ignored: nothing is stored per topic, and
// DescribeConfigs reports the gateway's fixed values (retention, for one, is Pulsar's
// namespace policy). The v5 response carries no configs.
//
// A request naming more partitions in all than max-partitions-per-request (10,000 by default;
// each topic counts for its partitions, -1 for the default, and at least 1) is refused whole
// before anything else is checked: every topic gets INVALID_PARTITIONS, and neither Pulsar nor
// the authorizer is asked anything.
//
// A new topic starts at log start 0: log starts a DeleteRecords left under the same name (a
// topic deleted behind the gateway's back) are deleted first.

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
)

func init() { register(kmsg.CreateTopics, 0, 5, handleCreateTopics) }

func handleCreateTopics(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	partitions := func(t kmsg.CreateTopicsRequestTopic) int32 {
		if t.NumPartitions == -1 {
			return rc.s.cfg.DefaultPartitions
		}
		return t.NumPartitions
	}
	tooMany := rc.s.overRequestLimit(len(req.Topics), func(i int) int32 { return partitions(req.Topics[i]) })
	seen := timesNamed(req.Topics, func(t kmsg.CreateTopicsRequestTopic) string { return t.Topic })
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
		partitions := partitions(t)
		e := tooMany
		if e == nil {
			e = rc.createTopic(ctx, t, partitions, seen[t.Topic], req.ValidateOnly)
		}
		if e.answer(&rt.ErrorCode, &rt.ErrorMessage) {
			rt.NumPartitions, rt.ReplicationFactor = partitions, 1
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// createTopic checks one topic in Kafka's order and, unless validateOnly, creates it.
func (rc *reqCtx) createTopic(ctx context.Context, t kmsg.CreateTopicsRequestTopic, partitions int32, named int, validateOnly bool) *topicError {
	s := rc.s
	if e := rc.authorize(ctx, kmsg.CreateTopics, t.Topic); e != nil {
		return e
	}
	if e := namedTwice(t.Topic, named); e != nil {
		return e
	}
	if e := checkName(kmsg.CreateTopics, t.Topic); e != nil {
		return e
	}
	switch {
	case len(t.ReplicaAssignment) > 0:
		return &topicError{kerr.InvalidRequest, "manual replica assignment is not supported: Pulsar places the data"}
	case partitions < 1:
		return &topicError{kerr.InvalidPartitions, fmt.Sprintf("number of partitions must be at least 1, got %d", t.NumPartitions)}
	case partitions > s.cfg.Data.MaxPartitionsPerTopic:
		return s.overTopicLimit(partitions)
	case t.ReplicationFactor != -1 && t.ReplicationFactor != 1:
		return &topicError{kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor %d is larger than the 1 available broker", t.ReplicationFactor)}
	}
	if n, e := s.lookupTopic(ctx, kmsg.CreateTopics, t.Topic); e != nil {
		return e
	} else if n > 0 {
		return topicExists(t.Topic)
	}
	if msg := refusedConfig(t.Configs); msg != "" {
		return &topicError{kerr.InvalidConfig, msg}
	}
	if validateOnly {
		return nil
	}
	if err := s.logs.ForgetLogStarts(ctx, t.Topic); err != nil {
		s.log.Error("create topic: clearing old log starts", "topic", t.Topic, "err", err)
		return &topicError{kerr.UnknownServerError, err.Error()}
	}
	if err := s.catalog.Create(ctx, t.Topic, partitions); errors.Is(err, catalog.ErrTopicExists) {
		return topicExists(t.Topic)
	} else if err != nil {
		s.log.Error("create topic", "topic", t.Topic, "err", err)
		return &topicError{kerr.UnknownServerError, err.Error()}
	}
	return nil
}

func topicExists(name string) *topicError {
	return &topicError{kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", name)}
}

// Topic configs CreateTopics checks.
const (
	timestampTypeConfig = "message.timestamp.type"
	logAppendTime       = "LogAppendTime"
	createTime          = "CreateTime"
)

// refusedConfig is why a topic's configs cannot be served ("" when they can).
func refusedConfig(configs []kmsg.CreateTopicsRequestTopicConfig) string {
	for _, c := range configs {
		if c.Name != timestampTypeConfig {
			continue // accepted and ignored
		}
		switch {
		case c.Value != nil && *c.Value == createTime:
		case c.Value != nil && *c.Value == logAppendTime:
			return timestampTypeConfig + "=" + logAppendTime + " is not served: records keep the producer's timestamp"
		case c.Value == nil:
			return "null value not supported for topic config " + timestampTypeConfig
		default:
			return fmt.Sprintf("invalid value %q for configuration %s: string must be one of: %s, %s", *c.Value, timestampTypeConfig, createTime, logAppendTime)
		}
	}
	return ""
}

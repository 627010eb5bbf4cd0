package server

// CreateTopics, key 19, versions 0–5.
//
// Creates Pulsar partitioned topics (Kafka topic t is naming.ToPulsar(t), so a name holding
// "-partition-" is served too). Kafka's checks, in Kafka's order: no produce grant
// (TOPIC_AUTHORIZATION_FAILED), duplicate names in one request (INVALID_REQUEST), invalid names
// (INVALID_TOPIC_EXCEPTION; also the gateway's reserved __kop prefix), manual replica
// assignment (INVALID_REQUEST: the gateway does not place replicas), partitions below 1
// (INVALID_PARTITIONS; -1 means the default from v4), a replication factor other than 1 or -1
// (INVALID_REPLICATION_FACTOR: Pulsar's bookies own replication and this is one broker), an
// existing topic (TOPIC_ALREADY_EXISTS), then the configs (after the existence check, as
// Kafka's controller does). validate_only checks without creating.
//
// Configs: message.timestamp.type=LogAppendTime is refused with INVALID_CONFIG ("is not served:
// records keep the producer's timestamp"): the gateway never stamps records with its own time.
// CreateTime, or no setting, is accepted; any other value (or null) is INVALID_CONFIG, as in
// Kafka. Every other config is accepted and ignored: nothing is stored per topic, and
// DescribeConfigs reports the gateway's fixed values (retention, for one, is Pulsar's
// namespace policy). The v5 response carries no configs.
//
// A new topic starts at log start 0: log starts a DeleteRecords left under the same name (a
// topic deleted behind the gateway's back) are deleted first.

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
)

var errTopicExists = catalog.ErrTopicExists

func init() { register(kmsg.CreateTopics.Int16(), 0, 5, handleCreateTopics) }

func handleCreateTopics(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.CreateTopicsRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
		fail := func(e *kerr.Error, msg string) {
			rt.ErrorCode = e.Code
			rt.ErrorMessage = &msg
		}
		partitions := t.NumPartitions
		if partitions == -1 {
			partitions = s.cfg.DefaultPartitions
		}
		if err := validTopic(t.Topic); !rc.allowed(ctx, auth.Produce, t.Topic) {
			fail(kerr.TopicAuthorizationFailed, "no produce permission on topic "+t.Topic)
		} else if seen[t.Topic] > 1 {
			fail(kerr.InvalidRequest, fmt.Sprintf("topic %q appears %d times in the request", t.Topic, seen[t.Topic]))
		} else if err != nil {
			fail(kerr.InvalidTopicException, err.Error())
		} else if len(t.ReplicaAssignment) > 0 {
			fail(kerr.InvalidRequest, "manual replica assignment is not supported: Pulsar places the data")
		} else if partitions < 1 {
			fail(kerr.InvalidPartitions, fmt.Sprintf("number of partitions must be at least 1, got %d", t.NumPartitions))
		} else if t.ReplicationFactor != -1 && t.ReplicationFactor != 1 {
			fail(kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor %d is larger than the 1 available broker", t.ReplicationFactor))
		} else if n, err := s.catalog.Partitions(ctx, t.Topic); err != nil {
			fail(kerr.UnknownServerError, err.Error())
		} else if n > 0 {
			fail(kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", t.Topic))
		} else if msg := refusedConfig(t.Configs); msg != "" {
			fail(kerr.InvalidConfig, msg)
		} else if !req.ValidateOnly {
			if err := s.store.ForgetLogStarts(ctx, t.Topic); err != nil {
				s.log.Error("create topic: clearing old log starts", "topic", t.Topic, "err", err)
				fail(kerr.UnknownServerError, err.Error())
			} else if err := s.catalog.Create(ctx, t.Topic, partitions); errors.Is(err, errTopicExists) {
				fail(kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", t.Topic))
			} else if err != nil {
				s.log.Error("create topic", "topic", t.Topic, "err", err)
				fail(kerr.UnknownServerError, err.Error())
			}
		}
		if rt.ErrorCode == 0 {
			rt.NumPartitions, rt.ReplicationFactor = partitions, 1
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
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

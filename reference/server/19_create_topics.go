package server

// CreateTopics, key 19, versions 0–5.
//
// Creates Pulsar partitioned topics. Kafka's checks, in Kafka's order: duplicate names in one
// request (INVALID_REQUEST), invalid names (INVALID_TOPIC_EXCEPTION), manual replica assignment
// (INVALID_REQUEST: the gateway does not place replicas), partitions below 1
// (INVALID_PARTITIONS; -1 means the default from v4), a replication factor other than 1 or -1
// (INVALID_REPLICATION_FACTOR: Pulsar's bookies own replication and this is one broker), an
// existing topic (TOPIC_ALREADY_EXISTS). validate_only checks without creating.

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/auth"
	"github.com/kop-conformance/kop-conformance/reference/catalog"
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
		} else if !req.ValidateOnly {
			if err := s.catalog.Create(ctx, t.Topic, partitions); errors.Is(err, errTopicExists) {
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

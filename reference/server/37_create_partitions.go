package server

// CreatePartitions, key 37, versions 0–3.
//
// Grows a topic's partition count (Pulsar's partitioned-topic update). Kafka's checks: a topic
// named twice (INVALID_REQUEST), an unknown topic or a name no topic can have
// (UNKNOWN_TOPIC_OR_PARTITION, as Kafka), a count not above the current one
// (INVALID_PARTITIONS), manual replica assignment (INVALID_REQUEST: Pulsar places the data).
// validate_only checks without growing.

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
)

func init() { register(kmsg.CreatePartitions.Int16(), 0, 3, handleCreatePartitions) }

func handleCreatePartitions(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.CreatePartitionsRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		fail := func(e *kerr.Error, msg string) {
			rt.ErrorCode = e.Code
			rt.ErrorMessage = &msg
		}
		if !rc.allowed(ctx, auth.Produce, t.Topic) {
			fail(kerr.TopicAuthorizationFailed, "no produce permission on topic "+t.Topic)
		} else if seen[t.Topic] > 1 {
			fail(kerr.InvalidRequest, fmt.Sprintf("topic %q appears %d times in the request", t.Topic, seen[t.Topic]))
		} else if n, bad, err := s.lookupTopic(ctx, kmsg.CreatePartitions, t.Topic); bad != nil {
			fail(bad, "no topic named "+t.Topic)
		} else if err != nil {
			fail(kerr.UnknownServerError, err.Error())
		} else if n == 0 {
			fail(kerr.UnknownTopicOrPartition, "no topic named "+t.Topic)
		} else if t.Count <= n {
			fail(kerr.InvalidPartitions, fmt.Sprintf("topic %q has %d partitions; the new count %d must be larger", t.Topic, n, t.Count))
		} else if len(t.Assignment) > 0 {
			fail(kerr.InvalidRequest, "manual replica assignment is not supported: Pulsar places the data")
		} else if !req.ValidateOnly {
			if err := s.catalog.Grow(ctx, t.Topic, t.Count); errors.Is(err, catalog.ErrUnknownTopic) {
				fail(kerr.UnknownTopicOrPartition, "no topic named "+t.Topic)
			} else if err != nil {
				s.log.Error("create partitions", "topic", t.Topic, "err", err)
				fail(kerr.UnknownServerError, err.Error())
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

package server

// CreatePartitions, key 37, versions 0–3.
//
// Grows a topic's partition count (Pulsar's partitioned-topic update). Kafka's checks: a topic
// named twice (INVALID_REQUEST), an unknown topic or a name no topic can have
// (UNKNOWN_TOPIC_OR_PARTITION, as Kafka), a count not above the current one
// (INVALID_PARTITIONS), manual replica assignment (INVALID_REQUEST: Pulsar places the data).
// validate_only checks without growing. No produce grant: TOPIC_AUTHORIZATION_FAILED, first.
// When Pulsar cannot be asked about the topic: REQUEST_TIMED_OUT (retriable, as a Kafka broker
// answers when the controller cannot be reached); when growing fails: UNKNOWN_SERVER_ERROR.
//
// Limits, checked before Pulsar is asked anything: a count over max-partitions-per-topic (1000
// by default) is INVALID_PARTITIONS, after the name and before the lookup (so an unknown topic
// with such a count gets INVALID_PARTITIONS, where Kafka, which has no such limit, looks it up
// first). A request naming more partitions in all than max-partitions-per-request (10,000 by
// default; each topic counts for its new count and at least 1) is refused whole: every topic
// gets INVALID_PARTITIONS, and neither Pulsar nor the authorizer is asked anything.

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
)

func init() { register(kmsg.CreatePartitions, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	tooMany := rc.s.overRequestLimit(len(req.Topics), func(i int) int32 { return req.Topics[i].Count })
	seen := timesNamed(req.Topics, func(t kmsg.CreatePartitionsRequestTopic) string { return t.Topic })
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		e := tooMany
		if e == nil {
			e = rc.growTopic(ctx, t, seen[t.Topic], req.ValidateOnly)
		}
		e.answer(&rt.ErrorCode, &rt.ErrorMessage)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// growTopic checks one topic in Kafka's order and, unless validateOnly, grows it.
func (rc *reqCtx) growTopic(ctx context.Context, t kmsg.CreatePartitionsRequestTopic, named int, validateOnly bool) *topicError {
	s := rc.s
	if e := rc.authorize(ctx, kmsg.CreatePartitions, t.Topic); e != nil {
		return e
	}
	if e := namedTwice(t.Topic, named); e != nil {
		return e
	}
	if e := checkName(kmsg.CreatePartitions, t.Topic); e != nil {
		return e
	}
	if t.Count > s.cfg.Data.MaxPartitionsPerTopic {
		return s.overTopicLimit(t.Count)
	}
	n, e := s.existingTopic(ctx, kmsg.CreatePartitions, t.Topic)
	switch {
	case e != nil:
		return e
	case t.Count <= n:
		return &topicError{kerr.InvalidPartitions, fmt.Sprintf("topic %q has %d partitions; the new count %d must be larger", t.Topic, n, t.Count)}
	case len(t.Assignment) > 0:
		return &topicError{kerr.InvalidRequest, "manual replica assignment is not supported: Pulsar places the data"}
	case validateOnly:
		return nil
	}
	if err := s.catalog.Grow(ctx, t.Topic, t.Count); errors.Is(err, catalog.ErrUnknownTopic) {
		return unknownTopic(t.Topic)
	} else if err != nil {
		s.log.Error("create partitions", "topic", t.Topic, "err", err)
		return &topicError{kerr.UnknownServerError, err.Error()}
	}
	return nil
}

package server

// DeleteTopics, key 20, versions 0–5.
//
// Deletes the Pulsar partitioned topic behind each Kafka topic, with its data. The gateway first
// closes its own producers and readers of the topic so none of them recreates it, and after
// the deletion deletes the topic's log starts (DeleteRecords) from Pulsar, so a topic created
// again under the name starts at offset 0. No produce grant: TOPIC_AUTHORIZATION_FAILED. An
// unknown or invalid name gets UNKNOWN_TOPIC_OR_PARTITION (Kafka's answer for both); the
// gateway's internal topics cannot be deleted this way. When Pulsar cannot be asked whether the
// topic exists: REQUEST_TIMED_OUT (retriable, as a Kafka broker answers when the controller
// cannot be reached); when the deletion itself fails: UNKNOWN_SERVER_ERROR. Topic ids (v6+)
// are not served.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/partition"
)

func init() { register(kmsg.DeleteTopics, 0, 5, handleDeleteTopics) }

func handleDeleteTopics(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, name := range req.TopicNames {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic = kmsg.StringPtr(name)
		rc.deleteTopic(ctx, name).answer(&rt.ErrorCode, &rt.ErrorMessage)
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// deleteTopic deletes one topic after Kafka's checks.
func (rc *reqCtx) deleteTopic(ctx context.Context, name string) *topicError {
	s := rc.s
	if e := rc.authorize(ctx, kmsg.DeleteTopics, name); e != nil {
		return e
	}
	n, e := s.existingTopic(ctx, kmsg.DeleteTopics, name)
	if e != nil {
		return e
	}
	s.logs.Forget(name)
	for p := int32(0); p < n; p++ {
		s.producers.Forget(producerKey(partition.TP{Topic: name, Partition: p}))
	}
	if err := s.catalog.Delete(ctx, name); errors.Is(err, catalog.ErrUnknownTopic) {
		return unknownTopic(name)
	} else if err != nil {
		s.log.Error("delete topic", "topic", name, "err", err)
		return &topicError{kerr.UnknownServerError, err.Error()}
	}
	if err := s.logs.ForgetLogStarts(ctx, name); err != nil {
		// The topic is gone; a stale log start is cleared again when it is created.
		s.log.Error("delete topic: deleting its log starts", "topic", name, "err", err)
	}
	return nil
}

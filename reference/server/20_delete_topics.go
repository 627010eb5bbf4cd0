package server

// DeleteTopics, key 20, versions 0–5.
//
// Deletes the Pulsar partitioned topic behind each Kafka topic, with its data. The gateway first
// closes its own producers and readers of the topic so none of them recreates it, and after
// the deletion deletes the topic's log starts (DeleteRecords) from Pulsar, so a topic created
// again under the name starts at offset 0. No produce grant: TOPIC_AUTHORIZATION_FAILED. An
// unknown or invalid name gets UNKNOWN_TOPIC_OR_PARTITION (Kafka's answer for both); the
// gateway's internal topics cannot be deleted this way. Topic ids (v6+) are not served.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/storage"
)

func init() { register(kmsg.DeleteTopics.Int16(), 0, 5, handleDeleteTopics) }

func handleDeleteTopics(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.DeleteTopicsRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	for _, name := range req.TopicNames {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic = kmsg.StringPtr(name)
		fail := func(e *kerr.Error, msg string) {
			rt.ErrorCode = e.Code
			rt.ErrorMessage = &msg
		}
		if !rc.allowed(ctx, auth.Produce, name) {
			fail(kerr.TopicAuthorizationFailed, "no produce permission on topic "+name)
		} else if n, bad, err := s.lookupTopic(ctx, kmsg.DeleteTopics, name); bad != nil {
			fail(bad, "no topic named "+name)
		} else if err != nil {
			fail(kerr.UnknownServerError, err.Error())
		} else if n == 0 {
			fail(kerr.UnknownTopicOrPartition, "no topic named "+name)
		} else {
			s.store.Forget(name)
			for p := int32(0); p < n; p++ {
				s.producers.Forget(producerKey(storage.TP{Topic: name, Partition: p}))
			}
			if err := s.catalog.Delete(ctx, name); errors.Is(err, catalog.ErrUnknownTopic) {
				fail(kerr.UnknownTopicOrPartition, "no topic named "+name)
			} else if err != nil {
				s.log.Error("delete topic", "topic", name, "err", err)
				fail(kerr.UnknownServerError, err.Error())
			} else if err := s.store.ForgetLogStarts(ctx, name); err != nil {
				// The topic is gone; a stale log start is cleared again when it is created.
				s.log.Error("delete topic: deleting its log starts", "topic", name, "err", err)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

package server

// Metadata, key 3, versions 0–9.
//
// One broker (this gateway, as advertised on the listener the client used) leads every
// partition. Topics are Pulsar partitioned topics. A requested topic that does not exist is
// created when auto-creation is on and the request allows it (always below v4), with the default
// partition count, and returned ready; otherwise it gets UNKNOWN_TOPIC_OR_PARTITION. Invalid
// names get INVALID_TOPIC_EXCEPTION (checked before the grants), a topic the principal may
// neither produce to nor consume from TOPIC_AUTHORIZATION_FAILED, a topic that could not be
// looked up or created LEADER_NOT_AVAILABLE. A null topic list (v1+) or an empty one (v0)
// means all the principal may see; when Pulsar cannot list them (and the last listing is
// older than --metadata-max-age) the answer has no topics.
//
// Answers come from the gateway's memory (catalog.Cache), not one admin call per request: the
// namespace is listed in the background, concurrent misses share one call, and what Pulsar may
// have changed (topics created, deleted or grown around this gateway) is at most
// --metadata-max-age old; this gateway's own changes are seen at once.

import (
	"context"
	"errors"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
)

func init() { register(kmsg.Metadata, 0, 9, handleMetadata) }

func handleMetadata(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.MetadataRequest)
	s := rc.s
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID, b.Host, b.Port = s.cfg.NodeID, rc.listener.AdvertisedHost, rc.listener.AdvertisedPort
	resp.Brokers = []kmsg.MetadataResponseBroker{b}
	resp.ClusterID = &s.cfg.ClusterID
	resp.ControllerID = s.cfg.NodeID
	resp.AuthorizedOperations = authorizedOperationsOmitted

	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		topics, err := s.catalog.List(ctx)
		if err != nil {
			s.log.Error("metadata: listing topics", "err", err)
			return resp, nil // no topics rather than a wrong list; the client retries
		}
		resp.Topics = make([]kmsg.MetadataResponseTopic, 0, len(topics))
		for _, t := range topics { // sorted by name
			if rc.permits(ctx, describe, t.Name) { // Kafka lists only the topics the principal may see
				resp.Topics = append(resp.Topics, s.topicMetadata(t.Name, t.Partitions, nil))
			}
		}
		return resp, nil
	}
	autoCreate := s.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	for _, t := range req.Topics {
		name := ""
		if t.Topic != nil {
			name = *t.Topic
		}
		n, e := rc.requestedTopic(ctx, name, autoCreate)
		resp.Topics = append(resp.Topics, s.topicMetadata(name, n, e))
	}
	return resp, nil
}

// requestedTopic is a requested topic's partition count, created when it may be, or its error.
func (rc *reqCtx) requestedTopic(ctx context.Context, name string, autoCreate bool) (int32, *kerr.Error) {
	// The name first: an invalid one is INVALID_TOPIC_EXCEPTION whatever the grants.
	if e := checkName(kmsg.Metadata, name); e != nil {
		return 0, e.code
	}
	if e := rc.authorize(ctx, kmsg.Metadata, name); e != nil {
		return 0, e.code
	}
	n, e := rc.s.lookupTopic(ctx, kmsg.Metadata, name)
	switch {
	case e != nil:
		return 0, e.code
	case n == 0 && autoCreate && rc.permits(ctx, auth.Produce, name):
		var err error
		if n, err = rc.s.autoCreate(ctx, name); err != nil {
			rc.s.log.Error("metadata: auto-create", "topic", name, "err", err)
			return 0, topicAPIs[kmsg.Metadata].unavailable
		}
	}
	if n == 0 {
		return 0, kerr.UnknownTopicOrPartition
	}
	return n, nil
}

// authorizedOperationsOmitted is Kafka's "not requested" for authorized operations (KIP-430):
// the gateway does not compute them.
const authorizedOperationsOmitted = math.MinInt32

func (s *Server) topicMetadata(name string, partitions int32, e *kerr.Error) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = &name
	t.ErrorCode = code(e)
	t.AuthorizedOperations = authorizedOperationsOmitted
	for p := int32(0); p < partitions; p++ {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p
		mp.Leader = s.cfg.NodeID
		mp.LeaderEpoch = 0
		mp.Replicas = []int32{s.cfg.NodeID}
		mp.ISR = []int32{s.cfg.NodeID}
		t.Partitions = append(t.Partitions, mp)
	}
	return t
}

// autoCreate creates a topic with the default partition count; losing a race to another
// creator is fine.
func (s *Server) autoCreate(ctx context.Context, name string) (int32, error) {
	if err := s.logs.ForgetLogStarts(ctx, name); err != nil {
		return 0, err
	}
	err := s.catalog.Create(ctx, name, s.cfg.DefaultPartitions)
	if err != nil && !errors.Is(err, catalog.ErrTopicExists) {
		return 0, err
	}
	s.log.Info("auto-created topic", "topic", name, "partitions", s.cfg.DefaultPartitions)
	return s.catalog.Partitions(ctx, name)
}

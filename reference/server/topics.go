package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/auth"
	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
)

// Topic lookup: the one path from a topic a request names to its partition count, and the one
// place where Kafka's answer per API is chosen. Counts come from the catalog's memory
// (catalog.Cache), which asks Pulsar only for what it does not know fresh. Kafka 3.9 checks authorization first, then the
// name, then its metadata. The partition APIs take the path whole (topicResolver); Metadata and
// the admin APIs interleave checks of their own and call its steps (authorize, checkName,
// lookupTopic, existingTopic).

// topicAPI is how one API treats the topics it names.
type topicAPI struct {
	// action is the grant a SASL principal needs on the topic (describe: consume or produce).
	action auth.Action
	// invalid answers a name no topic can have (or the gateway's reserved prefix): APIs that
	// look the topic up answer as for a topic that does not exist; those that validate the
	// name first answer INVALID_TOPIC_EXCEPTION. Such a name never reaches Pulsar.
	invalid *kerr.Error
	// unavailable answers a failed catalog lookup (the catalog's memory had nothing younger
	// than --metadata-max-age and Pulsar's admin API did not answer), as Kafka answers while
	// it cannot act on a topic's metadata; every one of them is retriable:
	// NOT_LEADER_OR_FOLLOWER for the partition APIs (the client refreshes its metadata and
	// retries, as after a leader move), LEADER_NOT_AVAILABLE for Metadata (the leader is not
	// known yet), COORDINATOR_NOT_AVAILABLE for OffsetCommit (the commit is retried, as while
	// a coordinator loads), REQUEST_TIMED_OUT for the admin APIs (what a Kafka broker answers
	// when the controller cannot be reached). A lookup cut short by the request's own timeout
	// answers REQUEST_TIMED_OUT.
	unavailable *kerr.Error
}

// describe is Kafka's DESCRIBE on a topic: Pulsar's consume or produce grant.
const describe auth.Action = "describe"

var topicAPIs = map[kmsg.Key]topicAPI{
	kmsg.Produce:              {auth.Produce, kerr.UnknownTopicOrPartition, kerr.NotLeaderForPartition},
	kmsg.Fetch:                {auth.Consume, kerr.UnknownTopicOrPartition, kerr.NotLeaderForPartition},
	kmsg.ListOffsets:          {auth.Consume, kerr.UnknownTopicOrPartition, kerr.NotLeaderForPartition},
	kmsg.OffsetForLeaderEpoch: {auth.Consume, kerr.UnknownTopicOrPartition, kerr.NotLeaderForPartition},
	kmsg.DeleteRecords:        {auth.Produce, kerr.UnknownTopicOrPartition, kerr.NotLeaderForPartition},
	kmsg.OffsetCommit:         {auth.Consume, kerr.UnknownTopicOrPartition, kerr.CoordinatorNotAvailable},
	kmsg.Metadata:             {describe, kerr.InvalidTopicException, kerr.LeaderNotAvailable},
	kmsg.CreateTopics:         {auth.Produce, kerr.InvalidTopicException, kerr.RequestTimedOut},
	kmsg.DeleteTopics:         {auth.Produce, kerr.UnknownTopicOrPartition, kerr.RequestTimedOut},
	kmsg.CreatePartitions:     {auth.Produce, kerr.UnknownTopicOrPartition, kerr.RequestTimedOut},
	kmsg.DescribeConfigs:      {describe, kerr.InvalidTopicException, kerr.RequestTimedOut},
}

// topicError is Kafka's answer for a topic, with the message for APIs whose answers carry one.
type topicError struct {
	code *kerr.Error
	msg  string
}

// answer sets an answer's code and message; it reports whether there was no error.
func (e *topicError) answer(code *int16, msg **string) bool {
	if e == nil {
		return true
	}
	*code, *msg = e.code.Code, &e.msg
	return false
}

// timesNamed counts how often a request names each topic, for the APIs that refuse a topic
// named twice.
func timesNamed[T any](topics []T, name func(T) string) map[string]int {
	seen := make(map[string]int, len(topics))
	for _, t := range topics {
		seen[name(t)]++
	}
	return seen
}

// namedTwice is INVALID_REQUEST for a topic a request names more than once.
func namedTwice(name string, times int) *topicError {
	if times <= 1 {
		return nil
	}
	return &topicError{kerr.InvalidRequest, fmt.Sprintf("topic %q appears %d times in the request", name, times)}
}

// validTopic applies Kafka's topic name rules (and reserves the gateway's internal prefix).
func validTopic(name string) error {
	if err := naming.Check(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, catalog.InternalPrefix) {
		return fmt.Errorf("topic names starting with %s are reserved", catalog.InternalPrefix)
	}
	return nil
}

// authorize is TOPIC_AUTHORIZATION_FAILED when the connection may not use topic as api does.
func (rc *reqCtx) authorize(ctx context.Context, api kmsg.Key, topic string) *topicError {
	action := topicAPIs[api].action
	if rc.permits(ctx, action, topic) {
		return nil
	}
	if action == describe {
		return &topicError{kerr.TopicAuthorizationFailed, "no permission on topic " + topic}
	}
	return &topicError{kerr.TopicAuthorizationFailed, fmt.Sprintf("no %s permission on topic %s", action, topic)}
}

// checkName is api's answer for a name no topic can have, nil for a valid name.
func checkName(api kmsg.Key, name string) *topicError {
	err := validTopic(name)
	switch {
	case err == nil:
		return nil
	case topicAPIs[api].invalid == kerr.UnknownTopicOrPartition:
		return unknownTopic(name)
	}
	return &topicError{topicAPIs[api].invalid, err.Error()}
}

// lookupTopic checks the name and, only when it may reach Pulsar, asks the catalog for the
// topic's partition count (0: it does not exist).
func (s *Server) lookupTopic(ctx context.Context, api kmsg.Key, name string) (int32, *topicError) {
	if e := checkName(api, name); e != nil {
		return 0, e
	}
	n, err := s.catalog.Partitions(ctx, name)
	if err != nil {
		s.log.Error("topic lookup failed", "api", kmsg.NameForKey(api.Int16()), "topic", name, "err", err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return 0, &topicError{kerr.RequestTimedOut, err.Error()}
		}
		return 0, &topicError{topicAPIs[api].unavailable, err.Error()}
	}
	return n, nil
}

func unknownTopic(name string) *topicError {
	return &topicError{kerr.UnknownTopicOrPartition, "no topic named " + name}
}

// existingTopic is lookupTopic for the admin APIs that act on an existing topic:
// UNKNOWN_TOPIC_OR_PARTITION when there is no such topic.
func (s *Server) existingTopic(ctx context.Context, api kmsg.Key, name string) (int32, *topicError) {
	n, e := s.lookupTopic(ctx, api, name)
	if e == nil && n == 0 {
		e = unknownTopic(name)
	}
	return n, e
}

// topicState is a topic named by a partition API: its partition count, or the answer every
// partition of it gets.
type topicState struct {
	partitions int32
	err        *kerr.Error
}

// partition is the answer for one partition of the topic, nil when it may be served.
func (t topicState) partition(p int32) *kerr.Error {
	switch {
	case t.err != nil:
		return t.err
	case p < 0 || p >= t.partitions:
		return kerr.UnknownTopicOrPartition
	}
	return nil
}

// topicResolver resolves the topics a request of a partition API names, each once.
type topicResolver struct {
	rc        *reqCtx
	ctx       context.Context // authorization's
	lookupCtx context.Context
	api       kmsg.Key
	seen      map[string]topicState
}

func (rc *reqCtx) resolver(ctx context.Context, api kmsg.Key) *topicResolver {
	return &topicResolver{rc: rc, ctx: ctx, lookupCtx: ctx, api: api, seen: map[string]topicState{}}
}

// within bounds the lookups (not the authorization) by a request's own timeout.
func (r *topicResolver) within(ctx context.Context) *topicResolver {
	r.lookupCtx = ctx
	return r
}

// topic is the state of a named topic: authorization, then the name, then the lookup.
func (r *topicResolver) topic(name string) topicState {
	if t, ok := r.seen[name]; ok {
		return t
	}
	e := r.rc.authorize(r.ctx, r.api, name)
	var n int32
	if e == nil {
		n, e = r.rc.s.lookupTopic(r.lookupCtx, r.api, name)
	}
	t := topicState{partitions: n}
	if e != nil {
		t = topicState{err: e.code}
	}
	r.seen[name] = t
	return t
}

// code is an error's Kafka code, 0 for none.
func code(err *kerr.Error) int16 {
	if err == nil {
		return 0
	}
	return err.Code
}

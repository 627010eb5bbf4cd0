package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/internal/catalog"
	"github.com/kop-conformance/kop-conformance/reference/internal/naming"
)

func fmtAny(v any) string { return fmt.Sprint(v) }

func code(err *kerr.Error) int16 {
	if err == nil {
		return 0
	}
	return err.Code
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

// invalidTopicAnswer is Kafka's error, per API, for a requested topic that has a name no topic
// can have (Kafka 3.9: authorization is checked first, then the name). APIs that look the topic
// up answer as for a topic that does not exist; those that validate the name first (Metadata
// with auto-creation, CreateTopics, DescribeConfigs) answer INVALID_TOPIC_EXCEPTION.
// OffsetFetch does not look topics up (an unknown topic has no committed offset: -1, no error),
// so it needs no entry.
var invalidTopicAnswer = map[kmsg.Key]*kerr.Error{
	kmsg.Produce:              kerr.UnknownTopicOrPartition,
	kmsg.Fetch:                kerr.UnknownTopicOrPartition,
	kmsg.ListOffsets:          kerr.UnknownTopicOrPartition,
	kmsg.Metadata:             kerr.InvalidTopicException,
	kmsg.OffsetCommit:         kerr.UnknownTopicOrPartition,
	kmsg.CreateTopics:         kerr.InvalidTopicException,
	kmsg.DeleteTopics:         kerr.UnknownTopicOrPartition,
	kmsg.DeleteRecords:        kerr.UnknownTopicOrPartition,
	kmsg.OffsetForLeaderEpoch: kerr.UnknownTopicOrPartition,
	kmsg.DescribeConfigs:      kerr.InvalidTopicException,
	kmsg.CreatePartitions:     kerr.UnknownTopicOrPartition,
}

// rejectTopic is the error api answers for a topic name the gateway does not pass to Pulsar (a
// name Kafka forbids, or the gateway's reserved prefix), or nil for a name it may look up.
func rejectTopic(api kmsg.Key, name string) *kerr.Error {
	if validTopic(name) == nil {
		return nil
	}
	if e, ok := invalidTopicAnswer[api]; ok {
		return e
	}
	return kerr.InvalidTopicException
}

// lookupTopic is the one call a handler makes for a requested topic: it checks the name and,
// only when the name may reach Pulsar, looks up the topic's partition count (0 when it does not
// exist). bad is the error api answers for a rejected name (nothing was asked of Pulsar); err a
// failed lookup.
func (s *Server) lookupTopic(ctx context.Context, api kmsg.Key, name string) (n int32, bad *kerr.Error, err error) {
	if bad = rejectTopic(api, name); bad != nil {
		return 0, bad, nil
	}
	n, err = s.catalog.Partitions(ctx, name)
	return n, nil, err
}

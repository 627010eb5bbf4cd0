package server

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kop-conformance/kop-conformance/reference/internal/config"
)

// DataLimits bound what one request may ask of the catalog and of the data (the flags
// --max-partitions-per-topic, --max-partitions-per-request, --fetch-max-bytes); a zero field is
// its default (config.DefaultDataLimits).
type DataLimits = config.DataLimits

// overTopicLimit is INVALID_PARTITIONS for a topic asking for more partitions than a topic may
// have. Checked before the catalog is asked anything.
func (s *Server) overTopicLimit(count int32) *topicError {
	return &topicError{kerr.InvalidPartitions, fmt.Sprintf("number of partitions %d is over the limit of %d per topic (max-partitions-per-topic)",
		count, s.cfg.Data.MaxPartitionsPerTopic)}
}

// overRequestLimit is INVALID_PARTITIONS for every topic of a CreateTopics or CreatePartitions
// request that names more partitions in all than one request may; nil within the limit.
// Nothing of such a request reaches the catalog, nor the authorizer. Each of its topics counts
// for its partition count (count(i) for the i-th of n), and for 1 when that is below 1 or over
// the per-topic limit (such a topic is refused on its own, without asking Pulsar), so that the
// topics that may reach Pulsar are bounded too.
func (s *Server) overRequestLimit(n int, count func(i int) int32) *topicError {
	var total int64
	for i := range n {
		c := count(i)
		if c < 1 || c > s.cfg.Data.MaxPartitionsPerTopic {
			c = 1
		}
		total += int64(c)
	}
	if limit := s.cfg.Data.MaxPartitionsPerRequest; total > int64(limit) {
		return &topicError{kerr.InvalidPartitions, fmt.Sprintf("the request names %d partitions in all, over the limit of %d per request (max-partitions-per-request)",
			total, limit)}
	}
	return nil
}

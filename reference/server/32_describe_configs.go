package server

// DescribeConfigs, key 32, versions 0–4.
//
// Topics and this broker have a fixed set of configs that say how the gateway behaves; there
// are no per-topic overrides (AlterConfigs is not served), so every topic reports the same
// values. A topic's max.message.bytes is the broker's limit (message.max.bytes), as in Kafka.
// Retention is Pulsar's namespace policy, infinite in the suite's Pulsar, shown as -1. Unknown
// topics get UNKNOWN_TOPIC_OR_PARTITION, a name no topic can have INVALID_TOPIC_EXCEPTION (as
// Kafka: it validates the name after authorizing), a topic the principal may neither produce
// to nor consume from TOPIC_AUTHORIZATION_FAILED, a topic Pulsar could not be asked about
// REQUEST_TIMED_OUT (retriable), another broker's id or other resource types INVALID_REQUEST.
// Config names not in the set are left out, as Kafka leaves out unknown ones.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeConfigs, 0, 4, handleDescribeConfigs) }

type configEntry struct {
	name, value string
	typ         kmsg.ConfigType
	source      kmsg.ConfigSource
}

func (s *Server) topicConfigs() []configEntry {
	maxMsg := strconv.Itoa(int(s.cfg.MaxMessageBytes))
	return []configEntry{
		{"cleanup.policy", "delete", kmsg.ConfigTypeList, kmsg.ConfigSourceDefaultConfig},
		{"compression.type", "producer", kmsg.ConfigTypeString, kmsg.ConfigSourceDefaultConfig},
		{"max.message.bytes", maxMsg, kmsg.ConfigTypeInt, kmsg.ConfigSourceStaticBrokerConfig},
		{"message.timestamp.type", "CreateTime", kmsg.ConfigTypeString, kmsg.ConfigSourceDefaultConfig},
		{"min.insync.replicas", "1", kmsg.ConfigTypeInt, kmsg.ConfigSourceDefaultConfig},
		{"retention.bytes", "-1", kmsg.ConfigTypeLong, kmsg.ConfigSourceDefaultConfig},
		{"retention.ms", "-1", kmsg.ConfigTypeLong, kmsg.ConfigSourceStaticBrokerConfig},
	}
}

func (s *Server) brokerConfigs() []configEntry {
	return []configEntry{
		{"auto.create.topics.enable", strconv.FormatBool(s.cfg.AutoCreateTopics), kmsg.ConfigTypeBoolean, kmsg.ConfigSourceStaticBrokerConfig},
		{"broker.id", strconv.Itoa(int(s.cfg.NodeID)), kmsg.ConfigTypeInt, kmsg.ConfigSourceStaticBrokerConfig},
		{"message.max.bytes", strconv.Itoa(int(s.cfg.MaxMessageBytes)), kmsg.ConfigTypeInt, kmsg.ConfigSourceStaticBrokerConfig},
		{"num.partitions", strconv.Itoa(int(s.cfg.DefaultPartitions)), kmsg.ConfigTypeInt, kmsg.ConfigSourceStaticBrokerConfig},
	}
}

// configsOf is a resource's configs, or why it has none to show.
func (rc *reqCtx) configsOf(ctx context.Context, res kmsg.DescribeConfigsRequestResource) ([]configEntry, *topicError) {
	s := rc.s
	switch res.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
		if e := rc.authorize(ctx, kmsg.DescribeConfigs, res.ResourceName); e != nil {
			return nil, e
		}
		if _, e := s.existingTopic(ctx, kmsg.DescribeConfigs, res.ResourceName); e != nil {
			return nil, e
		}
		return s.topicConfigs(), nil
	case kmsg.ConfigResourceTypeBroker:
		if res.ResourceName != "" && res.ResourceName != strconv.Itoa(int(s.cfg.NodeID)) {
			return nil, &topicError{kerr.InvalidRequest, fmt.Sprintf("this is broker %d, not %s", s.cfg.NodeID, res.ResourceName)}
		}
		return s.brokerConfigs(), nil
	}
	return nil, &topicError{kerr.InvalidRequest, fmt.Sprintf("resource type %d is not served", res.ResourceType)}
}

func handleDescribeConfigs(ctx context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, res := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		entries, e := rc.configsOf(ctx, res)
		e.answer(&rr.ErrorCode, &rr.ErrorMessage)
		want := map[string]bool{}
		for _, n := range res.ConfigNames {
			want[n] = true
		}
		for _, e := range entries {
			if res.ConfigNames != nil && !want[e.name] {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.Value, c.ConfigType = e.name, kmsg.StringPtr(e.value), e.typ
			c.ReadOnly = true // no AlterConfigs
			c.Source = e.source
			c.IsDefault = e.source == kmsg.ConfigSourceDefaultConfig
			if req.IncludeSynonyms {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Value, syn.Source = e.name, c.Value, e.source
				c.ConfigSynonyms = append(c.ConfigSynonyms, syn)
			}
			rr.Configs = append(rr.Configs, c)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

package server

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

var autoCreate = withConfig(func(c *Config) { c.AutoCreateTopics = true })

// topicsOf lists a Metadata answer's topics as "name:partitions:code".
func topicsOf(r kmsg.Response) []string {
	var out []string
	for _, t := range r.(*kmsg.MetadataResponse).Topics {
		out = append(out, fmt.Sprintf("%s:%d:%v", *t.Topic, len(t.Partitions), kerr.ErrorForCode(t.ErrorCode)))
	}
	return out
}

func TestMetadata(t *testing.T) {
	// asksFor is a case asking as user ("": trusted) for topics (none: all) after prepare.
	asksFor := func(user string, prepare func(*env), allow bool, topics []string, want ...string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			e.catalog.Create(context.Background(), "u", 1)
			if prepare != nil {
				prepare(e)
			}
			c := e.dial()
			if user != "" {
				c = e.dialAs(user)
			}
			req := metadataReq(topics...)
			req.AllowAutoTopicCreation = allow
			if len(topics) == 0 && v > 0 {
				req.Topics = nil // all topics; v0 says so with an empty list
			}
			if got := topicsOf(c.do(req, v)); !reflect.DeepEqual(got, want) {
				t.Errorf("topics %v, want %v", got, want)
			}
		}
	}
	none := []string(nil)
	forVersions(t, kmsg.Metadata, []versionCase{
		{name: "this broker leads every partition", run: func(t *testing.T, e *env, v int16) {
			r := e.dial().do(metadataReq(topic), v).(*kmsg.MetadataResponse)
			if b := r.Brokers; len(b) != 1 || b[0].NodeID != node || b[0].Host != "127.0.0.1" || b[0].Port != e.port {
				t.Errorf("brokers %+v", b)
			}
			if v >= 1 && r.ControllerID != node || v >= 2 && (r.ClusterID == nil || *r.ClusterID != cluster) {
				t.Errorf("controller %d cluster %v", r.ControllerID, r.ClusterID)
			}
			for i, p := range r.Topics[0].Partitions {
				if p.Partition != int32(i) || p.Leader != node || v >= 7 && p.LeaderEpoch != 0 || !reflect.DeepEqual(p.Replicas, []int32{node}) || !reflect.DeepEqual(p.ISR, []int32{node}) {
					t.Errorf("partition %+v", p)
				}
			}
		}},
		{name: "all topics, internal ones not listed", run: asksFor("", func(e *env) {
			e.catalog.Create(context.Background(), "__kop_groups", 1)
		}, false, none, "t:2:<nil>", "u:1:<nil>")},
		{name: "all topics the principal may see", opts: []envOpt{withSASL()}, run: asksFor("reader", nil, false, none, "t:2:<nil>")},
		{name: "no topics when the catalog cannot list them", run: asksFor("", func(e *env) {
			e.catalog.Fail(errors.New("admin API down"))
		}, false, none)},
		{name: "auto-creation with the default partitions", opts: []envOpt{autoCreate}, run: asksFor("", nil, true, []string{"new"}, "new:3:<nil>")},
		{name: "auto-creation refused by the request", from: 4, opts: []envOpt{autoCreate},
			run: asksFor("", nil, false, []string{"new"}, "new:0:"+kerr.UnknownTopicOrPartition.Error())},
		{name: "auto-creation needs produce", opts: []envOpt{autoCreate, withSASL()},
			run: asksFor("consumer", nil, true, []string{"new"}, "new:0:"+kerr.UnknownTopicOrPartition.Error())},
		{name: "a failed auto-creation is LEADER_NOT_AVAILABLE", opts: []envOpt{autoCreate}, run: asksFor("", func(e *env) {
			e.logs.Fail(errors.New("bookies down"))
		}, true, []string{"new"}, "new:0:"+kerr.LeaderNotAvailable.Error())},
	})
}

func TestApiVersions(t *testing.T) {
	// lists is a case checking the answer against the table of a level.
	lists := func(level string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			want, _ := protocol.Cap(Implemented(), level)
			req := kmsg.NewPtrApiVersionsRequest()
			req.ClientSoftwareName, req.ClientSoftwareVersion = "kop-test", "1.0"
			r := e.dial().do(req, v).(*kmsg.ApiVersionsResponse)
			got := protocol.Table{}
			for _, k := range r.ApiKeys {
				got[k.ApiKey] = protocol.Range{Min: k.MinVersion, Max: k.MaxVersion}
			}
			if r.ErrorCode != 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("%v %v, want %v", kerr.ErrorForCode(r.ErrorCode), got, want)
			}
		}
	}
	forVersions(t, kmsg.ApiVersions, []versionCase{
		{name: "every API version implemented", run: lists("")},
		{name: "capped to the listener's level", opts: []envOpt{withLevel("2.0")}, below: 3, run: lists("2.0")},
		{name: "v3 refuses a client software name Kafka would", from: 3, run: func(t *testing.T, e *env, v int16) {
			req := kmsg.NewPtrApiVersionsRequest()
			req.ClientSoftwareName, req.ClientSoftwareVersion = "bad name!", "1.0"
			wantCode(t, "api versions", e.dial().do(req, v).(*kmsg.ApiVersionsResponse).ErrorCode, kerr.InvalidRequest)
		}},
	})
}

func TestDescribeConfigs(t *testing.T) {
	// describes is a case describing a resource: the configs answered ("name=value"), or code.
	describes := func(req *kmsg.DescribeConfigsRequest, want *kerr.Error, configs ...string) func(*testing.T, *env, int16) {
		return func(t *testing.T, e *env, v int16) {
			r := e.dial().do(req, v).(*kmsg.DescribeConfigsResponse).Resources[0]
			wantCode(t, "describe configs", r.ErrorCode, want)
			var got []string
			for _, c := range r.Configs {
				got = append(got, c.Name+"="+*c.Value)
				if !c.ReadOnly || v >= 1 && req.IncludeSynonyms != (len(c.ConfigSynonyms) == 1) {
					t.Errorf("%s: read-only %v, synonyms %v", c.Name, c.ReadOnly, c.ConfigSynonyms)
				}
			}
			if !reflect.DeepEqual(got, configs) {
				t.Errorf("configs %v, want %v", got, configs)
			}
		}
	}
	withSynonyms := describeConfigsReq(kmsg.ConfigResourceTypeTopic, topic, "max.message.bytes")
	withSynonyms.IncludeSynonyms = true
	forVersions(t, kmsg.DescribeConfigs, []versionCase{
		{name: "a topic's fixed configs", run: describes(describeConfigsReq(kmsg.ConfigResourceTypeTopic, topic), nil,
			"cleanup.policy=delete", "compression.type=producer", "max.message.bytes=65536", "message.timestamp.type=CreateTime",
			"min.insync.replicas=1", "retention.bytes=-1", "retention.ms=-1")},
		{name: "only the configs named", run: describes(describeConfigsReq(kmsg.ConfigResourceTypeTopic, topic, "retention.ms", "nosuch"), nil,
			"retention.ms=-1")},
		{name: "synonyms when asked", from: 1, run: describes(withSynonyms, nil, "max.message.bytes=65536")},
		{name: "this broker's configs", run: describes(describeConfigsReq(kmsg.ConfigResourceTypeBroker, "7"), nil,
			"auto.create.topics.enable=false", "broker.id=7", "message.max.bytes=65536", "num.partitions=3")},
		{name: "another broker is INVALID_REQUEST", run: describes(describeConfigsReq(kmsg.ConfigResourceTypeBroker, "8"), kerr.InvalidRequest)},
		{name: "another resource type is INVALID_REQUEST", run: describes(describeConfigsReq(kmsg.ConfigResourceTypeBrokerLogger, "7"), kerr.InvalidRequest)},
	})
}

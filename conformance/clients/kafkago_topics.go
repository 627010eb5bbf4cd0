package clients

import (
	"context"
	"fmt"

	kafka "github.com/segmentio/kafka-go"
)

func (k *kafkaGo) TopicPartitions(ctx context.Context, topic string) (int32, error) {
	resp, err := k.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, err
	}
	if len(resp.Topics) != 1 {
		return 0, fmt.Errorf("kafka-go: metadata for %d topics, asked for 1", len(resp.Topics))
	}
	if resp.Topics[0].Error != nil {
		return 0, resp.Topics[0].Error
	}
	return int32(len(resp.Topics[0].Partitions)), nil
}

func (k *kafkaGo) DeleteTopic(ctx context.Context, topic string) error {
	resp, err := k.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

func (k *kafkaGo) CreatePartitions(ctx context.Context, topic string, count int32) error {
	resp, err := k.client.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: count}}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

func (k *kafkaGo) TopicConfigs(ctx context.Context, topic string, names []string) (map[string]string, error) {
	resp, err := k.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: names}}})
	if err != nil {
		return nil, err
	}
	if len(resp.Resources) != 1 {
		return nil, fmt.Errorf("kafka-go: configs of %d resources, asked for 1", len(resp.Resources))
	}
	if resp.Resources[0].Error != nil {
		return nil, resp.Resources[0].Error
	}
	return pick(names, func(yield func(string, string)) {
		for _, e := range resp.Resources[0].ConfigEntries {
			yield(e.ConfigName, e.ConfigValue)
		}
	}), nil
}

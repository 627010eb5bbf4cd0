package clients

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
)

func (s *saramaClient) TopicPartitions(_ context.Context, topic string) (int32, error) {
	adm, err := s.admin()
	if err != nil {
		return 0, err
	}
	md, err := adm.DescribeTopics([]string{topic})
	if err != nil {
		return 0, err
	}
	if len(md) != 1 {
		return 0, fmt.Errorf("sarama: metadata for %d topics, asked for 1", len(md))
	}
	if md[0].Err != sarama.ErrNoError {
		return 0, md[0].Err
	}
	return int32(len(md[0].Partitions)), nil
}

func (s *saramaClient) DeleteTopic(_ context.Context, topic string) error {
	adm, err := s.admin()
	if err != nil {
		return err
	}
	return adm.DeleteTopic(topic)
}

func (s *saramaClient) CreatePartitions(_ context.Context, topic string, count int32) error {
	adm, err := s.admin()
	if err != nil {
		return err
	}
	return adm.CreatePartitions(topic, count, nil, false)
}

func (s *saramaClient) TopicConfigs(_ context.Context, topic string, names []string) (map[string]string, error) {
	adm, err := s.admin()
	if err != nil {
		return nil, err
	}
	results, err := adm.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic, ConfigNames: names}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		return nil, err
	}
	var entries []sarama.ConfigEntry
	for _, r := range results {
		if r.Name != topic {
			continue
		}
		if r.ErrorCode != sarama.ErrNoError {
			return nil, &sarama.DescribeConfigError{Err: r.ErrorCode, ErrMsg: r.ErrorMsg}
		}
		entries = append(entries, r.Configs...)
	}
	return pick(names, func(yield func(string, string)) {
		for _, e := range entries {
			yield(e.Name, e.Value)
		}
	}), nil
}

package config

import (
	"strings"
	"testing"
)

func TestDataLimits(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want DataLimits
		err  string // a part of the error, "" for none
	}{
		{name: "Kafka-like defaults", want: DataLimits{MaxPartitionsPerTopic: 1000, MaxPartitionsPerRequest: 10000, FetchMaxBytes: 57671680}},
		{name: "flags", args: []string{"--max-partitions-per-topic", "50", "--max-partitions-per-request", "60", "--fetch-max-bytes", "2048"},
			want: DataLimits{MaxPartitionsPerTopic: 50, MaxPartitionsPerRequest: 60, FetchMaxBytes: 2048}},
		{name: "environment, a flag wins",
			env:  map[string]string{"KOP_MAX_PARTITIONS_PER_TOPIC": "7", "KOP_MAX_PARTITIONS_PER_REQUEST": "70", "KOP_FETCH_MAX_BYTES": "4096"},
			args: []string{"--fetch-max-bytes", "8192"},
			want: DataLimits{MaxPartitionsPerTopic: 7, MaxPartitionsPerRequest: 70, FetchMaxBytes: 8192}},
		{name: "a topic needs a partition", args: []string{"--max-partitions-per-topic", "0"}, err: "max-partitions-per-topic: 0 is below the minimum 1"},
		{name: "a request must hold a topic at the limit", args: []string{"--max-partitions-per-topic", "100", "--max-partitions-per-request", "99"},
			err: "max-partitions-per-request (99) is below max-partitions-per-topic (100)"},
		{name: "default partitions within the limit", args: []string{"--max-partitions-per-topic", "4", "--default-partitions", "5"},
			err: "default-partitions (5) is over max-partitions-per-topic (4)"},
		{name: "Kafka's minimum fetch.max.bytes", args: []string{"--fetch-max-bytes", "1023"}, err: "fetch-max-bytes: 1023 is below the minimum 1024"},
		{name: "not a number", env: map[string]string{"KOP_FETCH_MAX_BYTES": "lots"}, err: `fetch-max-bytes: "lots" is not a 32-bit integer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, func(k string) string { return tc.env[k] })
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("err = %v, want it to mention %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Errorf("err = %v", err)
			case tc.err == "" && c.DataLimits != tc.want:
				t.Errorf("limits %+v, want %+v", c.DataLimits, tc.want)
			}
		})
	}
}

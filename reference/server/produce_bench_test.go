package server

import (
	"strings"
	"testing"
)

// BenchmarkProduceInProcess is the gateway's own cost of a Produce: a 1 MiB batch of 1 KiB
// records read off a connection, decoded, checked and appended to the in-memory log, and the
// answer written back. Pulsar's share is not in it (see make bench for the whole path).
func BenchmarkProduceInProcess(b *testing.B) {
	for _, tc := range []struct {
		name    string
		records int
		size    int
	}{
		{"1KiB-x1000", 1000, 1 << 10},
		{"100B-x10000", 10000, 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, withConfig(func(c *Config) { c.MaxMessageBytes, c.MaxRequestBytes = 4<<20, 8<<20 }))
			values := make([]string, tc.records)
			for i := range values {
				values[i] = strings.Repeat("x", tc.size)
			}
			raw := batchOf(values...).encode(b)
			c := e.dial()
			b.SetBytes(int64(tc.records * tc.size))
			b.ResetTimer()
			for range b.N {
				r := produced(c.do(produceReq(topic, 0, -1, raw), 8))
				if r.ErrorCode != 0 {
					b.Fatalf("produce: code %d", r.ErrorCode)
				}
			}
		})
	}
}

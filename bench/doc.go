// Package bench is the benchmark harness behind make bench: the same workloads through three
// paths in one run, in alternating rounds (gateway, pulsar, kafka, gateway, ...):
//
//   - gateway: Kafka clients -> the reference gateway -> Pulsar,
//   - pulsar: pulsar-client-go straight to the same Pulsar, the ceiling for any gateway,
//   - kafka: the same Kafka clients -> Apache Kafka 3.9 on the same machine.
//
// Workloads follow the OpenMessaging Benchmark: maximum throughput and a fixed rate, record
// sizes, partitions, acks, compression, the three Go Kafka clients, catch-up reads, and cost
// growth with partitions and connections. Every loop is bounded in count and time, and the
// whole run by a time budget. Package report turns the rounds into reports/bench.*.
package bench

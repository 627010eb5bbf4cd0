package clients

import (
	"errors"

	"github.com/IBM/sarama"
	kafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
)

// maxKafkaCode bounds the codes ErrorCode looks for (Kafka 3.9 stops below it).
const maxKafkaCode = 130

// ErrorCode extracts the Kafka error code from an error of any of the three clients: 0 for
// nil, -1 when the error carries no Kafka code (a network error, say).
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var fe *kerr.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	var se sarama.KError
	if errors.As(err, &se) {
		return int16(se)
	}
	var ke kafka.Error
	if errors.As(err, &ke) {
		return int16(ke)
	}
	// sarama wraps some codes as the sentinel of an error chain (SASL failures, say), which
	// only errors.Is reaches.
	for c := int16(1); c <= maxKafkaCode; c++ {
		if errors.Is(err, sarama.KError(c)) {
			return c
		}
	}
	return -1
}

package records

// Header is a Kafka record header. A nil Value is a null header value.
type Header struct {
	Key   string
	Value []byte
}

// Record is a Kafka record as the gateway sees it. A nil Key or Value is null.
type Record struct {
	Offset    int64
	Timestamp int64 // milliseconds since the epoch
	Key       []byte
	Value     []byte
	Headers   []Header
}

// Size is an estimate of the record's encoded size, used for fetch byte limits.
func (r *Record) Size() int {
	n := 16 + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += 4 + len(h.Key) + len(h.Value)
	}
	return n
}

package records

import "sync/atomic"

// Decompressed sizes are not in a Kafka batch, so a buffer is sized from the expansion the
// codec's last batch had (x16, fixed point): a stream of similar batches decompresses into one
// allocation, without the copies of growing from a guess. The ratio is the process's, so it
// is clamped: never under the 4x guess that came before it (an incompressible batch does not
// make the next ones grow more), never over 16x (a batch of zeros from one client does not
// make every client's buffers many times their batches; beyond it the buffer doubles).
var ratios [5]atomic.Uint32

const (
	minRatio = 4 * 16
	maxRatio = 16 * 16
)

// sizeHint is the buffer to decompress packed bytes of codec into: an eighth over the last
// expansion, within the limit, at least 4 KiB.
func sizeHint(codec int16, packed, limit int) int {
	r := minRatio
	if codec >= 0 && int(codec) < len(ratios) {
		r = min(max(int(ratios[codec].Load()), minRatio), maxRatio)
	}
	n := packed * r / 16
	return min(limit+1, max(n+n/8, 4096))
}

// learnRatio remembers the expansion of one batch of codec.
func learnRatio(codec int16, packed, out int) {
	if codec >= 0 && int(codec) < len(ratios) && packed > 0 {
		ratios[codec].Store(uint32(min(out*16/packed, maxRatio)))
	}
}

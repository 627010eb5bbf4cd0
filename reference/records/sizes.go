package records

import "sync/atomic"

// Decompressed sizes are not in a Kafka batch, so a buffer is sized from the expansion the
// codec's last batches had (x16, fixed point): a stream of similar batches decompresses into
// one allocation, without the copies of growing from a guess.
var ratios [5]atomic.Uint32

// sizeHint is the buffer to decompress packed bytes of codec into.
func sizeHint(codec int16, packed, limit int) int {
	r := 4 * 16
	if codec >= 0 && int(codec) < len(ratios) {
		if v := ratios[codec].Load(); v > 0 {
			r = int(v)
		}
	}
	n := packed * r / 16
	return min(limit+1, max(n+n/8, 4096)) // an eighth over: batches vary a little
}

// learnRatio remembers the expansion of one batch of codec.
func learnRatio(codec int16, packed, out int) {
	if codec >= 0 && int(codec) < len(ratios) && packed > 0 {
		ratios[codec].Store(uint32(min(out*16/packed, 64*16))) // a bomb cannot make every later buffer huge
	}
}

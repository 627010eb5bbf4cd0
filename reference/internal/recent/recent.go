// Package recent remembers the newest keys of a map up to a bound, forgetting the oldest
// first. Its memory grows with the keys added, so a map that saw few costs little.
package recent

// Map holds at most max keys.
type Map[K comparable, V any] struct {
	max  int
	m    map[K]V
	ring []K // keys in insertion order, the oldest overwritten first once full
	next int // the ring slot of the oldest key once full
}

// New returns an empty map holding at most max (> 0) keys.
func New[K comparable, V any](max int) *Map[K, V] {
	return &Map[K, V]{max: max, m: map[K]V{}}
}

// Get returns k's value.
func (r *Map[K, V]) Get(k K) (V, bool) {
	v, ok := r.m[k]
	return v, ok
}

// Add remembers k with v, forgetting the oldest key when full. A key already held keeps its
// value and is not renewed; Add says whether k was new.
func (r *Map[K, V]) Add(k K, v V) bool {
	if _, ok := r.m[k]; ok {
		return false
	}
	if len(r.ring) < r.max {
		r.ring = append(r.ring, k)
	} else {
		delete(r.m, r.ring[r.next])
		r.ring[r.next] = k
		r.next = (r.next + 1) % r.max
	}
	r.m[k] = v
	return true
}

// Len is how many keys are held.
func (r *Map[K, V]) Len() int { return len(r.m) }

//go:build race

package records

// raceFactor scales allocation bounds: the race detector about doubles what is allocated.
const raceFactor = 2

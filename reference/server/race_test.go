//go:build race

package server

// raceEnabled says the race detector is on: it drops sync.Pool's items at random, so what a
// request allocates is more than without it.
const raceEnabled = true

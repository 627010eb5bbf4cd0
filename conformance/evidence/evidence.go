// Package evidence names what specs record in the Ginkgo report besides pass or fail, so the
// matrix tool can read it back: the API versions each client was seen to send, and what a
// fault run injected and found.
package evidence

import "github.com/kop-conformance/kop-conformance/conformance/checker"

// WireEntry is the name of a spec's report entry holding a Wire value.
const WireEntry = "wire-versions"

// Wire is what went over the wire during one spec: for each client name (franz-go, ...) the
// versions it sent of each API key, ascending.
type Wire struct {
	Clients map[string]map[int16][]int16 `json:"clients"`
}

// FaultsEntry is the name of the fault run's report entry holding a FaultRun value. The run
// records it before its assertions, so a failed run is reported with its counts.
const FaultsEntry = "fault-run"

// FaultRun is one fault run against one target.
type FaultRun struct {
	Target string `json:"target"`
	// Run is the run's length: "gate" (each fault once) or "nightly" (several rounds).
	Run    string `json:"run"`
	Rounds int    `json:"rounds"`
	// Summary is the checker's verdict on the run's history; Summary.Faults counts the
	// faults injected, by kind.
	Summary checker.Summary `json:"summary"`
	// Violations are the first few violations the checker found, as text.
	Violations []string `json:"violations,omitempty"`
	// Error is what cut the run short (a fault that could not be injected or healed, a
	// target that did not recover in time), empty when it ran to its end.
	Error       string  `json:"error,omitempty"`
	DurationSec float64 `json:"duration_seconds"`
}

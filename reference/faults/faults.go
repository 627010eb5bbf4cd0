// Package faults holds the reference server's mutants: deliberate defects it can be started
// with (--fault, test-only) to prove that the conformance suite notices them. Every fault
// names the matrix features whose specs must turn red; `make mutants` runs those specs against
// each fault and reports any fault that no spec caught (a hole in the suite).
package faults

import (
	"fmt"
	"sort"
	"strings"
)

// Fault is one deliberate defect.
type Fault struct {
	Name        string
	Description string
	// Features are the matrix rows whose specs are expected to catch the fault.
	Features []string
}

// The faults, by name.
const (
	NoLongPoll        = "no-long-poll"
	NoWake            = "no-wake"
	IgnoreMinBytes    = "ignore-min-bytes"
	StaleHighWater    = "stale-high-watermark"
	DropCommits       = "drop-commits"
	ForgetOnRebalance = "forget-offsets-on-rebalance"
	NoCommitFencing   = "no-commit-fencing"
	EarlyEviction     = "early-eviction"
	NoEviction        = "no-eviction"
	LoseRecord        = "lose-record"
	ReorderRecords    = "reorder-records"
	ProduceOverLevel  = "produce-over-level"
	IgnoreLogStart    = "ignore-log-start"
	AuthorizeAll      = "authorize-all"
	HeadersHidden     = "headers-hidden"
	ForgetProducers   = "forget-producers"
	TipOffByOne       = "tip-off-by-one"
)

// All lists every fault in report order.
var All = []Fault{
	{NoLongPoll, "Fetch answers at once when it has less than min bytes instead of waiting up to max wait", []string{"fetch"}},
	{NoWake, "a parked Fetch is not woken by new records: it always sleeps out its max wait", []string{"fetch"}},
	{IgnoreMinBytes, "a parked Fetch returns as soon as any record arrives, below its min bytes", []string{"fetch"}},
	{StaleHighWater, "Fetch responses report a high watermark one below the real one", []string{"fetch"}},
	{DropCommits, "OffsetCommit answers success and stores nothing", []string{"offsets", "groups"}},
	{ForgetOnRebalance, "a group's committed offsets are discarded when it rebalances", []string{"groups"}},
	{NoCommitFencing, "OffsetCommit ignores the generation and member id (no ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS)", []string{"commit-fencing"}},
	{EarlyEviction, "members are evicted after a third of their session timeout", []string{"groups"}},
	{NoEviction, "a member that stops heartbeating is never evicted", []string{"groups"}},
	{LoseRecord, "the last record of every batch of more than one record is not stored", []string{"produce"}},
	{ReorderRecords, "Fetch returns the first two records of a batch swapped (offsets unchanged)", []string{"produce", "fetch"}},
	{ProduceOverLevel, "level listeners advertise every Produce version the server has, whatever the level", []string{"produce"}},
	{IgnoreLogStart, "DeleteRecords answers success but the log start does not move", []string{"delete-records"}},
	{AuthorizeAll, "every authorization check passes (authorization fails open)", []string{"authorization"}},
	{HeadersHidden, "record headers are kept only in the gateway's private encoding, not as Pulsar message properties", []string{"interop"}},
	{ForgetProducers, "the idempotence window is never read back from Pulsar: a retry across a gateway restart or a write in doubt is written again", []string{Faults}},
	{TipOffByOne, "a batch whose offset is worked out from the entry before it (not read back from the tail) is answered one offset too high", []string{"produce"}},
}

// Faults stands for the fault run (conformance/suite/faults_test.go, label "faults") in a
// fault's Features: it is not a matrix row.
const Faults = "faults"

// Set is the faults a server runs with. The zero value has none.
type Set map[string]bool

// On reports whether the named fault is active.
func (s Set) On(name string) bool { return s[name] }

// Names returns the active faults, sorted.
func (s Set) Names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the fault of that name.
func Lookup(name string) (Fault, bool) {
	for _, f := range All {
		if f.Name == name {
			return f, true
		}
	}
	return Fault{}, false
}

// Parse reads a comma-separated list of fault names ("" is none).
func Parse(csv string) (Set, error) {
	s := Set{}
	for _, n := range strings.Split(csv, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := Lookup(n); !ok {
			names := make([]string, len(All))
			for i, f := range All {
				names[i] = f.Name
			}
			return nil, fmt.Errorf("unknown fault %q (known: %s)", n, strings.Join(names, ", "))
		}
		s[n] = true
	}
	return s, nil
}

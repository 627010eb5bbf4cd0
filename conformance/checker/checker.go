// Package checker judges the history of a fault run, a Kafka workload in the spirit of
// Jepsen's: producers send unique values and note what each send's acknowledgement said, a
// consumer group polls and commits, the committed offsets are sampled, faults are injected and
// healed, and at the end every partition is read from its log start to its end. Check proves
// from that history, and nothing else, that no acknowledged value was lost, no value was
// written twice, acknowledgements told the truth about offsets, each producer's values kept
// their order, no offset was seen holding two values, committed offsets never went backwards,
// and the group resumed after the last fault; it counts every violation and keeps the first
// few of each kind as readable examples.
package checker

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Outcome is what a producer learned of one send.
type Outcome int

const (
	// OK: acknowledged, with the offset the acknowledgement gave.
	OK Outcome = iota + 1
	// Failed: the client reports the value was never written (it never left the client).
	Failed
	// Indeterminate: the send failed, but it may have been written (a timeout, a closed
	// connection, a client closed with the value in flight).
	Indeterminate
)

func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Failed:
		return "failed"
	case Indeterminate:
		return "indeterminate"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Send is one value a producer sent.
type Send struct {
	Producer string
	// Index is the send's place in its producer's sequence of sends: a producer sends
	// Index 0, 1, 2, ... in that order.
	Index     int
	Partition int32
	Value     string // unique over the whole history
	Outcome   Outcome
	Offset    int64  // with OK: the offset the acknowledgement gave
	Err       string // with Failed or Indeterminate: what the client said
}

// Poll is one record a group consumer received.
type Poll struct {
	Consumer  string
	Partition int32
	Offset    int64
	Value     string
	At        time.Time
}

// Commit is one observation of a group's committed offset for a partition: the offset was
// the committed one at some moment between Start (the OffsetCommit or OffsetFetch that saw
// it was sent) and End (it was answered).
type Commit struct {
	Group      string
	Partition  int32
	Offset     int64
	Start, End time.Time
	Source     string // who observed it, for the examples ("member-1", "sampler")
}

// Record is one record of the final read.
type Record struct {
	Partition int32
	Offset    int64
	Value     string
}

// Range is a partition's log when the final read was taken: offsets Start to End-1.
type Range struct{ Start, End int64 }

// Fault is one fault injected, from its start until it was healed.
type Fault struct {
	Kind          string
	Start, Healed time.Time
}

// History is everything a fault run observed.
type History struct {
	Sends   []Send
	Polls   []Poll
	Commits []Commit
	// Final is a read of every partition from its log start to its end, taken after the
	// producers stopped, and Logs is each partition's range then (every partition of the
	// topic, empty ones too).
	Final  []Record
	Logs   map[int32]Range
	Faults []Fault
}

// Summary counts what Check found.
type Summary struct {
	Sent          int `json:"sent"`
	Acknowledged  int `json:"acknowledged"`
	Failed        int `json:"failed"`
	Indeterminate int `json:"indeterminate"`
	Read          int `json:"read"`   // records in the final read
	Polled        int `json:"polled"` // records the group polled, repeats included

	// Lost: acknowledged values absent from the final read.
	Lost int `json:"lost"`
	// Duplicated: values (acknowledged or not) the final read holds more than once.
	Duplicated int `json:"duplicated"`
	// Misplaced: acknowledged values not at the offset their acknowledgement gave, and values
	// found in a partition other than the one they were sent to.
	Misplaced int `json:"misplaced"`
	// OrderViolations: pairs of one producer's values in one partition whose offsets do not
	// follow the order they were sent in (by acknowledged offsets or in the final read).
	OrderViolations int `json:"order_violations"`
	// OffsetConflicts: offsets seen holding two different values across the group's polls and
	// the final read, or polled with a value where the final read has none.
	OffsetConflicts int `json:"offset_conflicts"`
	// CommitRegressions: committed offsets seen lower than one seen earlier (the earlier
	// observation answered before the later one was asked).
	CommitRegressions int `json:"commit_regressions"`
	// Unconsumed: records of the final read the group never polled.
	Unconsumed int `json:"unconsumed"`
	// Unknown: values in the final read that nobody sent.
	Unknown int `json:"unknown"`
	// FailedPresent: values whose send failed definitely, present in the final read.
	FailedPresent int `json:"failed_present"`
	// IndeterminatePresent: values whose send was indeterminate and that were written (not a
	// violation: the client could not know).
	IndeterminatePresent int `json:"indeterminate_present"`
	// Resumed: after the last fault was healed the group polled every partition up to its
	// end and committed the end.
	Resumed bool `json:"resumed"`
	// Faults counts the faults injected, by kind.
	Faults map[string]int `json:"faults"`
}

// OK says whether the history shows no violation and the group resumed.
func (s Summary) OK() bool {
	return s.Lost == 0 && s.Duplicated == 0 && s.Misplaced == 0 && s.OrderViolations == 0 && s.OffsetConflicts == 0 &&
		s.CommitRegressions == 0 && s.Unconsumed == 0 && s.Unknown == 0 && s.FailedPresent == 0 && s.Resumed
}

// Violation kinds, in the order Result lists them.
const (
	KindLost            = "lost"
	KindDuplicated      = "duplicated"
	KindMisplaced       = "misplaced"
	KindOrder           = "order"
	KindOffsetConflict  = "offset-conflict"
	KindCommitRegressed = "commit-regression"
	KindUnconsumed      = "unconsumed"
	KindUnknown         = "unknown"
	KindFailedPresent   = "failed-present"
	KindNotResumed      = "not-resumed"
)

var kindOrder = []string{KindLost, KindDuplicated, KindMisplaced, KindOrder, KindOffsetConflict, KindCommitRegressed,
	KindUnconsumed, KindUnknown, KindFailedPresent, KindNotResumed}

// Examples is how many violations of each kind Result keeps.
const Examples = 5

// Violation is one example of a violation.
type Violation struct {
	Kind   string
	Detail string
}

func (v Violation) String() string { return v.Kind + ": " + v.Detail }

// Result is what Check found: the counts and the first Examples violations of each kind.
type Result struct {
	Summary    Summary
	Violations []Violation
}

// Lines are the violations as text, at most n (all when n <= 0).
func (r Result) Lines(n int) []string {
	var out []string
	for _, v := range r.Violations {
		if n > 0 && len(out) == n {
			break
		}
		out = append(out, v.String())
	}
	return out
}

type pos struct {
	p int32
	o int64
}

func (x pos) String() string { return fmt.Sprintf("%d/%d", x.p, x.o) }

func cmpPos(a, b pos) int { return cmp.Or(cmp.Compare(a.p, b.p), cmp.Compare(a.o, b.o)) }

// examples collects violations, at most Examples per kind, in kindOrder.
type examples map[string][]Violation

func (e examples) add(kind, format string, args ...any) {
	if len(e[kind]) < Examples {
		e[kind] = append(e[kind], Violation{Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
}

func (e examples) list() []Violation {
	var out []Violation
	for _, k := range kindOrder {
		out = append(out, e[k]...)
	}
	return out
}

// Check judges a history. It fails only when the history itself is malformed (a value sent
// twice, an acknowledged send without an offset, an unknown outcome): that is a bug of
// whoever recorded it, not of the system under test.
func Check(h History) (Result, error) {
	if err := validate(h.Sends); err != nil {
		return Result{}, err
	}
	s := Summary{Sent: len(h.Sends), Polled: len(h.Polls), Faults: map[string]int{}}
	for _, f := range h.Faults {
		s.Faults[f.Kind]++
	}
	for _, x := range h.Sends {
		switch x.Outcome {
		case OK:
			s.Acknowledged++
		case Failed:
			s.Failed++
		case Indeterminate:
			s.Indeterminate++
		}
	}
	ex := examples{}
	final, where := finalRead(h.Final, &s, ex)
	checkSends(h.Sends, where, &s, ex)
	checkOrder(h.Sends, where, &s, ex)
	polled := checkReads(h.Polls, final, h.Logs, &s, ex)
	for _, x := range sortedKeys(final, cmpPos) {
		if !polled[x] {
			s.Unconsumed++
			ex.add(KindUnconsumed, "%s (%s) was never polled by the group", x, final[x])
		}
	}
	checkCommits(h.Commits, &s, ex)
	s.Resumed = resumed(h, ex)
	return Result{Summary: s, Violations: ex.list()}, nil
}

// validate checks the sends are well formed.
func validate(sends []Send) error {
	values := make(map[string]bool, len(sends))
	var errs []error
	for _, x := range sends {
		if values[x.Value] {
			errs = append(errs, fmt.Errorf("value %q sent twice: values must be unique", x.Value))
		}
		if x.Outcome < OK || x.Outcome > Indeterminate {
			errs = append(errs, fmt.Errorf("value %q has no outcome (%d)", x.Value, int(x.Outcome)))
		}
		if x.Outcome == OK && x.Offset < 0 {
			errs = append(errs, fmt.Errorf("value %q is acknowledged without an offset", x.Value))
		}
		values[x.Value] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("malformed history: %w", errors.Join(errs...))
	}
	return nil
}

// finalRead indexes the final read by position and by value, counting values held more than
// once and positions read with two values.
func finalRead(recs []Record, s *Summary, ex examples) (map[pos]string, map[string][]pos) {
	final := map[pos]string{}
	where := map[string][]pos{}
	conflicted := map[pos]bool{}
	for _, r := range recs {
		x := pos{r.Partition, r.Offset}
		if v, seen := final[x]; seen {
			if v != r.Value && !conflicted[x] {
				conflicted[x] = true
				s.OffsetConflicts++
				ex.add(KindOffsetConflict, "%s read as %s and as %s in the final read", x, v, r.Value)
			}
			continue
		}
		final[x] = r.Value
		where[r.Value] = append(where[r.Value], x)
	}
	s.Read = len(final)
	for _, v := range sortedKeys(where, strings.Compare) {
		ps := where[v]
		slices.SortFunc(ps, cmpPos)
		if len(ps) > 1 {
			s.Duplicated++
			ex.add(KindDuplicated, "%s is in the log %d times, at %s", v, len(ps), joinPos(ps))
		}
	}
	return final, where
}

// checkSends compares every send with where the final read has its value.
func checkSends(sends []Send, where map[string][]pos, s *Summary, ex examples) {
	sent := make(map[string]bool, len(sends))
	for _, x := range sends {
		sent[x.Value] = true
		at := where[x.Value]
		switch {
		case x.Outcome == OK && len(at) == 0:
			s.Lost++
			ex.add(KindLost, "%s (%s) was acknowledged at %s and is not in the final read", x.Value, x.Producer, pos{x.Partition, x.Offset})
			continue
		case x.Outcome == Failed && len(at) > 0:
			s.FailedPresent++
			ex.add(KindFailedPresent, "%s (%s) failed (%s) but is in the log at %s", x.Value, x.Producer, x.Err, joinPos(at))
		case x.Outcome == Indeterminate && len(at) > 0:
			s.IndeterminatePresent++
		}
		if len(at) == 0 {
			continue
		}
		acked := pos{x.Partition, x.Offset}
		switch {
		case slices.ContainsFunc(at, func(p pos) bool { return p.p != x.Partition }):
			s.Misplaced++
			ex.add(KindMisplaced, "%s (%s) was sent to partition %d and is in the log at %s", x.Value, x.Producer, x.Partition, joinPos(at))
		case x.Outcome == OK && !slices.Contains(at, acked):
			s.Misplaced++
			ex.add(KindMisplaced, "%s (%s) was acknowledged at %s and is in the log at %s", x.Value, x.Producer, acked, joinPos(at))
		}
	}
	for _, v := range sortedKeys(where, strings.Compare) {
		if !sent[v] {
			s.Unknown++
			ex.add(KindUnknown, "%s at %s was never sent", v, joinPos(where[v]))
		}
	}
}

// checkOrder proves each producer's order per partition twice: the offsets its
// acknowledgements gave, and where the final read has its values (acknowledged or not), must
// rise in the order it sent them. A pair out of order in both is counted once.
func checkOrder(sends []Send, where map[string][]pos, s *Summary, ex examples) {
	type stream struct {
		producer  string
		partition int32
	}
	type placed struct {
		index  int
		value  string
		offset int64
	}
	acked := map[stream][]placed{}
	logged := map[stream][]placed{}
	for _, x := range sends {
		k := stream{x.Producer, x.Partition}
		if x.Outcome == OK {
			acked[k] = append(acked[k], placed{x.Index, x.Value, x.Offset})
		}
		// Its first place in the partition it was sent to (duplicates are counted apart).
		if i := slices.IndexFunc(where[x.Value], func(p pos) bool { return p.p == x.Partition }); i >= 0 {
			logged[k] = append(logged[k], placed{x.Index, x.Value, where[x.Value][i].o})
		}
	}
	seen := map[[2]string]bool{}
	report := func(k stream, a, b placed, how string) {
		pair := [2]string{a.value, b.value}
		if seen[pair] {
			return
		}
		seen[pair] = true
		s.OrderViolations++
		ex.add(KindOrder, "%s sent %s before %s to partition %d, %s at offsets %d and %d", k.producer, a.value, b.value, k.partition, how, a.offset, b.offset)
	}
	keys := func(m map[stream][]placed) []stream {
		out := make([]stream, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.SortFunc(out, func(a, b stream) int {
			return cmp.Or(strings.Compare(a.producer, b.producer), cmp.Compare(a.partition, b.partition))
		})
		return out
	}
	for _, k := range keys(acked) {
		ps := acked[k]
		slices.SortFunc(ps, func(a, b placed) int { return cmp.Compare(a.index, b.index) })
		for i := 1; i < len(ps); i++ {
			if ps[i].offset <= ps[i-1].offset {
				report(k, ps[i-1], ps[i], "acknowledged")
			}
		}
	}
	for _, k := range keys(logged) {
		ps := logged[k]
		slices.SortFunc(ps, func(a, b placed) int { return cmp.Compare(a.offset, b.offset) })
		for i := 1; i < len(ps); i++ {
			if ps[i].index < ps[i-1].index {
				report(k, ps[i], ps[i-1], "logged")
			}
		}
	}
}

// checkReads compares what the group polled with the final read: a polled offset must hold
// the value the final read has there, and exactly one. It returns the positions polled.
func checkReads(polls []Poll, final map[pos]string, logs map[int32]Range, s *Summary, ex examples) map[pos]bool {
	seen := map[pos][]string{}
	for _, p := range polls {
		x := pos{p.Partition, p.Offset}
		if !slices.Contains(seen[x], p.Value) {
			seen[x] = append(seen[x], p.Value)
		}
	}
	polled := make(map[pos]bool, len(seen))
	for _, x := range sortedKeys(seen, cmpPos) {
		polled[x] = true
		vs := seen[x]
		v, inFinal := final[x]
		switch {
		case !inFinal:
			s.OffsetConflicts++
			r, known := logs[x.p]
			where := "where the final read has nothing"
			if !known {
				where = "a partition the final read does not have"
			} else if x.o >= r.End {
				where = fmt.Sprintf("past the log end %d of the final read", r.End)
			}
			ex.add(KindOffsetConflict, "%s was polled as %s, %s", x, strings.Join(vs, " and "), where)
		case len(vs) > 1 || vs[0] != v:
			s.OffsetConflicts++
			ex.add(KindOffsetConflict, "%s was polled as %s, the final read has %s", x, strings.Join(vs, " and "), v)
		}
	}
	return polled
}

// checkCommits finds committed offsets that went backwards: an observation lower than one
// that was answered before it was asked. Observations whose requests overlapped may have
// seen the offsets in either order and are not compared. One drop seen by several later
// observations is counted once.
func checkCommits(commits []Commit, s *Summary, ex examples) {
	type key struct {
		group     string
		partition int32
	}
	by := map[key][]Commit{}
	for _, c := range commits {
		k := key{c.Group, c.Partition}
		by[k] = append(by[k], c)
	}
	keys := make([]key, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.group, b.group), cmp.Compare(a.partition, b.partition))
	})
	for _, k := range keys {
		byStart := slices.Clone(by[k])
		slices.SortStableFunc(byStart, func(a, b Commit) int { return a.Start.Compare(b.Start) })
		byEnd := slices.Clone(by[k])
		slices.SortStableFunc(byEnd, func(a, b Commit) int { return a.End.Compare(b.End) })
		var high *Commit // the highest offset answered so far
		counted := map[[2]int64]bool{}
		j := 0
		for i := range byStart {
			c := byStart[i]
			for ; j < len(byEnd) && byEnd[j].End.Before(c.Start); j++ {
				if high == nil || byEnd[j].Offset > high.Offset {
					high = &byEnd[j]
				}
			}
			if high == nil || c.Offset >= high.Offset || counted[[2]int64{c.Offset, high.Offset}] {
				continue
			}
			counted[[2]int64{c.Offset, high.Offset}] = true
			s.CommitRegressions++
			ex.add(KindCommitRegressed, "group %s partition %d: committed offset %d (%s, %s) after %d (%s, answered %s)", k.group, k.partition,
				c.Offset, c.Source, c.Start.Format(timeFormat), high.Offset, high.Source, high.End.Format(timeFormat))
		}
	}
}

const timeFormat = "15:04:05.000"

// resumed says whether the group came back after the last fault: for every partition that
// has records it polled after the fault was healed, polled up to the log end, and every group
// that committed last committed the end.
func resumed(h History, ex examples) bool {
	var healed time.Time
	for _, f := range h.Faults {
		if f.Healed.After(healed) {
			healed = f.Healed
		}
	}
	maxPolled := map[int32]int64{}
	pollAfter := map[int32]bool{}
	for _, p := range h.Polls {
		if o, ok := maxPolled[p.Partition]; !ok || p.Offset > o {
			maxPolled[p.Partition] = p.Offset
		}
		if p.At.After(healed) {
			pollAfter[p.Partition] = true
		}
	}
	type key struct {
		group     string
		partition int32
	}
	last := map[key]Commit{}
	groups := map[string]bool{}
	for _, c := range h.Commits {
		groups[c.Group] = true
		k := key{c.Group, c.Partition}
		if l, ok := last[k]; !ok || c.End.After(l.End) || (c.End.Equal(l.End) && c.Offset > l.Offset) {
			last[k] = c
		}
	}
	ok, hasRecords := true, false
	for _, p := range sortedKeys(h.Logs, cmp.Compare[int32]) {
		r := h.Logs[p]
		if r.End <= r.Start {
			continue
		}
		hasRecords = true
		if o, polled := maxPolled[p]; !polled || o < r.End-1 {
			ok = false
			ex.add(KindNotResumed, "partition %d: the group polled up to %s, the log ends at %d", p, offsetOrNone(o, polled), r.End)
		}
		if !pollAfter[p] {
			ok = false
			ex.add(KindNotResumed, "partition %d: nothing polled after the last fault was healed (%s)", p, healed.Format(timeFormat))
		}
		if len(groups) == 0 {
			ok = false
			ex.add(KindNotResumed, "partition %d: no committed offset was seen", p)
		}
		for _, g := range sortedKeys(groups, strings.Compare) {
			if c, seen := last[key{g, p}]; !seen || c.Offset != r.End {
				ok = false
				ex.add(KindNotResumed, "partition %d: group %s last committed %s, the log ends at %d", p, g, offsetOrNone(c.Offset, seen), r.End)
			}
		}
	}
	if !hasRecords {
		ex.add(KindNotResumed, "the log is empty: nothing was there to resume")
	}
	return ok && hasRecords
}

func offsetOrNone(o int64, ok bool) string {
	if !ok {
		return "nothing"
	}
	return fmt.Sprintf("offset %d", o)
}

func joinPos(ps []pos) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ", ")
}

// sortedKeys returns a map's keys in order, so examples come out the same every run.
func sortedKeys[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, compare)
	return out
}

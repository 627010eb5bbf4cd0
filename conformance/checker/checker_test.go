package checker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// clean is a history with nothing wrong. Producers p1 and p2 each send four values, even
// indexes to partition 0 and odd ones to partition 1, interleaved:
//
//	partition 0: p1-0 p2-0 p1-2 p2-2    partition 1: p1-1 p2-1 p1-3 p2-3
//
// Every value is acknowledged where the final read has it, member m1 polls everything after
// the last fault was healed (at 5 s), commits as it goes, and the sampler sees the ends.
func clean() History {
	h := History{Logs: map[int32]Range{0: {0, 4}, 1: {0, 4}}}
	for i := 0; i < 4; i++ {
		for pi, prod := range []string{"p1", "p2"} {
			v := fmt.Sprintf("%s-%d", prod, i)
			p, o := int32(i%2), int64(i/2*2+pi)
			h.Sends = append(h.Sends, Send{Producer: prod, Index: i, Partition: p, Value: v, Outcome: OK, Offset: o})
			h.Final = append(h.Final, Record{p, o, v})
			h.Polls = append(h.Polls, Poll{Consumer: "m1", Partition: p, Offset: o, Value: v, At: at(10)})
		}
	}
	h.Commits = []Commit{
		{Group: "g", Partition: 0, Offset: 2, Start: at(6), End: at(6.1), Source: "m1"},
		{Group: "g", Partition: 0, Offset: 4, Start: at(11), End: at(11.1), Source: "m1"},
		{Group: "g", Partition: 1, Offset: 4, Start: at(11), End: at(11.1), Source: "m1"},
		{Group: "g", Partition: 0, Offset: 4, Start: at(12), End: at(12.1), Source: "sampler"},
		{Group: "g", Partition: 1, Offset: 4, Start: at(12), End: at(12.1), Source: "sampler"},
	}
	h.Faults = []Fault{{Kind: "kill-server", Start: at(1), Healed: at(2)}, {Kind: "pause-storage", Start: at(3), Healed: at(5)}}
	return h
}

func (h *History) send(value string) *Send {
	i := slices.IndexFunc(h.Sends, func(s Send) bool { return s.Value == value })
	if i < 0 {
		panic("no send " + value)
	}
	return &h.Sends[i]
}

func (h *History) dropFinal(value string) {
	h.Final = slices.DeleteFunc(h.Final, func(r Record) bool { return r.Value == value })
}

func (h *History) dropPolls(keep func(Poll) bool) {
	h.Polls = slices.DeleteFunc(h.Polls, func(p Poll) bool { return !keep(p) })
}

// place moves a value to another offset of its partition in the final read and the polls.
func (h *History) place(value string, offset int64) {
	for i := range h.Final {
		if h.Final[i].Value == value {
			h.Final[i].Offset = offset
		}
	}
	for i := range h.Polls {
		if h.Polls[i].Value == value {
			h.Polls[i].Offset = offset
		}
	}
}

// appendLog writes value at the end of partition p as a healthy system would have: the final
// read and a poll have it, and the group committed past it.
func (h *History) appendLog(p int32, value string) {
	later := h.latest().Add(time.Second)
	r := h.Logs[p]
	h.Final = append(h.Final, Record{p, r.End, value})
	h.Polls = append(h.Polls, Poll{Consumer: "m1", Partition: p, Offset: r.End, Value: value, At: later})
	r.End++
	h.Logs[p] = r
	h.Commits = append(h.Commits, Commit{Group: "g", Partition: p, Offset: r.End, Start: later.Add(time.Second), End: later.Add(2 * time.Second), Source: "sampler"})
}

// latest is the last time the history mentions.
func (h *History) latest() time.Time {
	var out time.Time
	for _, p := range h.Polls {
		out = maxTime(out, p.At)
	}
	for _, c := range h.Commits {
		out = maxTime(out, c.End)
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// counts are the summary's verdicts, compared as a whole so a case that means to break one
// thing is also checked not to break another.
type counts struct {
	lost, dup, misplaced, order, conflicts, regressions, unconsumed, unknown, failedPresent, indetPresent int
	notResumed                                                                                            bool
}

func countsOf(s Summary) counts {
	return counts{s.Lost, s.Duplicated, s.Misplaced, s.OrderViolations, s.OffsetConflicts, s.CommitRegressions,
		s.Unconsumed, s.Unknown, s.FailedPresent, s.IndeterminatePresent, !s.Resumed}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(h *History)
		want   counts
		// examples each violation list must hold (substrings, in order of the list).
		examples []string
	}{
		{name: "a clean history", break_: func(*History) {}},
		{
			name: "an acknowledged value missing from the log is lost",
			break_: func(h *History) {
				h.dropFinal("p1-2")
				h.dropPolls(func(p Poll) bool { return p.Value != "p1-2" })
			},
			want:     counts{lost: 1},
			examples: []string{"lost: p1-2 (p1) was acknowledged at 0/2 and is not in the final read"},
		},
		{
			name: "an indeterminate or failed value missing from the log is not lost",
			break_: func(h *History) {
				h.send("p1-2").Outcome, h.send("p1-2").Err = Indeterminate, "request timed out"
				h.send("p2-3").Outcome, h.send("p2-3").Err = Failed, "max buffered"
				for _, v := range []string{"p1-2", "p2-3"} {
					h.dropFinal(v)
					h.dropPolls(func(p Poll) bool { return p.Value != v })
				}
				h.Logs[1] = Range{0, 3}
				h.Commits[2].Offset, h.Commits[4].Offset = 3, 3
			},
		},
		{
			name:     "an acknowledged value written twice is duplicated",
			break_:   func(h *History) { h.appendLog(0, "p1-2") },
			want:     counts{dup: 1},
			examples: []string{"duplicated: p1-2 is in the log 2 times, at 0/2, 0/4"},
		},
		{
			name: "an indeterminate value written twice is duplicated too",
			break_: func(h *History) {
				h.send("p2-3").Outcome = Indeterminate
				h.appendLog(1, "p2-3")
			},
			want: counts{dup: 1, indetPresent: 1},
		},
		{
			name:     "an acknowledgement that named another offset is misplaced",
			break_:   func(h *History) { h.send("p1-2").Offset = 3 },
			want:     counts{misplaced: 1},
			examples: []string{"misplaced: p1-2 (p1) was acknowledged at 0/3 and is in the log at 0/2"},
		},
		{
			name: "a value found in another partition than it was sent to is misplaced",
			break_: func(h *History) {
				s := h.send("p1-3")
				s.Partition, s.Outcome = 0, Indeterminate
			},
			want:     counts{misplaced: 1, indetPresent: 1},
			examples: []string{"misplaced: p1-3 (p1) was sent to partition 0 and is in the log at 1/2"},
		},
		{
			name: "values acknowledged out of the order they were sent in",
			break_: func(h *History) {
				h.send("p1-0").Offset, h.send("p1-2").Offset = 2, 0
				h.place("p1-0", 2)
				h.place("p1-2", 0)
			},
			// Out of order by the acknowledgements and in the log: one pair, counted once.
			want:     counts{order: 1},
			examples: []string{"order: p1 sent p1-0 before p1-2 to partition 0, acknowledged at offsets 2 and 0"},
		},
		{
			name: "values logged out of the order they were sent in, unacknowledged",
			break_: func(h *History) {
				h.send("p1-0").Outcome, h.send("p1-2").Outcome = Indeterminate, Indeterminate
				h.place("p1-0", 2)
				h.place("p1-2", 0)
			},
			want:     counts{order: 1, indetPresent: 2},
			examples: []string{"order: p1 sent p1-0 before p1-2 to partition 0, logged at offsets 2 and 0"},
		},
		{
			name: "acknowledged twice at the same offset is out of order (and one of them misplaced)",
			break_: func(h *History) {
				h.send("p1-3").Offset = 0
			},
			want: counts{order: 1, misplaced: 1},
		},
		{
			name:     "a poll that saw another value than the final read",
			break_:   func(h *History) { h.Polls[1].Value = "p1-3" },
			want:     counts{conflicts: 1},
			examples: []string{"offset-conflict: 0/1 was polled as p1-3, the final read has p2-0"},
		},
		{
			name: "two polls of one offset that saw different values",
			break_: func(h *History) {
				h.Polls = append(h.Polls, Poll{Consumer: "m2", Partition: 0, Offset: 1, Value: "p1-3", At: at(10)})
			},
			want:     counts{conflicts: 1},
			examples: []string{"offset-conflict: 0/1 was polled as p2-0 and p1-3, the final read has p2-0"},
		},
		{
			name: "a poll past the end of the final read",
			break_: func(h *History) {
				h.Polls = append(h.Polls, Poll{Consumer: "m1", Partition: 0, Offset: 4, Value: "p9-0", At: at(10)})
			},
			want:     counts{conflicts: 1},
			examples: []string{"offset-conflict: 0/4 was polled as p9-0, past the log end 4 of the final read"},
		},
		{
			name: "a poll of a partition the final read does not have",
			break_: func(h *History) {
				h.Polls = append(h.Polls, Poll{Consumer: "m1", Partition: 7, Offset: 0, Value: "p9-0", At: at(10)})
			},
			want:     counts{conflicts: 1},
			examples: []string{"offset-conflict: 7/0 was polled as p9-0, a partition the final read does not have"},
		},
		{
			name:     "one offset read with two values in the final read",
			break_:   func(h *History) { h.Final = append(h.Final, Record{1, 0, "p2-1"}) },
			want:     counts{conflicts: 1},
			examples: []string{"offset-conflict: 1/0 read as p1-1 and as p2-1 in the final read"},
		},
		{
			name: "a committed offset lower than one answered before it went backwards",
			break_: func(h *History) {
				h.Commits = append(h.Commits, Commit{Group: "g", Partition: 0, Offset: 1, Start: at(11.5), End: at(11.6), Source: "sampler"})
			},
			want:     counts{regressions: 1},
			examples: []string{"commit-regression: group g partition 0: committed offset 1 (sampler, "},
		},
		{
			name: "observations that overlapped in time are not ordered",
			break_: func(h *History) {
				// Asked at 10.9, before the commit of 4 was answered at 11.1: either order is possible.
				h.Commits = append(h.Commits, Commit{Group: "g", Partition: 0, Offset: 2, Start: at(10.9), End: at(11.2), Source: "sampler"})
			},
		},
		{
			name: "one drop seen by several samples is one regression",
			break_: func(h *History) {
				for _, s := range []float64{11.5, 11.7, 11.9} {
					h.Commits = append(h.Commits, Commit{Group: "g", Partition: 1, Offset: 3, Start: at(s), End: at(s + 0.1), Source: "sampler"})
				}
			},
			want: counts{regressions: 1},
		},
		{
			name: "regressions are per group",
			break_: func(h *History) {
				h.Commits = append(h.Commits, Commit{Group: "other", Partition: 0, Offset: 4, Start: at(11.5), End: at(11.6)},
					Commit{Group: "other", Partition: 0, Offset: 3, Start: at(11.7), End: at(11.8)})
			},
			// The other group regressed, and never committed partition 1's end.
			want: counts{regressions: 1, notResumed: true},
		},
		{
			name:     "a record the group never polled",
			break_:   func(h *History) { h.dropPolls(func(p Poll) bool { return !(p.Partition == 1 && p.Offset == 2) }) },
			want:     counts{unconsumed: 1},
			examples: []string{"unconsumed: 1/2 (p1-3) was never polled by the group"},
		},
		{
			name:   "a group that did not poll up to the end did not resume",
			break_: func(h *History) { h.dropPolls(func(p Poll) bool { return !(p.Partition == 1 && p.Offset == 3) }) },
			want:   counts{unconsumed: 1, notResumed: true},
			examples: []string{"unconsumed: 1/3 (p2-3) was never polled by the group",
				"not-resumed: partition 1: the group polled up to offset 2, the log ends at 4"},
		},
		{
			name: "a group that polled nothing after the last fault did not resume",
			break_: func(h *History) {
				for i := range h.Polls {
					h.Polls[i].At = at(4)
				}
			},
			want:     counts{notResumed: true},
			examples: []string{"not-resumed: partition 0: nothing polled after the last fault was healed"},
		},
		{
			name: "a group whose last commit is short of the end did not resume",
			break_: func(h *History) {
				h.Commits[2].Offset, h.Commits[4].Offset = 3, 3
			},
			want:     counts{notResumed: true},
			examples: []string{"not-resumed: partition 1: group g last committed offset 3, the log ends at 4"},
		},
		{
			name:     "a group that never committed did not resume",
			break_:   func(h *History) { h.Commits = nil },
			want:     counts{notResumed: true},
			examples: []string{"not-resumed: partition 0: no committed offset was seen"},
		},
		{
			name:     "a value nobody sent",
			break_:   func(h *History) { h.appendLog(1, "x-1") },
			want:     counts{unknown: 1},
			examples: []string{"unknown: x-1 at 1/4 was never sent"},
		},
		{
			name: "a value whose send failed for sure but that was written",
			break_: func(h *History) {
				s := h.send("p2-3")
				s.Outcome, s.Err = Failed, "max buffered records"
			},
			want:     counts{failedPresent: 1},
			examples: []string{"failed-present: p2-3 (p2) failed (max buffered records) but is in the log at 1/3"},
		},
		{
			name: "an empty log leaves nothing to resume",
			break_: func(h *History) {
				*h = History{Logs: map[int32]Range{0: {0, 0}, 1: {5, 5}}}
			},
			want:     counts{notResumed: true},
			examples: []string{"not-resumed: the log is empty"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := clean()
			c.break_(&h)
			r, err := Check(h)
			if err != nil {
				t.Fatal(err)
			}
			if got := countsOf(r.Summary); got != c.want {
				t.Errorf("counts %+v, want %+v\nviolations:\n%s", got, c.want, strings.Join(r.Lines(0), "\n"))
			}
			if r.Summary.OK() != (c.want == counts{}) {
				t.Errorf("OK() = %v with counts %+v", r.Summary.OK(), countsOf(r.Summary))
			}
			if (c.want == counts{}) != (len(r.Violations) == 0) {
				t.Errorf("violations %q with counts %+v", r.Lines(0), countsOf(r.Summary))
			}
			lines := r.Lines(0)
			i := 0
			for _, want := range c.examples {
				for i < len(lines) && !strings.HasPrefix(lines[i], want) {
					i++
				}
				if i == len(lines) {
					t.Errorf("no violation starting %q (in order) among:\n%s", want, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

func TestCheckCountsTheHistory(t *testing.T) {
	h := clean()
	h.send("p1-1").Outcome = Indeterminate
	h.send("p2-1").Outcome = Indeterminate
	r, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	if s.Sent != 8 || s.Acknowledged != 6 || s.Indeterminate != 2 || s.Failed != 0 || s.Read != 8 || s.Polled != 8 || s.IndeterminatePresent != 2 {
		t.Errorf("summary %+v", s)
	}
	if s.Faults["kill-server"] != 1 || s.Faults["pause-storage"] != 1 || len(s.Faults) != 2 {
		t.Errorf("faults %v", s.Faults)
	}
	if !s.OK() {
		t.Errorf("not OK: %q", r.Lines(0))
	}
}

func TestCheckRefusesMalformedHistories(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(h *History)
		want   string
	}{
		{"a value sent twice", func(h *History) { h.Sends = append(h.Sends, h.Sends[0]) }, `value "p1-0" sent twice`},
		{"an acknowledgement without an offset", func(h *History) { h.send("p2-2").Offset = -1 }, `"p2-2" is acknowledged without an offset`},
		{"a send without an outcome", func(h *History) { h.send("p2-2").Outcome = 0 }, `"p2-2" has no outcome`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := clean()
			c.break_(&h)
			if _, err := Check(h); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestExamplesAreBoundedPerKind(t *testing.T) {
	h := clean()
	for _, v := range []string{"p1-0", "p2-0", "p1-2", "p2-2", "p1-1", "p2-1", "p1-3"} {
		h.dropFinal(v)
	}
	h.Polls = nil
	r, err := Check(h)
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Lost != 7 {
		t.Fatalf("lost %d, want 7", r.Summary.Lost)
	}
	var lost []string
	for _, v := range r.Violations {
		if v.Kind == KindLost {
			lost = append(lost, v.Detail)
		}
	}
	if len(lost) != Examples || !strings.HasPrefix(lost[0], "p1-0 ") {
		t.Errorf("lost examples %q, want the first %d in send order", lost, Examples)
	}
	// Kinds come in their fixed order: lost before not-resumed.
	if r.Violations[0].Kind != KindLost || r.Violations[len(r.Violations)-1].Kind != KindNotResumed {
		t.Errorf("violations out of kind order: %q", r.Lines(0))
	}
	if n := len(r.Lines(3)); n != 3 {
		t.Errorf("Lines(3) gave %d lines", n)
	}
}

// TestRandomHistories builds healthy histories of a realistic shape (three producers, four
// partitions, interleaved sends, some indeterminate, polls repeated after rebalances, commits
// and samples) and checks that they pass, then breaks each in one way and checks that exactly
// that is reported.
func TestRandomHistories(t *testing.T) {
	breaks := []struct {
		name  string
		apply func(h *History, rnd *rand.Rand) bool
		check func(s Summary) bool
	}{
		{"drop an acknowledged record", func(h *History, rnd *rand.Rand) bool {
			i := rnd.IntN(len(h.Final))
			v := h.Final[i].Value
			if h.send(v).Outcome != OK {
				return false
			}
			h.Final = slices.Delete(h.Final, i, i+1)
			h.dropPolls(func(p Poll) bool { return p.Value != v })
			return true
		}, func(s Summary) bool { return s.Lost == 1 && s.OffsetConflicts == 0 }},
		{"write a record twice", func(h *History, rnd *rand.Rand) bool {
			r := h.Final[rnd.IntN(len(h.Final))]
			h.appendLog(r.Partition, r.Value)
			return true
		}, func(s Summary) bool { return s.Duplicated == 1 && s.Lost == 0 }},
		{"swap two records of one partition", func(h *History, rnd *rand.Rand) bool {
			i, j := rnd.IntN(len(h.Final)), rnd.IntN(len(h.Final))
			a, b := h.Final[i], h.Final[j]
			if i == j || a.Partition != b.Partition {
				return false
			}
			h.Final[i].Value, h.Final[j].Value = b.Value, a.Value
			return true
		}, func(s Summary) bool { return s.OffsetConflicts == 2 && s.Lost == 0 }},
		{"roll a commit back", func(h *History, rnd *rand.Rand) bool {
			c := h.Commits[rnd.IntN(len(h.Commits))]
			if c.Offset == 0 {
				return false
			}
			h.Commits = append(h.Commits, Commit{Group: c.Group, Partition: c.Partition, Offset: c.Offset - 1, Start: c.End.Add(time.Millisecond), End: c.End.Add(2 * time.Millisecond)})
			return true
		}, func(s Summary) bool { return s.CommitRegressions == 1 }},
	}
	for seed := uint64(1); seed <= 20; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 7))
		h := randomHistory(rnd)
		r, err := Check(h)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Summary.OK() || r.Summary.Acknowledged == 0 || r.Summary.IndeterminatePresent == 0 {
			t.Fatalf("seed %d: healthy history judged %+v: %q", seed, r.Summary, r.Lines(10))
		}
		for _, b := range breaks {
			broken := cloneHistory(h)
			for tries := 0; !b.apply(&broken, rnd); tries++ {
				if tries > 1000 {
					t.Fatalf("seed %d: could not %s", seed, b.name)
				}
				broken = cloneHistory(h)
			}
			r, err := Check(broken)
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary.OK() || !b.check(r.Summary) {
				t.Errorf("seed %d, %s: summary %+v\n%s", seed, b.name, r.Summary, strings.Join(r.Lines(10), "\n"))
			}
		}
	}
}

func randomHistory(rnd *rand.Rand) History {
	const partitions, producers, perProducer = 4, 3, 300
	h := History{Logs: map[int32]Range{}}
	next := make([]int, producers)
	end := make([]int64, partitions)
	clock := at(20)
	tick := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	for done := 0; done < producers*perProducer; {
		p := rnd.IntN(producers)
		if next[p] == perProducer {
			continue
		}
		i := next[p]
		next[p]++
		done++
		part := int32(rnd.IntN(partitions))
		s := Send{Producer: fmt.Sprintf("p%d", p), Index: i, Partition: part, Value: fmt.Sprintf("p%d-%06d", p, i), Outcome: OK}
		switch rnd.IntN(20) {
		case 0:
			s.Outcome = Failed // never written
		case 1:
			s.Outcome = Indeterminate // written, the client could not tell
		}
		if s.Outcome != Failed {
			s.Offset = end[part]
			h.Final = append(h.Final, Record{part, end[part], s.Value})
			end[part]++
		}
		if s.Outcome != OK {
			s.Offset = 0
		}
		h.Sends = append(h.Sends, s)
	}
	h.Faults = []Fault{{Kind: "restart-pulsar", Start: at(1), Healed: at(10)}}
	for part := int32(0); part < partitions; part++ {
		h.Logs[part] = Range{0, end[part]}
		// Two members take turns; after each handover the new one resumes from the last
		// commit, re-polling what the old one polled but had not committed.
		committed := int64(0)
		for o := int64(0); o < end[part]; {
			member := fmt.Sprintf("m%d", rnd.IntN(2))
			stop := min(end[part], o+int64(1+rnd.IntN(40)))
			for ; o < stop; o++ {
				h.Polls = append(h.Polls, Poll{Consumer: member, Partition: part, Offset: o, Value: valueAt(h.Final, part, o), At: tick()})
			}
			if rnd.IntN(3) > 0 || o == end[part] {
				start := tick()
				committed = o
				h.Commits = append(h.Commits, Commit{Group: "g", Partition: part, Offset: committed, Start: start, End: tick(), Source: member})
			} else {
				o = committed // a handover before the commit: re-poll from the last commit
			}
			s := tick()
			h.Commits = append(h.Commits, Commit{Group: "g", Partition: part, Offset: committed, Start: s, End: tick(), Source: "sampler"})
		}
	}
	return h
}

func valueAt(final []Record, p int32, o int64) string {
	for _, r := range final {
		if r.Partition == p && r.Offset == o {
			return r.Value
		}
	}
	panic("no record")
}

func cloneHistory(h History) History {
	out := History{Sends: slices.Clone(h.Sends), Polls: slices.Clone(h.Polls), Commits: slices.Clone(h.Commits),
		Final: slices.Clone(h.Final), Faults: slices.Clone(h.Faults), Logs: map[int32]Range{}}
	for k, v := range h.Logs {
		out.Logs[k] = v
	}
	return out
}

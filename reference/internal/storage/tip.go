package storage

import (
	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/kop-conformance/kop-conformance/reference/faults"
	"github.com/kop-conformance/kop-conformance/reference/internal/recent"
)

// Offsets from the tip. An append learns its offset once the tail reader has seen its entry:
// a consumer round trip after Pulsar's acknowledgement. Most appends need not wait for it. A
// ledger's entries are numbered consecutively, and Pulsar's broker index numbers the messages
// of a topic in the order their entries are added, so the entry right after one whose offsets
// are known starts where that one ended. Across ledgers (a rollover, a broker restart, a
// failed write) nothing is assumed and the append waits for the tail, as before.
//
// Every answer given this way is checked when the tail sees its entry. A wrong one is logged
// as an error and ends the shortcut for the partition (the fault run, which checks that every
// acknowledged value sits at the offset its acknowledgement named, would also catch it).

// predict answers the first offset of the n-record entry id from the tip, and moves the tip
// to it. The high watermark moves with it: the entry is stored, so it can be read, and a
// client that produced with acks=all must find its records below the high watermark.
func (p *Partition) predict(id pulsar.MessageID, n int) (int64, bool) {
	ek := entryKey{id.LedgerID(), id.EntryID()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if first, ok := p.entries.Get(ek); ok { // the tail was quicker
		return first, true
	}
	if p.noPredict || !p.tipKnown || p.tip.ledger != ek.ledger || p.tip.entry+1 != ek.entry {
		return 0, false
	}
	first := p.tipNext
	p.tip, p.tipNext = ek, first+int64(n)
	if p.predicted == nil {
		p.predicted = recent.New[entryKey, int64](recentPredict)
	}
	p.predicted.Add(ek, first)
	if p.tipNext > p.hwm {
		p.hwm = p.tipNext
		close(p.changed)
		p.changed = make(chan struct{})
	}
	if p.store.cfg.Faults.On(faults.TipOffByOne) {
		return first + 1, true
	}
	return first, true
}

// advanceTip records that entry ek's records end before next (learned from the tail).
func (p *Partition) advanceTip(ek entryKey, next int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.advanceTipLocked(ek, next)
}

func (p *Partition) advanceTipLocked(ek entryKey, next int64) {
	if !p.tipKnown || p.tip.less(ek) {
		p.tip, p.tipNext, p.tipKnown = ek, next, true
	}
}

// confirmLocked is the tail's part: it checks an answer given from the tip, and moves the tip
// to an entry once it has seen the entry's last message.
func (p *Partition) confirmLocked(s sighting) {
	ek := s.ek
	if p.predicted != nil {
		if want, ok := p.predicted.Get(ek); ok && want != s.first {
			p.log.Error("an append was answered with a wrong offset; answering from the tail from now on",
				"entry", ek, "answered", want, "stored", s.first)
			p.noPredict = true
		}
	}
	// A batch of unknown size never moves the tip, which then waits for an append that
	// learned its own offset.
	if s.whole {
		if p.tipKnown && p.tip == ek && p.tipNext != s.last+1 && !p.noPredict {
			// The tip's own end was answered from the entry before it: the next answer would
			// be wrong too.
			p.log.Error("an append's records were counted wrongly; answering from the tail from now on",
				"entry", ek, "counted_to", p.tipNext, "stored_to", s.last+1)
			p.noPredict = true
		}
		p.advanceTipLocked(ek, s.last+1)
	}
}

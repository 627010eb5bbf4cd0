package idempotence

import "github.com/kop-conformance/kop-conformance/reference/internal/recent"

// Producer ids belong to the principal they were issued to: its role, "" on listeners without
// authentication. Ids are random so none can be guessed, but one can still be learned (a log
// line, a shared client config); binding it to its principal keeps another principal from
// writing in its name or having it bumped. The binding lives as long as the id is among the
// last remembered ids (the bounded map behind Next, oldest forgotten first). An id this gateway
// does not know (issued before a restart, by another gateway, or forgotten) is taken on trust
// and bound to the first principal that writes with it, as only its holder knows it.

// init makes the map of remembered ids; the caller holds g.mu.
func (g *IDs) init() {
	if g.issued == nil {
		g.issued = recent.New[int64, string](remembered)
	}
}

// Owner says to whom id was issued, if this gateway remembers it.
func (g *IDs) Owner(id int64) (owner string, known bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	return g.issued.Get(id)
}

// Claim says whether owner may write with producer id id: it was issued to owner, or it is
// unknown here, and then it is bound to owner from now on.
func (g *IDs) Claim(id int64, owner string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.init()
	if o, known := g.issued.Get(id); known {
		return o == owner
	}
	g.issued.Add(id, owner)
	return true
}

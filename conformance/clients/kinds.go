package clients

import (
	"errors"
	"fmt"

	"github.com/kop-conformance/kop-conformance/matrix/dims"
)

// Kind describes one client library.
type Kind struct {
	Name string
	// Balancers are the group assignors the client implements, by protocol name.
	Balancers []string
	// BalancerMinLevel is the first level at which the client offers an assignor, where it
	// needs one.
	BalancerMinLevel map[string]string
	// Pinnable clients cap their own request versions to a level. The others negotiate from
	// ApiVersions, so a level needs a server listener that advertises only that level.
	Pinnable bool
	// EmptyAsNull clients return an empty key, value or header value as null when consuming
	// (kafka-go's Reader reads a zero length as no bytes at all), so null and empty cannot be
	// told apart through them; they produce the two distinctly.
	EmptyAsNull bool
	New         func(t Target, level string) (Client, error)
}

// adapters are the kinds by client name (matrix/dims names the clients and their order).
var adapters = map[string]Kind{
	// franz-go's cooperative-sticky is client-side (KIP-429 over any JoinGroup version), so it
	// runs at every level; sarama refuses a cooperative strategy below 2.4 in its config check.
	dims.FranzGo: {Pinnable: true, New: newFranz, Balancers: []string{"range", "roundrobin", "sticky", "cooperative-sticky"}},
	dims.Sarama: {Pinnable: true, New: newSarama, Balancers: []string{"range", "roundrobin", "sticky", "cooperative-sticky"},
		BalancerMinLevel: map[string]string{"cooperative-sticky": "2.4"}},
	dims.KafkaGo: {Pinnable: false, EmptyAsNull: true, New: newKafkaGo, Balancers: []string{"range", "roundrobin"}},
}

// Kinds is every client under test, in report order (dims.Clients). A client without an
// adapter stops the program: its column would be empty.
var Kinds = func() []Kind {
	var out []Kind
	for _, name := range dims.Clients() {
		k, ok := KindNamed(name)
		if !ok {
			panic("clients: no adapter for client " + name)
		}
		out = append(out, k)
	}
	return out
}()

// KindNamed returns the kind of the named client.
func KindNamed(name string) (Kind, bool) {
	k, ok := adapters[name]
	if ok {
		k.Name = name
	}
	return k, ok
}

// ErrNoLevelListener means a non-pinnable client was asked for a level the target cannot emulate.
var ErrNoLevelListener = errors.New("target has no listener for this protocol level")

func levelAddr(t Target, level string) (string, error) {
	addr, ok := t.Levels[level]
	if !ok {
		return "", fmt.Errorf("%w %s", ErrNoLevelListener, level)
	}
	return addr, nil
}

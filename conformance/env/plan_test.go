package env

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/kop-conformance/kop-conformance/conformance/clients"
	"github.com/kop-conformance/kop-conformance/reference/listeners"
	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

var allProtocols = []Protocol{Plaintext, SSL, MTLS, SASL}

// counter hands out ports from first on, as a kernel that never repeats itself would.
func counter(first int) func() (int, error) {
	next := first
	return func() (int, error) { next++; return next - 1, nil }
}

func mustPlan(t *testing.T, protocols []Protocol, levels []string, main, level Serving) *Plan {
	t.Helper()
	p, err := NewPlan(protocols, levels, main, level)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkEndpoints: every level of every protocol has an endpoint, the main listener too, and
// no address is used twice.
func checkEndpoints(t *testing.T, p *Plan, protocols []Protocol, levels []string) {
	t.Helper()
	var target clients.Target
	p.Apply(&target)
	seen := map[string]string{}
	use := func(what, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Errorf("%s: address %q: %v", what, addr, err)
		}
		if other, ok := seen[addr]; ok {
			t.Errorf("%s and %s share %s", what, other, addr)
		}
		seen[addr] = what
	}
	for _, proto := range protocols {
		ep := clients.Endpoint{Bootstrap: target.Bootstrap, Levels: target.Levels}
		if proto != Plaintext {
			ep = target.Secure[string(proto)]
		}
		use(string(proto), ep.Bootstrap)
		if len(ep.Levels) != len(levels) {
			t.Errorf("%s has %d level endpoints, want %d", proto, len(ep.Levels), len(levels))
		}
		for _, lv := range levels {
			use(fmt.Sprintf("%s@%s", proto, lv), ep.Levels[lv])
		}
	}
	if want := len(protocols) - 1; len(target.Secure) != want {
		t.Errorf("target has %d secure endpoints, want %d: %v", len(target.Secure), want, target.Secure)
	}
}

// checkPublished: every published listener has its own container port and its own host port,
// and its address is that host port on loopback.
func checkPublished(t *testing.T, p *Plan, want int) {
	t.Helper()
	published := p.Published()
	if len(published) != want {
		t.Errorf("%d ports published, want %d", len(published), want)
	}
	hostPorts := map[int]bool{}
	for _, l := range p.Served() {
		hostPort := published[l.Port]
		if hostPorts[hostPort] {
			t.Errorf("host port %d published twice", hostPort)
		}
		hostPorts[hostPort] = true
		if l.Addr != "127.0.0.1:"+strconv.Itoa(hostPort) {
			t.Errorf("%s@%q: address %s, published on %d", l.Protocol, l.Level, l.Addr, hostPort)
		}
	}
}

func TestReferencePlan(t *testing.T) {
	levels := protocol.LevelNames()
	p := mustPlan(t, allProtocols, levels, Published, Published)
	if err := p.Bind(counter(40000)); err != nil {
		t.Fatal(err)
	}
	n := len(allProtocols) * (1 + len(levels))
	if len(p.Listeners) != n || len(p.Proxies()) != 0 {
		t.Fatalf("%d listeners (%d proxied), want %d served", len(p.Listeners), len(p.Proxies()), n)
	}
	checkPublished(t, p, n)
	checkEndpoints(t, p, allProtocols, levels)

	// The server reads back exactly the plan: same listeners, levels, protocols, addresses.
	parsed, err := listeners.Parse(p.KOPListeners())
	if err != nil {
		t.Fatalf("the reference server refuses KOP_LISTENERS: %v\n%s", err, p.KOPListeners())
	}
	if len(parsed) != n {
		t.Fatalf("KOP_LISTENERS has %d listeners, want %d", len(parsed), n)
	}
	for i, got := range parsed {
		l, spec := p.Served()[i], protocolSpecs[p.Served()[i].Protocol]
		want := listeners.Listener{Bind: fmt.Sprintf("0.0.0.0:%d", l.Port), Advertised: l.Addr, Level: l.Level, Protocol: spec.security}
		if spec.clientAuth {
			want.ClientAuth = "required"
		}
		if got != want {
			t.Errorf("listener %d: the server reads %+v, the plan says %+v", i, got, want)
		}
	}
}

func TestKOPListenersSyntax(t *testing.T) {
	p := mustPlan(t, allProtocols, []string{"1.0", "2.6"}, Published, Published)
	if err := p.Bind(counter(50000)); err != nil {
		t.Fatal(err)
	}
	want := "0.0.0.0:9092=127.0.0.1:50000,1.0/0.0.0.0:9101=127.0.0.1:50001,2.6/0.0.0.0:9102=127.0.0.1:50002," +
		"SSL://0.0.0.0:9094=127.0.0.1:50003,1.0/SSL://0.0.0.0:9201=127.0.0.1:50004,2.6/SSL://0.0.0.0:9202=127.0.0.1:50005," +
		"SSL://0.0.0.0:9095=127.0.0.1:50006?ssl.client.auth=required,1.0/SSL://0.0.0.0:9301=127.0.0.1:50007?ssl.client.auth=required," +
		"2.6/SSL://0.0.0.0:9302=127.0.0.1:50008?ssl.client.auth=required," +
		"SASL_PLAINTEXT://0.0.0.0:9096=127.0.0.1:50009,1.0/SASL_PLAINTEXT://0.0.0.0:9401=127.0.0.1:50010,2.6/SASL_PLAINTEXT://0.0.0.0:9402=127.0.0.1:50011"
	if got := p.KOPListeners(); got != want {
		t.Errorf("KOP_LISTENERS\n got %s\nwant %s", got, want)
	}
}

func TestKafkaPlan(t *testing.T) {
	levels := protocol.LevelNames()
	for _, protocols := range [][]Protocol{{Plaintext}, {Plaintext, SASL}, allProtocols} {
		t.Run(fmt.Sprint(protocols), func(t *testing.T) {
			p := mustPlan(t, protocols, levels, Published, Proxied)
			if err := p.Bind(counter(40000)); err != nil {
				t.Fatal(err)
			}
			checkPublished(t, p, len(protocols))
			if got, want := len(p.Proxies()), len(protocols)*len(levels); got != want {
				t.Fatalf("%d proxied listeners, want %d", got, want)
			}
			// Each proxy fronts its own protocol's main listener; give each an address as a
			// started proxy would.
			proxyPorts := counter(60000)
			for _, l := range p.Proxies() {
				if up, main := p.Upstream(l), p.Main(l.Protocol); main.Level != "" || up != main.Addr || up == "" {
					t.Errorf("%s@%s proxies %q, want its main listener %s", l.Protocol, l.Level, up, main.Addr)
				}
				port, _ := proxyPorts()
				l.Addr = loopbackAddr(port)
			}
			checkEndpoints(t, p, protocols, levels)
		})
	}
}

func TestExternalPlan(t *testing.T) {
	levels := protocol.LevelNames()
	p := mustPlan(t, []Protocol{Plaintext}, levels, Given, Proxied)
	p.Main(Plaintext).Addr = "kafka.example:9092"
	if err := p.Bind(func() (int, error) { return 0, fmt.Errorf("nothing to publish") }); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, p, 0)
	for i, l := range p.Proxies() {
		if p.Upstream(l) != "kafka.example:9092" {
			t.Errorf("%s proxies %q", l.Level, p.Upstream(l))
		}
		l.Addr = loopbackAddr(60000 + i)
	}
	checkEndpoints(t, p, []Protocol{Plaintext}, levels)
	if s := p.KOPListeners(); s != "" {
		t.Errorf("an external target has no listeners of ours, got %q", s)
	}
}

// A start retried after a port clash binds the plan again: everything follows the new ports.
func TestPlanRebind(t *testing.T) {
	p := mustPlan(t, allProtocols, []string{"2.0"}, Published, Published)
	if err := p.Bind(counter(40000)); err != nil {
		t.Fatal(err)
	}
	before := p.KOPListeners()
	if err := p.Bind(counter(45000)); err != nil {
		t.Fatal(err)
	}
	checkPublished(t, p, len(p.Listeners))
	checkEndpoints(t, p, allProtocols, []string{"2.0"})
	for _, hostPort := range p.Published() {
		if hostPort < 45000 {
			t.Errorf("host port %d left from the first binding", hostPort)
		}
	}
	if p.KOPListeners() == before {
		t.Error("KOP_LISTENERS did not follow the new ports")
	}
}

func TestPlanUnknownProtocol(t *testing.T) {
	if _, err := NewPlan([]Protocol{"SASL_SSL"}, nil, Published, Published); err == nil {
		t.Error("an unknown protocol was planned")
	}
}

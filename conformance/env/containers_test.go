package env

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

// customize applies customizers to a request, as testcontainers.Run would before creating
// the container.
func customize(t *testing.T, custom []testcontainers.ContainerCustomizer) *testcontainers.GenericContainerRequest {
	t.Helper()
	req := &testcontainers.GenericContainerRequest{}
	for _, c := range custom {
		if err := c.Customize(req); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

// bindings are the host ports a request publishes, by container port.
func bindings(t *testing.T, req *testcontainers.GenericContainerRequest) map[int]string {
	t.Helper()
	hc := &container.HostConfig{}
	req.HostConfigModifier(hc)
	out := map[int]string{}
	for port, b := range hc.PortBindings {
		if len(b) != 1 || b[0].HostIP.String() != "127.0.0.1" {
			t.Errorf("%s is published as %v, want once on loopback", port, b)
		}
		out[int(port.Num())] = b[0].HostPort
	}
	if len(req.ExposedPorts) != len(out) {
		t.Errorf("exposes %v, publishes %v", req.ExposedPorts, out)
	}
	return out
}

func TestKafkaConfigFollowsPlan(t *testing.T) {
	o := newOptions([]Option{WithKafkaImage("kafka:test"), WithCerts(t.TempDir()), WithSASL()})
	plan := mustPlan(t, o.protocols(), protocol.LevelNames(), Published, Proxied)
	if err := plan.Bind(counter(41000)); err != nil {
		t.Fatal(err)
	}
	req := customize(t, kafkaCustomizers(o, plan))
	published := bindings(t, req)
	advertised := strings.Split(req.Env["KAFKA_ADVERTISED_LISTENERS"], ",")
	listeners := req.Env["KAFKA_CONF_listeners"]
	protocols := req.Env["KAFKA_CONF_listener_security_protocol_map"]
	for _, l := range plan.Served() {
		name := string(l.Protocol)
		if !slices.Contains(advertised, name+"://"+l.Addr) {
			t.Errorf("%s is not advertised as %s: %v", name, l.Addr, advertised)
		}
		if !strings.Contains(listeners, fmt.Sprintf("%s://0.0.0.0:%d", name, l.Port)) {
			t.Errorf("%s does not listen on %d: %s", name, l.Port, listeners)
		}
		if !strings.Contains(protocols, name+":"+protocolSpecs[l.Protocol].security) {
			t.Errorf("%s's security protocol is not mapped: %s", name, protocols)
		}
		if _, port, _ := net.SplitHostPort(l.Addr); published[l.Port] != port {
			t.Errorf("%s: container port %d published on %q, advertised %s", name, l.Port, published[l.Port], l.Addr)
		}
	}
	if len(published) != len(plan.Served()) {
		t.Errorf("publishes %v, plans %d listeners", published, len(plan.Served()))
	}
	if !slices.Contains(advertised, kafkaInternal) || req.Env["KAFKA_CONF_inter_broker_listener_name"] != "INTERNAL" {
		t.Errorf("no INTERNAL inter-broker listener: %v", req.Env)
	}
	if req.Env["KAFKA_CONF_listener_name_mtls_ssl_client_auth"] != "required" {
		t.Error("the MTLS listener does not require client certificates")
	}
}

func TestReferenceConfigFollowsPlan(t *testing.T) {
	o := newOptions([]Option{WithReferenceImage("reference:test"), WithSASL(), WithFault("no-wake"), WithPprof(),
		WithReferenceEnv(map[string]string{"KOP_MAX_CONNECTIONS_PER_IP": "10000", "KOP_MAX_MESSAGE_BYTES": "1024"})})
	plan := mustPlan(t, o.protocols(), protocol.LevelNames(), Published, Published)
	if err := plan.Bind(counter(42000)); err != nil {
		t.Fatal(err)
	}
	pulsar := &PulsarContainer{network: &testcontainers.DockerNetwork{Name: "kop-test"}, tokens: &sasl{admin: "admin-token"}}
	published := plan.Published()
	published[debugPort] = 43000
	published[metricsPort] = 43001
	req := customize(t, referenceCustomizers(o, pulsar, plan, published))
	if got := req.Env["KOP_LISTENERS"]; got != plan.KOPListeners() {
		t.Errorf("KOP_LISTENERS %s, want the plan's %s", got, plan.KOPListeners())
	}
	for k, want := range map[string]string{"KOP_PULSAR_TOKEN": "admin-token", "KOP_FAULT": "no-wake", "KOP_PPROF": "true", "KOP_DEBUG_ADDR": "0.0.0.0:9099", "KOP_METRICS_ADDR": "0.0.0.0:9098",
		"KOP_PULSAR_URL": "pulsar://pulsar:6650", "KOP_MAX_CONNECTIONS_PER_IP": "10000",
		"KOP_MAX_MESSAGE_BYTES": "1024"} { // WithReferenceEnv overrides the environment's own
		if req.Env[k] != want {
			t.Errorf("%s=%q, want %q", k, req.Env[k], want)
		}
	}
	got := bindings(t, req)
	if len(got) != len(published) || got[debugPort] != "43000" || got[metricsPort] != "43001" {
		t.Errorf("publishes %v, want the plan's listeners, the wire tap and the metrics", got)
	}
	if plain := customize(t, referenceCustomizers(newOptions(nil), pulsar, plan, published)); plain.Env["KOP_PPROF"] != "" {
		t.Errorf("the profiler is served only when asked for: KOP_PPROF=%q", plain.Env["KOP_PPROF"])
	}
	if req.NetworkAliases["kop-test"][0] != referenceAlias {
		t.Errorf("not on Pulsar's network as %s: %v", referenceAlias, req.NetworkAliases)
	}
}

func TestMemoryLimitKeepsThePublishedPorts(t *testing.T) {
	req := customize(t, []testcontainers.ContainerCustomizer{publish(map[int]int{9092: 41001}), memoryLimit(512 << 20)})
	hc := &container.HostConfig{}
	req.HostConfigModifier(hc)
	if hc.Memory != 512<<20 || hc.MemorySwap != 512<<20 {
		t.Errorf("memory %d, swap %d; want both %d", hc.Memory, hc.MemorySwap, 512<<20)
	}
	if got := bindings(t, req); got[9092] != "41001" {
		t.Errorf("bindings %v lost the published port", got)
	}
	if req := customize(t, []testcontainers.ContainerCustomizer{memoryLimit(0)}); req.HostConfigModifier != nil {
		t.Error("no limit must leave the host config alone")
	}
}

package levelproxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/server"
)

// upstream is a protocol-only server that serves every implemented version (no level cap).
func upstream(t *testing.T) string {
	t.Helper()
	s := server.New(server.Config{MaxRequestBytes: 1 << 20, MaxMessageBytes: 1 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Serve(ctx, ln, server.Listener{Name: "up", AdvertisedHost: "127.0.0.1", AdvertisedPort: 1, Versions: server.Implemented()})
	t.Cleanup(func() { cancel(); s.Shutdown() })
	return ln.Addr().String()
}

func TestApiVersionsAreCappedToTheLevel(t *testing.T) {
	up := upstream(t)
	cases := []struct {
		level     string
		key, want int16
	}{
		{"1.0", 1, 6}, {"2.0", 0, 6}, {"2.6", 3, 9}, {"1.0", 18, 1},
	}
	for _, c := range cases {
		p, addr, err := Start(up, c.level)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		// franz-go asks with ApiVersions v3+; a 1.0 broker answers UNSUPPORTED_VERSION at v0 and
		// the client retries lower, so this also proves the downgrade path.
		resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
		cancel()
		cl.Close()
		p.Close()
		if err != nil {
			t.Fatalf("level %s: %v", c.level, err)
		}
		got := int16(-1)
		for _, k := range resp.ApiKeys {
			if k.ApiKey == c.key {
				got = k.MaxVersion
			}
		}
		if got != c.want {
			t.Errorf("level %s key %d: max v%d, want v%d", c.level, c.key, got, c.want)
		}
	}
}

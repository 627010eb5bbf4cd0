package levelproxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kop-conformance/kop-conformance/reference/server"
	"github.com/kop-conformance/kop-conformance/reference/wiretap"
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

func TestOverLevelRequestsAreRefusedAndEveryRequestRecorded(t *testing.T) {
	up := upstream(t)
	tap := wiretap.New()
	var refusals []string
	var mu sync.Mutex
	p, addr, err := New(Config{Bootstrap: up, Level: "1.0", Tap: tap, Logf: func(format string, args ...any) {
		mu.Lock()
		refusals = append(refusals, fmt.Sprintf(format, args...))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Pinned to 1.0, franz-go stays within the level: answered, and recorded by client id.
	ok, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxVersions(kversion.V1_0_0()), kgo.ClientID("spec.ok"))
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	if _, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, ok); err != nil {
		t.Fatalf("an in-level request failed: %v", err)
	}
	// A request above the level, as a client that ignored ApiVersions would send it, must
	// close the connection without an answer.
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9 // 1.0 has Metadata up to v5
	if err := rawRequest(addr, "spec.over", req); err == nil {
		t.Fatal("Metadata v9 through a 1.0 proxy was answered")
	}
	seen := tap.Snapshot("spec.")
	if v := seen["spec.ok"].Versions[18]; len(v) == 0 {
		t.Errorf("the in-level client's ApiVersions was not recorded: %v", seen)
	}
	if v := seen["spec.over"].Versions[3]; len(v) != 1 || v[0] != 9 {
		t.Errorf("the refused Metadata v9 must be recorded: %v", seen["spec.over"].Versions)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refusals) != 1 || !strings.Contains(refusals[0], "Metadata v9 is above the level") {
		t.Errorf("refusal log: %q", refusals)
	}
}

// rawRequest writes one request frame and reads the answer; an error means no answer.
func rawRequest(addr, clientID string, req kmsg.Request) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b := []byte{0, 0, 0, 0}
	b = kbin.AppendInt16(b, req.Key())
	b = kbin.AppendInt16(b, req.GetVersion())
	b = kbin.AppendInt32(b, 1)
	b = kbin.AppendNullableString(b, &clientID)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	if _, err := c.Write(b); err != nil {
		return err
	}
	_, err = readFrame(c)
	return err
}

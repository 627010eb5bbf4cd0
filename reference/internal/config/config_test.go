package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDefaultsAndOverrides(t *testing.T) {
	env := map[string]string{"KOP_TENANT": "acme", "KOP_DEFAULT_PARTITIONS": "3"}
	c, err := Parse([]string{"--namespace", "kafka", "--listeners", "0.0.0.0:9092=h:19092,2.0/0.0.0.0:9120=h:19120"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Tenant != "acme" || c.Namespace != "kafka" || c.DefaultPartitions != 3 {
		t.Fatalf("got %+v", c)
	}
	if len(c.Listeners) != 2 || c.Listeners[1].Level != "2.0" || c.Listeners[1].Advertised != "h:19120" {
		t.Fatalf("listeners %+v", c.Listeners)
	}
	if c.InternalNamespace != "acme/kop-internal" {
		t.Fatalf("internal namespace %q, want the tenant's kop-internal", c.InternalNamespace)
	}
}

func TestInternalNamespace(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "public/kop-internal"},
		{[]string{"--tenant", "acme"}, nil, "acme/kop-internal"},
		{nil, map[string]string{"KOP_INTERNAL_NAMESPACE": "ops/kafka-state"}, "ops/kafka-state"},
		{[]string{"--internal-namespace", "ops/a"}, map[string]string{"KOP_INTERNAL_NAMESPACE": "ops/b"}, "ops/a"},
	}
	for _, tc := range cases {
		c, err := Parse(tc.args, func(k string) string { return tc.env[k] })
		if err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
		} else if c.InternalNamespace != tc.want {
			t.Errorf("%v %v: internal namespace %q, want %q", tc.args, tc.env, c.InternalNamespace, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--listeners", "0.0.0.0:9092"}, "BIND=ADVERTISED"},
		{[]string{"--listeners", "9.9/0.0.0.0:9092=h:1"}, "unknown protocol level"},
		{[]string{"--listeners", "0.0.0.0:9092=h:0"}, "not 1-65535"},
		{[]string{"--listeners", "0.0.0.0:1=h:1,0.0.0.0:1=h:2"}, "used twice"},
		{[]string{"--default-partitions", "0"}, "below the minimum"},
		{[]string{"--node-id", "x"}, "not a 32-bit integer"},
		{[]string{"--pulsar-url", "http://x"}, "must start with pulsar://"},
		{[]string{"--max-message-bytes", "2000", "--max-request-bytes", "1500"}, "cannot exceed"},
		{[]string{"--log-level", "loud"}, "not one of"},
		{[]string{"--auto-create-topics", "maybe"}, "not a boolean"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--listeners", "TLS://0.0.0.0:9093=h:1"}, "unknown security protocol"},
		{[]string{"--listeners", "SASL_PLAINTEXT://0.0.0.0:9093=h:1"}, "need pulsar-token"},
		{[]string{"--listeners", "SSL://0.0.0.0:9093=h:1"}, "need ssl-cert-file"},
		{[]string{"--listeners", "0.0.0.0:9093=h:1?ssl.client.auth=required"}, "needs a TLS protocol"},
		{[]string{"--listeners", "SSL://0.0.0.0:9093=h:1?ssl.client.auth=always"}, "the only option"},
		{[]string{"--listeners", "SSL://0.0.0.0:9093=h:1?ssl.client.auth=required", "--ssl-cert-file", "c", "--ssl-key-file", "k"}, "need ssl-ca-file"},
		{[]string{"--listeners", "SSL://0.0.0.0:9093=h:1", "--ssl-cert-file", "/nonexistent/c", "--ssl-key-file", "k"}, "TLS file"},
		{[]string{"--ssl-client-auth", "maybe"}, "not one of none"},
		{[]string{"--internal-namespace", "kop"}, "internal-namespace: internal namespace \"kop\" is not TENANT/NAMESPACE"},
		{[]string{"--internal-namespace", "public/k p"}, "internal-namespace"},
	}
	for _, c := range cases {
		_, err := Parse(c.args, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

func TestParseSSLListeners(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, f := range []string{"cert", "key", "ca"} {
		files[f] = filepath.Join(dir, f)
		if err := os.WriteFile(files[f], nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Parse([]string{
		"--listeners", "0.0.0.0:9092=h:1,SSL://0.0.0.0:9093=h:2,2.0/SSL://0.0.0.0:9094=h:3?ssl.client.auth=required",
		"--ssl-cert-file", files["cert"], "--ssl-key-file", files["key"], "--ssl-ca-file", files["ca"],
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := []Listener{
		{Bind: "0.0.0.0:9092", Advertised: "h:1", Protocol: "PLAINTEXT"},
		{Bind: "0.0.0.0:9093", Advertised: "h:2", Protocol: "SSL", ClientAuth: "none"},
		{Bind: "0.0.0.0:9094", Advertised: "h:3", Protocol: "SSL", ClientAuth: "required", Level: "2.0"},
	}
	if !reflect.DeepEqual(c.Listeners, want) {
		t.Fatalf("listeners\n got %+v\nwant %+v", c.Listeners, want)
	}
}

func TestMetadataMaxAge(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, nil, 30 * time.Second},
		{[]string{"--metadata-max-age", "5s"}, nil, 5 * time.Second},
		{nil, map[string]string{"KOP_METADATA_MAX_AGE": "1m"}, time.Minute},
		{[]string{"--metadata-max-age", "0"}, nil, 0},
	}
	for _, tc := range cases {
		c, err := Parse(tc.args, func(k string) string { return tc.env[k] })
		if err != nil || c.MetadataMaxAge != tc.want {
			t.Errorf("%v %v: %v, %v; want %v", tc.args, tc.env, c, err, tc.want)
		}
	}
	for _, bad := range []string{"-1s", "soon"} {
		if _, err := Parse([]string{"--metadata-max-age", bad}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "metadata-max-age") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

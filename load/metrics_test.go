package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 5.24288e+07
process_open_fds 2031
kop_connections 2000
kop_groups 7
go_memstats_heap_inuse_bytes 1.2e+07
go_memstats_stack_inuse_bytes 4.194304e+06
kop_requests_total{api="Metadata",outcome="ok",version="7"} 2000
`))
	}))
	defer srv.Close()
	g := Scrape(context.Background(), srv.URL)
	want := Gauges{RSS: 52428800, FDs: 2031, Connections: 2000, HeapInuse: 12e6, StackInuse: 4194304, Groups: 7}
	if g == nil || *g != want {
		t.Fatalf("gauges %+v, want %+v", g, want)
	}
	if Scrape(context.Background(), "") != nil {
		t.Error("a target without metrics has no gauges")
	}
	if Scrape(context.Background(), "http://127.0.0.1:1/metrics") != nil {
		t.Error("an unreachable endpoint has no gauges")
	}
}

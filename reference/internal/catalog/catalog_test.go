package catalog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
)

// The Pulsar source lists the namespace with one admin call, and keeps only Kafka topics.
func TestNamesIsOneCall(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if r.URL.Path != "/admin/v2/persistent/public/default/partitioned" || r.Header.Get("Authorization") != "Bearer tok" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`["persistent://public/default/a","persistent://public/default/b-partition=3",` +
			`"persistent://public/default/__kop_groups","persistent://public/default/not%20kafka"]`))
	}))
	defer srv.Close()
	c, err := New(srv.URL, "public", "default", "tok")
	if err != nil {
		t.Fatal(err)
	}
	names, err := c.Names(context.Background())
	slices.Sort(names)
	if err != nil || !reflect.DeepEqual(names, []string{"a", "b-partition-3"}) || asked.Load() != 1 {
		t.Fatalf("names %v, %v after %d calls; want [a b-partition-3] after one", names, err, asked.Load())
	}
}

func TestNamesFailsOnAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "namespace does not exist", http.StatusNotFound)
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "public", "default", "")
	if _, err := c.Names(context.Background()); err == nil {
		t.Fatal("a 404 listed no error")
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Fatal("ping: a missing namespace must fail")
	}
}

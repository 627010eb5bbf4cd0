package env

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestGrantPulsarGrantsEachRoleItsActionsAsTheSuperuser(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer admin-token" {
			http.Error(w, "unexpected "+r.Method+" "+r.Header.Get("Authorization"), http.StatusBadRequest)
			return
		}
		var actions []string
		if err := json.NewDecoder(r.Body).Decode(&actions); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[r.URL.Path] = actions
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := (&sasl{admin: "admin-token"}).grantPulsar(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/admin/v2/namespaces/public/default/permissions/alice": {"produce", "consume"},
		"/admin/v2/namespaces/public/default/permissions/carol": {"consume"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("grants = %v, want %v", got, want)
	}
}

func TestGrantPulsarReportsARefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"reason":"not a superuser"}`, http.StatusForbidden)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := (&sasl{admin: "x"}).grantPulsar(ctx, srv.URL); err == nil {
		t.Fatal("a 403 from Pulsar was taken as a grant")
	}
}

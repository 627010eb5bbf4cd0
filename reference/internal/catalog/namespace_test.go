package catalog

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// seen is an admin request as Pulsar would receive it.
type seen struct{ method, path, contentType, auth, body string }

// adminServer plays Pulsar's admin API: it answers every request with status and body, and
// hands each request over on the channel.
func adminServer(t *testing.T, status int, body string) (*httptest.Server, <-chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(b)}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestEnsureNamespace(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		created bool
		err     error  // errors.Is target, or nil
		errText string // a part of the error, "" for none
	}{
		{name: "created", status: http.StatusNoContent, created: true},
		{name: "already there", status: http.StatusConflict, body: `{"reason":"Namespace already exists"}`},
		{name: "no permission", status: http.StatusForbidden, body: `{"reason":"Don't have permission"}`, err: ErrNamespaceForbidden},
		{name: "token refused", status: http.StatusUnauthorized, err: ErrNamespaceForbidden},
		{name: "no such tenant", status: http.StatusNotFound, body: `{"reason":"Tenant does not exist"}`, errText: "404"},
		{name: "broker failure", status: http.StatusInternalServerError, body: strings.Repeat("x", 1<<20), errText: "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := adminServer(t, tc.status, tc.body)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			created, err := EnsureNamespace(ctx, srv.URL+"/", "tok", "public/kop-internal")
			req := <-got
			// What Pulsar's own admin client sends to create a namespace with default policies.
			want := seen{http.MethodPut, "/admin/v2/namespaces/public/kop-internal", "application/json", "Bearer tok", ""}
			if req != want {
				t.Errorf("request %+v, want %+v", req, want)
			}
			switch {
			case tc.err != nil && !errors.Is(err, tc.err), tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)):
				t.Errorf("err = %v, want %v %q", err, tc.err, tc.errText)
			case tc.err == nil && tc.errText == "" && err != nil:
				t.Errorf("err = %v", err)
			case created != tc.created:
				t.Errorf("created = %v, want %v", created, tc.created)
			}
			if err != nil && len(err.Error()) > 1024 {
				t.Errorf("error of %d bytes: a large answer must not be copied whole", len(err.Error()))
			}
		})
	}
	if _, err := EnsureNamespace(context.Background(), "http://127.0.0.1:1", "", "no-slash"); err == nil {
		t.Error("a namespace without a tenant was accepted")
	}
}

func TestSetCompactionThreshold(t *testing.T) {
	cases := []struct {
		name   string
		status int
		err    error  // errors.Is target, or nil
		text   string // a part of the error, "" for none
	}{
		{name: "set", status: http.StatusNoContent},
		{name: "no permission", status: http.StatusForbidden, err: ErrNamespaceForbidden},
		{name: "no such namespace", status: http.StatusNotFound, text: "status 404 from Pulsar"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := adminServer(t, tc.status, "")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := SetCompactionThreshold(ctx, srv.URL, "tok", "public/kop-internal", 1<<20)
			// What `pulsar-admin namespaces set-compaction-threshold -t 1M` sends.
			want := seen{http.MethodPut, "/admin/v2/namespaces/public/kop-internal/compactionThreshold", "application/json", "Bearer tok", "1048576"}
			if req := <-got; req != want {
				t.Errorf("request %+v, want %+v", req, want)
			}
			switch {
			case tc.err != nil && !errors.Is(err, tc.err), tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)):
				t.Errorf("err = %v, want %v %q", err, tc.err, tc.text)
			case tc.err == nil && tc.text == "" && err != nil:
				t.Errorf("err = %v", err)
			}
		})
	}
}

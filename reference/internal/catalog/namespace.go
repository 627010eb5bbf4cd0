package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNamespaceForbidden: Pulsar refused to let the gateway's token create a namespace (401 or
// 403). The namespace may exist anyway, made by an operator.
var ErrNamespaceForbidden = errors.New("not allowed to create the namespace")

// EnsureNamespace creates namespace ("tenant/namespace") with the cluster's default policies
// unless it exists. It is one admin call, the one Pulsar's own admin client makes for
// `pulsar-admin namespaces create`: PUT /admin/v2/namespaces/{tenant}/{namespace} with an empty
// JSON body; 204 is created, 409 is already there. created says which.
func EnsureNamespace(ctx context.Context, adminURL, token, namespace string) (created bool, err error) {
	tenant, ns, ok := strings.Cut(namespace, "/")
	if !ok || tenant == "" || ns == "" {
		return false, fmt.Errorf("namespace %q is not TENANT/NAMESPACE", namespace)
	}
	u := strings.TrimRight(adminURL, "/") + "/admin/v2/namespaces/" + url.PathEscape(tenant) + "/" + url.PathEscape(ns)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, http.NoBody)
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return false, fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return true, nil
	case resp.StatusCode == http.StatusConflict:
		return false, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return false, fmt.Errorf("%w %s: Pulsar answered %d: %s", ErrNamespaceForbidden, namespace, resp.StatusCode, strings.TrimSpace(string(body)))
	default:
		return false, fmt.Errorf("creating namespace %s: Pulsar answered %d: %s", namespace, resp.StatusCode, strings.TrimSpace(string(body)))
	}
}

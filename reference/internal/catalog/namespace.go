package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrNamespaceForbidden: Pulsar refused the gateway's token an admin call on a namespace (401
// or 403). The namespace may exist anyway, made (and its policies set) by an operator.
var ErrNamespaceForbidden = errors.New("not allowed to manage the namespace")

// EnsureNamespace creates namespace ("tenant/namespace") with the cluster's default policies
// unless it exists. It is one admin call, the one Pulsar's own admin client makes for
// `pulsar-admin namespaces create`: PUT /admin/v2/namespaces/{tenant}/{namespace} with an empty
// JSON body; 204 is created, 409 is already there. created says which.
func EnsureNamespace(ctx context.Context, adminURL, token, namespace string) (created bool, err error) {
	status, err := namespaceCall(ctx, adminURL, token, namespace, http.MethodPut, "", "")
	switch {
	case err != nil:
		return false, fmt.Errorf("creating namespace %s: %w", namespace, err)
	case status == http.StatusConflict:
		return false, nil
	}
	return true, nil
}

// SetCompactionThreshold sets namespace's compaction policy: Pulsar compacts each of its topics
// once the topic's backlog passes bytes. The call `pulsar-admin namespaces
// set-compaction-threshold` makes: PUT /admin/v2/namespaces/{tenant}/{namespace}/compactionThreshold
// with the number as its JSON body.
func SetCompactionThreshold(ctx context.Context, adminURL, token, namespace string, bytes int64) error {
	if _, err := namespaceCall(ctx, adminURL, token, namespace, http.MethodPut, "/compactionThreshold", strconv.FormatInt(bytes, 10)); err != nil {
		return fmt.Errorf("setting the compaction threshold of %s: %w", namespace, err)
	}
	return nil
}

// namespaceCall makes one admin call on namespace (path after it, JSON body) and returns the
// status of an answer that is 2xx or 409; any other is an error (401 and 403 are
// ErrNamespaceForbidden), with at most 512 bytes of Pulsar's answer.
func namespaceCall(ctx context.Context, adminURL, token, namespace, method, path, body string) (int, error) {
	tenant, ns, ok := strings.Cut(namespace, "/")
	if !ok || tenant == "" || ns == "" {
		return 0, fmt.Errorf("namespace %q is not TENANT/NAMESPACE", namespace)
	}
	u := strings.TrimRight(adminURL, "/") + "/admin/v2/namespaces/" + url.PathEscape(tenant) + "/" + url.PathEscape(ns) + path
	var rd io.Reader = http.NoBody
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusConflict:
		return resp.StatusCode, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return 0, fmt.Errorf("%w %s: Pulsar answered %d: %s", ErrNamespaceForbidden, namespace, resp.StatusCode, strings.TrimSpace(string(answer)))
	default:
		return 0, fmt.Errorf("status %d from Pulsar: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
}

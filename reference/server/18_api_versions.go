package server

// ApiVersions, key 18, versions 0–3.
//
// Lists the API versions this listener serves: the implemented versions capped to the
// listener's protocol level. An unknown request version is answered at v0 with
// UNSUPPORTED_VERSION and the list (KIP-511). v3 validates the client software name and version
// and answers INVALID_REQUEST when they break Kafka's pattern.

import (
	"context"
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kop-conformance/kop-conformance/reference/protocol"
)

func init() { register(kmsg.ApiVersions, 0, 3, handleApiVersions) }

var softwarePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleApiVersions(_ context.Context, rc *reqCtx, r kmsg.Request) (kmsg.Response, error) {
	req := r.(*kmsg.ApiVersionsRequest)
	resp := apiVersionsList(rc.listener.Versions)
	if req.Version >= 3 && (!softwarePattern.MatchString(req.ClientSoftwareName) ||
		!softwarePattern.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	return resp, nil
}

func apiVersionsList(t protocol.Table) *kmsg.ApiVersionsResponse {
	resp := kmsg.NewPtrApiVersionsResponse()
	for _, k := range t.Keys() {
		v := kmsg.NewApiVersionsResponseApiKey()
		v.ApiKey, v.MinVersion, v.MaxVersion = k, t[k].Min, t[k].Max
		resp.ApiKeys = append(resp.ApiKeys, v)
	}
	return resp
}

func apiVersionsUnsupported(t protocol.Table) kmsg.Response {
	resp := apiVersionsList(t)
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.SetVersion(0)
	return resp
}

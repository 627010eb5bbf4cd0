package protocol

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Header is a parsed request header (v0–v2).
type Header struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      *string
}

// Request is a parsed request: its header and the decoded kmsg body.
type Request struct {
	Header
	Body kmsg.Request
}

// Errors that ParseRequest distinguishes, so the server can answer the way Kafka does.
var (
	ErrUnknownKey         = errors.New("unknown API key")
	ErrUnsupportedVersion = errors.New("unsupported API version")
	ErrMalformed          = errors.New("malformed request")
	// ErrTruncatedHeader is a malformed request whose header could not be read at all.
	ErrTruncatedHeader = errors.New("truncated header")
)

// ParseRequest decodes a frame body: ParseHeader, then DecodeBody. served reports whether a
// version of a key is served; when it is not, the header is still returned (with
// ErrUnsupportedVersion) so ApiVersions can answer with UNSUPPORTED_VERSION as Kafka does.
func ParseRequest(frame []byte, served func(key, version int16) bool) (*Request, error) {
	h, rest, err := ParseHeader(frame)
	if err != nil {
		return &Request{Header: h}, err
	}
	body, err := DecodeBody(h, rest, served)
	return &Request{Header: h, Body: body}, err
}

// ParseHeader reads what every request header version starts with: API key, version,
// correlation id and client id. rest is what follows, not looked at: the tags of a flexible
// header, then the body.
func ParseHeader(frame []byte) (h Header, rest []byte, err error) {
	rd := kbin.Reader{Src: frame}
	h = Header{Key: rd.Int16(), Version: rd.Int16(), CorrelationID: rd.Int32()}
	h.ClientID = rd.NullableString()
	if !rd.Ok() {
		return h, nil, fmt.Errorf("%w: %w", ErrMalformed, ErrTruncatedHeader)
	}
	return h, rd.Src, nil
}

// DecodeBody decodes rest, what followed the header ParseHeader read, as the body of the
// header's API at its version.
func DecodeBody(h Header, rest []byte, served func(key, version int16) bool) (kmsg.Request, error) {
	body := kmsg.RequestForKey(h.Key)
	if body == nil {
		return nil, fmt.Errorf("%w %d", ErrUnknownKey, h.Key)
	}
	if !served(h.Key, h.Version) || h.Version < 0 || h.Version > body.MaxVersion() {
		return nil, fmt.Errorf("%w: %s v%d", ErrUnsupportedVersion, kmsg.NameForKey(h.Key), h.Version)
	}
	body.SetVersion(h.Version)
	rd := kbin.Reader{Src: rest}
	if body.IsFlexible() {
		kmsg.SkipTags(&rd)
		if !rd.Ok() {
			return nil, fmt.Errorf("%w: truncated header tags", ErrMalformed)
		}
	}
	if err := decode(body, rd.Src); err != nil {
		return nil, fmt.Errorf("%w: %s v%d: %v", ErrMalformed, kmsg.NameForKey(h.Key), h.Version, err)
	}
	return body, nil
}

// decode shields the server from a panic inside a generated decoder on hostile input.
func decode(body kmsg.Request, src []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failure: %v", r)
		}
	}()
	return body.ReadFrom(src)
}

// AppendResponse appends a complete response frame (size, header, body) to dst.
// ApiVersions always uses response header v0, even in its flexible versions (KIP-511).
func AppendResponse(dst []byte, correlationID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = kbin.AppendInt32(dst, correlationID)
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		dst = append(dst, 0) // empty tagged fields
	}
	dst = resp.AppendTo(dst)
	n := uint32(len(dst) - start - 4)
	dst[start], dst[start+1], dst[start+2], dst[start+3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return dst
}

// Package evidence names what specs record in the Ginkgo report besides pass or fail, so the
// matrix tool can read it back: the API versions each client was seen to send.
package evidence

// WireEntry is the name of a spec's report entry holding a Wire value.
const WireEntry = "wire-versions"

// Wire is what went over the wire during one spec: for each client name (franz-go, ...) the
// versions it sent of each API key, ascending.
type Wire struct {
	Clients map[string]map[int16][]int16 `json:"clients"`
}

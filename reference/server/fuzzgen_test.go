package server

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The request generator of FuzzHandlers: kmsg requests whose fields are chosen by the fuzzer's
// bytes (extremes of every integer, names the server knows and names it must refuse, nil and
// empty arrays), encoded by kmsg, then mutated on the wire where no encoder would go: counts and
// lengths of 2^31-1 or negative, varints of the largest size, truncation.

// source hands out the fuzzer's bytes; once they run out it hands out zeros.
type source struct{ b []byte }

func (s *source) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

// int is an integer of the given bits: 0, 1, -1, the largest, the smallest, or a small one.
func (s *source) int(bits int) int64 {
	hi := int64(1)<<(bits-1) - 1
	switch k := s.byte(); k % 8 {
	case 0:
		return 0
	case 1:
		return 1
	case 2:
		return -1
	case 3:
		return hi
	case 4:
		return -hi - 1
	case 5:
		return -int64(s.byte()) - 2
	default:
		return int64(s.byte()) | int64(s.byte()&0x7f)<<8
	}
}

// words are strings worth sending: the env's topic, group and users, names Kafka refuses,
// the gateway's reserved prefix, a name too long for a topic, and bytes that are not UTF-8.
var words = []string{"", topic, "g", "PLAIN", "range", "consumer", "admin", "..", ".", "__kop_groups",
	strings.Repeat("x", 250), "t\x00", "\xff\xfe", "cleanup.policy", "u"}

func (s *source) string() string {
	if k := s.byte(); k < 200 {
		return words[int(k)%len(words)]
	}
	n := int(s.byte() % 16)
	b := make([]byte, n)
	for i := range b {
		b[i] = s.byte()
	}
	return string(b)
}

var tagsType = reflect.TypeOf(kmsg.Tags{})

// fill sets v's fields from src; slices get at most three elements (the wire mutations make
// the huge ones), nested no deeper than depth.
func fill(v reflect.Value, src *source, depth int) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(src.byte()&1 == 1)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(src.int(v.Type().Bits()))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(src.int(v.Type().Bits())))
	case reflect.Float64:
		v.SetFloat([]float64{0, -1, math.Inf(1), math.NaN(), 1e300}[src.byte()%5])
	case reflect.String:
		v.SetString(src.string())
	case reflect.Pointer:
		if src.byte()%3 != 0 {
			p := reflect.New(v.Type().Elem())
			fill(p.Elem(), src, depth)
			v.Set(p)
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), src, depth)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if n := int(src.byte() % 12); n > 0 { // 0: nil
				b := make([]byte, n-1)
				for i := range b {
					b[i] = src.byte()
				}
				v.SetBytes(b)
			}
			return
		}
		n := int(src.byte() % 5) // 0: nil, 1: empty, 2-4: 1-3 elements
		if n == 0 || depth == 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n-1, n-1)
		for i := range s.Len() {
			fill(s.Index(i), src, depth-1)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == tagsType {
			return
		}
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && f.Name != "Version" {
				fill(v.Field(i), src, depth)
			}
		}
	}
}

// mutations overwrite the encoded body where kmsg would never write such values.
var mutations = [][]byte{
	{0x7f, 0xff, 0xff, 0xff},       // int32 count or length 2^31-1
	{0xff, 0xff, 0xff, 0xff},       // -1: null
	{0xff, 0xff, 0xff, 0xfe},       // -2: neither a count nor null
	{0x80, 0x00, 0x00, 0x00},       // the smallest int32
	{0x7f, 0xff},                   // int16 length 32767
	{0xff, 0xfe},                   // int16 length -2
	{0xff, 0xff, 0xff, 0xff, 0x0f}, // the largest uvarint32: a compact count of 2^32-2
	{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // a varint past 64 bits
	{0x00}, // compact null
	{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // the largest int64
	nil, // truncate here
}

// mutate applies muts, three bytes each: a position in body (two bytes) and a mutation.
func mutate(body, muts []byte) []byte {
	for ; len(muts) >= 3 && len(body) > 0; muts = muts[3:] {
		pos := int(binary.BigEndian.Uint16(muts)) % len(body)
		m := mutations[int(muts[2])%len(mutations)]
		if m == nil {
			body = body[:pos]
			continue
		}
		body = append(body[:pos:pos], append(append([]byte{}, m...), body[min(pos+len(m), len(body)):]...)...)
	}
	return body
}

// apiVersion is one version of one API the server registers.
type apiVersion struct{ key, version int16 }

// registered lists every API version the server registers, in key then version order.
func registered() []apiVersion {
	var out []apiVersion
	for _, k := range Implemented().Keys() {
		for v := handlers[k].min; v <= handlers[k].max; v++ {
			out = append(out, apiVersion{k, v})
		}
	}
	return out
}

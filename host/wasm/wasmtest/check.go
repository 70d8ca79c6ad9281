package wasmtest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// CheckStream checks that a wasm.Stream implementation behaves as host/wasm
// relies on. newStream must return a fresh stream for the request
//
//	GET /check?x=1 HTTP/1.1
//	Host: example.com
//	X-Dup: 1
//	X-Dup: 2
//
// received over plain HTTP/1.1 from a client, with no response yet. Each
// aspect runs as a subtest with a fresh stream.
func CheckStream(t *testing.T, newStream func() wasm.Stream) {
	t.Helper()
	for _, c := range streamChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.run(newStream()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type streamCheck struct {
	name string
	run  func(s wasm.Stream) error
}

const (
	req  = abi.MapHTTPRequestHeaders
	resp = abi.MapHTTPResponseHeaders
)

var streamChecks = []streamCheck{
	{"request pseudo-headers", func(s wasm.Stream) error {
		h := s.Headers(req)
		for k, want := range map[string]string{":method": "GET", ":path": "/check?x=1", ":authority": "example.com", ":scheme": "http"} {
			if got, ok := h.Get(k); !ok || got != want {
				return fmt.Errorf("Get(%q) = %q, %v; want %q", k, got, ok, want)
			}
		}
		pairs := h.AppendPairs(nil)
		if len(pairs) != h.Len() {
			return fmt.Errorf("Len() = %d but AppendPairs returned %d pairs", h.Len(), len(pairs))
		}
		for i := 0; i < 4; i++ {
			if pairs[i][0][0] != ':' {
				return fmt.Errorf("pair %d is %q; pseudo-headers must come first: %q", i, pairs[i][0], pairs)
			}
		}
		return nil
	}},
	{"repeated header and lower-case keys", func(s wasm.Stream) error {
		h := s.Headers(req)
		if got, ok := h.Get("x-dup"); !ok || got != "1" {
			return fmt.Errorf(`Get("x-dup") = %q, %v; want the first value "1"`, got, ok)
		}
		if got := values(h, "x-dup"); !reflect.DeepEqual(got, []string{"1", "2"}) {
			return fmt.Errorf("x-dup values %q; want [1 2] in order", got)
		}
		for _, p := range h.AppendPairs(nil) {
			for _, c := range p[0] {
				if 'A' <= c && c <= 'Z' {
					return fmt.Errorf("key %q is not lower-case", p[0])
				}
			}
		}
		return nil
	}},
	{"add keeps existing values", func(s wasm.Stream) error {
		h := s.Headers(req)
		n := h.Len()
		h.Add("x-dup", "3")
		h.Add("x-new", "a")
		if h.Len() != n+2 {
			return fmt.Errorf("Len() = %d after two adds; want %d", h.Len(), n+2)
		}
		if got := values(h, "x-dup"); !reflect.DeepEqual(got, []string{"1", "2", "3"}) {
			return fmt.Errorf("x-dup values %q; want [1 2 3]", got)
		}
		return nil
	}},
	{"set overwrites the first value only", func(s wasm.Stream) error {
		h := s.Headers(req)
		h.Set("x-dup", "one")
		if got := values(h, "x-dup"); !reflect.DeepEqual(got, []string{"one", "2"}) {
			return fmt.Errorf("x-dup values %q after Set; want [one 2]", got)
		}
		h.Set("x-absent", "v")
		if got, ok := h.Get("x-absent"); !ok || got != "v" {
			return fmt.Errorf("Set of an absent key: Get = %q, %v; want v", got, ok)
		}
		return nil
	}},
	{"remove deletes every value but never a pseudo-header", func(s wasm.Stream) error {
		h := s.Headers(req)
		h.Remove("x-dup")
		if _, ok := h.Get("x-dup"); ok {
			return fmt.Errorf("x-dup still present after Remove")
		}
		h.Remove("x-never-there")
		h.Remove(":path")
		if got, _ := h.Get(":path"); got != "/check?x=1" {
			return fmt.Errorf(":path = %q after Remove(\":path\"); want it unchanged", got)
		}
		return nil
	}},
	{"pseudo-headers can be changed", func(s wasm.Stream) error {
		h := s.Headers(req)
		h.Set(":path", "/other?y=2")
		h.Add(":method", "POST")
		if got, _ := h.Get(":path"); got != "/other?y=2" {
			return fmt.Errorf(":path = %q after Set; want /other?y=2", got)
		}
		if got := values(h, ":method"); !reflect.DeepEqual(got, []string{"POST"}) {
			return fmt.Errorf(":method values %q after Add; want [POST] (Add of a pseudo-header sets it)", got)
		}
		return nil
	}},
	{"replace keeps unmentioned pseudo-headers", func(s wasm.Stream) error {
		h := s.Headers(req)
		h.Replace([][2]string{{":method", "PUT"}, {"x-only", "1"}, {"x-only", "2"}})
		got := h.AppendPairs(nil)
		want := map[string][]string{":method": {"PUT"}, ":path": {"/check?x=1"}, ":authority": {"example.com"}, ":scheme": {"http"}, "x-only": {"1", "2"}}
		if len(got) != 6 {
			return fmt.Errorf("pairs after Replace = %q; want the 4 pseudo-headers and x-only twice", got)
		}
		for k, vs := range want {
			if v := values(h, k); !reflect.DeepEqual(v, vs) {
				return fmt.Errorf("%s = %q after Replace; want %q", k, v, vs)
			}
		}
		return nil
	}},
	{"append pairs appends", func(s wasm.Stream) error {
		dst := [][2]string{{"keep", "me"}}
		got := s.Headers(req).AppendPairs(dst)
		if len(got) < 2 || got[0] != dst[0] {
			return fmt.Errorf("AppendPairs(dst) = %q; want dst's pair kept first", got)
		}
		return nil
	}},
	{"response headers start empty and take :status", func(s wasm.Stream) error {
		h := s.Headers(resp)
		if h.Len() != 0 {
			return fmt.Errorf("response headers before the response = %q; want none", h.AppendPairs(nil))
		}
		h.Add("content-type", "text/plain")
		h.Set(":status", "204")
		pairs := h.AppendPairs(nil)
		if len(pairs) != 2 || pairs[0] != [2]string{":status", "204"} {
			return fmt.Errorf("response pairs %q; want :status 204 first, then content-type", pairs)
		}
		return nil
	}},
	{"trailers can be created", func(s wasm.Stream) error {
		for _, m := range []abi.MapType{abi.MapHTTPRequestTrailers, abi.MapHTTPResponseTrailers} {
			h := s.Headers(m)
			if h.Len() != 0 {
				return fmt.Errorf("%s = %q; want none yet", m, h.AppendPairs(nil))
			}
			h.Add("x-checksum", "abc")
			if got, ok := h.Get("x-checksum"); !ok || got != "abc" {
				return fmt.Errorf("%s: Get after Add = %q, %v", m, got, ok)
			}
			h.Remove("x-checksum")
			if h.Len() != 0 {
				return fmt.Errorf("%s: %q left after Remove", m, h.AppendPairs(nil))
			}
		}
		return nil
	}},
	{"connection attributes", func(s wasm.Stream) error {
		for _, name := range []string{"source.address", "source.port", "destination.address", "destination.port", "request.protocol"} {
			v, ok := s.Attribute(name)
			if !ok || v.String() == "" {
				return fmt.Errorf("Attribute(%q) = %q, %v; want a value", name, v, ok)
			}
		}
		if v, _ := s.Attribute("request.protocol"); v.String() != "HTTP/1.1" {
			return fmt.Errorf("request.protocol = %q; want HTTP/1.1", v)
		}
		if v, ok := s.Attribute("no.such.attribute"); ok {
			return fmt.Errorf("Attribute of an unknown name = %q, true; want false", v)
		}
		return nil
	}},
}

func values(h wasm.HeaderMap, key string) []string {
	var out []string
	for _, p := range h.AppendPairs(nil) {
		if p[0] == key {
			out = append(out, p[1])
		}
	}
	return out
}

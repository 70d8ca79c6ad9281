package wasmtest

import (
	"strings"
	"testing"

	"github.com/sluice-proxy/sluice/abi"
	"github.com/sluice-proxy/sluice/host/wasm"
)

// brokenStream breaks one behaviour of Stream, to show that CheckStream
// notices.
type brokenStream struct {
	*Stream
	bug string
}

func (b *brokenStream) Headers(m abi.MapType) wasm.HeaderMap {
	return &brokenMap{Map: b.Stream.Map(m), bug: b.bug}
}

type brokenMap struct {
	*Map
	bug string
}

func (m *brokenMap) Set(k, v string) {
	if m.bug == "set appends" {
		m.Pairs = append(m.Pairs, [2]string{k, v})
		return
	}
	m.Map.Set(k, v)
}

func (m *brokenMap) Remove(k string) {
	if m.bug == "remove first only" {
		for i, p := range m.Pairs {
			if p[0] == k {
				m.Pairs = append(m.Pairs[:i], m.Pairs[i+1:]...)
				return
			}
		}
		return
	}
	m.Map.Remove(k)
}

func (m *brokenMap) AppendPairs(dst [][2]string) [][2]string {
	if m.bug == "canonical keys" {
		for _, p := range m.Pairs {
			k := p[0]
			if !strings.HasPrefix(k, ":") {
				k = strings.ToUpper(k[:1]) + k[1:]
			}
			dst = append(dst, [2]string{k, p[1]})
		}
		return dst
	}
	return m.Map.AppendPairs(dst)
}

func TestCheckStreamCatchesBugs(t *testing.T) {
	tests := []struct {
		bug   string
		check string
	}{
		{"set appends", "set overwrites the first value only"},
		{"remove first only", "remove deletes every value but never a pseudo-header"},
		{"canonical keys", "repeated header and lower-case keys"},
	}
	for _, tt := range tests {
		t.Run(tt.bug, func(t *testing.T) {
			failed := false
			for _, c := range streamChecks {
				s := &brokenStream{Stream: NewStream("GET", "/check?x=1", "example.com", [2]string{"x-dup", "1"}, [2]string{"x-dup", "2"}), bug: tt.bug}
				if err := c.run(s); err != nil && c.name == tt.check {
					failed = true
				}
			}
			if !failed {
				t.Fatalf("check %q did not catch %q", tt.check, tt.bug)
			}
		})
	}
}

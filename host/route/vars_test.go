package route_test

import (
	"testing"

	"github.com/sluice-proxy/sluice/host/route"
)

func TestVars(t *testing.T) {
	var zero route.Vars
	if _, ok := zero.Get("x"); ok || zero.Len() != 0 {
		t.Fatalf("zero Vars is not empty")
	}
	a := zero.With("x", "1")
	b := a.With("y", "2")
	c := b.With("x", "3")
	for _, tc := range []struct {
		name  string
		v     route.Vars
		key   string
		want  string
		found bool
		n     int
	}{
		{name: "zero untouched", v: zero, key: "x", n: 0},
		{name: "added", v: a, key: "x", want: "1", found: true, n: 1},
		{name: "parent untouched by child", v: a, key: "y", n: 1},
		{name: "second", v: b, key: "y", want: "2", found: true, n: 2},
		{name: "replaced", v: c, key: "x", want: "3", found: true, n: 2},
		{name: "original kept after replace", v: b, key: "x", want: "1", found: true, n: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.v.Get(tc.key)
			if got != tc.want || ok != tc.found || tc.v.Len() != tc.n {
				t.Errorf("Get(%q) = %q, %v with Len %d; want %q, %v with Len %d", tc.key, got, ok, tc.v.Len(), tc.want, tc.found, tc.n)
			}
		})
	}
	t.Run("All in order, stops early", func(t *testing.T) {
		var keys []string
		for k := range c.All() {
			keys = append(keys, k)
		}
		if len(keys) != 2 || keys[0] != "x" || keys[1] != "y" {
			t.Errorf("All yields %v; want [x y]", keys)
		}
		n := 0
		for range c.All() {
			n++
			break
		}
		if n != 1 {
			t.Errorf("All kept yielding after break")
		}
	})
}

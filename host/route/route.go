package route

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"

	"github.com/sluice-proxy/sluice/host/config"
)

// Named is a location config with its name, as a server lists it.
type Named struct {
	Name   string
	Config *config.Location
}

// Option changes how Compile works.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
}

// WithLookupEnv sets how header templates resolve $NAME variables that are
// neither built-ins nor captures. The default is os.LookupEnv; nil resolves
// none, which keeps them as written.
func WithLookupEnv(f func(key string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = f }
}

// Table is one server's compiled locations. Build it with Compile once per
// config generation; it is immutable and safe for concurrent use.
type Table struct {
	// locs are the locations in the order they are tried: weight
	// descending, ties in the server's order.
	locs []*Location
	// exact maps a lower-case host to the locations it can reach: those
	// naming it, those whose wildcards cover it, and every location with a
	// regex host or no host rule, in weight order.
	exact map[string][]int32
	// suffixes are the wildcard domains, longest first, each with the
	// locations a host it covers can reach (see newIndex).
	suffixes []suffixBucket
	// rest are the locations any other host can reach: those with a regex
	// host entry or no host rule.
	rest []int32
}

type suffixBucket struct {
	suffix string
	cands  []int32
}

// Compile builds the route table of a server from its locations, in the
// order the server lists them. Every problem of every location is
// reported, joined, each naming its location and key.
func Compile(locs []Named, opts ...Option) (*Table, error) {
	o := options{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	seen := make(map[string]bool, len(locs))
	t := &Table{locs: make([]*Location, 0, len(locs))}
	for _, n := range locs {
		if seen[n.Name] {
			errs = append(errs, fmt.Errorf("location %q: listed twice", n.Name))
			continue
		}
		seen[n.Name] = true
		l, err := compileLocation(n.Name, n.Config, o.lookupEnv)
		if err != nil {
			errs = append(errs, fmt.Errorf("location %q: %w", n.Name, err))
			continue
		}
		t.locs = append(t.locs, l)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(t.locs, func(a, b *Location) int { return cmp.Compare(b.Weight, a.Weight) })
	t.index()
	return t, nil
}

// Locations returns the locations in the order they are tried. The slice
// must not be modified.
func (t *Table) Locations() []*Location { return t.locs }

// Match returns the first location, in weight order, that r matches, and
// the variables its host and path regexes captured; nil if none matches.
// It allocates nothing unless the winner's regexes have named groups (or a
// match_query item is percent-encoded, or the host is over 255 bytes with
// upper case).
func (t *Table) Match(r *http.Request) (*Location, Vars) {
	host := requestHost(r)
	path := ""
	if r.URL != nil {
		path = r.URL.Path
	}
	for _, i := range t.candidates(host) {
		if l := t.locs[i]; l.matches(host, path, r) {
			return l, l.vars(host, path)
		}
	}
	return nil, Vars{}
}

// candidates returns the locations host can reach, in weight order.
func (t *Table) candidates(host string) []int32 {
	if len(t.exact) > 0 {
		var cands []int32
		var ok bool
		if !hasUpperASCII(host) {
			cands, ok = t.exact[host]
		} else if len(host) <= 255 {
			var buf [255]byte
			b := buf[:len(host)]
			for i := 0; i < len(host); i++ {
				c := host[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b[i] = c
			}
			cands, ok = t.exact[string(b)] // no allocation: the compiler looks up bytes
		} else {
			cands, ok = t.exact[lowerASCII(host)]
		}
		if ok {
			return cands
		}
	}
	for i := range t.suffixes {
		if matchSuffix(host, t.suffixes[i].suffix) {
			return t.suffixes[i].cands
		}
	}
	return t.rest
}

// index builds the host index. It only narrows the locations Match looks
// at: for every host, the candidate list holds, in weight order, every
// location whose host rule could match it, so the first full match is the
// one a linear scan of all locations would find.
//
// The wildcards a host matches are decided by the longest one it matches:
// if host is X.S and S is S2 or ends with ".S2", it is also X'.S2, and it
// matches no wildcard that S does not (a shorter one is a suffix of S, a
// longer one would have been found first). So one list per wildcard
// suffices.
func (t *Table) index() {
	exactSets := map[string][]int32{}
	suffixSets := map[string][]int32{}
	for i, l := range t.locs {
		i := int32(i)
		if len(l.hosts) == 0 || l.hostRegex {
			t.rest = append(t.rest, i)
		}
		for _, h := range l.hosts {
			switch h.kind {
			case hostExact:
				exactSets[h.name] = appendOnce(exactSets[h.name], i)
			case hostSuffix:
				suffixSets[h.name] = appendOnce(suffixSets[h.name], i)
			}
		}
	}
	for s := range suffixSets {
		cands := slices.Clone(t.rest)
		for s2, set := range suffixSets {
			if s2 == s || coversSuffix(s, s2) {
				cands = append(cands, set...)
			}
		}
		t.suffixes = append(t.suffixes, suffixBucket{suffix: s, cands: sortUnique(cands)})
	}
	slices.SortFunc(t.suffixes, func(a, b suffixBucket) int {
		return cmp.Or(cmp.Compare(len(b.suffix), len(a.suffix)), cmp.Compare(a.suffix, b.suffix))
	})
	if len(exactSets) > 0 {
		t.exact = make(map[string][]int32, len(exactSets))
	}
	for h, set := range exactSets {
		cands := append(slices.Clone(t.rest), set...)
		for s, sset := range suffixSets {
			if matchSuffix(h, s) {
				cands = append(cands, sset...)
			}
		}
		t.exact[h] = sortUnique(cands)
	}
}

// coversSuffix reports whether every host under the wildcard "*."+s is also
// under "*."+s2: s ends with "."+s2.
func coversSuffix(s, s2 string) bool {
	n := len(s) - len(s2)
	return n >= 1 && s[n-1] == '.' && s[n:] == s2
}

func appendOnce(list []int32, i int32) []int32 {
	if n := len(list); n > 0 && list[n-1] == i {
		return list
	}
	return append(list, i)
}

func sortUnique(list []int32) []int32 {
	slices.Sort(list)
	return slices.Clip(slices.Compact(list))
}

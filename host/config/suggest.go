package config

import (
	"fmt"
	"sort"
	"strings"
)

// nearest returns the candidate closest to word, or "" when none is close
// enough to be a plausible misspelling. Closeness is the optimal string
// alignment distance (Levenshtein plus adjacent transpositions, so
// "upsteram" is one edit from "upstream"), compared case-insensitively. It
// may be 1 for words of up to 4 bytes, 2 up to 8 and 3 beyond, and must be
// less than the word's length (replacing all of "x" by "b" is no
// misspelling). Ties go to the candidate listed first, so the answer is
// stable.
func nearest(word string, candidates []string) string {
	w := strings.ToLower(word)
	limit := 3
	switch {
	case len(w) <= 4:
		limit = 1
	case len(w) <= 8:
		limit = 2
	}
	limit = min(limit, len(w)-1)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		d := osaDistance(w, strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// didYouMean returns ` (did you mean "x"?)` for the nearest candidate, or "".
func didYouMean(word string, candidates []string) string {
	if n := nearest(word, candidates); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

// osaDistance is the optimal string alignment distance between a and b,
// counted in bytes (keys and names are ASCII in practice).
func osaDistance(a, b string) int {
	// Three rows suffice: the transposition looks two rows back.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

//go:build race

package route_test

// raceEnabled is set when tests run with -race, whose sync.Pool drops
// items at random and so breaks allocation counts.
const raceEnabled = true

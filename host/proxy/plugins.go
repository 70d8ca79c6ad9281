package proxy

// Chain is a location's plugin chain. Placeholder until host/wasm lands.
type Chain interface{ Len() int }

// A module of its own, so that sluice's go.mod does not depend on the
// public SDK: only this compatibility plugin does.
module github.com/sluice-proxy/sluice/testdata/compat

go 1.24

require github.com/proxy-wasm/proxy-wasm-go-sdk v0.0.0-20260105142703-44c7d5847745

#!/usr/bin/env bash
# Builds compat.wasm from main.go with the public proxy-wasm Go SDK, which the
# go command downloads from the Go module proxy at the version pinned in
# go.mod (proxy-wasm-go-sdk has no tags; the proxy serves exact
# pseudo-versions). Needs only Go >= 1.24: no TinyGo, no Debian or npm
# packages. Output: testdata/compat/compat.wasm (or $1).
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-compat.wasm}"
GOOS=wasip1 GOARCH=wasm GOFLAGS=-mod=mod go build -trimpath -buildmode=c-shared -o "$out" .
echo "built $(pwd)/$out ($(wc -c <"$out") bytes)"

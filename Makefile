# sluice: the one entry point for people and for CI (.ci/run calls `make test`).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/sluice-proxy/sluice/host/app.Version=$(VERSION)
BIN := bin/sluice
PLUGIN_DIR ?= plugins
CONFIG ?= configs/default.toml
PLUGINS := $(notdir $(patsubst %/,%,$(wildcard plugins-wasm/*/)))
WAT := $(shell find testdata -name '*.wat' 2>/dev/null)
# Debian packages the tests and benchmarks need; `make deps` installs what is missing.
DEB_PACKAGES := nginx-light wrk wabt nghttp2-client pebble prometheus-pushgateway
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build plugins testdata deps test test.short compat check bench bench.go run fuzz clean

all: build plugins

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/sluice

# Every plugins-wasm/NAME becomes $(PLUGIN_DIR)/NAME.wasm (a WASI reactor).
plugins: $(PLUGINS:%=$(PLUGIN_DIR)/%.wasm)

$(PLUGIN_DIR)/%.wasm: $(shell find plugins-wasm sdk abi -name '*.go' 2>/dev/null) go.mod
	@mkdir -p $(PLUGIN_DIR)
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o $@ ./plugins-wasm/$*

# Hand-written guests: testdata/**/X.wat -> X.wasm next to it.
testdata: deps $(WAT:.wat=.wasm)

%.wasm: %.wat
	wat2wasm --debug-names --enable-all -o $@ $<

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: deps plugins testdata build
	$(GO) test -timeout 30m ./...
	$(GO) test -race -short -timeout 20m ./host/...
	$(MAKE) compat

# A plugin written against the public proxy-wasm Go SDK (fetched from the Go
# module proxy at a pinned version), run unmodified by the real binary.
compat: build
	testdata/compat/build.sh
	cd testdata/compat && SLUICE_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 ./...

test.short: plugins testdata
	$(GO) test -short ./...

check:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./abi/... ./sdk/... ./plugins-wasm/...
	$(GO) mod tidy
	@git diff --exit-code go.mod go.sum || { echo 'go mod tidy changed go.mod/go.sum'; exit 1; }

# Side-by-side throughput against nginx; see README "Performance".
bench: deps build plugins
	./.ci/bench.sh

bench.go:
	$(GO) test -run '^$$' -bench . -benchmem ./host/...

run: build plugins
	./$(BIN) run -c $(CONFIG)

fuzz:
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin $(PLUGIN_DIR)

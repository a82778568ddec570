# make demo  runs the demo (no API key, no Claude CLI needed)
# make test  runs every gate and test, the integration suite included
SHELL := /bin/bash
GO ?= go

.PHONY: all build test lint cross unit cli tsdk bench demo clean

all: build

build:
	$(GO) build ./...

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@$(MAKE) --no-print-directory cross

# darwin and windows are compiled and vetted, tests included (vet compiles
# them), but not run: neither can break unseen. See README, "What is
# tested where".
cross:
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...
	GOOS=windows GOARCH=amd64 $(GO) vet ./...

cli:
	@./scripts/install-claude.sh

# The official TypeScript Agent SDK, the peer of the warm-start benchmarks
# (pkg/agent/warm_bench_test.go), into .tools/tsdk. For `make bench` only.
tsdk:
	@./scripts/install-tsdk.sh

# The integration tests (pkg/agent, internal/fakeapi) find the CLI that
# `make cli` installs under .tools/, or the one $CLAUDE_CLI_PATH names.
test: lint cli unit

# One package at a time (-p 1): the demo's scenario and the real-CLI suite
# run real processes in real time, and on 2 cores another package's tests
# beside them made the demo's choreography miss its marks. About 2 minutes.
unit:
	$(GO) test -race -count=1 -p 1 -timeout 10m ./...

# One table of ours vs the peers (medians of 5 runs), then the warm-start
# table (BENCH_WARM=1 turns on BenchmarkWarm*, skipped by the -count 5 step:
# real CLI, tens of seconds each, so one run each), then the scale figures
# (BENCH_SCALE=1 turns on the scale tests); the raw output goes to bench.out.
bench: cli tsdk
	@set -o pipefail; { BENCH_WARM= $(GO) test -run '^$$' -bench . -benchmem -count 5 ./... && \
	  BENCH_WARM=1 $(GO) test -run '^$$' -bench '^BenchmarkWarm' -benchtime 1x -count 1 -timeout 20m ./pkg/agent && \
	  BENCH_SCALE=1 $(GO) test -run '^TestScale' -v -count 1 -timeout 10m ./internal/limiter ./pkg/agent; } \
	  | tee bench.out | $(GO) run ./internal/benchtable

demo:
	$(GO) run ./cmd/demo

clean:
	rm -rf .tools bin bench.out

# The two commands of the README:
#   make run    the service with the demo organisation on an embedded ClickHouse (installing it if needed)
#   make test   the whole test suite, as CI runs it
GO ?= go
BIN := bin/secmetrics
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# nomsgpack leaves gin's MessagePack binding and renderer out of the binary.
# The service binds no request body through gin and renders no MessagePack;
# without the tag the build compiles github.com/ugorji/go/codec, the
# largest package of the build (about a fifth of a cold build's CPU time).
# The Dockerfile builds with the same tags.
TAGS ?= nomsgpack
BUILD = $(GO) build -trimpath -tags "$(TAGS)" -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/secmetrics

.PHONY: run test build vet lint bench clean

# run installs ClickHouse (when missing) while the binary compiles: both
# take tens of seconds on a fresh machine and neither needs the other. The
# demo starts once both have succeeded.
run:
	@.ci/ensure-clickhouse & ch=$$!; \
	echo '$(BUILD)'; $(BUILD); built=$$?; \
	wait $$ch; installed=$$?; \
	[ $$built -eq 0 ] && [ $$installed -eq 0 ] || exit 1; \
	echo ./$(BIN) demo; ./$(BIN) demo

test:
	.ci/test

build:
	$(BUILD)

vet:
	$(GO) vet ./...

# The benchmark suite (fixtures/bench): ingest, scorecard at 1M and 10M
# findings, the same KPIs on PostgreSQL 15 (on the 1M data set), API load,
# workbook, memory.
# Writes docs/benchmarks.md; takes about an hour on 2 cores.
bench:
	.ci/ensure-clickhouse
	$(GO) run ./fixtures/bench -out docs/benchmarks.md -pg-max-findings 1000000

clean:
	rm -rf bin

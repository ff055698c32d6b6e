# The two commands of the README:
#   make run    the service with the demo organisation on an embedded ClickHouse (installing it if needed)
#   make test   the whole test suite, as CI runs it
GO ?= go
BIN := bin/secmetrics
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: run test build vet lint bench clean

run: build
	.ci/ensure-clickhouse
	./$(BIN) demo

test:
	.ci/test

build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/secmetrics

vet:
	$(GO) vet ./...

# The benchmark suite (fixtures/bench): ingest, scorecard at 1M and 10M
# findings, the same KPIs on PostgreSQL 15, API load, workbook, memory.
# Writes docs/benchmarks.md; takes about an hour on 2 cores.
bench:
	.ci/ensure-clickhouse
	$(GO) run ./fixtures/bench -out docs/benchmarks.md

clean:
	rm -rf bin

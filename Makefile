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

clean:
	rm -rf bin

# vmservice: the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
BIN   := ./vmservice
ARGS  ?=

.PHONY: deps build run serve test test-go test-e2e bench fuzz lint

deps: ## install every Debian / npm package the server and the tests use (idempotent)
	@bash scripts/deps.sh

build:
	go build -o $(BIN) .

run: deps build ## start the MCP server on the local backend (stdio; pass ARGS=... for more)
	$(BIN) $(ARGS)

test: ## the whole suite: format, vet, Go tests on real desktops, external clients, browsers
	@bash scripts/test.sh

test-go:
	go test -count=1 ./...

test-e2e: build
	@bash scripts/test.sh --e2e-only

bench:
	@bash bench/run.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...

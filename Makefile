# vmservice: the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
BIN   := ./vmservice
ARGS  ?=

.PHONY: deps build run serve test test-go test-e2e bench fuzz soak lint

deps: ## install every Debian / npm package the server and the tests use (idempotent)
	@bash scripts/deps.sh

build:
	@go build -o $(BIN) . >&2

# Everything before the server writes to stderr: stdout is the stdio transport,
# so `make run` can itself be the command an MCP client launches.
run: ## start the MCP server on the local backend (stdio; pass ARGS=... for more)
	@bash scripts/deps.sh >&2
	@go build -o $(BIN) . >&2
	@exec $(BIN) $(ARGS)

test: ## the whole suite: format, vet, Go tests on real desktops, external clients, browsers
	@bash scripts/test.sh

test-go:
	go test -count=1 ./...

test-e2e: build
	@bash scripts/test.sh --e2e-only

bench:
	@bash bench/run.sh

fuzz: ## every go test -fuzz target for FUZZTIME each (default 10s); see SECURITY.md
	@bash securitytest/fuzz.sh $(or $(FUZZTIME),10s)

soak: ## load + faults for SOAKTIME (default 60s), then count leaks; see SECURITY.md
	@bash cmd/soak/soak.sh $(or $(SOAKTIME),60s)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...

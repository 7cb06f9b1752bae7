# vmservice: the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
BIN   ?= ./vmservice
ARGS  ?=
# Stamped into the binary (--version, serverInfo, /healthz). A release tag
# vX.Y.Z gives X.Y.Z; an untagged checkout 0.0.0-dev.
ifeq ($(origin VERSION),undefined)
VERSION := $(or $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//'),0.0.0-dev)
endif
ifeq ($(origin COMMIT),undefined)
COMMIT := $(or $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty),unknown)
endif
LDFLAGS := -s -w -X github.com/vmservice/vmservice/internal/buildinfo.Version=$(VERSION) -X github.com/vmservice/vmservice/internal/buildinfo.Commit=$(COMMIT)
DIST    ?= dist
export VERSION COMMIT LDFLAGS DIST

.PHONY: deps generate build run serve test test-go test-e2e bench fuzz soak lint release image rootfs envd

deps: ## install every Debian / npm package the server and the tests use (idempotent)
	@bash scripts/deps.sh

generate: ## the e2b helper the binary embeds (internal/helperbin)
	@go generate ./internal/helperbin >&2

build: generate ## a static binary with the e2b helper inside (BIN=path to put it elsewhere)
	@CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) . >&2

# Everything before the server writes to stderr: stdout is the stdio transport,
# so `make run` can itself be the command an MCP client launches.
run: ## start the MCP server on the local backend (stdio; pass ARGS=... for more)
	@bash scripts/deps.sh >&2
	@$(MAKE) -s build >&2
	@exec $(BIN) $(ARGS)

test: ## the whole suite: format, vet, Go tests on real desktops, external clients, browsers
	@bash scripts/test.sh

test-go: generate
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

release: ## static binaries for every platform, Claude Desktop bundles, server.json, SHA256SUMS in dist/
	@bash scripts/release.sh

image: ## the container image with docker (or podman): docker run -i --rm ... vmservice (README "Container")
	@$(or $(shell command -v docker 2>/dev/null),podman) build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t vmservice .

rootfs: build ## the image's root filesystem from Debian packages, without a registry: dist/rootfs.tar
	@mkdir -p dist && bash packaging/rootfs.sh $(BIN) dist/rootfs.tar

envd: ## E2B's envd from third_party/e2b-infra (what the E2B emulator runs in each sandbox) -> bin/envd
	@bash third_party/e2b-infra/build-envd.sh bin/envd >/dev/null

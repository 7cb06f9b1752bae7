# syntax=docker/dockerfile:1
# vmservice in a container: the MCP server on stdio with the local backend and
# a Debian desktop, for Docker Desktop (macOS, Windows) and servers.
#
#   docker build -t vmservice .
#   docker run -i --rm --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cgroupns private \
#     --security-opt systempaths=unconfined --security-opt apparmor=unconfined vmservice
#
# README "Container" says why each flag (no --privileged). CI cannot reach an
# image registry: it builds the same root filesystem from Debian packages
# with packaging/rootfs.sh (same install script, same package list) and runs
# it with podman (e2e/container/run.sh).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN make build BIN=/out/vmservice VERSION="$VERSION" COMMIT="$COMMIT"

FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="vmservice" \
      org.opencontainers.image.description="MCP server giving AI agents isolated Linux desktops" \
      org.opencontainers.image.source="https://github.com/vmservice/vmservice" \
      io.modelcontextprotocol.server.name="io.github.vmservice/vmservice"
COPY packaging/install.sh packaging/list.sh packaging/desktop.packages packaging/dpkg-slim.cfg packaging/entrypoint.sh /tmp/packaging/
RUN bash /tmp/packaging/install.sh && rm -rf /tmp/packaging
COPY --from=build /out/vmservice /usr/local/bin/vmservice
ENTRYPOINT ["/usr/local/bin/vmservice-entrypoint"]

# syntax=docker/dockerfile:1
# The cofre image: one static binary at /usr/local/bin/cofre, run as a
# non-root user. Used by the Helm chart (deploy/helm/cofre) for the
# coordinator, attestd and the node agent, and as the base (or a COPY
# --from source) of workload images whose entrypoint is `cofre run`.
#
#   docker build -t cofre:$(git describe --tags --always) \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse HEAD) .
#
# CI does not build it (no container registry to pull base images from
# there); deploy/test renders and checks the chart that runs it.

FROM golang:1.26-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# Static (no cgo), reproducible paths, the same version stamp as `make build`.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/cofre ./cmd/cofre

# Debian slim rather than distroless: the chart's init containers use
# `install` (coreutils) to copy key files from Secrets at mode 0400, the
# agent's init container `sh`/`chown`, and the agent's probes `curl
# --unix-socket` (its only endpoint is a unix socket). ca-certificates: for
# --online collateral from Intel PCS and AMD KDS.
FROM debian:trixie-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 65532 cofre \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin cofre
COPY --from=build /out/cofre /usr/local/bin/cofre
# The same UID/GID as the chart's runAsUser/runAsGroup.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/cofre"]
CMD ["--help"]

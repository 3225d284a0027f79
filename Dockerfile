# syntax=docker/dockerfile:1

# locations-worker image, in two stages:
#   build: Go with cgo on Debian (glibc): automerge-go links a static Rust
#          core through cgo, so the binary cannot be a static musl one.
#   run:   distroless "cc" (glibc, libgcc_s for the Rust core's unwinder,
#          ca-certificates, tzdata; no shell, no curl), as the non-root user
#          nonroot (uid 65532). Health is checked by the binary itself.
#
#   docker build -t locations-worker .
#   docker run --rm -v lw-data:/data -p 127.0.0.1:5555:5555 locations-worker

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" \
      -o /out/locations-worker ./cmd/locations-worker
# The data directory, made here because the run stage has no shell. A new
# named volume mounted on /data starts as a copy of it: owned by nonroot, 0700.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="locations-worker" \
      org.opencontainers.image.description="Keeps your saved Google Maps places in Tonk's keepsync" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /out/locations-worker /usr/local/bin/locations-worker
COPY --from=build --chown=65532:65532 /out/data /data
# Inside a container the worker must listen on every interface to be
# reachable through a published port; publish it on 127.0.0.1 on the host
# (or set WORKER_TOKEN). Change the port with WORKER_PORT, not --port, so
# that the health check asks the same port.
ENV LOCATIONS_WORKER_DATA=/data \
    WORKER_HOST=0.0.0.0 \
    WORKER_PORT=5555
VOLUME ["/data"]
EXPOSE 5555
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/usr/local/bin/locations-worker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/locations-worker"]
CMD ["start"]

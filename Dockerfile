# syntax=docker/dockerfile:1
# The local server as a static, non-root image (docs/self-hosting.md, "Container").
#
#   docker build -t b24-stock-gateway .
#   docker run --rm -p 127.0.0.1:8787:8787 -e B24_WEBHOOK_URL b24-stock-gateway
#
# `-e B24_WEBHOOK_URL` without a value copies it from your shell, keeping it off the command
# line. Or mount a secrets folder holding a file b24_webhook_url and set
# CREDENTIALS_DIRECTORY to that folder (Docker and Kubernetes secrets are such files).
#
# Build: a static x86_64 musl binary with the release profile of Cargo.toml. The final image
# is that one file on `scratch`: no shell, no package manager, no CA bundle (the portal's TLS
# roots are compiled in, webpki-roots). scripts/test-selfhost.sh lints this file and builds
# the same binary with the same command outside Docker.

# The machine toolchain the project is tested with (Cargo.toml's rust-version is the floor).
FROM rust:1.95.0-slim-bookworm AS build
# musl-gcc compiles ring's C and assembly for the musl target.
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
# .dockerignore lets in only what the build reads (sources, Cargo files, embedded files).
COPY . .
# Symbols stripped (a 6.4 MB binary): panic messages still name file and line.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release --target x86_64-unknown-linux-musl \
        --bin b24-stock-gateway \
    && install -D -m 0555 target/x86_64-unknown-linux-musl/release/b24-stock-gateway \
        /out/b24-stock-gateway

FROM scratch
COPY --from=build /out/b24-stock-gateway /b24-stock-gateway
# Any unprivileged id works; 65532 is the usual "nonroot" one. Numeric, so a runtime can
# check runAsNonRoot without an /etc/passwd.
USER 65532:65532
ENV STOCK_LOG_FORMAT=json
EXPOSE 8787
# No HEALTHCHECK: scratch has nothing to run one with. Probe GET /healthz over HTTP from
# the orchestrator (Kubernetes httpGet, a load balancer's health check) instead.
ENTRYPOINT ["/b24-stock-gateway"]
CMD ["serve", "--listen", "0.0.0.0:8787"]

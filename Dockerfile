# Multi-stage build of the orchestrator gRPC service.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p orchestrator-grpc --bin orchestrator

# Runtime: Debian slim, because verification runs proposal code in a bubblewrap sandbox with
# python3 and util-linux's prlimit/setpriv (a distroless image has none of them). Runs as uid 1000;
# bubblewrap then needs unprivileged user namespaces (see README, "Verification").
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --no-create-home --shell /usr/sbin/nologin orchestrator
COPY --from=build /src/target/release/orchestrator /usr/local/bin/orchestrator
USER 1000:1000
ENV GRPC_PORT=50055 METRICS_PORT=9090 ORCHESTRATOR_DATA_DIR=/data
EXPOSE 50055 9090
ENTRYPOINT ["/usr/local/bin/orchestrator"]
CMD ["serve", "--config", "/etc/orchestrator/config.yaml"]

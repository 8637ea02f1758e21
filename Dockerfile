# Multi-stage build of the orchestrator gRPC service.
FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p orchestrator-grpc --bin orchestrator

# Distroless: no shell at runtime; runs as uid 1000.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /src/target/release/orchestrator /usr/local/bin/orchestrator
USER 1000:1000
ENV GRPC_PORT=50055 METRICS_PORT=9090 ORCHESTRATOR_DATA_DIR=/data
EXPOSE 50055 9090
ENTRYPOINT ["/usr/local/bin/orchestrator"]
CMD ["serve", "--config", "/etc/orchestrator/config.yaml"]

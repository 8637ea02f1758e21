//! Observability: the Prometheus exporter on its own port, and a tower layer that gives every RPC
//! an execution id (16 hex characters, returned in the response metadata), a tracing span carrying
//! it, and counts RPCs by name and status code with their latency. Deliberation and agent-call
//! metrics are recorded in the core and the service through the `metrics` facade.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use orchestrator_core::Error;
use tower::{Layer, Service};
use tracing::Instrument;

/// The execution id of the RPC being served (a request extension).
#[derive(Debug, Clone)]
pub struct ExecutionId(pub String);

/// The execution id of `req`, or a new one.
pub fn execution_id<T>(req: &tonic::Request<T>) -> String {
    req.extensions().get::<ExecutionId>().map(|e| e.0.clone()).unwrap_or_else(orchestrator_core::new_id)
}

/// Install the Prometheus exporter on `addr` (`GET /metrics`).
pub fn install(addr: SocketAddr) -> Result<(), Error> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .install()
        .map_err(|e| Error::Unavailable { message: format!("metrics exporter on {addr}: {e}") })
}

/// Methods of the service, by name.
const METHODS: &[&str] = &[
    "Deliberate",
    "Orchestrate",
    "GetStatus",
    "StreamDeliberation",
    "SubmitDeliberation",
    "GetDeliberationResult",
    "CreateCouncil",
    "ListCouncils",
    "DeleteCouncil",
    "RegisterAgent",
    "UnregisterAgent",
    "GetMetrics",
];

/// The metrics label of a request path: a known method's name, `health`, `reflection`, or
/// `unknown`. Never the path itself, so random paths cannot create new series.
pub fn rpc_label(path: &str) -> &'static str {
    if let Some(m) = path.strip_prefix("/orchestrator.v1.OrchestratorService/") {
        return METHODS.iter().find(|k| **k == m).copied().unwrap_or("unknown");
    }
    if path.starts_with("/grpc.health.v1.Health/") {
        return "health";
    }
    if path.starts_with("/grpc.reflection.") {
        return "reflection";
    }
    "unknown"
}

/// Layer that records `orchestrator_rpc_requests_total{rpc,code}` and
/// `orchestrator_rpc_duration_seconds{rpc}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner }
    }
}

/// See [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, RB> Service<http::Request<B>> for RpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let rpc = rpc_label(req.uri().path());
        let execution_id = orchestrator_core::new_id();
        req.extensions_mut().insert(ExecutionId(execution_id.clone()));
        let span = tracing::info_span!("rpc", rpc = %rpc, execution_id = %execution_id);
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(
            async move {
                let res = fut.await;
                let code = match &res {
                    Ok(r) => r
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map_or("Ok", code_label),
                    Err(_) => "TransportError",
                };
                tracing::debug!(code = %code, ms = started.elapsed().as_secs_f64() * 1000.0, "rpc finished");
                metrics::counter!("orchestrator_rpc_requests_total", "rpc" => rpc, "code" => code).increment(1);
                metrics::histogram!("orchestrator_rpc_duration_seconds", "rpc" => rpc)
                    .record(started.elapsed().as_secs_f64());
                res
            }
            .instrument(span),
        )
    }
}

/// The `code` label of a gRPC status number: a static name, so counting a request allocates nothing.
fn code_label(code: i32) -> &'static str {
    use tonic::Code;
    match Code::from_i32(code) {
        Code::Ok => "Ok",
        Code::Cancelled => "Cancelled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::{code_label, rpc_label};

    #[test]
    fn code_labels_match_the_debug_names_they_replaced() {
        for c in 0..=16 {
            assert_eq!(code_label(c), format!("{:?}", tonic::Code::from_i32(c)));
        }
        assert_eq!(code_label(99), "Unknown");
    }

    #[test]
    fn only_known_methods_become_labels() {
        assert_eq!(rpc_label("/orchestrator.v1.OrchestratorService/Deliberate"), "Deliberate");
        assert_eq!(rpc_label("/grpc.health.v1.Health/Check"), "health");
        assert_eq!(rpc_label("/orchestrator.v1.OrchestratorService/Nope-123"), "unknown");
        assert_eq!(rpc_label("/random/a8f3e1"), "unknown");
        assert_eq!(rpc_label("/x/Deliberate"), "unknown");
    }
}

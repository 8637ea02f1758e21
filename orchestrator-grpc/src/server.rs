//! Serving: health and reflection, auth, TLS, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use orchestrator_core::Error;

use crate::settings::ServerConfig;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;

use crate::app::OrchestratorApp;
use crate::auth::Auth;
use crate::pb::orchestrator_service_server::OrchestratorServiceServer;

/// Options of [`serve`] beyond the config.
pub struct ServeOptions {
    /// A bound listener (tests bind port 0); when `None`, binds `service.host:service.port`.
    pub listener: Option<TcpListener>,
}

/// Run the service until `shutdown` resolves, then drain in-flight calls for at most
/// `service.shutdown_grace_seconds`.
pub async fn serve(
    config: ServerConfig,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    config.validate()?;
    // One TLS provider, chosen here: reqwest and tonic compile both aws-lc-rs and ring, and
    // rustls then cannot pick one on its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = OrchestratorApp::start(config.clone()).await?;
    let svc = &config.service;
    if svc.auth_token.is_empty() {
        tracing::warn!("serving WITHOUT authentication: set ORCHESTRATOR_AUTH_TOKEN (and ORCHESTRATOR_ADMIN_TOKEN)");
    }
    if svc.tls_cert.is_none() {
        tracing::warn!("serving WITHOUT TLS: set service.tls_cert and service.tls_key, or terminate TLS in front");
    }
    if config.core.allow_test_agents {
        tracing::warn!("scripted test agents are ALLOWED (development switch ORCHESTRATOR_ALLOW_TEST_AGENTS)");
    }
    let listener = match options.listener {
        Some(l) => l,
        None => {
            let addr: SocketAddr = format!("{}:{}", svc.host, svc.port)
                .parse()
                .map_err(|e| Error::invalid("service.host", format!("bad address: {e}")))?;
            TcpListener::bind(addr)
                .await
                .map_err(|e| Error::Unavailable { message: format!("cannot bind {addr}: {e}") })?
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(svc.port);

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<OrchestratorServiceServer<Arc<OrchestratorApp>>>().await;
    health_reporter.set_service_status("", ServingStatus::Serving).await;
    // Per role: NOT_SERVING while every LLM endpoint its council uses has its circuit open.
    // Health service name: orchestrator.v1.OrchestratorService.<ROLE>.
    {
        let (reporter, app) = (health_reporter.clone(), Arc::downgrade(&app));
        tokio::spawn(async move {
            let mut last: std::collections::HashMap<String, bool> = Default::default();
            loop {
                let Some(app) = app.upgrade() else { return };
                for c in app.registry().list(None).unwrap_or_default() {
                    let names: Vec<&str> =
                        c.members.iter().map(|m| m.meta.endpoint.as_str()).filter(|n| !n.is_empty()).collect();
                    let down =
                        !names.is_empty() && names.iter().all(|n| app.core.factory().circuit_open(n) == Some(true));
                    if last.insert(c.role.clone(), down) != Some(down) {
                        let status = if down { ServingStatus::NotServing } else { ServingStatus::Serving };
                        if down {
                            tracing::warn!(role = %c.role, "every endpoint of the council has its circuit open");
                        }
                        reporter
                            .set_service_status(format!("orchestrator.v1.OrchestratorService.{}", c.role), status)
                            .await;
                    }
                }
                drop(app);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::Internal { message: format!("reflection: {e}") })?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| Error::Internal { message: format!("reflection: {e}") })?;

    let auth = Auth {
        token: (!svc.auth_token.is_empty()).then(|| Arc::new(svc.auth_token.expose().as_bytes().to_vec())),
        admin: (!svc.admin_token.is_empty()).then(|| Arc::new(svc.admin_token.expose().as_bytes().to_vec())),
    };
    let orchestrator = OrchestratorServiceServer::new(app.clone())
        .max_decoding_message_size(svc.max_message_bytes)
        .max_encoding_message_size(svc.max_message_bytes);
    let orchestrator = tonic::service::interceptor::InterceptedService::new(orchestrator, auth);

    if svc.metrics_port != 0 {
        let addr: SocketAddr = format!("{}:{}", svc.host, svc.metrics_port)
            .parse()
            .map_err(|e| Error::invalid("service.metrics_port", format!("bad address: {e}")))?;
        crate::metrics::install(addr)?;
        tracing::info!(%addr, "Prometheus metrics on /metrics");
    }
    // Keepalives find dead clients, so their work is cancelled instead of running on.
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(svc.keepalive_interval_seconds)))
        .http2_keepalive_timeout(Some(Duration::from_secs(svc.keepalive_timeout_seconds)));
    if let (Some(cert), Some(key)) = (&svc.tls_cert, &svc.tls_key) {
        let cert = std::fs::read(cert).map_err(|e| Error::invalid("service.tls_cert", e.to_string()))?;
        let key = std::fs::read(key).map_err(|e| Error::invalid("service.tls_key", e.to_string()))?;
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
            .map_err(|e| Error::invalid("service.tls_cert", e.to_string()))?;
    }

    let grace = Duration::from_secs(svc.shutdown_grace_seconds);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let reporter = health_reporter.clone();
    let signalled = Arc::new(tokio::sync::Notify::new());
    let signalled2 = signalled.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested: health NOT_SERVING, draining in-flight calls");
        reporter.set_not_serving::<OrchestratorServiceServer<Arc<OrchestratorApp>>>().await;
        reporter.set_service_status("", ServingStatus::NotServing).await;
        signalled2.notify_one();
        let _ = stop_tx.send(());
    });

    // TCP options go on the listener: the builder's tcp_nodelay/tcp_keepalive are ignored by
    // serve_with_incoming. Without TCP_NODELAY a response's last frame can wait for the peer's
    // delayed ACK (40 ms on Linux): the GetStatus p99 at 64 streams was 44 ms.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(svc.keepalive_interval_seconds)));
    let server = builder
        .layer(crate::metrics::RpcMetricsLayer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(orchestrator)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stop_rx.await;
        });
    tracing::info!(port, "Orchestrator Service listening on port {port}");
    println!("Orchestrator Service listening on port {port}");
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r.map_err(|e| Error::Unavailable { message: format!("server: {e}") })?,
        _ = async { signalled.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "grace period over; stopping with calls still in flight");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

//! The optional HTTP listener (`daemon.listen`): `/metrics` in Prometheus' text format,
//! `/healthz` (200 while the scheduler loop turns and the database answers, 503 with the reason
//! otherwise) and `/readyz` (200 once startup recovery is done), and the console's routes when
//! `[api]` enables them. With `[api] tls_cert_file`/`tls_key_file` the whole listener speaks
//! HTTPS. /metrics and the health checks have no authentication: a non-loopback address is
//! allowed but warned about.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::health::Health;
use super::routes::Routes;
use crate::platform::metrics as m;
use crate::store::Store;

/// How long `/healthz` waits for the database.
const DATABASE_ANSWER: Duration = Duration::from_secs(2);

/// Connections served at once; more are closed at once, so idle clients cannot use up the
/// process's file descriptors (the deliveries and the database need them).
pub(super) const MAX_CONNECTIONS: usize = 64;

/// A request's headers must arrive within this, on a new or a kept-alive connection.
const HEADER_READ: Duration = Duration::from_secs(5);

/// A connection is closed (gracefully, after the request in progress) after this long.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);

/// What the listener reads to answer.
pub(super) struct Listener {
    pub store: Store,
    pub health: Arc<Health>,
    /// Each workspace's client and request slots.
    pub routes: Arc<Routes>,
    /// What commands sent, added to the delivery counters at each scrape.
    pub commands: tokio::sync::Mutex<super::command_counts::CommandCounts>,
}

/// The process-wide Prometheus recorder (installed once, on the first listener).
fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(m::LATENESS.to_owned()), &m::LATENESS_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::error!(error = %err, "cannot install the metrics recorder");
                    None
                }
            }
        })
        .as_ref()
}

/// Installs the recorder and seeds what must survive a restart (last successes).
pub(super) async fn prepare(store: &Store) {
    if recorder().is_none() {
        return;
    }
    m::describe_all();
    metrics::gauge!(m::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    m::config_loaded(true);
    match store.last_successes().await {
        Ok(lasts) => {
            for (schedule, at) in lasts {
                m::last_success(&schedule, at);
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot read the last successes for /metrics"),
    }
}

/// Binds `addr` and serves until `stop`. A bind failure is returned (the daemon refuses to
/// start without the listener it was told to have).
pub(super) async fn serve(
    addr: SocketAddr,
    (listener, (extra, tls)): (
        Listener,
        (Option<Router>, Option<Arc<rustls::ServerConfig>>),
    ),
    stop: CancellationToken,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "daemon.listen is not a loopback address: /metrics and /healthz have no authentication");
    }
    let socket = tokio::net::TcpListener::bind(addr).await?;
    let scheme = match tls {
        Some(_) => "https",
        None => "http",
    };
    tracing::info!(%addr, scheme, "serving /metrics, /healthz, /readyz");
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Arc::new(listener));
    let app = match extra {
        Some(routes) => {
            tracing::info!(%addr, "serving the console: the API under /api/v1, pages under /ui/");
            app.merge(routes)
        }
        None => app,
    };
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    Ok(tokio::spawn(accept_loop(socket, (app, tls), stop)))
}

/// Accepts connections until `stop`, at most [`MAX_CONNECTIONS`] at once, each bounded by
/// [`HEADER_READ`] (the TLS handshake too) and [`CONNECTION_LIFETIME`].
async fn accept_loop(
    socket: tokio::net::TcpListener,
    (app, tls): (Router, Option<tokio_rustls::TlsAcceptor>),
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = socket.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors, typically: wait rather than spin.
                tracing::warn!(error = %err, "the listener cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!("the listener is at {MAX_CONNECTIONS} connections; closing a new one");
            continue;
        };
        let (app, stop, tls) = (app.clone(), stop.clone(), tls.clone());
        connections.spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(stream, app, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_READ, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, app, stop).await,
                        Ok(Err(err)) => tracing::debug!(error = %err, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}

/// One connection, plain or TLS, until it ends, its lifetime is up or the listener stops.
async fn serve_connection<S>(stream: S, app: Router, stop: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(app);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {}
        () = stop.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
}

async fn metrics_text(State(l): State<Arc<Listener>>) -> impl IntoResponse {
    let up = match l.store.count_pending().await {
        Ok(pending) => {
            metrics::gauge!(m::PENDING).set(pending as f64);
            1.0
        }
        Err(_) => 0.0,
    };
    metrics::gauge!(m::DATABASE_UP).set(up);
    l.commands
        .lock()
        .await
        .count(&l.store, chrono::Utc::now())
        .await;
    metrics::gauge!(m::IN_FLIGHT).set(l.routes.in_flight() as f64);
    for route in l.routes.iter() {
        if let Some(client) = route.client() {
            metrics::counter!(m::THROTTLED, "workspace" => route.name.to_string())
                .absolute(client.pacer().throttled_count());
        }
    }
    let text = recorder().map(PrometheusHandle::render).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

async fn healthz(State(l): State<Arc<Listener>>) -> impl IntoResponse {
    if let Some(age) = l.health.stalled_for() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "unhealthy: the scheduler loop has not turned for {} s\n",
                age.as_secs()
            ),
        );
    }
    match tokio::time::timeout(DATABASE_ANSWER, l.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n".to_owned()),
        Ok(Err(err)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: the database does not answer: {err}\n"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "unhealthy: the database did not answer within {} s\n",
                DATABASE_ANSWER.as_secs()
            ),
        ),
    }
}

async fn readyz(State(l): State<Arc<Listener>>) -> impl IntoResponse {
    match l.health.is_ready() {
        true => (StatusCode::OK, "ready\n"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
    }
}

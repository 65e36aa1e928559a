//! Relais over HTTP: the Segment tracking API, the admin API, operations.
//!
//! Thin by design: handlers parse and authorise, then call
//! `relais_engine`, which knows nothing of HTTP.

pub mod api;
pub mod callbacks_api;
pub mod catalog_api;
pub mod error;
pub mod events_api;
pub mod exports_api;
pub mod inbox_api;
pub mod journeys_api;
pub mod links_api;
pub mod messages_api;
pub mod openapi;
pub mod ops;
pub mod rfm_api;
pub mod segments_api;
pub mod tracking;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use relais_core::message::MessageType;
use relais_engine::Engine;
use std::sync::{Arc, OnceLock};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub metrics: PrometheusHandle,
    /// Turns true when the server starts shutting down: long-lived responses
    /// (the inbox's event streams) end then, or the graceful shutdown would
    /// wait for them.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

/// Routes of the tracking API: long and short (browser) forms.
const TRACKING: &[(&str, &str, Option<MessageType>)] = &[
    ("/v1/track", "/v1/t", Some(MessageType::Track)),
    ("/v1/identify", "/v1/i", Some(MessageType::Identify)),
    ("/v1/page", "/v1/p", Some(MessageType::Page)),
    ("/v1/screen", "/v1/s", Some(MessageType::Screen)),
    ("/v1/group", "/v1/g", Some(MessageType::Group)),
    ("/v1/alias", "/v1/a", Some(MessageType::Alias)),
    ("/v1/batch", "/v1/b", None),
    ("/v1/import", "/v1/import", None),
];

pub fn router(engine: Arc<Engine>) -> Router {
    router_closing(engine, Arc::new(tokio::sync::watch::Sender::new(false)))
}

fn router_closing(engine: Arc<Engine>, closing: Arc<tokio::sync::watch::Sender<bool>>) -> Router {
    let state = AppState {
        engine,
        metrics: metrics_handle(),
        closing,
    };
    let mut tracking = Router::new();
    for (long, short, kind) in TRACKING {
        let kind = *kind;
        let handler = post(move |s, h, b| tracking::ingest(s, h, b, kind));
        tracking = tracking.route(long, handler.clone());
        if short != long {
            tracking = tracking.route(short, handler);
        }
    }
    // Browsers send events cross-origin: answer preflights, echo the
    // requested headers (Authorization included) and the origin.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(86_400));
    // The tracking handlers enforce their own limit (413 with a JSON body).
    let tracking = tracking.layer(cors).layer(DefaultBodyLimit::disable());

    let api = Router::new()
        .route("/api/v1/profiles", get(api::search_profiles))
        .route(
            "/api/v1/profiles/{reference}",
            get(api::get_profile).delete(api::erase_profile),
        )
        .route("/api/v1/profiles/{reference}/events", get(api::profile_events))
        .route("/api/v1/profiles/{reference}/export", get(api::export_profile))
        .route("/api/v1/sources", get(api::list_sources).post(api::create_source))
        .route("/api/v1/pipeline", get(api::pipeline))
        .route(
            "/api/v1/profiles/{reference}/segments",
            get(segments_api::profile_segments),
        )
        .route(
            "/api/v1/segments",
            get(segments_api::list_segments).post(segments_api::create_segment),
        )
        .route("/api/v1/segments/preview", post(segments_api::preview_segment))
        .route(
            "/api/v1/segments/{id}",
            get(segments_api::get_segment)
                .put(segments_api::update_segment)
                .delete(segments_api::delete_segment),
        )
        .route(
            "/api/v1/segments/{id}/members",
            get(segments_api::segment_members),
        )
        .route("/api/v1/computed-traits", get(segments_api::list_computed_traits))
        .route(
            "/api/v1/computed-traits/{name}",
            axum::routing::put(segments_api::put_computed_trait).delete(segments_api::delete_computed_trait),
        )
        .route("/api/v1/rfm/refresh", post(rfm_api::refresh))
        .route(
            "/api/v1/messages",
            get(messages_api::list).post(messages_api::send),
        )
        .route("/api/v1/messages/{id}", get(messages_api::get))
        .route("/api/v1/suppressions", get(messages_api::suppressions))
        .route(
            "/api/v1/suppressions/{channel}/{address}",
            axum::routing::delete(messages_api::unsuppress),
        )
        .route("/api/v1/tasks", get(messages_api::tasks))
        .route("/api/v1/tasks/{id}/{action}", post(messages_api::task_action));
    // Signed links in messages: no key, the signature is the credential.
    let links = Router::new()
        .route("/t/o/{token}", get(links_api::open))
        .route("/t/c/{token}", get(links_api::click))
        .route(
            "/u/{token}",
            get(links_api::unsubscribe_page).post(links_api::unsubscribe),
        )
        .route(
            "/p/{token}",
            get(links_api::preferences_page).post(links_api::set_preferences),
        );

    Router::new()
        .merge(tracking)
        .merge(api)
        .merge(links)
        .merge(inbox_api::routes())
        .merge(exports_api::routes())
        .merge(catalog_api::routes())
        .merge(callbacks_api::routes())
        .merge(journeys_api::routes())
        .merge(events_api::routes())
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(api::not_found)
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish
/// (their events are committed before they are answered).
pub async fn serve(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = Arc::new(tokio::sync::watch::Sender::new(false));
    let app = router_closing(engine, closing.clone());
    let signal = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    axum::serve(listener, app).with_graceful_shutdown(signal).await
}

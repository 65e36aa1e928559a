//! The commerce context over HTTP (`docs/catalog.md`): catalog items,
//! shops and stock in JSON, NDJSON or CSV bodies; a product with its
//! availability; the nearest shops with a product in stock for a customer;
//! recommendations for a customer.
//! Thin: the work is in `relais_engine::catalog`.

use crate::api::{wait_if_asked, Admin};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::{Json, Router};
use relais_catalog::stock::Mode;
use relais_core::{ErrorCode, WorkspaceId};
use relais_engine::catalog::recommend::RecommendationsView;
use relais_engine::catalog::rows::{self, Format, Kind};
use relais_engine::catalog::views::{self, NearestQuery, NearestView, Page, ProductView};
use relais_engine::catalog::write::WriteOutcome;
use serde::Deserialize;

/// Largest request body of a write. Bigger files: `relais catalog import`.
pub const MAX_BODY_BYTES: usize = 64 << 20;

pub fn routes() -> Router<AppState> {
    let writes = Router::new()
        .route("/api/v1/catalog/products", post(put_products).get(list_products))
        .route("/api/v1/catalog/shops", post(put_shops).get(list_shops))
        .route("/api/v1/catalog/stock", post(put_stock))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .merge(writes)
        .route("/api/v1/catalog/products/{id}", get(get_product))
        .route("/api/v1/profiles/{reference}/nearest-stores", get(nearest_stores))
        .route(
            "/api/v1/profiles/{reference}/recommendations",
            get(recommendations),
        )
}

fn format(headers: &HeaderMap) -> ApiResult<Format> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(Format::Json);
    };
    let ct = ct.to_str().unwrap_or("");
    Format::from_content_type(ct).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidBody,
            format!(
                "Content-Type {ct:?} is not supported: send application/json (an array of objects), \
                 application/x-ndjson or text/csv"
            ),
        )
    })
}

/// The request body, unread: [`write`] reads it within the limit (a larger
/// one is drained before the 413, so the client gets the answer instead of a
/// broken pipe; gzip is accepted as on the tracking API).
type Body = axum::body::Body;

async fn write(
    state: &AppState,
    ws: WorkspaceId,
    kind: Kind,
    mode: Mode,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Json<WriteOutcome>> {
    let body = crate::tracking::read_body(headers, body, MAX_BODY_BYTES).await?;
    let rows = rows::open(kind, format(headers)?, mode, &body[..])?;
    // The whole body in one transaction: a request is applied or not at all
    // (bad rows aside, which are reported).
    let out = state.engine.commerce.import(ws, rows, usize::MAX, |_| {}).await?;
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/catalog/products", tag = "catalog",
    request_body(description = "products and variants (a variant names its `parent_id`; products before their variants): \
        a JSON array of objects, NDJSON or CSV (columns in docs/catalog.md); at most 64 MiB",
        content(("application/json"), ("application/x-ndjson"), ("text/csv"))),
    responses((status = 200, description = "what was applied; refused rows with their index (JSON) or line (NDJSON, CSV) \
        and reason; price drops as `signals`; per-profile events written with the change", body = WriteOutcome),
              (status = 400, description = "a body that cannot be read at all: not a JSON array (invalid_body / invalid_json), \
        a CSV header with an unknown column (invalid_body, line 1), an unsupported Content-Type", body = crate::openapi::ErrorBody),
              (status = 413, description = "body over 64 MiB (payload_too_large)", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn put_products(
    State(state): State<AppState>,
    Admin(ws): Admin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<WriteOutcome>> {
    write(&state, ws, Kind::Products, Mode::Set, &headers, body).await
}

#[utoipa::path(post, path = "/api/v1/catalog/shops", tag = "catalog",
    request_body(description = "shops (`id`, `name`, `latitude`, `longitude`, `time_zone` required; address, `hours`, \
        `services`): a JSON array, NDJSON or CSV", content(("application/json"), ("application/x-ndjson"), ("text/csv"))),
    responses((status = 200, description = "what was applied, refused rows with where and why", body = WriteOutcome),
              (status = 400, description = "a body that cannot be read at all", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn put_shops(
    State(state): State<AppState>,
    Admin(ws): Admin,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<WriteOutcome>> {
    write(&state, ws, Kind::Shops, Mode::Set, &headers, body).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StockParams {
    /// `set` (absolute levels, the default) or `delta` (units to add or
    /// remove), for rows that do not name their own `mode`.
    pub mode: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/catalog/stock", tag = "catalog", params(StockParams),
    request_body(description = "`store_id` (a shop or an online location), `sku`, `quantity`, optional `mode`: \
        a JSON array, NDJSON or CSV", content(("application/json"), ("application/x-ndjson"), ("text/csv"))),
    responses((status = 200, description = "levels changed; transitions (back in stock, low stock, out of stock) as \
        `signals`; per-profile Back In Stock / Low Stock events written with the levels", body = WriteOutcome),
              (status = 400, description = "unknown mode, or a body that cannot be read at all", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn put_stock(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(p): Query<StockParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<WriteOutcome>> {
    let mode = match p.mode.as_deref() {
        None | Some("") => Mode::Set,
        Some(m) => {
            Mode::parse(m).map_err(|r| ApiError::new(ErrorCode::InvalidField, format!("mode: {r}")))?
        }
    };
    write(&state, ws, Kind::Stock, mode, &headers, body).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1-500 (default 100).
    pub limit: Option<String>,
}

fn number<T: std::str::FromStr>(name: &str, v: Option<&str>) -> ApiResult<Option<T>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::new(ErrorCode::InvalidField, format!("{name}: {v:?} is not a number"))),
    }
}

#[utoipa::path(get, path = "/api/v1/catalog/products", tag = "catalog", params(PageParams),
    responses((status = 200, description = "products by id (byte order) as imported, `items` and `next_cursor`", body = Page)),
    security(("admin_key" = [])))]
pub async fn list_products(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<Page>> {
    let limit = number("limit", p.limit.as_deref())?;
    Ok(Json(
        state
            .engine
            .commerce
            .products(ws, p.cursor.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/catalog/shops", tag = "catalog", params(PageParams),
    responses((status = 200, description = "shops by id, `items` and `next_cursor`", body = Page)),
    security(("admin_key" = [])))]
pub async fn list_shops(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<Page>> {
    let limit = number("limit", p.limit.as_deref())?;
    Ok(Json(
        state
            .engine
            .commerce
            .shops(ws, p.cursor.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/catalog/products/{id}", tag = "catalog",
    params(("id" = String, Path, description = "the product id")),
    responses((status = 200, description = "the product, its variants, and where it is available (online, shops with units)", body = ProductView),
              (status = 404, description = "no such product", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn get_product(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<ProductView>> {
    Ok(Json(state.engine.commerce.product(ws, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NearestParams {
    /// The product id (any of its variants counts).
    pub product: Option<String>,
    /// Search radius in km (default 50).
    pub within_km: Option<String>,
    /// Most shops returned, 1-50 (default 3).
    pub limit: Option<String>,
    /// Search from here (with `lon`) instead of where the profile is: its
    /// last reported position if recent, else its home shop, else an older
    /// position.
    pub lat: Option<String>,
    pub lon: Option<String>,
    /// Wait up to this many ms for ingested events to be processed.
    pub wait: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/profiles/{ref}/nearest-stores", tag = "catalog",
    params(("ref" = String, Path, description = "prof_<n> or type:value"), NearestParams),
    responses((status = 200, description = "the nearest shops with the product in stock, nearest first (empty: none within reach), \
        searched from `lat`/`lon`, else the profile's recent `context.location`, its home shop (trait `home_store_id`) \
        or an older `context.location`; `origin.source` says which", body = NearestView),
              (status = 400, description = "product missing, a bad number, lat without lon, or no position known for the profile", body = crate::openapi::ErrorBody),
              (status = 404, description = "no such profile or product", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn nearest_stores(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
    Query(p): Query<NearestParams>,
) -> ApiResult<Json<NearestView>> {
    wait_if_asked(&state, number("wait", p.wait.as_deref())?).await?;
    let q = NearestQuery {
        product: p.product,
        within_km: number("within_km", p.within_km.as_deref())?,
        limit: number("limit", p.limit.as_deref())?,
        lat: number("lat", p.lat.as_deref())?,
        lon: number("lon", p.lon.as_deref())?,
    };
    Ok(Json(
        views::nearest_stores(&state.engine, ws, &reference, &q).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RecommendParams {
    /// `together` (bought with the anchors), `complementary` (their declared
    /// complements), `popular` (in their category), `recently_viewed`, or
    /// `auto` (the default: each in turn until the limit).
    pub strategy: Option<String>,
    /// Most products returned, 1-50 (default 3).
    pub limit: Option<String>,
    /// Wait up to this many ms for ingested events to be processed.
    pub wait: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/profiles/{ref}/recommendations", tag = "catalog",
    params(("ref" = String, Path, description = "prof_<n> or type:value"), RecommendParams),
    responses((status = 200, description = "products that go with the cart, else with the last order (anchors), best first, \
        with why; bought, out-of-stock and unorderable products left out", body = RecommendationsView),
              (status = 400, description = "unknown strategy, a bad limit", body = crate::openapi::ErrorBody),
              (status = 404, description = "no such profile", body = crate::openapi::ErrorBody)),
    security(("admin_key" = [])))]
pub async fn recommendations(
    State(state): State<AppState>,
    Admin(ws): Admin,
    Path(reference): Path<String>,
    Query(p): Query<RecommendParams>,
) -> ApiResult<Json<RecommendationsView>> {
    wait_if_asked(&state, number("wait", p.wait.as_deref())?).await?;
    let limit = number("limit", p.limit.as_deref())?;
    Ok(Json(
        relais_engine::catalog::recommend::recommendations(
            &state.engine,
            ws,
            &reference,
            p.strategy.as_deref(),
            limit,
        )
        .await?,
    ))
}

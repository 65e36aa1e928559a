//! Queries of the commerce context: a product with its availability, pages
//! of products and shops, and the nearest shops that have a product for a
//! customer.
//!
//! Where a customer is: `lat`/`lon` given with the query, else the
//! profile's whereabouts ([`profile_origin`]): the last position an app or
//! site reported (`context.location`) if it is recent, else their home shop
//! (trait `home_store_id`, a shop id, else the most-visited shop), else that older position.

use super::fanout::HOME_STORE_TRAIT;
use super::{CatalogConfig, Commerce};
use crate::{profiles, Engine};
use relais_catalog::geo::GeoPoint;
use relais_catalog::query::{availability, Fix, OriginKind, Whereabouts};
use relais_catalog::{ShopDirectory, ShopId};
use relais_core::profile::ProfileState;
use relais_core::time::{format_ms, now_ms};
use relais_core::{Error, ErrorCode, WorkspaceId};
use relais_store::CatalogKind;
use serde::Serialize;
use serde_json::Value;

/// Most items in one page of a list.
pub const MAX_PAGE: usize = 500;
pub const DEFAULT_WITHIN_KM: f64 = 50.0;
pub const DEFAULT_NEAREST: usize = 3;
pub const MAX_NEAREST: usize = 50;
/// Half the Earth's circumference: every point is nearer than this.
pub const MAX_WITHIN_KM: f64 = 20_040.0;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoreUnits {
    pub store_id: String,
    /// `None` for a location that is not a known shop.
    pub name: Option<String>,
    pub units: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AvailabilityView {
    /// What the catalog says: in_stock, out_of_stock, preorder, discontinued.
    pub catalog: &'static str,
    /// Can be ordered online now.
    pub online: bool,
    /// Units at online locations; absent when none is recorded.
    pub online_units: Option<i64>,
    /// Shops with units of any of its SKUs, by id.
    pub stores: Vec<StoreUnits>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductView {
    /// The product as imported (prices as decimals).
    pub product: Value,
    pub variants: Vec<Value>,
    pub availability: AvailabilityView,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page {
    pub items: Vec<Value>,
    /// Pass as `cursor` for the next page; absent when this page is not
    /// full (a full last page is followed by an empty one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn json<T: Serialize>(v: &T) -> Result<Value, Error> {
    serde_json::to_value(v).map_err(|e| Error::internal(format!("cannot serialise: {e}")))
}

fn page_limit(limit: Option<usize>) -> Result<usize, Error> {
    match limit.unwrap_or(100) {
        0 => Err(Error::invalid("limit: must be at least 1")),
        n => Ok(n.min(MAX_PAGE)),
    }
}

fn page(docs: Vec<(String, String)>, limit: usize) -> Result<Page, Error> {
    let next_cursor = (docs.len() == limit)
        .then(|| docs.last().map(|d| d.0.clone()))
        .flatten();
    let items = docs
        .into_iter()
        .map(|(id, doc)| {
            serde_json::from_str(&doc)
                .map_err(|e| Error::internal(format!("stored document {id} is not JSON: {e}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor })
}

impl Commerce {
    /// A product with its variants and where it is available.
    pub async fn product(&self, ws: WorkspaceId, id: &str) -> Result<ProductView, Error> {
        let state = self.read(ws).await?;
        let p = state
            .catalog
            .product(id)
            .ok_or_else(|| Error::not_found(format!("no product {id:?} in the catalog")))?;
        let a = availability(&state.catalog, &state.book, id)
            .ok_or_else(|| Error::not_found(format!("no product {id:?} in the catalog")))?;
        let stores = a
            .shops
            .iter()
            .map(|(store, units)| StoreUnits {
                store_id: (*store).to_owned(),
                name: state.shops.get(store).map(|s| s.name.clone()),
                units: *units,
            })
            .collect();
        Ok(ProductView {
            product: json(p)?,
            variants: state.catalog.variants(id).map(json).collect::<Result<_, _>>()?,
            availability: AvailabilityView {
                catalog: a.catalog.as_str(),
                online: a.online,
                online_units: a.online_units,
                stores,
            },
        })
    }

    /// Products by id (byte order), as stored.
    pub async fn products(
        &self,
        ws: WorkspaceId,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page, Error> {
        let limit = page_limit(limit)?;
        let recs = self
            .store
            .list_catalog_items(ws, CatalogKind::Product, cursor, limit)
            .await?;
        page(recs.into_iter().map(|r| (r.id, r.doc)).collect(), limit)
    }

    /// Shops by id, as stored.
    pub async fn shops(
        &self,
        ws: WorkspaceId,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page, Error> {
        let limit = page_limit(limit)?;
        let recs = self.store.list_shops(ws, cursor, limit).await?;
        page(recs.into_iter().map(|r| (r.id, r.doc)).collect(), limit)
    }
}

/// `GET /api/v1/profiles/{ref}/nearest-stores`.
#[derive(Debug, Clone, Default)]
pub struct NearestQuery {
    pub product: Option<String>,
    pub within_km: Option<f64>,
    pub limit: Option<usize>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Origin {
    pub latitude: f64,
    pub longitude: f64,
    /// `query` (lat/lon given), `last_location` (a position the profile
    /// reported recently), `home_store` (the profile's `home_store_id`, else
    /// its most-visited shop) or
    /// `stale_location` (an older reported position: no home shop).
    pub source: &'static str,
    /// The home shop, with `home_store`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// When the position was reported (event time), with `last_location`
    /// and `stale_location`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub located_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NearbyStore {
    pub store_id: String,
    pub name: String,
    pub city: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// Great-circle distance, to 10 m.
    pub distance_km: f64,
    /// Units of any of the product's SKUs.
    pub units: i64,
    /// Open now by its hours in its time zone; absent when hours are unknown.
    pub open_now: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NearestView {
    pub profile_id: String,
    pub product_id: String,
    pub origin: Origin,
    pub within_km: f64,
    /// Nearest first; empty when no shop within reach has the product.
    pub stores: Vec<NearbyStore>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The `limit` nearest shops within `within_km` of the customer that have
/// at least one unit of the product (any of its variants).
pub async fn nearest_stores(
    engine: &Engine,
    ws: WorkspaceId,
    reference: &str,
    q: &NearestQuery,
) -> Result<NearestView, Error> {
    let product = q
        .product
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::MissingField,
                "product: missing (?product=<product id>)",
            )
        })?;
    let within_km = q.within_km.unwrap_or(DEFAULT_WITHIN_KM);
    if !(within_km > 0.0 && within_km <= MAX_WITHIN_KM) {
        return Err(Error::invalid(format!(
            "within_km: {within_km} is not within (0, {MAX_WITHIN_KM}]"
        )));
    }
    let limit = q.limit.unwrap_or(DEFAULT_NEAREST);
    if limit == 0 || limit > MAX_NEAREST {
        return Err(Error::invalid(format!(
            "limit: {limit} is not within 1..={MAX_NEAREST}"
        )));
    }
    let id = profiles::resolve_ref(engine, ws, reference).await?;
    let (stored, state) = profiles::load(engine, ws, id).await?;
    let c = &engine.commerce;
    let cat = c.read(ws).await?;
    if cat.catalog.product(product).is_none() {
        return Err(Error::not_found(format!("no product {product:?} in the catalog")));
    }
    let origin = match (q.lat, q.lon) {
        (Some(lat), Some(lon)) => {
            let p = GeoPoint::new(lat, lon).map_err(Error::from)?;
            Origin {
                latitude: p.lat(),
                longitude: p.lon(),
                source: "query",
                store_id: None,
                located_at: None,
            }
        }
        (None, None) => {
            profile_origin(&cat.shops, &state, &c.config, now_ms()).ok_or_else(|| no_position(&stored.id))?
        }
        _ => {
            return Err(Error::new(
                ErrorCode::MissingField,
                "lat and lon: give both, or neither",
            ))
        }
    };
    let from = GeoPoint::new(origin.latitude, origin.longitude).map_err(Error::from)?;
    let now = jiff::Timestamp::now();
    let stores = cat
        .shops
        .nearest_with_product(&cat.catalog, &cat.book, product, from, limit, within_km)
        .into_iter()
        .map(|n| NearbyStore {
            store_id: n.shop.id.to_string(),
            name: n.shop.name.clone(),
            city: n.shop.address.city.clone(),
            latitude: n.shop.location.lat(),
            longitude: n.shop.location.lon(),
            distance_km: round2(n.distance_km),
            units: n.units,
            open_now: n.shop.is_open_at(now),
        })
        .collect();
    Ok(NearestView {
        profile_id: stored.id.to_string(),
        product_id: product.to_owned(),
        origin,
        within_km,
        stores,
    })
}

fn no_position(profile: &relais_core::ProfileId) -> Error {
    Error::new(
        ErrorCode::MissingField,
        format!(
            "no position for {profile}: no position reported (context.location) and no \
             {HOME_STORE_TRAIT} trait or shop visit naming a known shop; pass lat and lon"
        ),
    )
}

/// What the profile tells of where the customer is: its home shop (the
/// `home_store_id` trait's, else the most visited) and the last position
/// it reported.
pub(crate) fn whereabouts(state: &ProfileState) -> Whereabouts {
    let last_location = state.location.as_ref().and_then(|s| {
        let point = GeoPoint::new(s.value.latitude, s.value.longitude).ok()?;
        Some(Fix { point, at: s.at })
    });
    Whereabouts {
        home_shop: super::fanout::home_shop(&state.traits, &state.shop_visits)
            .and_then(|h| ShopId::new(h).ok()),
        last_location,
    }
}

/// Where to search from for a profile, as of `now_ms`: its last reported
/// position when at most `last_location_max_age_secs` old, else its home
/// shop (when it names a known shop), else that older position; `None`
/// when there is none of them. The API without `lat`/`lon` and the
/// `nearest_store` Liquid global both search from here.
pub fn profile_origin(
    shops: &ShopDirectory,
    state: &ProfileState,
    config: &CatalogConfig,
    now_ms: i64,
) -> Option<Origin> {
    let w = whereabouts(state);
    let max_age_ms =
        i64::try_from(config.last_location_max_age_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
    let (point, kind) = shops.origin(&w, now_ms, max_age_ms)?;
    let located_at = w.last_location.map(|f| format_ms(f.at));
    let (source, store_id, located_at) = match kind {
        OriginKind::LastLocation => ("last_location", None, located_at),
        OriginKind::HomeShop => ("home_store", w.home_shop.map(|h| h.as_str().to_owned()), None),
        OriginKind::StaleLocation => ("stale_location", None, located_at),
    };
    Some(Origin {
        latitude: point.lat(),
        longitude: point.lon(),
        source,
        store_id,
        located_at,
    })
}

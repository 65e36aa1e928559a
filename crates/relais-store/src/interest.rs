//! The interest index: product keys → the profiles interested in them, for
//! the catalog's per-profile fan-out (Price Dropped, Back In Stock, Low
//! Stock) to read only those profiles instead of the whole workspace.
//!
//! A profile is interested in what it viewed (`recently_viewed`) or
//! wish-listed (`wishlist`) in its commerce state. Its keys are the
//! `product_id` and `sku` strings of those items, as the state holds them
//! (the catalog links either to a product, so the reader asks for every key
//! that can name its product and checks each profile it gets). The store
//! writes them with the profile's state ([`crate::ProfileWrite::interests`],
//! one transaction), drops them with the profile on erasure and with a
//! merge's loser; the winner's are rewritten from its merged state. The
//! migration that created the index filled it from the states stored then.

use crate::StoreResult;
use async_trait::async_trait;
use relais_core::{ProfileId, WorkspaceId};

/// Longest key indexed, in bytes: the catalog refuses longer product ids
/// and SKUs (`relais_catalog::ids::MAX_ID_LEN`), so a longer key can name
/// no product. Longer keys are left out of the index.
pub const MAX_PRODUCT_KEY_LEN: usize = 256;

#[async_trait]
pub trait InterestStore: Send + Sync + 'static {
    /// The profiles of `ws` interested in any of `product_keys`, each once,
    /// by id, after `after` (exclusive), at most `limit`.
    async fn interested_profiles(
        &self,
        ws: WorkspaceId,
        product_keys: &[String],
        after: ProfileId,
        limit: usize,
    ) -> StoreResult<Vec<ProfileId>>;
}

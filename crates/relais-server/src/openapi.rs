//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error response.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// `{"code": "<stable code>", "message": "<what and where>"}`
    error: serde_json::Value,
}

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "admin_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        c.add_security_scheme(
            "write_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Relais API", description = "Segment-compatible tracking API and the Relais admin API."),
    paths(
        crate::api::get_profile,
        crate::api::profile_events,
        crate::api::search_profiles,
        crate::api::export_profile,
        crate::api::erase_profile,
        crate::api::create_source,
        crate::api::list_sources,
        crate::api::pipeline,
        crate::segments_api::create_segment,
        crate::segments_api::list_segments,
        crate::segments_api::get_segment,
        crate::segments_api::update_segment,
        crate::segments_api::delete_segment,
        crate::segments_api::segment_members,
        crate::segments_api::preview_segment,
        crate::segments_api::profile_segments,
        crate::segments_api::put_computed_trait,
        crate::segments_api::list_computed_traits,
        crate::segments_api::delete_computed_trait,
        crate::rfm_api::refresh,
        crate::messages_api::send,
        crate::messages_api::list,
        crate::messages_api::get,
        crate::messages_api::suppressions,
        crate::messages_api::unsuppress,
        crate::messages_api::tasks,
        crate::messages_api::task_action,
        crate::callbacks_api::email_feedback,
        crate::exports_api::letters_csv,
        crate::exports_api::letters_pdf,
        crate::exports_api::audience,
        crate::catalog_api::put_products,
        crate::catalog_api::list_products,
        crate::catalog_api::get_product,
        crate::catalog_api::put_shops,
        crate::catalog_api::list_shops,
        crate::catalog_api::put_stock,
        crate::catalog_api::nearest_stores,
        crate::catalog_api::recommendations,
        crate::inbox_api::list,
        crate::inbox_api::live,
        crate::inbox_api::read,
        crate::inbox_api::click,
        crate::inbox_api::dismiss,
        crate::inbox_api::identity_secret,
        crate::journeys_api::create,
        crate::journeys_api::apply,
        crate::journeys_api::list,
        crate::journeys_api::get_one,
        crate::journeys_api::update,
        crate::journeys_api::activate,
        crate::journeys_api::pause,
        crate::journeys_api::trigger,
        crate::journeys_api::stats,
        crate::journeys_api::of_profile,
        crate::journeys_api::pools,
        crate::journeys_api::pool,
        crate::journeys_api::import_codes,
        crate::journeys_api::generate_codes,
        crate::events_api::names,
        crate::ops::track_doc,
        crate::ops::batch_doc,
        crate::ops::health,
        crate::ops::metrics,
    ),
    components(schemas(ErrorBody, crate::api::NewSource, crate::messages_api::TaskAction, relais_engine::messaging::callbacks::EmailFeedback)),
    modifiers(&Security)
)]
pub struct ApiDoc;

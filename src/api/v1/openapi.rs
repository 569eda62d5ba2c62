//! The OpenAPI 3 document of `/api/v1`, generated from the handlers'
//! `#[utoipa::path]` annotations; served without a key.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{campaign_actions, campaigns, events, people, reports, segment_users, segments};
use crate::api::error::{ErrorBody, ErrorDetail};

/// The document's description of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "herald API", description = "Campaigns, segments, events and reports. \
        Every route but this document needs `Authorization: Bearer KEY` (`herald apikey create NAME`)."),
    paths(
        campaigns::list, campaigns::create, campaigns::get, campaigns::update,
        campaigns::schedule, campaigns::pause,
        campaigns::resume, campaigns::cancel, campaigns::preview,
        segments::list, segments::get, events::one, events::batch, reports::get,
        crate::api::privacy::export_user, crate::api::privacy::erase_user,
        people::user_one, people::user_batch, people::device_one, people::device_batch,
        segment_users::list, campaign_actions::run, campaign_actions::test,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an API key from `herald apikey create NAME`"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

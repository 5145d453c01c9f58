//! The OpenAPI document, generated from the handlers and types. The
//! committed `openapi/openapi.json` is checked against it by a test.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::routes;

mod contract;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Palisade",
        description = "Threat modeling in six steps: scope, threats, environment, analysis, mitigation, evaluation.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(
        crate::error::Problem,
        palisade_domain::FieldError,
        routes::assets::ClassificationFilter,
        palisade_domain::diagram::DiagramFormat,
        palisade_domain::threat::TreeAssessment,
        palisade_domain::threat_actor::SkillLevel,
        routes::risks::RiskSortKey,
        routes::treatments::TreatmentCommon,
        routes::treatments::TreatmentInputCommon,
        routes::treatments::AvoidPlan,
        routes::treatments::TransferPlan,
        routes::treatments::ReducePlan,
        routes::treatments::AcceptPlan,
        palisade_domain::interchange::ImportFormat,
        palisade_domain::interchange::ExportFormat,
    )),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "organisation", description = "The caller, API keys and the audit log"),
        (name = "models", description = "Threat models and their progress through the six steps"),
        (name = "scope", description = "Step 1: asset inventory and classification"),
        (name = "threats", description = "Step 2: threat actors and attack trees"),
        (name = "environment", description = "Step 3: trust zones, parties and interactions"),
        (name = "analysis", description = "Step 4: threats and controls"),
        (name = "mitigation", description = "Step 5: treatments — avoid, transfer, reduce, accept"),
        (name = "evaluation", description = "Step 6: evaluation entries, versions and their diff, reports"),
        (name = "integrations", description = "Ticketing systems that move treatments by webhook, and Palisade's own webhooks"),
        (name = "scoring", description = "Stateless risk calculators: the same maths as the register"),
    )
)]
pub struct ApiDoc;

/// The document as served and committed: what utoipa derives from the code,
/// made true to the wire by [`contract::finish`].
pub fn json() -> &'static serde_json::Value {
    static DOC: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        // The operations come from the routes' own registrations, merged
        // into the document's frame; the conventions then apply to each.
        let mut api = ApiDoc::openapi();
        for part in routes::openapi_parts() {
            api.merge(part);
        }
        Conventions.modify(&mut api);
        let mut doc = serde_json::to_value(api).unwrap_or_default();
        contract::finish(&mut doc);
        doc
    });
    &DOC
}

/// The document as committed: pretty JSON with a final newline.
pub fn document() -> String {
    let mut json =
        serde_json::to_string_pretty(json()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    json.push('\n');
    json
}

/// Adds what every operation shares instead of repeating it per handler:
/// the bearer scheme and the problem responses of the conventions.
struct Conventions;

fn problem(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| problem(description));
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `palisade keys create` or `POST /api/v1/api-keys`",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/") {
                continue;
            }
            let has_id = path.contains('{');
            let ops = [
                ("get", item.get.as_mut()),
                ("post", item.post.as_mut()),
                ("patch", item.patch.as_mut()),
                ("put", item.put.as_mut()),
                ("delete", item.delete.as_mut()),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                add(op, "401", "No API key, or one that is not valid");
                if has_id {
                    add(op, "404", "No such record in the caller's organisation");
                }
                add(
                    op,
                    "422",
                    "A field, parameter or header is not valid; `errors` names each",
                );
                add(op, "403", "The key's role may not do this");
                if matches!(method, "post" | "patch" | "put") {
                    add(op, "400", "The body is not valid JSON");
                    add(op, "413", "The body is larger than the limit");
                    add(op, "415", "The body is not JSON");
                }
                if method == "post" {
                    add(
                        op,
                        "409",
                        "A request with the same Idempotency-Key is still running",
                    );
                }
                if matches!(method, "patch" | "put" | "delete") {
                    add(
                        op,
                        "412",
                        "If-Match names a version that is no longer current",
                    );
                    add(op, "409", "The change conflicts with other records");
                }
                add(
                    op,
                    "503",
                    "The database is unavailable; retry after the Retry-After delay",
                );
            }
        }
    }
}

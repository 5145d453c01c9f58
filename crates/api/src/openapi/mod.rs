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
    paths(
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::metrics,
        routes::api_keys::me,
        routes::api_keys::create_api_key,
        routes::api_keys::list_api_keys,
        routes::api_keys::delete_api_key,
        routes::audit::list_audit_events,
        routes::models::create_model,
        routes::models::list_models,
        routes::models::get_model,
        routes::models::update_model,
        routes::models::delete_model,
        routes::interchange::import_model,
        routes::interchange::export_model,
        routes::progress::get_progress,
        routes::assets::create_asset,
        routes::assets::list_assets,
        routes::assets::get_asset,
        routes::assets::update_asset,
        routes::assets::delete_asset,
        routes::assets::get_scope,
        routes::threat_actors::create_threat_actor,
        routes::threat_actors::list_threat_actors,
        routes::threat_actors::get_threat_actor,
        routes::threat_actors::update_threat_actor,
        routes::threat_actors::delete_threat_actor,
        routes::attack_trees::create_attack_tree,
        routes::attack_trees::list_attack_trees,
        routes::attack_trees::get_attack_tree,
        routes::attack_trees::replace_attack_tree,
        routes::attack_trees::delete_attack_tree,
        routes::attack_trees::evaluate_attack_tree,
        routes::attack_trees::draw_attack_tree,
        routes::attack_trees::create_node,
        routes::attack_trees::list_nodes,
        routes::attack_trees::get_node,
        routes::attack_trees::update_node,
        routes::attack_trees::delete_node,
        routes::trust_zones::create_trust_zone,
        routes::trust_zones::list_trust_zones,
        routes::trust_zones::get_trust_zone,
        routes::trust_zones::update_trust_zone,
        routes::trust_zones::delete_trust_zone,
        routes::parties::create_party,
        routes::parties::list_parties,
        routes::parties::get_party,
        routes::parties::update_party,
        routes::parties::delete_party,
        routes::interactions::create_interaction,
        routes::interactions::list_interactions,
        routes::interactions::get_interaction,
        routes::interactions::update_interaction,
        routes::interactions::delete_interaction,
        routes::environment::get_environment,
        routes::threats::create_threat,
        routes::threats::list_threats,
        routes::threats::get_threat,
        routes::threats::update_threat,
        routes::threats::delete_threat,
        routes::controls::create_control,
        routes::controls::list_controls,
        routes::controls::get_control,
        routes::controls::update_control,
        routes::controls::delete_control,
        routes::risks::get_risks,
        routes::risks::list_portfolio_risks,
        routes::risks::recompute_risks,
        routes::risks::get_job,
        routes::risks::get_gaps,
        routes::treatments::create_treatment,
        routes::treatments::list_treatments,
        routes::treatments::get_treatment,
        routes::treatments::update_treatment,
        routes::treatments::delete_treatment,
        routes::treatments::move_treatment,
        routes::treatments::treatment_history,
        routes::treatments::get_residual_risk,
        routes::treatments::open_ticket,
        routes::evaluation_entries::create_evaluation_entry,
        routes::evaluation_entries::list_evaluation_entries,
        routes::evaluation_entries::get_evaluation_entry,
        routes::evaluation_entries::update_evaluation_entry,
        routes::evaluation_entries::delete_evaluation_entry,
        routes::versions::create_version,
        routes::versions::list_versions,
        routes::versions::get_version,
        routes::versions::diff_model,
        routes::reports::create_report,
        routes::reports::list_reports,
        routes::reports::get_report,
        routes::reports::get_report_content,
        routes::integrations::create_integration,
        routes::integrations::list_integrations,
        routes::integrations::get_integration,
        routes::integrations::update_integration,
        routes::integrations::delete_integration,
        routes::integrations::rotate_integration_secret,
        routes::integrations::receive_webhook,
        routes::webhooks::create_subscription,
        routes::webhooks::list_subscriptions,
        routes::webhooks::get_subscription,
        routes::webhooks::update_subscription,
        routes::webhooks::delete_subscription,
        routes::webhooks::list_deliveries,
        routes::webhooks::test_subscription,
        routes::scoring::score_owasp,
        routes::scoring::score_cvss31,
        routes::scoring::score_cvss40,
        routes::scoring::score_dread,
        routes::scoring::score_nist,
        routes::scoring::score_fair,
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
    modifiers(&Conventions),
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
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
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

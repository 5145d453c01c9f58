//! The caller's identity and the organisation's API keys (owner only).

use actix_web::{web, HttpResponse};
use palisade_domain::ids::ApiKeyId;
use palisade_domain::org::{ApiKey, Organization};
use palisade_domain::role::Role;
use palisade_domain::ValidationErrors;
use palisade_store::api_keys;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Auth, Owner};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, StrictQuery};
use crate::respond::{list_params, list_type, Created};
use crate::state::AppState;

use super::path_id;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/me" => { get: me },
        "/api/v1/api-keys" => { post: create_api_key, get: list_api_keys },
        "/api/v1/api-keys/{key_id}" => { delete: delete_api_key },
    },
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub organization: Organization,
    pub role: Role,
    pub key: ApiKey,
}

/// The organisation and role of the key making the request.
#[utoipa::path(get, path = "/api/v1/me", operation_id = "getMe", tag = "organisation",
    responses((status = 200, description = "The caller's organisation and role", body = Me)),
    security(("api_key" = [])))]
pub async fn me(auth: Auth) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        role: auth.key.role,
        organization: auth.org,
        key: auth.key,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for (`ci`, `jira-sync`).
    pub name: String,
    pub role: Role,
}

/// A new key: `secret` is shown in this response only.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The bearer token. Store it now: it cannot be shown again.
    pub secret: String,
}

/// Create an API key for the caller's organisation (owner only). An
/// `Idempotency-Key` is refused here (422): a replay would need the secret,
/// which is never stored.
#[utoipa::path(post, path = "/api/v1/api-keys", operation_id = "createApiKey", tag = "organisation",
    request_body = NewApiKey,
    responses((status = 201, description = "The key, with its secret shown once", body = CreatedApiKey,
        headers(("Location" = String, description = "The key's URL")))),
    security(("api_key" = [])))]
pub async fn create_api_key(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    idempotency_key: IdempotencyKey,
    body: JsonBody<NewApiKey>,
) -> Result<HttpResponse, ApiError> {
    if idempotency_key.0.is_some() {
        return Err(ApiError::field(
            "Idempotency-Key",
            "is not accepted when creating an API key: its secret is shown once and never stored, \
             so a retry could not be answered with it; list the keys to see whether a first request made one",
        ));
    }
    let NewApiKey { name, role } = body.value;
    let mut errors = ValidationErrors::new();
    errors.check_name("name", &name);
    errors.finish()?;
    let actor = auth.actor();
    let (key, secret) = state
        .db(move |c| api_keys::create(c, &actor, &name, role))
        .await?;
    let location = format!("/api/v1/api-keys/{}", key.id);
    Ok(Created::new(location, None, &CreatedApiKey { key, secret })?.once())
}

list_params!(ListParams sorted by ApiKeySort { "name", "role", "created_at" } {
});

list_type!(ApiKeyList, ApiKey);

/// List the organisation's API keys (owner only); secrets are never listed.
#[utoipa::path(get, path = "/api/v1/api-keys", operation_id = "listApiKeys", tag = "organisation",
    params(ListParams),
    responses((status = 200, description = "A page of keys", body = ApiKeyList)),
    security(("api_key" = [])))]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    query: StrictQuery<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let page = q.page()?;
    let org = auth.org.id;
    let keys = state.db(move |c| api_keys::list(c, org, &page)).await?;
    Ok(HttpResponse::Ok().json(ApiKeyList::from(keys)))
}

/// Revoke an API key (owner only); it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{key_id}", operation_id = "deleteApiKey", tag = "organisation",
    params(("key_id" = uuid::Uuid, Path, description = "The key's id")),
    responses((status = 204, description = "The key is revoked")),
    security(("api_key" = [])))]
pub async fn delete_api_key(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    key_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: ApiKeyId = path_id(&key_id)?;
    let actor = auth.actor();
    state.db(move |c| api_keys::delete(c, &actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

//! One shape for a model's records. A resource declares its types and its
//! store calls once (`ModelResource`); the five CRUD handlers are generic
//! over it, and `model_resource!` writes their routes and OpenAPI
//! operations from one declaration. A resource with more (attack trees,
//! nodes) adds its own handlers beside these.

use std::fmt::Display;
use std::str::FromStr;

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::{ModelId, OrgId};
use palisade_store::{Actor, DbConn, Page, PageRequest, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::IntoParams;

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::respond::{create_once, versioned, Created, Versioned};
use crate::routes::path_id;
use crate::state::AppState;

/// A kind of record that lives in a model, served at
/// `/api/v1/models/{model_id}/{SEGMENT}` and `…/{SEGMENT}/{id}`.
pub trait ModelResource: 'static {
    type Record: Serialize + Versioned + Send + 'static;
    type Id: FromStr + Display + Copy + Send + 'static;
    /// A create's body as sent.
    type Input: DeserializeOwned + 'static;
    /// What the store writes, judged before anything is stored.
    type Fields: Send + 'static;
    /// The list's query parameters: filters, sort, count, page.
    type Params: DeserializeOwned + 'static;
    /// What the list's parameters become for the store.
    type Filter: Send + 'static;
    /// The list's response.
    type List: From<Page<Self::Record>> + Serialize;
    /// The delete's query parameters (`NoParams` for none).
    type DeleteParams: DeserializeOwned + Send + 'static;
    const SEGMENT: &'static str;

    fn fields(input: Self::Input) -> Result<Self::Fields, ApiError>;
    fn query(params: Self::Params) -> Result<(PageRequest, Self::Filter), ApiError>;
    fn id_of(record: &Self::Record) -> Self::Id;

    fn create(
        conn: &mut DbConn,
        actor: &Actor,
        model: ModelId,
        fields: Self::Fields,
    ) -> Result<Self::Record, StoreError>;
    fn get(
        conn: &mut DbConn,
        org: OrgId,
        model: ModelId,
        id: Self::Id,
    ) -> Result<Self::Record, StoreError>;
    fn list(
        conn: &mut DbConn,
        org: OrgId,
        model: ModelId,
        filter: &Self::Filter,
        page: &PageRequest,
    ) -> Result<Page<Self::Record>, StoreError>;
    /// Applies a JSON merge patch, guarded by `expected` (the If-Match).
    fn update(
        conn: &mut DbConn,
        actor: &Actor,
        model: ModelId,
        id: Self::Id,
        expected: Option<i64>,
        patch: Value,
    ) -> Result<Self::Record, StoreError>;
    fn delete(
        conn: &mut DbConn,
        actor: &Actor,
        model: ModelId,
        id: Self::Id,
        expected: Option<i64>,
        params: Self::DeleteParams,
    ) -> Result<(), StoreError>;
}

/// The query of a delete that takes none: any parameter is refused.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoParams {}

fn ids<R: ModelResource>(path: &(String, String)) -> Result<(ModelId, R::Id), ApiError> {
    Ok((path_id(&path.0)?, path_id(&path.1)?))
}

pub async fn create<R: ModelResource>(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<R::Input>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let fields = R::fields(body.value)?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| R::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!(
                "/api/v1/models/{model}/{}/{}",
                R::SEGMENT,
                R::id_of(&created)
            ),
            &created,
        )
    })
    .await
}

pub async fn list<R: ModelResource>(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<R::Params>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let (page, filter) = R::query(query.0)?;
    let org = auth.org.id;
    let list = state
        .db(move |c| R::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(R::List::from(list)))
}

pub async fn get<R: ModelResource>(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids::<R>(&path)?;
    let org = auth.org.id;
    let found = state.db(move |c| R::get(c, org, model, id)).await?;
    Ok(versioned(&found))
}

pub async fn update<R: ModelResource>(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids::<R>(&path)?;
    let actor = auth.actor();
    let patch = body.value;
    let updated = state
        .db(move |c| R::update(c, &actor, model, id, if_match.0, patch))
        .await?;
    Ok(versioned(&updated))
}

pub async fn delete<R: ModelResource>(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    query: StrictQuery<R::DeleteParams>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids::<R>(&path)?;
    let actor = auth.actor();
    let params = query.0;
    state
        .db(move |c| R::delete(c, &actor, model, id, if_match.0, params))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Declares a model resource's routes and OpenAPI operations: one handler
/// per operation (named, documented, calling the generic one) and a
/// `configure`. Literals are passed as token trees so the OpenAPI macro
/// sees them as written.
macro_rules! model_resource {
    (
        $resource:ty,
        routes: $routes:ident,
        tag: $tag:tt,
        collection: $collection:tt,
        item: $item:tt,
        id: $id:tt,
        input: $input:ty,
        patch: $patch:ty,
        record: $record:ty,
        list: $list:ty,
        params: $params:ty,
        delete_params: $delete_params:ty,
        create: ($create:ident, $create_op:tt, $create_doc:tt),
        list_all: ($list_fn:ident, $list_op:tt, $list_doc:tt),
        get: ($get:ident, $get_op:tt, $get_doc:tt),
        update: ($update:ident, $update_op:tt, $update_doc:tt),
        delete: ($delete:ident, $delete_op:tt, $delete_doc:tt) $(,)?
    ) => {
        pub fn $routes(cfg: &mut actix_web::web::ServiceConfig) {
            use actix_web::web;
            cfg.service(
                super::resource($collection)
                    .route(web::post().to($create))
                    .route(web::get().to($list_fn)),
            )
            .service(
                super::resource($item)
                    .route(web::get().to($get))
                    .route(web::patch().to($update))
                    .route(web::delete().to($delete)),
            );
        }

        #[doc = $create_doc]
        #[utoipa::path(post, path = $collection, operation_id = $create_op, tag = $tag,
            request_body = $input,
            params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
                   ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
            responses((status = 201, description = "Created", body = $record,
                headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = "Its version")))),
            security(("api_key" = [])))]
        pub async fn $create(
            state: actix_web::web::Data<$crate::state::AppState>,
            editor: $crate::auth::Editor,
            model_id: actix_web::web::Path<String>,
            idempotency_key: $crate::extract::IdempotencyKey,
            req: actix_web::HttpRequest,
            body: $crate::extract::JsonBody<$input>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::create::<$resource>(state, editor, model_id, idempotency_key, req, body).await
        }

        #[doc = $list_doc]
        #[utoipa::path(get, path = $collection, operation_id = $list_op, tag = $tag,
            params(("model_id" = uuid::Uuid, Path, description = "The model's id"), $params),
            responses((status = 200, description = "A page", body = $list)),
            security(("api_key" = [])))]
        pub async fn $list_fn(
            state: actix_web::web::Data<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            model_id: actix_web::web::Path<String>,
            query: $crate::extract::StrictQuery<$params>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::list::<$resource>(state, auth, model_id, query).await
        }

        #[doc = $get_doc]
        #[utoipa::path(get, path = $item, operation_id = $get_op, tag = $tag,
            params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ($id = uuid::Uuid, Path, description = "Its id")),
            responses((status = 200, description = "The record", body = $record, headers(("ETag" = String, description = "Its version")))),
            security(("api_key" = [])))]
        pub async fn $get(
            state: actix_web::web::Data<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            path: actix_web::web::Path<(String, String)>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::get::<$resource>(state, auth, path).await
        }

        #[doc = $update_doc]
        #[utoipa::path(patch, path = $item, operation_id = $update_op, tag = $tag,
            request_body = $patch,
            params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ($id = uuid::Uuid, Path, description = "Its id"),
                   ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
            responses((status = 200, description = "The changed record", body = $record, headers(("ETag" = String, description = "Its new version")))),
            security(("api_key" = [])))]
        pub async fn $update(
            state: actix_web::web::Data<$crate::state::AppState>,
            editor: $crate::auth::Editor,
            path: actix_web::web::Path<(String, String)>,
            if_match: $crate::extract::IfMatch,
            body: $crate::extract::JsonBody<serde_json::Value>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::update::<$resource>(state, editor, path, if_match, body).await
        }

        #[doc = $delete_doc]
        #[utoipa::path(delete, path = $item, operation_id = $delete_op, tag = $tag,
            params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ($id = uuid::Uuid, Path, description = "Its id"),
                   ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412"),
                   $delete_params),
            responses((status = 204, description = "Deleted"),
                      (status = 409, description = "Other records depend on it; the message names them", body = $crate::error::Problem, content_type = "application/problem+json")),
            security(("api_key" = [])))]
        pub async fn $delete(
            state: actix_web::web::Data<$crate::state::AppState>,
            editor: $crate::auth::Editor,
            path: actix_web::web::Path<(String, String)>,
            if_match: $crate::extract::IfMatch,
            query: $crate::extract::StrictQuery<$delete_params>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::delete::<$resource>(state, editor, path, if_match, query).await
        }
    };
}
pub(crate) use model_resource;

/// The store calls of a resource whose store module has the usual
/// signatures (`create`, `get`, `list`, `update` taking a change of the
/// current fields, `delete`); written inside its `ModelResource` impl.
/// Updates apply the JSON merge patch to the current fields.
macro_rules! store_calls {
    ($store:path) => {
        store_calls!(@crud $store);
        store_calls!(@delete $store);
    };
    (@crud $store:path) => {
        store_calls!(@create_get_list $store);

        fn update(
            conn: &mut palisade_store::DbConn,
            actor: &palisade_store::Actor,
            model: palisade_domain::ids::ModelId,
            id: Self::Id,
            expected: Option<i64>,
            doc: serde_json::Value,
        ) -> Result<Self::Record, palisade_store::StoreError> {
            use $store as store;
            store::update(conn, actor, model, id, expected, |cur| {
                Ok($crate::patch::apply(&cur.fields, doc)?)
            })
        }
    };
    (@delete $store:path) => {
        fn delete(
            conn: &mut palisade_store::DbConn,
            actor: &palisade_store::Actor,
            model: palisade_domain::ids::ModelId,
            id: Self::Id,
            expected: Option<i64>,
            _: $crate::resource::NoParams,
        ) -> Result<(), palisade_store::StoreError> {
            use $store as store;
            store::delete(conn, actor, model, id, expected)
        }
    };
    (@create_get_list $store:path) => {
        fn create(
            conn: &mut palisade_store::DbConn,
            actor: &palisade_store::Actor,
            model: palisade_domain::ids::ModelId,
            fields: Self::Fields,
        ) -> Result<Self::Record, palisade_store::StoreError> {
            use $store as store;
            store::create(conn, actor, model, fields)
        }

        fn get(
            conn: &mut palisade_store::DbConn,
            org: palisade_domain::ids::OrgId,
            model: palisade_domain::ids::ModelId,
            id: Self::Id,
        ) -> Result<Self::Record, palisade_store::StoreError> {
            use $store as store;
            store::get(conn, org, model, id)
        }

        fn list(
            conn: &mut palisade_store::DbConn,
            org: palisade_domain::ids::OrgId,
            model: palisade_domain::ids::ModelId,
            filter: &Self::Filter,
            page: &palisade_store::PageRequest,
        ) -> Result<palisade_store::Page<Self::Record>, palisade_store::StoreError> {
            use $store as store;
            store::list(conn, org, model, filter, page)
        }

    };
}
pub(crate) use store_calls;

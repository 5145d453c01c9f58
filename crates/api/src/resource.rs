//! One shape for every resource. A resource declares its types and its
//! store calls once (`Resource`); the five CRUD handlers are generic over
//! it, and `resource!` writes their routes and OpenAPI operations from one
//! declaration. Where the records live (the organisation, a model, a tree)
//! is the resource's `Parent`. A resource with more (attack trees: an
//! evaluation and a diagram) adds its own handlers beside these.

use std::fmt::Display;
use std::str::FromStr;

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::{ModelId, OrgId};
use palisade_store::{Actor, DbConn, PageRequest, StoreError};
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

/// Where a resource's records live: read from the path parameters before
/// the record's own id.
pub trait Parent: Copy + Send + 'static {
    fn from_path(req: &HttpRequest) -> Result<Self, ApiError>;
    /// The URL its collections hang from.
    fn url(&self) -> String;
}

/// A path parameter as an id; one that is not an id names nothing (404).
pub fn path_param<T: FromStr>(req: &HttpRequest, name: &str) -> Result<T, ApiError> {
    path_id(req.match_info().get(name).unwrap_or_default())
}

/// Records of the caller's organisation: `/api/v1/{SEGMENT}`.
#[derive(Debug, Clone, Copy)]
pub struct InOrg;

impl Parent for InOrg {
    fn from_path(_: &HttpRequest) -> Result<Self, ApiError> {
        Ok(InOrg)
    }
    fn url(&self) -> String {
        "/api/v1".into()
    }
}

/// Records of a model: `/api/v1/models/{model_id}/{SEGMENT}`.
impl Parent for ModelId {
    fn from_path(req: &HttpRequest) -> Result<Self, ApiError> {
        path_param(req, "model_id")
    }
    fn url(&self) -> String {
        format!("/api/v1/models/{self}")
    }
}

/// A kind of record served at `{parent}/{SEGMENT}` and `…/{SEGMENT}/{id}`.
pub trait Resource: 'static {
    type Parent: Parent;
    type Record: Serialize + Versioned + Send + 'static;
    type Id: FromStr + Display + Copy + Send + 'static;
    /// A create's body as sent.
    type Input: DeserializeOwned + 'static;
    /// What the store writes, judged before anything is stored.
    type Fields: Send + 'static;
    /// An update's body, judged before the store is called: a JSON merge
    /// patch for most, the whole new document for a replace.
    type Change: Send + 'static;
    /// The list's query parameters: filters, sort, count, page.
    type Params: DeserializeOwned + 'static;
    /// What the list's parameters become for the store.
    type Filter: Send + 'static;
    /// The list's response: a page of records (or of their summaries).
    type List: Serialize + Send + 'static;
    /// The delete's query parameters (`NoParams` for none).
    type DeleteParams: DeserializeOwned + Send + 'static;
    const SEGMENT: &'static str;

    fn fields(input: Self::Input) -> Result<Self::Fields, ApiError>;
    fn change(body: Value) -> Result<Self::Change, ApiError>;
    fn query(params: Self::Params) -> Result<(PageRequest, Self::Filter), ApiError>;
    fn id_of(record: &Self::Record) -> Self::Id;

    /// `expected` is the parent's If-Match where a create changes the
    /// parent's version (a tree's nodes); others ignore it.
    fn create(
        conn: &mut DbConn,
        actor: &Actor,
        parent: Self::Parent,
        expected: Option<i64>,
        fields: Self::Fields,
    ) -> Result<Self::Record, StoreError>;
    fn get(
        conn: &mut DbConn,
        org: OrgId,
        parent: Self::Parent,
        id: Self::Id,
    ) -> Result<Self::Record, StoreError>;
    fn list(
        conn: &mut DbConn,
        org: OrgId,
        parent: Self::Parent,
        filter: &Self::Filter,
        page: &PageRequest,
    ) -> Result<Self::List, StoreError>;
    /// Applies the change, guarded by `expected` (the If-Match).
    fn update(
        conn: &mut DbConn,
        actor: &Actor,
        parent: Self::Parent,
        id: Self::Id,
        expected: Option<i64>,
        change: Self::Change,
    ) -> Result<Self::Record, StoreError>;
    fn delete(
        conn: &mut DbConn,
        actor: &Actor,
        parent: Self::Parent,
        id: Self::Id,
        expected: Option<i64>,
        params: Self::DeleteParams,
    ) -> Result<(), StoreError>;
}

/// The query of a delete whose record interactions may use.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CascadeParams {
    /// Also delete the interactions that use the record (default false: refuse with 409).
    pub cascade: Option<bool>,
}

/// The query of a delete that takes none: any parameter is refused.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoParams {}

fn ids<R: Resource>(req: &HttpRequest, id: &str) -> Result<(R::Parent, R::Id), ApiError> {
    Ok((R::Parent::from_path(req)?, path_param(req, id)?))
}

pub async fn create<R: Resource>(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey,
    body: JsonBody<R::Input>,
) -> Result<HttpResponse, ApiError> {
    let parent = R::Parent::from_path(&req)?;
    let fields = R::fields(body.value)?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| R::create(c, &actor, parent, if_match.0, fields))
            .await?;
        let url = format!("{}/{}/{}", parent.url(), R::SEGMENT, R::id_of(&created));
        Created::versioned(url, &created)
    })
    .await
}

pub async fn list<R: Resource>(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: StrictQuery<R::Params>,
) -> Result<HttpResponse, ApiError> {
    let parent = R::Parent::from_path(&req)?;
    let (page, filter) = R::query(query.0)?;
    let org = auth.org.id;
    let list = state
        .db(move |c| R::list(c, org, parent, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

pub async fn get<R: Resource>(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: &'static str,
) -> Result<HttpResponse, ApiError> {
    let (parent, id) = ids::<R>(&req, id)?;
    let org = auth.org.id;
    let found = state.db(move |c| R::get(c, org, parent, id)).await?;
    Ok(versioned(&found))
}

pub async fn update<R: Resource>(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    id: &'static str,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (parent, id) = ids::<R>(&req, id)?;
    let change = R::change(body.value)?;
    let actor = auth.actor();
    let updated = state
        .db(move |c| R::update(c, &actor, parent, id, if_match.0, change))
        .await?;
    Ok(versioned(&updated))
}

pub async fn delete<R: Resource>(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    id: &'static str,
    if_match: IfMatch,
    query: StrictQuery<R::DeleteParams>,
) -> Result<HttpResponse, ApiError> {
    let (parent, id) = ids::<R>(&req, id)?;
    let actor = auth.actor();
    let params = query.0;
    state
        .db(move |c| R::delete(c, &actor, parent, id, if_match.0, params))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Declares a resource's routes and OpenAPI operations: one handler per
/// operation (named, documented, calling the generic one) and a routes
/// function. The first word says where the records live (`in_org`,
/// `in_model`, `in_tree`), which gives the path parameters before the id.
/// Literals are passed as token trees so the OpenAPI macro sees them as
/// written.
macro_rules! resource {
    (in_org $($rest:tt)*) => {
        $crate::resource::resource!(@ops
            parent: [],
            create_headers: [],
            etag: "Its version",
            conflicts: [],
            $($rest)*);
    };
    (in_model $($rest:tt)*) => {
        $crate::resource::resource!(@ops
            parent: [("model_id" = uuid::Uuid, Path, description = "The model's id")],
            create_headers: [],
            etag: "Its version",
            conflicts: [(status = 409, description = "Other records depend on it; the message names them", body = $crate::error::Problem, content_type = "application/problem+json")],
            $($rest)*);
    };
    (in_tree $($rest:tt)*) => {
        $crate::resource::resource!(@ops
            parent: [("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id")],
            create_headers: [("If-Match" = Option<String>, Header, description = "The tree's ETag last seen; a stale one is refused with 412")],
            etag: "The tree's version",
            conflicts: [(status = 409, description = "The change would break the tree; the message says why", body = $crate::error::Problem, content_type = "application/problem+json")],
            $($rest)*);
    };
    (@ops
        parent: [$($pp:tt),*],
        create_headers: [$($ch:tt),*],
        etag: $etag:tt,
        conflicts: [$($conflict:tt),*],
        $resource:ty,
        routes: $routes:ident,
        doc: $doc:ident,
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
        update: ($method:ident, $update:ident, $update_op:tt, $update_doc:tt),
        delete: ($delete:ident, $delete_op:tt, $delete_doc:tt) $(,)?
    ) => {
        /// The five operations `$routes` serves, for the document: named by
        /// the same invocation that routes them.
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($create, $list_fn, $get, $update, $delete))]
        pub struct $doc;

        pub fn $routes(cfg: &mut actix_web::web::ServiceConfig) {
            use actix_web::web;
            cfg.service(
                $crate::routes::resource($collection)
                    .route(web::post().to($create))
                    .route(web::get().to($list_fn)),
            )
            .service(
                $crate::routes::resource($item)
                    .route(web::get().to($get))
                    .route(web::$method().to($update))
                    .route(web::delete().to($delete)),
            );
        }

        #[doc = $create_doc]
        #[utoipa::path(post, path = $collection, operation_id = $create_op, tag = $tag,
            request_body = $input,
            params($($pp,)* $($ch,)*
                   ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
            responses((status = 201, description = "Created", body = $record,
                headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = $etag)))),
            security(("api_key" = [])))]
        pub async fn $create(
            state: actix_web::web::Data<$crate::state::AppState>,
            editor: $crate::auth::Editor,
            req: actix_web::HttpRequest,
            if_match: $crate::extract::IfMatch,
            idempotency_key: $crate::extract::IdempotencyKey,
            body: $crate::extract::JsonBody<<$resource as $crate::resource::Resource>::Input>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::create::<$resource>(state, editor, req, if_match, idempotency_key, body).await
        }

        #[doc = $list_doc]
        #[utoipa::path(get, path = $collection, operation_id = $list_op, tag = $tag,
            params($($pp,)* $params),
            responses((status = 200, description = "A page", body = $list)),
            security(("api_key" = [])))]
        pub async fn $list_fn(
            state: actix_web::web::Data<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            req: actix_web::HttpRequest,
            query: $crate::extract::StrictQuery<$params>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::list::<$resource>(state, auth, req, query).await
        }

        #[doc = $get_doc]
        #[utoipa::path(get, path = $item, operation_id = $get_op, tag = $tag,
            params($($pp,)* ($id = uuid::Uuid, Path, description = "Its id")),
            responses((status = 200, description = "The record", body = $record, headers(("ETag" = String, description = $etag)))),
            security(("api_key" = [])))]
        pub async fn $get(
            state: actix_web::web::Data<$crate::state::AppState>,
            auth: $crate::auth::Auth,
            req: actix_web::HttpRequest,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::get::<$resource>(state, auth, req, $id).await
        }

        #[doc = $update_doc]
        #[utoipa::path($method, path = $item, operation_id = $update_op, tag = $tag,
            request_body = $patch,
            params($($pp,)* ($id = uuid::Uuid, Path, description = "Its id"),
                   ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
            responses((status = 200, description = "The changed record", body = $record, headers(("ETag" = String, description = $etag)))),
            security(("api_key" = [])))]
        pub async fn $update(
            state: actix_web::web::Data<$crate::state::AppState>,
            editor: $crate::auth::Editor,
            req: actix_web::HttpRequest,
            if_match: $crate::extract::IfMatch,
            body: $crate::extract::JsonBody<serde_json::Value>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::update::<$resource>(state, editor, req, $id, if_match, body).await
        }

        #[doc = $delete_doc]
        #[utoipa::path(delete, path = $item, operation_id = $delete_op, tag = $tag,
            params($($pp,)* ($id = uuid::Uuid, Path, description = "Its id"),
                   ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412"),
                   $delete_params),
            responses((status = 204, description = "Deleted") $(, $conflict)*),
            security(("api_key" = [])))]
        pub async fn $delete(
            state: actix_web::web::Data<$crate::state::AppState>,
            editor: $crate::auth::Editor,
            req: actix_web::HttpRequest,
            if_match: $crate::extract::IfMatch,
            query: $crate::extract::StrictQuery<$delete_params>,
        ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
            $crate::resource::delete::<$resource>(state, editor, req, $id, if_match, query).await
        }
    };
}
pub(crate) use resource;

/// The store calls of a model's resource: its record's `ModelWrites` and
/// `ModelReads` (create, get, update taking a change of the current
/// fields, delete) and its store module's `list`; written inside its
/// `Resource` impl. Updates apply the JSON merge patch to the current
/// fields.
macro_rules! store_calls {
    ($store:path) => {
        store_calls!(@crud $store);
        store_calls!(@delete $store);
    };
    (@crud $store:path) => {
        store_calls!(@create_get_list $store);
        store_calls!(@merge_patch);

        fn update(
            conn: &mut palisade_store::DbConn,
            actor: &palisade_store::Actor,
            model: palisade_domain::ids::ModelId,
            id: Self::Id,
            expected: Option<i64>,
            doc: serde_json::Value,
        ) -> Result<Self::Record, palisade_store::StoreError> {
            <Self::Record as palisade_store::ModelWrites>::update(conn, actor, model, id, expected, |cur| {
                Ok($crate::patch::apply(&cur.fields, doc)?)
            })
        }
    };
    (@merge_patch) => {
        type Change = serde_json::Value;

        fn change(body: serde_json::Value) -> Result<serde_json::Value, $crate::error::ApiError> {
            Ok(body)
        }
    };
    (@delete $store:path $(, $cascade:ident)?) => {
        /// `CascadeParams` where the kind takes `cascade`, else `NoParams`.
        type DeleteParams = store_calls!(@delete_params $($cascade)?);

        fn delete(
            conn: &mut palisade_store::DbConn,
            actor: &palisade_store::Actor,
            model: palisade_domain::ids::ModelId,
            id: Self::Id,
            expected: Option<i64>,
            _params: Self::DeleteParams,
        ) -> Result<(), palisade_store::StoreError> {
            let cascade = false $(|| _params.$cascade.unwrap_or(false))?;
            <Self::Record as palisade_store::ModelWrites>::delete(conn, actor, model, id, expected, cascade)
        }
    };
    (@delete_params) => { $crate::resource::NoParams };
    (@delete_params cascade) => { $crate::resource::CascadeParams };
    (@create_get_list $store:path) => {
        type Parent = palisade_domain::ids::ModelId;

        fn create(
            conn: &mut palisade_store::DbConn,
            actor: &palisade_store::Actor,
            model: palisade_domain::ids::ModelId,
            _: Option<i64>,
            fields: Self::Fields,
        ) -> Result<Self::Record, palisade_store::StoreError> {
            <Self::Record as palisade_store::ModelWrites>::create(conn, actor, model, fields)
        }

        fn get(
            conn: &mut palisade_store::DbConn,
            org: palisade_domain::ids::OrgId,
            model: palisade_domain::ids::ModelId,
            id: Self::Id,
        ) -> Result<Self::Record, palisade_store::StoreError> {
            <Self::Record as palisade_store::ModelReads>::get(conn, org, model, id)
        }

        fn list(
            conn: &mut palisade_store::DbConn,
            org: palisade_domain::ids::OrgId,
            model: palisade_domain::ids::ModelId,
            filter: &Self::Filter,
            page: &palisade_store::PageRequest,
        ) -> Result<Self::List, palisade_store::StoreError> {
            use $store as store;
            store::list(conn, org, model, filter, page).map(Into::into)
        }
    };
}
pub(crate) use store_calls;

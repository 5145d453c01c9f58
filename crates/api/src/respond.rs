//! Shared response shapes: ETags, `201 Created` with its idempotent replay,
//! and cursor pages.

use std::future::Future;

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use palisade_domain::asset::Asset;
use palisade_domain::model::Model;
use palisade_store::idempotency::{self, Reservation, StoredResponse};
use palisade_store::page::{DEFAULT_LIMIT, MAX_LIMIT};
use palisade_store::{Page, PageRequest};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::IdempotencyKey;
use crate::state::AppState;

/// Records that carry a version, sent as their ETag.
pub trait Versioned {
    fn version(&self) -> i64;
}

/// Every record type carries a `version` field.
macro_rules! versioned {
    ($($t:ty),+ $(,)?) => {
        $(impl Versioned for $t {
            fn version(&self) -> i64 {
                self.version
            }
        })+
    };
}

versioned!(
    Model,
    Asset,
    palisade_domain::threat_actor::ThreatActor,
    palisade_domain::tree::AttackTree,
    palisade_domain::tree::TreeNode,
    palisade_domain::environment::TrustZone,
    palisade_domain::environment::Party,
    palisade_domain::environment::Interaction,
    palisade_domain::threat::Threat,
    palisade_domain::threat::Control,
    palisade_domain::treatment::Treatment,
    palisade_domain::evaluation::EvaluationEntry,
    palisade_domain::integration::Integration,
    palisade_domain::webhook::Subscription,
);

pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// `200 OK` with the record and its ETag.
pub fn versioned<T: Serialize + Versioned>(record: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(record.version())))
        .json(record)
}

/// A created record, serialized once so that a replay answers byte for byte
/// what the first request got.
pub struct Created {
    stored: StoredResponse,
}

impl Created {
    pub fn new<T: Serialize>(
        location: String,
        etag: Option<String>,
        record: &T,
    ) -> Result<Self, ApiError> {
        let body = serde_json::to_string(record).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Created {
            stored: StoredResponse {
                status: 201,
                location: Some(location),
                etag,
                body,
            },
        })
    }

    /// A 202: the request is taken and its work is queued at `location`.
    pub fn accepted<T: Serialize>(location: String, record: &T) -> Result<Self, ApiError> {
        let mut created = Self::new(location, None, record)?;
        created.stored.status = 202;
        Ok(created)
    }

    pub fn versioned<T: Serialize + Versioned>(
        location: String,
        record: &T,
    ) -> Result<Self, ApiError> {
        Self::new(location, Some(etag(record.version())), record)
    }

    /// The 201 response, for a create that is never replayed.
    pub fn once(self) -> HttpResponse {
        respond(&self.stored, false)
    }
}

fn respond(stored: &StoredResponse, replayed: bool) -> HttpResponse {
    let mut response =
        HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED));
    response.content_type("application/json");
    if let Some(location) = &stored.location {
        response.insert_header((header::LOCATION, location.clone()));
    }
    if let Some(etag) = &stored.etag {
        response.insert_header((header::ETAG, etag.clone()));
    }
    if replayed {
        response.insert_header(("idempotent-replayed", "true"));
    }
    response.body(stored.body.clone())
}

/// Runs a create once per `Idempotency-Key`: a retry with the same key and
/// request gets the first response; the same key with another request, 422;
/// a retry while the first is still running, 409.
pub async fn create_once<F, Fut>(
    state: &AppState,
    auth: &Auth,
    key: IdempotencyKey,
    req: &HttpRequest,
    raw_body: &Bytes,
    create: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Created, ApiError>>,
{
    let Some(key) = key.0 else {
        return create().await.map(|c| respond(&c.stored, false));
    };
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.path());
    hasher.update(b"\n");
    hasher.update(raw_body);
    let hash = hex::encode(hasher.finalize());

    let org = auth.org.id;
    let k = key.clone();
    match state
        .db(move |c| idempotency::reserve(c, org, &k, &hash))
        .await?
    {
        Reservation::Replay(stored) => return Ok(respond(&stored, true)),
        Reservation::Mismatch => return Err(ApiError::IdempotencyKeyReused),
        Reservation::InProgress => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still being processed; retry shortly"
                    .into(),
            ))
        }
        Reservation::Reserved => {}
    }
    match create().await {
        Ok(created) => {
            let stored = created.stored.clone();
            let k = key.clone();
            if let Err(e) = state
                .db(move |c| idempotency::complete(c, org, &k, &stored))
                .await
            {
                tracing::warn!(error = %e, "could not remember the idempotent response");
            }
            Ok(respond(&created.stored, false))
        }
        Err(err) => {
            if let Err(e) = state.db(move |c| idempotency::release(c, org, &key)).await {
                tracing::warn!(error = %e, "could not release the idempotency key");
            }
            Err(err)
        }
    }
}

/// `limit` and `cursor` from a query string, checked.
pub fn page_request(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be 1 to {MAX_LIMIT} (got {limit})"),
        ));
    }
    // A cursor is the id of the last record seen (ids are time-ordered):
    // any id is a valid position, so the document can state its shape.
    let after = cursor
        .map(|c| {
            uuid::Uuid::try_parse(c)
                .ok()
                .filter(|_| c.len() == 36)
                .map(|u| u.hyphenated().to_string())
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API returned"))
        })
        .transpose()?;
    Ok(PageRequest {
        after,
        limit,
        ..PageRequest::default()
    })
}

/// A list request: its page, order and whether to count.
pub fn list_request(
    limit: Option<i64>,
    cursor: Option<&str>,
    sort: Option<palisade_store::Sort>,
    count: Option<bool>,
) -> Result<PageRequest, ApiError> {
    Ok(PageRequest {
        sort,
        count: count.unwrap_or(false),
        ..page_request(limit, cursor)?
    })
}

pub fn next_cursor<T>(page: &Page<T>) -> Option<String> {
    page.next_after.clone()
}

/// A page of `$item`s: `{items, next_cursor}`; `next_cursor` is `null` on the last page.
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        $crate::respond::list_type!($name, $item, described as $item);
    };
    // For records whose schema is written apart from their type.
    ($name:ident, $item:ty, described as $doc:ty) => {
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            #[schema(value_type = Vec<$doc>)]
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; `null` when this is the last.
            pub next_cursor: Option<String>,
            /// With `count=true`: how many records the filters select, across pages.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[schema(minimum = 0)]
            pub total: Option<i64>,
        }

        impl From<palisade_store::Page<$item>> for $name {
            fn from(page: palisade_store::Page<$item>) -> Self {
                let next_cursor = $crate::respond::next_cursor(&page);
                $name {
                    items: page.items,
                    next_cursor,
                    total: page.total,
                }
            }
        }
    };
}
pub(crate) use list_type;

/// A list's `sort` parameter: one of its keys, `-` before it for
/// descending. Parsed into the store's `Sort`; documented as the string
/// enum of every accepted value.
macro_rules! sort_keys {
    ($name:ident { $($key:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub palisade_store::Sort);

        impl $name {
            const KEYS: &'static [&'static str] = &[$($key),+];
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(d)?;
                let (descending, wanted) = match text.strip_prefix('-') {
                    Some(k) => (true, k),
                    None => (false, text.as_str()),
                };
                match $name::KEYS.iter().find(|k| **k == wanted) {
                    Some(key) => Ok($name(palisade_store::Sort { key, descending })),
                    None => Err(serde::de::Error::custom(format!(
                        "cannot sort by {text:?}: one of {}, each also with `-` for descending",
                        $name::KEYS.join(", ")
                    ))),
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let values: Vec<String> = $name::KEYS
                    .iter()
                    .flat_map(|k| [k.to_string(), format!("-{k}")])
                    .collect();
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(
                        "The order: a field, or `-field` for descending; ties by id (default: by id).",
                    ))
                    .enum_values(Some(values))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use sort_keys;

/// A list's query parameters: its filters as declared, then `sort` (from
/// the keys given), `count`, `limit` and `cursor`, which every list takes.
macro_rules! list_params {
    ($name:ident sorted by $sort:ident { $($key:literal),+ $(,)? }
     { $($(#[$meta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $crate::respond::sort_keys!($sort { $($key),+ });

        #[derive(serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            $($(#[$meta])* pub $field: $ty,)*
            /// The order; ties go by id.
            #[param(inline)]
            pub sort: Option<$sort>,
            /// `true` adds `total`: how many records the filters select.
            pub count: Option<bool>,
            /// Page size, 1–500 (default 50).
            pub limit: Option<i64>,
            /// `next_cursor` of the previous page.
            pub cursor: Option<String>,
        }

        impl $name {
            /// The page, order and count asked for.
            pub fn page(&self) -> Result<palisade_store::PageRequest, $crate::error::ApiError> {
                $crate::respond::list_request(
                    self.limit,
                    self.cursor.as_deref(),
                    self.sort.map(|s| s.0),
                    self.count,
                )
            }
        }
    };
}
pub(crate) use list_params;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_named() {
        let id = uuid::Uuid::now_v7().to_string();
        let page = Page {
            items: vec![1],
            next_after: Some(id.clone()),
            total: None,
        };
        let cursor = next_cursor(&page).unwrap();
        assert_eq!(
            page_request(Some(10), Some(&cursor)).unwrap().after,
            Some(id)
        );
        for bad in ["%%%", "bm90LWEtdXVpZA"] {
            match page_request(None, Some(bad)) {
                Err(ApiError::Validation(e)) => assert_eq!(e.0[0].field, "cursor"),
                _ => panic!("{bad} accepted"),
            }
        }
    }

    #[test]
    fn limits_outside_one_to_five_hundred_are_refused() {
        assert_eq!(page_request(None, None).unwrap().limit, 50);
        assert_eq!(page_request(Some(500), None).unwrap().limit, 500);
        assert!(page_request(Some(0), None).is_err());
        assert!(page_request(Some(501), None).is_err());
    }
}

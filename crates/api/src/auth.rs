//! Bearer API keys. A key acts for one organisation with one role.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use palisade_domain::org::{ApiKey, Organization};
use palisade_store::{api_keys, Actor};

use crate::error::ApiError;
use crate::observe::RequestId;
use crate::state::AppState;

pub struct Auth {
    pub key: ApiKey,
    pub org: Organization,
    pub request_id: Option<String>,
}

impl Auth {
    pub fn actor(&self) -> Actor {
        Actor {
            org_id: self.org.id,
            key_id: Some(self.key.id),
            request_id: self.request_id.clone(),
            role: self.key.role,
        }
    }

    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.key.role.can_write() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} key cannot change records; an editor or owner key can",
                self.key.role
            )))
        }
    }

    pub fn require_owner(&self) -> Result<(), ApiError> {
        if self.key.role.can_manage_keys() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} key cannot manage API keys; an owner key can",
                self.key.role
            )))
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no application state".into()))?;
            let token = token.ok_or(ApiError::Unauthorized)?;
            let found = state
                .db(move |conn| api_keys::authenticate(conn, &token))
                .await?;
            let (key, org) = found.ok_or(ApiError::Unauthorized)?;
            tracing::Span::current().record("org_id", tracing::field::display(org.id));
            Ok(Auth {
                key,
                org,
                request_id,
            })
        })
    }
}

/// A key allowed to change records (editor or owner). Checked while the
/// request is extracted, so a viewer gets 403 before its body is read.
pub struct Editor(pub Auth);

/// A key allowed to manage API keys (owner).
pub struct Owner(pub Auth);

macro_rules! role_extractor {
    ($name:ident, $check:ident) => {
        impl FromRequest for $name {
            type Error = ApiError;
            type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let auth = Auth::from_request(req, payload);
                Box::pin(async move {
                    let auth = auth.await?;
                    auth.$check()?;
                    Ok($name(auth))
                })
            }
        }
    };
}

role_extractor!(Editor, require_write);
role_extractor!(Owner, require_owner);

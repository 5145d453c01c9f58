//! One error type for every handler, mapped once to RFC 9457 problem+json.
//! `code` is stable: clients may branch on it.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use palisade_domain::{FieldError, ValidationErrors};
use palisade_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("a valid API key is required: send `Authorization: Bearer <key>`")]
    Unauthorized,
    /// An inbound webhook whose signature is missing, wrong or stale.
    #[error("the webhook's signature is not valid: {0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such resource")]
    NotFound,
    #[error("{detail}")]
    MalformedRequest {
        detail: String,
        field: Option<String>,
    },
    #[error("the request is not valid: {0}")]
    Validation(ValidationErrors),
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the body must be JSON: send `Content-Type: application/json` (with curl, `--json` or `-H 'Content-Type: application/json'`)")]
    UnsupportedMediaType,
    /// A body type other than the ones an endpoint reads, which it names.
    #[error("{0}")]
    UnsupportedMediaTypeOf(String),
    /// An `Accept` the endpoint cannot answer.
    #[error("{0}")]
    NotAcceptable(String),
    #[error("If-Match names another version: the record is at version {current}")]
    PreconditionFailed { current: i64 },
    #[error("{0}")]
    Conflict(String),
    /// A status move the state machine does not allow; `allowed` lists
    /// the moves from the current status.
    #[error("{message}")]
    IllegalTransition {
        message: String,
        allowed: Vec<String>,
    },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(field, message))
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadSignature(_) => "invalid_signature",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MalformedRequest { .. } => "malformed_request",
            ApiError::Validation(_) => "validation_failed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType | ApiError::UnsupportedMediaTypeOf(_) => {
                "unsupported_media_type"
            }
            ApiError::NotAcceptable(_) => "not_acceptable",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::Conflict(_) => "conflict",
            ApiError::IllegalTransition { .. } => "illegal_transition",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "Unauthorized",
            ApiError::BadSignature(_) => "Invalid signature",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::MalformedRequest { .. } => "Malformed request",
            ApiError::Validation(_) => "Validation failed",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::UnsupportedMediaType | ApiError::UnsupportedMediaTypeOf(_) => {
                "Unsupported media type"
            }
            ApiError::NotAcceptable(_) => "Not acceptable",
            ApiError::PreconditionFailed { .. } => "Precondition failed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::IllegalTransition { .. } => "Illegal transition",
            ApiError::IdempotencyKeyReused => "Idempotency key reused",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    pub fn problem(&self) -> Problem {
        let errors = match self {
            ApiError::Validation(e) => Some(e.0.clone()),
            ApiError::IdempotencyKeyReused => Some(vec![FieldError {
                field: "Idempotency-Key".into(),
                message: "already used with a different method, path or body".into(),
            }]),
            ApiError::MalformedRequest {
                field: Some(f),
                detail,
            } => Some(vec![FieldError {
                field: f.clone(),
                message: detail.clone(),
            }]),
            _ => None,
        };
        Problem {
            problem_type: format!("urn:palisade:problem:{}", self.code()),
            title: self.title().to_string(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            code: self.code().to_string(),
            errors,
            allowed: match self {
                ApiError::IllegalTransition { allowed, .. } => Some(allowed.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized | ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MalformedRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType | ApiError::UnsupportedMediaTypeOf(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::Conflict(_) | ApiError::IllegalTransition { .. } => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response.insert_header((header::RETRY_AFTER, "5"));
        }
        response.json(self.problem())
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:palisade:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, the last part of `type`.
    pub code: String,
    /// For validation problems: each offending field and what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For an illegal transition: the statuses the record may move to from
    /// where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed { current },
            StoreError::Invalid(errors) => ApiError::Validation(errors),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Forbidden(message) => ApiError::Forbidden(message),
            StoreError::IllegalMove(refused) => ApiError::IllegalTransition {
                message: refused.to_string(),
                allowed: refused
                    .allowed
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            },
            StoreError::Unavailable(message) => ApiError::Unavailable(message),
            e @ (StoreError::Corrupt(_) | StoreError::Database(_) | StoreError::Migration(_)) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Validation(e)
    }
}

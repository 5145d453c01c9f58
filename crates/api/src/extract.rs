//! Extractors every handler shares, so each convention of the HTTP contract
//! (body limit, JSON errors naming the field, If-Match, Idempotency-Key,
//! strict query strings) is implemented once.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use palisade_domain::validation::{forbidden_message, is_forbidden_char};

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body, read up to the configured limit and parsed strictly.
/// Keeps the raw bytes for the idempotency fingerprint.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<actix_web::web::Data<AppState>>()
            .map_or(4 * 1024 * 1024, |s| s.config.max_body_bytes);
        let content_type_ok = is_json_content_type(req);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared_len.is_some_and(|n| n > limit) {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            let raw = read_limited(&mut payload, limit).await?;
            let value = parse_json(&raw)?;
            Ok(JsonBody { value, raw })
        })
    }
}

/// JSON unless the client says otherwise: a missing Content-Type is
/// accepted, a non-JSON one is refused.
fn is_json_content_type(req: &HttpRequest) -> bool {
    match req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        None => true,
        Some(ct) => {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        }
    }
}

pub(crate) async fn read_limited<S, E>(payload: &mut S, limit: usize) -> Result<Bytes, ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::MalformedRequest {
            detail: format!("the body could not be read: {e}"),
            field: None,
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses JSON so that every failure names its place: syntax errors are
/// 400 with line and column; type, enum, range and missing or unknown
/// field errors are 422 with the field's path.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedRequest {
            detail: "the body is empty; a JSON object is expected".into(),
            field: None,
        });
    }
    refuse_control_characters(raw)?;
    let de = &mut serde_json::Deserializer::from_slice(raw);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(value) => Ok(value),
        // JSON Schema counts 2.0 as an integer, so an integer field takes it:
        // only then is the body read a second time.
        Err(err) if err.inner().classify() == serde_json::error::Category::Data => {
            let mut value = match serde_json::from_slice::<serde_json::Value>(raw) {
                Ok(value) => value,
                Err(_) => return Err(deserialize_error(err, raw)),
            };
            if integral_floats_to_integers(&mut value) {
                serde_path_to_error::deserialize::<_, T>(value)
                    .map_err(|again| deserialize_error(again, raw))
            } else {
                Err(deserialize_error(err, raw))
            }
        }
        Err(err) => Err(deserialize_error(err, raw)),
    }
}

/// Replaces every float with no fractional part by the same integer;
/// says whether anything changed.
fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                *value = serde_json::Value::from(f as i64);
                true
            }
            _ => false,
        },
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| integral_floats_to_integers(v) | changed),
        serde_json::Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| integral_floats_to_integers(v) | changed),
        _ => false,
    }
}

fn deserialize_error(err: serde_path_to_error::Error<serde_json::Error>, raw: &[u8]) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let (field, message) = name_field(&path, &inner.to_string());
            ApiError::field(&field, message)
        }
        // serde_json reports a wrong type for an enum (a number where
        // a name is expected) as a syntax error: tell them apart by
        // whether the body is JSON at all.
        _ if serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok() => {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            ApiError::field(
                &field,
                "has the wrong type: expected one of the values this field takes",
            )
        }
        _ => ApiError::MalformedRequest {
            detail: format!("the body is not valid JSON: {inner}"),
            field: None,
        },
    }
}

/// Text fields take no control characters but tab, newline and carriage
/// return. JSON can carry them only as `\u` escapes or as raw DEL and C1
/// characters, so a body without those is passed over without a second parse.
fn refuse_control_characters(raw: &[u8]) -> Result<(), ApiError> {
    let suspicious = raw.contains(&0x7f)
        || raw
            .windows(2)
            .any(|w| w == b"\\u" || (w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1])));
    if !suspicious {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(raw) else {
        return Ok(()); // the typed parse names the syntax error
    };
    let errors = palisade_domain::validation::control_characters(&value);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// serde reports a missing or unknown field at its parent's path; name the
/// field itself, and drop serde's position suffix from the message.
fn name_field(path: &str, message: &str) -> (String, String) {
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(m, _)| m)
        .to_string();
    let parent = if path == "." { "" } else { path };
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(marker) {
            if let Some(name) = rest.split('`').next() {
                let field = if parent.is_empty() {
                    name.to_string()
                } else if parent == name || parent.ends_with(&format!(".{name}")) {
                    parent.to_string()
                } else {
                    format!("{parent}.{name}")
                };
                return (field, message.clone());
            }
        }
    }
    let field = if parent.is_empty() {
        "body".to_string()
    } else {
        parent.to_string()
    };
    (field, message)
}

/// A query string parsed strictly: an unknown parameter is a 422 naming
/// it, so a misspelt filter never silently returns everything.
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for StrictQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        if let Some((name, value)) = pairs
            .clone()
            .find(|(k, v)| k.chars().chain(v.chars()).any(is_forbidden_char))
        {
            let c = name
                .chars()
                .chain(value.chars())
                .find(|c| is_forbidden_char(*c))
                .unwrap_or('\0');
            return std::future::ready(Err(ApiError::field(&name, forbidden_message(c))));
        }
        let de = serde_urlencoded::Deserializer::new(pairs);
        let result = serde_path_to_error::deserialize::<_, T>(de)
            .map(StrictQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let (field, message) = name_field(&path, &err.into_inner().to_string());
                let field = if field == "body" {
                    "query".to_string()
                } else {
                    field
                };
                ApiError::field(&field, message)
            });
        std::future::ready(result)
    }
}

/// `If-Match: "3"` (or `W/"3"`, or `3`): the version the client last saw.
/// `*` or no header means "whatever is current".
pub struct IfMatch(pub Option<i64>);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => {
                let text = value.to_str().unwrap_or("").trim();
                if text == "*" {
                    Ok(IfMatch(None))
                } else {
                    let tag = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
                    tag.parse::<i64>().map(|v| IfMatch(Some(v))).map_err(|_| {
                        ApiError::field("If-Match", "must be the record's ETag, for example \"3\"")
                    })
                }
            }
        };
        std::future::ready(result)
    }
}

pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// `Idempotency-Key`: 1–255 visible ASCII characters.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(value) => match value.to_str() {
                Ok(key)
                    if !key.is_empty()
                        && key.len() <= IDEMPOTENCY_KEY_MAX
                        && key.bytes().all(|b| b.is_ascii_graphic()) =>
                {
                    Ok(IdempotencyKey(Some(key.to_string())))
                }
                _ => Err(ApiError::field(
                    "Idempotency-Key",
                    "must be 1–255 visible ASCII characters",
                )),
            },
        };
        std::future::ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_domain::asset::AssetFields;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::Validation(e) => e.0[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_json_failure_names_its_field() {
        let missing = parse_json::<AssetFields>(br#"{"kind":"data"}"#).unwrap_err();
        assert_eq!(field_of(missing), "name");
        let unknown =
            parse_json::<AssetFields>(br#"{"name":"a","kind":"data","colour":1}"#).unwrap_err();
        assert_eq!(field_of(unknown), "colour");
        let bad_enum = parse_json::<AssetFields>(br#"{"name":"a","kind":"dta"}"#).unwrap_err();
        assert_eq!(field_of(bad_enum), "kind");
        let nested = parse_json::<AssetFields>(
            br#"{"name":"a","kind":"data","cia":{"confidentiality":"high","integrity":"x","availability":"low"}}"#,
        )
        .unwrap_err();
        assert_eq!(field_of(nested), "cia.integrity");
        let nested_missing = parse_json::<AssetFields>(
            br#"{"name":"a","kind":"data","cia":{"confidentiality":"high"}}"#,
        )
        .unwrap_err();
        assert_eq!(field_of(nested_missing), "cia.integrity");
        let range =
            parse_json::<AssetFields>(br#"{"name":"a","kind":"data","business_criticality":300}"#)
                .unwrap_err();
        assert_eq!(field_of(range), "business_criticality");
        let wrong_type =
            parse_json::<AssetFields>(br#"{"name":"a","kind":"data","tags":[1]}"#).unwrap_err();
        assert_eq!(field_of(wrong_type), "tags[0]");
        let enum_as_number = parse_json::<AssetFields>(br#"{"name":"a","kind":7}"#).unwrap_err();
        assert_eq!(field_of(enum_as_number), "kind");
        let not_object = parse_json::<AssetFields>(b"[]").unwrap_err();
        assert_eq!(field_of(not_object), "body");
    }

    #[test]
    fn an_integral_float_is_an_integer_as_json_schema_says() {
        let a =
            parse_json::<AssetFields>(br#"{"name":"a","kind":"data","business_criticality":3.0}"#)
                .unwrap();
        assert_eq!(a.business_criticality, Some(3));
        let half =
            parse_json::<AssetFields>(br#"{"name":"a","kind":"data","business_criticality":2.5}"#)
                .unwrap_err();
        assert_eq!(field_of(half), "business_criticality");
    }

    #[test]
    fn syntax_errors_are_malformed_requests() {
        assert!(matches!(
            parse_json::<AssetFields>(br#"{"name": "#),
            Err(ApiError::MalformedRequest { .. })
        ));
        assert!(matches!(
            parse_json::<AssetFields>(b""),
            Err(ApiError::MalformedRequest { .. })
        ));
    }
}

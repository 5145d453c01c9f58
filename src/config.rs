//! Configuration from the environment, checked once at start. A bad value
//! stops the process with one line naming the variable, not a panic trace.

use std::collections::HashMap;
use std::net::SocketAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    pub amqp_url: Option<String>,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    /// The largest model file an import reads (`PALISADE_MAX_IMPORT`).
    pub max_import_bytes: usize,
    pub db_pool_size: u32,
    pub worker_prefetch: u16,
    pub queue_prefix: String,
    /// The key that seals webhook secrets and ticketing tokens (base64 of
    /// 32 bytes); unset: a key file beside an SQLite database.
    pub secret_key: Option<String>,
    /// Lets webhooks and ticketing calls reach http:// and private or
    /// loopback addresses (development and tests only).
    pub outbound_allow_private: bool,
    /// The wait before a failed webhook delivery's first retry; later ones
    /// grow from it (5 s → 8 h with the default).
    pub webhook_backoff_ms: u64,
    /// Attempts at one delivery before the subscription is turned off.
    pub webhook_max_attempts: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}={value:?}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "palisade.db";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let bind_text = get("PALISADE_BIND").unwrap_or_else(|| DEFAULT_BIND.into());
        let bind = bind_text.parse().map_err(|_| ConfigError {
            var: "PALISADE_BIND",
            value: bind_text.clone(),
            reason: "not an address and port such as 127.0.0.1:8080".into(),
        })?;
        let amqp_url = get("AMQP_URL");
        if let Some(url) = &amqp_url {
            let reason = if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
                Some("must start with amqp:// or amqps://".to_string())
            } else {
                palisade_worker::check_url(url).err()
            };
            if let Some(reason) = reason {
                return Err(ConfigError {
                    var: "AMQP_URL",
                    value: palisade_worker::redact(url),
                    reason,
                });
            }
        }
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE.into());
        if let Err(reason) = check_database_url(&database_url) {
            return Err(ConfigError {
                var: "DATABASE_URL",
                value: palisade_worker::redact(&database_url),
                reason,
            });
        }
        let log_format = match get("PALISADE_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    var: "PALISADE_LOG_FORMAT",
                    value: other.into(),
                    reason: "must be text or json".into(),
                })
            }
        };
        let secret_key = get("PALISADE_SECRET_KEY");
        if let Some(key) = &secret_key {
            if palisade_store::sealed::Sealer::from_base64(key).is_err() {
                return Err(ConfigError {
                    var: "PALISADE_SECRET_KEY",
                    value: "(not shown)".into(),
                    reason:
                        "must be 32 bytes in base64, for example from `openssl rand -base64 32`"
                            .into(),
                });
            }
        }
        let outbound_allow_private = match get("PALISADE_OUTBOUND_ALLOW_PRIVATE").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError {
                    var: "PALISADE_OUTBOUND_ALLOW_PRIVATE",
                    value: other.into(),
                    reason: "must be true or false".into(),
                })
            }
        };
        Ok(Config {
            webhook_backoff_ms: number(&get, "PALISADE_WEBHOOK_BACKOFF_MS", 5000, 10, 3_600_000)?,
            webhook_max_attempts: number(&get, "PALISADE_WEBHOOK_MAX_ATTEMPTS", 10, 1, 50)?,
            secret_key,
            outbound_allow_private,
            bind,
            database_url,
            amqp_url,
            log_filter: get("PALISADE_LOG").unwrap_or_else(|| "info".into()),
            log_format,
            max_body_bytes: number(&get, "PALISADE_MAX_BODY", 4 * 1024 * 1024, 1024, 1 << 30)?,
            max_import_bytes: number(&get, "PALISADE_MAX_IMPORT", 64 * 1024 * 1024, 1024, 1 << 30)?,
            db_pool_size: number(&get, "PALISADE_DB_POOL_SIZE", 10, 1, 1000)?,
            worker_prefetch: number(&get, "PALISADE_WORKER_PREFETCH", 16, 1, 10_000)?,
            queue_prefix: get("PALISADE_QUEUE_PREFIX").unwrap_or_else(|| "palisade".into()),
        })
    }
}

/// A PostgreSQL URL is read whole (a port that is not a number, a broken
/// IPv6 address) so a typo is not mistaken for an unreachable server; any
/// other value is a SQLite file path.
fn check_database_url(url: &str) -> Result<(), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return url::Url::parse(url)
            .map(|_| ())
            .map_err(|e| format!("not a PostgreSQL URL: {e}"));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.trim().is_empty() {
            return Err("sqlite:// needs a file path".into());
        }
        return Ok(());
    }
    if url.contains("://") {
        return Err("must be postgres://…, sqlite://PATH or a SQLite file path".into());
    }
    Ok(())
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = get(var) else {
        return Ok(default);
    };
    match text.parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(ConfigError {
            var,
            value: text,
            reason: format!("must be a whole number from {min} to {max}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert_eq!(c.database_url, DEFAULT_DATABASE);
        assert_eq!(c.amqp_url, None);
        assert_eq!(c.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(c.max_import_bytes, 64 * 1024 * 1024);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn passwords_in_bad_urls_are_not_printed() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://app:hunter2@db/palisade"),
            ("AMQP_URL", "http://guest:hunter2@mq:5672/"),
        ] {
            let err = Config::from_vars(&vars(&[(var, value)])).unwrap_err();
            let printed = err.to_string();
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(
                printed.contains("app:***@db") || printed.contains("guest:***@mq"),
                "{printed}"
            );
        }
    }

    #[test]
    fn a_bad_secret_key_is_named_but_never_printed() {
        let err =
            Config::from_vars(&vars(&[("PALISADE_SECRET_KEY", "hunter2hunter2")])).unwrap_err();
        assert_eq!(err.var, "PALISADE_SECRET_KEY");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let key = palisade_store::sealed::Sealer::generate_key();
        let c = Config::from_vars(&vars(&[("PALISADE_SECRET_KEY", &key)])).unwrap();
        assert_eq!(c.secret_key.as_deref(), Some(key.as_str()));
        assert!(!c.outbound_allow_private);
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("PALISADE_BIND", "localhost"),
            ("AMQP_URL", "http://x"),
            ("DATABASE_URL", "mysql://x"),
            ("DATABASE_URL", "postgres://a:b@db:port/x"),
            ("DATABASE_URL", "sqlite://"),
            ("AMQP_URL", "amqp://guest:x@127.0.0.1:notaport/%2f"),
            ("AMQP_URL", "amqp://guest:x@127.0.0.1/%2f?frame_max=big"),
            ("PALISADE_LOG_FORMAT", "xml"),
            ("PALISADE_MAX_BODY", "lots"),
            ("PALISADE_WORKER_PREFETCH", "0"),
            ("PALISADE_OUTBOUND_ALLOW_PRIVATE", "sometimes"),
            ("PALISADE_WEBHOOK_MAX_ATTEMPTS", "0"),
            ("PALISADE_WEBHOOK_BACKOFF_MS", "soon"),
        ] {
            let err = Config::from_vars(&vars(&[(var, value)])).unwrap_err();
            assert_eq!(err.var, var);
            assert!(!err.to_string().contains('\n'), "one line: {err}");
        }
    }
}

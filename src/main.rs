//! `palisade`: the one binary. `serve` runs the API, `worker` consumes
//! jobs, `migrate` updates the schema, `openapi` prints the contract,
//! `keys create` makes an API key.

mod config;
mod demo;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use palisade_api::{ApiConfig, AppState, Dependency};
use palisade_domain::interchange::{self, ImportFormat, Syntax};
use palisade_domain::role::Role;
use palisade_store::{api_keys, orgs, Actor, Backend, Store};
use tracing_subscriber::EnvFilter;

use config::{Config, LogFormat};

#[derive(Parser)]
#[command(
    name = "palisade",
    version,
    about = "Threat modeling in six steps, as an HTTP API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (embedded SQLite and in-process jobs unless configured otherwise).
    Serve,
    /// Consume jobs from RabbitMQ (needs AMQP_URL).
    Worker,
    /// Apply pending database migrations.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Score assessments from JSON Lines on standard input, one result (or
    /// one error object) per line on standard output.
    Score {
        /// The method of every line (owasp, cvss31, cvss40, dread, nist, fair);
        /// without it, each line names its own `method`.
        #[arg(long)]
        method: Option<String>,
        /// Exit with status 1 when any line could not be scored.
        #[arg(long)]
        strict: bool,
    },
    /// Create the example model (a card-payments platform taken through
    /// all six steps) and write its evaluation report to a folder.
    Demo {
        /// The organisation to create it in (created if needed).
        #[arg(long, default_value = "demo")]
        org: String,
        /// Where the report files go.
        #[arg(long, default_value = "palisade-demo")]
        out: std::path::PathBuf,
    },
    /// Import a model from a file: Open Threat Model (otm), OWASP Threat
    /// Dragon v2 (threat-dragon), Threagile (threagile) or Palisade's own
    /// document (json). YAML when the file ends in .yaml or .yml. Prints the
    /// new model and the import report as JSON.
    Import {
        file: std::path::PathBuf,
        #[arg(long, value_parser = parse_format)]
        format: ImportFormat,
        /// The organisation to import into (created if needed).
        #[arg(long, default_value = "default")]
        org: String,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; the organisation is created if needed. The key is
    /// printed once, alone on the last line of standard output.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// What the key is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

fn parse_format(s: &str) -> Result<ImportFormat, String> {
    ImportFormat::parse(s)
        .ok_or_else(|| "must be otm, threat-dragon, threagile or json".to_string())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "must be owner, editor or viewer".to_string())
}

/// A failure the operator must see: one line, then a non-zero exit.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Other(String),
}

impl From<palisade_store::StoreError> for Failure {
    fn from(e: palisade_store::StoreError) -> Self {
        Failure::Other(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Config::from_env()
        .map_err(Failure::from)
        .and_then(|config| {
            init_tracing(&config)?;
            match cli.command {
                Command::Serve => serve(&config),
                Command::Worker => worker(&config),
                Command::Migrate => migrate(&config),
                Command::Openapi => {
                    print!("{}", palisade_api::openapi::document());
                    Ok(())
                }
                Command::Score { method, strict } => score_lines(method.as_deref(), strict),
                Command::Keys {
                    command: KeysCommand::Create { org, role, name },
                } => create_key(&config, &org, role, &name),
                Command::Demo { org, out } => demo(&config, &org, &out),
                Command::Import { file, format, org } => import_file(&config, &file, format, &org),
            }
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Drivers (libpq) put newlines in their messages; keep it one line.
            let message = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("palisade: {message}");
            match e {
                Failure::Config(_) => ExitCode::from(2),
                Failure::Other(_) => ExitCode::FAILURE,
            }
        }
    }
}

/// Logs go to standard error, so standard output stays for results
/// (`keys create`, `openapi`).
fn init_tracing(config: &Config) -> Result<(), Failure> {
    let filter = EnvFilter::try_new(&config.log_filter).map_err(|e| config::ConfigError {
        var: "PALISADE_LOG",
        value: config.log_filter.clone(),
        reason: e.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    result.map_err(|e| Failure::Other(format!("cannot start logging: {e}")))
}

fn describe_database(config: &Config) -> String {
    match Backend::from_url(&config.database_url) {
        Backend::Sqlite => format!("sqlite {}", config.database_url),
        Backend::Postgres => "postgres".to_string(),
    }
}

/// Opens the store. SQLite (the embedded default) is migrated on the spot;
/// PostgreSQL must be migrated by `palisade migrate`, so that several API
/// processes never race to change the schema.
fn open_store(config: &Config, auto_migrate_sqlite: bool) -> Result<Store, Failure> {
    let store = Store::open(&config.database_url, config.db_pool_size).map_err(|e| {
        Failure::Other(format!(
            "cannot open the database ({}): {e}",
            describe_database(config)
        ))
    })?;
    if store.backend() == Backend::Sqlite && auto_migrate_sqlite {
        store.migrate()?;
    } else {
        let pending = store.pending_migrations()?;
        if !pending.is_empty() {
            return Err(Failure::Other(format!(
                "the database schema is behind ({} migration(s) pending): run `palisade migrate`",
                pending.len()
            )));
        }
    }
    Ok(store)
}

struct Broker {
    url: String,
}

impl Dependency for Broker {
    fn name(&self) -> &'static str {
        "broker"
    }

    fn check(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(palisade_worker::ping(&self.url))
    }
}

/// The key that seals secrets: `PALISADE_SECRET_KEY`, else (embedded
/// mode) a key file beside the SQLite database, made on first use. With
/// PostgreSQL and no key, integrations and subscriptions answer 503.
fn sealer(config: &Config) -> Result<palisade_store::sealed::Sealer, Failure> {
    use palisade_store::sealed::Sealer;
    if let Some(key) = &config.secret_key {
        return Sealer::from_base64(key)
            .map_err(|e| Failure::Other(format!("PALISADE_SECRET_KEY {e}")));
    }
    if Backend::from_url(&config.database_url) == Backend::Postgres {
        tracing::warn!("PALISADE_SECRET_KEY is not set: integrations and webhook subscriptions cannot store their secrets");
        return Ok(Sealer::missing());
    }
    let db = config
        .database_url
        .strip_prefix("sqlite://")
        .unwrap_or(&config.database_url);
    let path = std::path::PathBuf::from(format!("{db}.key"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Sealer::generate_key();
            write_private(&path, &key).map_err(|e| {
                Failure::Other(format!("cannot write the key file {}: {e}", path.display()))
            })?;
            tracing::info!(path = %path.display(), "made the key file that seals secrets; back it up apart from the database");
            key
        }
        Err(e) => {
            return Err(Failure::Other(format!(
                "cannot read the key file {}: {e}",
                path.display()
            )))
        }
    };
    Sealer::from_base64(&text)
        .map_err(|e| Failure::Other(format!("the key file {} {e}", path.display())))
}

/// Creates a file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn outbound_policy(config: &Config) -> palisade_domain::webhook::OutboundPolicy {
    palisade_domain::webhook::OutboundPolicy {
        allow_private: config.outbound_allow_private,
    }
}

/// How the worker delivers webhooks, from the configuration.
fn delivery_settings(
    config: &Config,
    sealer: palisade_store::sealed::Sealer,
) -> Arc<palisade_worker::webhooks::Settings> {
    Arc::new(palisade_worker::webhooks::Settings {
        sealer,
        policy: outbound_policy(config),
        retry: palisade_store::webhooks::RetryPolicy {
            base: std::time::Duration::from_millis(config.webhook_backoff_ms),
            max_attempts: config.webhook_max_attempts,
        },
    })
}

fn serve(config: &Config) -> Result<(), Failure> {
    let store = open_store(config, true)?;
    let sealer = sealer(config)?;
    let listener = TcpListener::bind(config.bind)
        .map_err(|e| Failure::Other(format!("cannot listen on {}: {e}", config.bind)))?;
    let mut dependencies: Vec<Arc<dyn Dependency>> = Vec::new();
    if let Some(url) = &config.amqp_url {
        dependencies.push(Arc::new(Broker { url: url.clone() }));
    }
    start_job_transport(config, &store, delivery_settings(config, sealer.clone()))?;
    let state = AppState::new(
        store,
        ApiConfig {
            max_body_bytes: config.max_body_bytes,
            max_import_bytes: config.max_import_bytes,
            sealer,
            outbound: outbound_policy(config),
        },
        dependencies,
    );
    let jobs = match &config.amqp_url {
        Some(url) => format!("rabbitmq {}", palisade_worker::redact(url)),
        None => "in-process".to_string(),
    };
    tracing::info!(
        database = %describe_database(config),
        %jobs,
        "palisade listening on http://{}",
        listener.local_addr().map_or(config.bind, |a| a)
    );
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    actix_web::rt::System::new()
        .block_on(palisade_api::serve(state, listener, workers))
        .map_err(|e| Failure::Other(format!("the server stopped: {e}")))
}

/// Jobs leave the outbox in a thread of their own: relayed to RabbitMQ when
/// `AMQP_URL` is set, else run right here (embedded mode).
fn start_job_transport(
    config: &Config,
    store: &Store,
    deliveries: Arc<palisade_worker::webhooks::Settings>,
) -> Result<(), Failure> {
    let store = store.clone();
    let relay = config
        .amqp_url
        .clone()
        .map(|amqp_url| palisade_worker::WorkerConfig {
            amqp_url,
            queue_prefix: config.queue_prefix.clone(),
            prefetch: config.worker_prefetch,
        });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(format!("cannot start the job runtime: {e}")))?;
    std::thread::Builder::new()
        .name("palisade-jobs".into())
        .spawn(move || {
            let housekeeping = palisade_worker::housekeeping::run(
                store.clone(),
                || chrono::Utc::now().naive_utc(),
                palisade_worker::housekeeping::INTERVAL,
                std::future::pending(),
            );
            match relay {
                Some(worker_config) => runtime.block_on(async {
                    tokio::join!(
                        palisade_worker::outbox::relay(
                            worker_config,
                            store,
                            std::future::pending()
                        ),
                        housekeeping
                    );
                }),
                // Embedded: this process is the worker, so it sweeps
                // expiries and dispatches webhook deliveries too.
                None => runtime.block_on(async {
                    let expiry = palisade_worker::expiry::run(
                        store.clone(),
                        || chrono::Utc::now().date_naive(),
                        palisade_worker::expiry::INTERVAL,
                        std::future::pending(),
                    );
                    let dispatch = palisade_worker::webhooks::dispatch(
                        store.clone(),
                        palisade_worker::webhooks::TICK,
                        std::future::pending(),
                    );
                    tokio::join!(
                        palisade_worker::outbox::run_in_process(
                            store,
                            palisade_worker::Registry::standard_with(deliveries),
                            std::future::pending(),
                        ),
                        housekeeping,
                        expiry,
                        dispatch
                    );
                }),
            }
        })
        .map_err(|e| Failure::Other(format!("cannot start the job thread: {e}")))?;
    Ok(())
}

fn worker(config: &Config) -> Result<(), Failure> {
    let Some(amqp_url) = config.amqp_url.clone() else {
        return Err(config::ConfigError {
            var: "AMQP_URL",
            value: String::new(),
            reason: "`palisade worker` consumes jobs from RabbitMQ: set AMQP_URL (amqp://…)".into(),
        }
        .into());
    };
    let worker_config = palisade_worker::WorkerConfig {
        amqp_url,
        queue_prefix: config.queue_prefix.clone(),
        prefetch: config.worker_prefetch,
    };
    let store = open_store(config, true)?;
    let deliveries = delivery_settings(config, sealer(config)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(async {
            let expiry = tokio::spawn(palisade_worker::expiry::run(
                store.clone(),
                || chrono::Utc::now().date_naive(),
                palisade_worker::expiry::INTERVAL,
                std::future::pending(),
            ));
            let dispatch = tokio::spawn(palisade_worker::webhooks::dispatch(
                store.clone(),
                palisade_worker::webhooks::TICK,
                std::future::pending(),
            ));
            let consumed = palisade_worker::run(
                &worker_config,
                &store,
                &palisade_worker::Registry::standard_with(deliveries),
                shutdown_signal(),
            )
            .await;
            expiry.abort();
            dispatch.abort();
            consumed
        })
        .map_err(|e| Failure::Other(e.to_string()))
}

/// SIGTERM (orchestrators) or SIGINT (a terminal).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn migrate(config: &Config) -> Result<(), Failure> {
    let store = Store::open(&config.database_url, 1).map_err(|e| {
        Failure::Other(format!(
            "cannot open the database ({}): {e}",
            describe_database(config)
        ))
    })?;
    let applied = store.migrate()?;
    if applied.is_empty() {
        eprintln!("the database schema is up to date");
    } else {
        eprintln!(
            "applied {} migration(s): {}",
            applied.len(),
            applied.join(", ")
        );
    }
    Ok(())
}

/// The organisation `org` (created if needed) and an owner acting in it:
/// who a command run by the operator acts as.
fn operator(
    conn: &mut palisade_store::DbConn,
    org: &str,
) -> Result<(palisade_domain::org::Organization, Actor), Failure> {
    let organization = orgs::get_or_create(conn, org)?;
    let actor = Actor {
        org_id: organization.id,
        key_id: None,
        request_id: None,
        role: palisade_domain::role::Role::Owner,
    };
    Ok((organization, actor))
}

fn create_key(config: &Config, org: &str, role: Role, name: &str) -> Result<(), Failure> {
    let mut errors = palisade_domain::ValidationErrors::new();
    errors.check_name("--org", org);
    errors.check_name("--name", name);
    errors.finish().map_err(|e| Failure::Other(e.to_string()))?;
    let store = open_store(config, true)?;
    let mut conn = store.conn()?;
    let (organization, actor) = operator(&mut conn, org)?;
    let (key, secret) = api_keys::create(&mut conn, &actor, name, role)?;
    eprintln!(
        "created {} key {:?} ({}) for organisation {:?} ({}); it is shown once, below",
        role, key.name, key.id, organization.name, organization.id
    );
    println!("{secret}");
    Ok(())
}

/// `palisade import`: the same validation and the same single transaction
/// as `POST /api/v1/models/import`, within the same size limit.
fn import_file(
    config: &Config,
    file: &std::path::Path,
    format: ImportFormat,
    org: &str,
) -> Result<(), Failure> {
    let mut errors = palisade_domain::ValidationErrors::new();
    errors.check_name("--org", org);
    errors.finish().map_err(|e| Failure::Other(e.to_string()))?;
    let shown = file.display();
    let len = std::fs::metadata(file)
        .map_err(|e| Failure::Other(format!("{shown}: {e}")))?
        .len();
    if len > config.max_import_bytes as u64 {
        return Err(Failure::Other(format!(
            "{shown} is {len} bytes, over the import limit of {} (PALISADE_MAX_IMPORT)",
            config.max_import_bytes
        )));
    }
    let body = std::fs::read(file).map_err(|e| Failure::Other(format!("{shown}: {e}")))?;
    // `.otm` and other files may be either: JSON when they read as JSON.
    let syntax = match file.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => Syntax::Yaml,
        Some("json") => Syntax::Json,
        _ => Syntax::Detect,
    };
    let (plan, report) =
        interchange::import(format, &body, syntax, chrono::Utc::now()).map_err(|e| match e {
            interchange::ImportError::Invalid(errors) => Failure::Other(format!(
                "{shown} imports nothing: {}",
                errors
                    .0
                    .iter()
                    .map(|f| format!(
                        "{} {}",
                        if f.field.is_empty() { "/" } else { &f.field },
                        f.message
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            other => Failure::Other(format!("{shown}: {other}")),
        })?;
    let store = open_store(config, true)?;
    let mut conn = store.conn()?;
    let (_, actor) = operator(&mut conn, org)?;
    let model = palisade_store::import::import(&mut conn, &actor, &plan)?;
    let c = &report.counts;
    eprintln!(
        "imported {shown} as model {} in organisation {org:?}: {} assets, {} trust zones, {} parties, \
         {} interactions, {} threats, {} controls, {} treatments; {} notes",
        model.id,
        c.assets,
        c.trust_zones,
        c.parties,
        c.interactions,
        c.threats,
        c.controls,
        c.treatments,
        report.notes.len() + report.notes_omitted
    );
    let out = serde_json::json!({"model": model, "report": report});
    println!("{out}");
    Ok(())
}

fn demo(config: &Config, org: &str, out: &std::path::Path) -> Result<(), Failure> {
    let mut errors = palisade_domain::ValidationErrors::new();
    errors.check_name("--org", org);
    errors.finish().map_err(|e| Failure::Other(e.to_string()))?;
    let store = open_store(config, true)?;
    let outcome = demo::run(&store, org, out, chrono::Utc::now().date_naive())
        .map_err(|e| Failure::Other(format!("the demo could not be built: {e}")))?;
    eprintln!(
        "created the example model {} in organisation {org:?} and rendered report {}; \
         `palisade keys create --org {org} --role viewer` gives a key to browse it",
        outcome.model_id, outcome.report_id
    );
    for file in &outcome.files {
        println!("{}", file.display());
    }
    Ok(())
}

/// `palisade score`: JSON Lines in, JSON Lines out, never stopping at a bad line.
fn score_lines(method: Option<&str>, strict: bool) -> Result<(), Failure> {
    use palisade_api::routes::scoring::{score_json, CALCULATORS};
    use palisade_domain::scoring::Method;
    use std::io::{BufRead, Write};

    let method = method
        .map(|m| {
            Method::parse(m)
                .filter(|m| CALCULATORS.contains(m))
                .ok_or_else(|| {
                    Failure::Other(format!(
                        "--method {m:?}: one of owasp, cvss31, cvss40, dread, nist, fair"
                    ))
                })
        })
        .transpose()?;
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut scored, mut failed) = (0usize, 0usize);
    for (n, line) in stdin.lines().enumerate() {
        let line = line.map_err(|e| Failure::Other(format!("cannot read standard input: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let result = serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|e| palisade_api::ApiError::MalformedRequest {
                detail: format!("not JSON: {e}"),
                field: None,
            })
            .and_then(|value| score_json(method, value));
        let text = match result {
            Ok(r) => {
                scored += 1;
                serde_json::to_string(&r)
            }
            Err(e) => {
                failed += 1;
                serde_json::to_string(&serde_json::json!({ "line": n + 1, "error": e.problem() }))
            }
        }
        .map_err(|e| Failure::Other(e.to_string()))?;
        writeln!(out, "{text}").map_err(|e| Failure::Other(format!("cannot write: {e}")))?;
    }
    out.flush()
        .map_err(|e| Failure::Other(format!("cannot write: {e}")))?;
    eprintln!("scored {scored} line(s), {failed} could not be scored");
    if strict && failed > 0 {
        return Err(Failure::Other(format!(
            "{failed} line(s) could not be scored"
        )));
    }
    Ok(())
}

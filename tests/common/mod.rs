//! The end-to-end harness: starts the real `palisade` binary on a random
//! port against a fresh database (SQLite file or PostgreSQL database) and,
//! in production mode, the real RabbitMQ.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

pub mod contract;
pub mod fixtures;
pub mod receiver;

use palisade_store::testing::TestDatabase;
use palisade_store::Backend;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_palisade");

pub fn amqp_url() -> String {
    std::env::var("PALISADE_TEST_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// SQLite file, jobs in-process: the README's first command.
    Embedded,
    /// PostgreSQL and RabbitMQ.
    Production,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Palisade {
    pub mode: Mode,
    pub base: String,
    pub db: TestDatabase,
    pub queue_prefix: String,
    /// `PALISADE_SECRET_KEY` in production mode (embedded mode makes its key file).
    pub secret_key: String,
    /// Given to every command of this instance (serve, worker, keys).
    extra_env: Vec<(String, String)>,
    child: Child,
    dir: tempfile::TempDir,
}

impl Palisade {
    pub fn start(mode: Mode) -> Self {
        Self::start_with(mode, &[])
    }

    pub fn start_with(mode: Mode, extra_env: &[(&str, &str)]) -> Self {
        let db = TestDatabase::new(match mode {
            Mode::Embedded => Backend::Sqlite,
            Mode::Production => Backend::Postgres,
        });
        let dir = tempfile::tempdir().unwrap();
        let queue_prefix = format!("palisade-test-{}", uuid::Uuid::new_v4().simple());
        let mut app = Palisade {
            mode,
            base: String::new(),
            db,
            queue_prefix,
            secret_key: palisade_store::sealed::Sealer::generate_key(),
            extra_env: extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: Command::new("true").spawn().unwrap(),
            dir,
        };
        if mode == Mode::Production {
            let out = app.command(&["migrate"]).output().unwrap();
            assert!(
                out.status.success(),
                "migrate failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let port = free_port();
        app.base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(app.dir.path().join("serve.log")).unwrap();
        let mut cmd = app.command(&["serve"]);
        cmd.env("PALISADE_BIND", format!("127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        app.child = cmd.spawn().unwrap();
        app.wait_healthy();
        app
    }

    /// The binary with this instance's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", self.db.url())
            .env("PALISADE_LOG", "info")
            .env("PALISADE_QUEUE_PREFIX", &self.queue_prefix)
            .current_dir(self.dir.path());
        if self.mode == Mode::Production {
            cmd.env("AMQP_URL", amqp_url())
                .env("PALISADE_SECRET_KEY", &self.secret_key);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("palisade serve exited with {status}: {}", self.logs());
            }
            if ureq::get(&format!("{}/healthz", self.base))
                .timeout(Duration::from_millis(500))
                .call()
                .is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("palisade serve did not become healthy: {}", self.logs());
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// A new key from the CLI, exactly as an operator makes one.
    pub fn key(&self, org: &str, role: &str) -> String {
        let out = self
            .command(&["keys", "create", "--org", org, "--role", role])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keys create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        stdout.lines().last().unwrap().trim().to_string()
    }

    pub fn client(&self, key: &str) -> Client {
        Client {
            base: self.base.clone(),
            key: Some(key.to_string()),
        }
    }

    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            key: None,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A `palisade worker` on this instance's database and queues.
    pub fn worker(&self) -> Child {
        self.worker_with(&[])
    }

    /// A worker with settings of its own on top of the instance's.
    pub fn worker_with(&self, env: &[(&str, &str)]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("worker.log"))
            .unwrap();
        let mut cmd = self.command(&["worker"]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// Stops the server and starts it again on the same database, with
    /// `extra_env` in place of the settings it started with (for example
    /// another `AMQP_URL`); workers started after it get them too.
    pub fn restart_with(&mut self, extra_env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.extra_env = extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let port = free_port();
        self.base = format!("http://127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("serve.log"))
            .unwrap();
        let mut cmd = self.command(&["serve"]);
        cmd.env("PALISADE_BIND", format!("127.0.0.1:{port}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        self.child = cmd.spawn().unwrap();
        self.wait_healthy();
    }
}

impl Drop for Palisade {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.mode == Mode::Production {
            delete_queues(&self.queue_prefix);
        }
    }
}

/// Removes a test's exchanges and queues from the shared broker.
pub fn delete_queues(prefix: &str) {
    let prefix = prefix.to_string();
    let _ = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let Ok(conn) =
                lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
                    .await
            else {
                return;
            };
            let Ok(channel) = conn.create_channel().await else {
                return;
            };
            for q in [format!("{prefix}.jobs"), format!("{prefix}.jobs.dead")] {
                let _ = channel
                    .queue_delete(&q, lapin::options::QueueDeleteOptions::default())
                    .await;
            }
            for x in [format!("{prefix}.jobs"), format!("{prefix}.jobs.dlx")] {
                let _ = channel
                    .exchange_delete(&x, lapin::options::ExchangeDeleteOptions::default())
                    .await;
            }
            let _ = conn.close(200, "test done").await;
        })
    })
    .join();
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Asserts a problem+json response with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert!(body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:palisade:problem:"));
        assert!(body["title"].is_string() && body["detail"].is_string());
        body
    }

    /// Asserts a 422 naming `field` among its errors.
    pub fn names_field(&self, field: &str) {
        let body = self.problem(422);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "expected an error on {field}, got {fields:?}: {}",
            self.text
        );
    }

    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub key: Option<String>,
}

impl Client {
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = ureq::request(method, &url).timeout(Duration::from_secs(30));
        if let Some(key) = &self.key {
            req = req.set("Authorization", &format!("Bearer {key}"));
        }
        let has_content_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        if body.is_some() && !has_content_type {
            req = req.set("Content-Type", "application/json");
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {url}: {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|n| {
                response
                    .header(&n)
                    .map(|v| (n.to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        let mut text = String::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_string(&mut text)
            .unwrap();
        let resp = Resp {
            status,
            headers,
            text,
        };
        contract::check(
            method,
            &url,
            resp.status,
            resp.header("content-type"),
            &resp.text,
        );
        resp
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Resp {
        self.request("POST", path, &[], Some(body.to_string().as_bytes()))
    }

    pub fn patch(&self, path: &str, body: &Value) -> Resp {
        self.request("PATCH", path, &[], Some(body.to_string().as_bytes()))
    }

    pub fn delete(&self, path: &str) -> Resp {
        self.request("DELETE", path, &[], None)
    }

    /// Creates a model and returns its id.
    pub fn model(&self, name: &str) -> String {
        let r = self.post("/api/v1/models", &serde_json::json!({ "name": name }));
        r.ok(201)["id"].as_str().unwrap().to_string()
    }

    /// Every item of a paginated list, following the cursors.
    pub fn all(&self, path: &str, limit: usize) -> Vec<Value> {
        let mut items = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut next: Option<String> = None;
        loop {
            let url = match &next {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let page = self.get(&url).ok(200);
            let batch = page["items"].as_array().unwrap();
            assert!(batch.len() <= limit);
            items.extend(batch.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => next = Some(c.to_string()),
                None => return items,
            }
        }
    }
}

/// The real worker process in production mode (none in embedded mode,
/// where jobs run in-process), killed when dropped.
pub struct Worker(pub Option<Child>);

impl Worker {
    pub fn start(app: &Palisade) -> Worker {
        Worker((app.mode == Mode::Production).then(|| app.worker()))
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs an end-to-end test once per mode, each with its own server.
#[macro_export]
macro_rules! both_modes {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            use super::*;
            fn run($app: Palisade) $body
            #[test]
            fn embedded() {
                run(Palisade::start(Mode::Embedded));
            }
            #[test]
            fn production() {
                run(Palisade::start(Mode::Production));
            }
        }
    };
}

pub fn output_text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

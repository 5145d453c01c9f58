//! End-to-end: the command line an operator types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{output_text, BIN};
use palisade_store::testing::TestDatabase;
use palisade_store::Backend;

fn palisade(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn keys_create_prints_the_key_alone_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    // No configuration at all: the embedded default, ./palisade.db.
    let out = palisade(
        dir.path(),
        &["keys", "create", "--org", "acme", "--role", "owner"],
        &[],
    );
    let (stdout, stderr) = output_text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the key on stdout: {stdout:?}"
    );
    let key = stdout.trim();
    assert!(key.starts_with("pal_") && key.len() > 40);
    assert!(stderr.contains("acme"));
    assert!(
        dir.path().join("palisade.db").exists(),
        "the embedded database is created where palisade runs"
    );

    let again = palisade(
        dir.path(),
        &["keys", "create", "--org", "acme", "--role", "viewer"],
        &[],
    );
    assert_ne!(output_text(&again).0.trim(), key, "every key is new");

    let bad_role = palisade(
        dir.path(),
        &["keys", "create", "--org", "acme", "--role", "admin"],
        &[],
    );
    assert!(!bad_role.status.success());
    assert!(output_text(&bad_role).0.is_empty());
    let blank_org = palisade(
        dir.path(),
        &["keys", "create", "--org", " ", "--role", "owner"],
        &[],
    );
    assert!(!blank_org.status.success());
}

#[test]
fn invalid_configuration_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("PALISADE_BIND", "not-an-address"),
        ("PALISADE_MAX_BODY", "-5"),
        ("PALISADE_LOG", "info,=[["),
        ("DATABASE_URL", "mysql://localhost/x"),
    ] {
        let out = palisade(dir.path(), &["serve"], &[(var, value)]);
        let (_, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "names {var}: {stderr}");
    }
    let worker = palisade(dir.path(), &["worker"], &[]);
    assert_eq!(worker.status.code(), Some(2));
    assert!(output_text(&worker).1.contains("AMQP_URL"));
}

/// Runs `palisade ARGS` and waits at most 20 s: a process that would
/// retry forever is killed and reported instead of hanging the suite.
fn palisade_bounded(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "PALISADE_BIND",
            format!("127.0.0.1:{}", common::free_port()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (code, stderr)
}

#[test]
fn urls_are_parsed_whole_at_start() {
    for (var, value, args) in [
        (
            "AMQP_URL",
            "amqp://guest:hunter2@127.0.0.1:notaport/%2f",
            &["serve"][..],
        ),
        (
            "AMQP_URL",
            "amqp://guest:hunter2@127.0.0.1:notaport/%2f",
            &["worker"][..],
        ),
        (
            "AMQP_URL",
            "amqp://guest:hunter2@127.0.0.1:5672/%2f?heartbeat=often",
            &["serve"][..],
        ),
        ("AMQP_URL", "amqp://guest:hunter2@:5672/%2f", &["serve"][..]),
        (
            "DATABASE_URL",
            "postgres://app:hunter2@127.0.0.1:notaport/palisade",
            &["serve"][..],
        ),
        (
            "DATABASE_URL",
            "postgresql://app:hunter2@[::1/palisade",
            &["migrate"][..],
        ),
        ("DATABASE_URL", "sqlite://", &["serve"][..]),
    ] {
        let (code, stderr) = palisade_bounded(args, &[(var, value)]);
        assert_eq!(
            code,
            Some(2),
            "{var}={value} {args:?} must stop at once: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(var), "names {var}: {stderr}");
        assert!(!stderr.contains("hunter2"), "no password: {stderr}");
    }
    // A URL that parses but reaches nothing is a retry, not a
    // configuration error: the server starts and keeps trying.
    let port = common::free_port();
    let (code, stderr) = palisade_bounded(
        &["serve"],
        &[(
            "AMQP_URL",
            &format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
        )],
    );
    assert_eq!(code, None, "still running after 20 s: {stderr}");
}

#[test]
fn an_unreachable_database_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port().to_string();
    let url = format!("postgres://postgres@127.0.0.1:{port}/nothing");
    let out = palisade(dir.path(), &["serve"], &[("DATABASE_URL", url.as_str())]);
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn production_serve_refuses_an_unmigrated_database_until_migrate() {
    let db = TestDatabase::new(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", db.url()), ("PALISADE_BIND", "127.0.0.1:1")];
    let out = palisade(dir.path(), &["serve"], &env);
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("palisade migrate"), "{stderr}");

    let migrated = palisade(dir.path(), &["migrate"], &env);
    assert!(migrated.status.success(), "{}", output_text(&migrated).1);
    assert!(output_text(&migrated).1.contains("applied"));
    let again = palisade(dir.path(), &["migrate"], &env);
    assert!(output_text(&again).1.contains("up to date"));
}

#[test]
fn openapi_prints_the_committed_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = palisade(dir.path(), &["openapi"], &[]);
    assert!(out.status.success());
    assert_eq!(output_text(&out).0, include_str!("../openapi/openapi.json"));
}

#[test]
fn score_reads_json_lines_and_never_stops_at_a_bad_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let input = [
        r#"{"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}"#,
        "not json",
        "",
        r#"{"vector": "CVSS:3.1/AV:N"}"#,
        r#"{"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"}"#,
    ]
    .join("\n");
    let run = |args: &[&str]| {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(&["score", "--method", "cvss31"]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = output_text(&out)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "one output per non-empty input line");
    assert_eq!(lines[0]["score"], 9.8);
    assert_eq!(
        (
            lines[1]["line"].as_u64(),
            lines[1]["error"]["status"].as_u64()
        ),
        (Some(2), Some(400))
    );
    assert_eq!(lines[2]["error"]["errors"][0]["field"], "vector.AC");
    assert_eq!(lines[3]["score"], 3.1);
    assert!(output_text(&out).1.contains("2 could not be scored"));

    let strict = run(&["score", "--method", "cvss31", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    let unknown = run(&["score", "--method", "astrology"]);
    assert!(!unknown.status.success());
}

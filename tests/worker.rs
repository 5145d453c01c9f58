//! End-to-end: `palisade worker` against the real RabbitMQ.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{amqp_url, BIN};
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use palisade_store::testing::TestDatabase;
use palisade_store::Backend;

/// Removes the test's queues and exchanges however the test ends.
struct Cleanup {
    channel: Channel,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let channel = self.channel.clone();
        let prefix = self.prefix.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                for q in [format!("{prefix}.jobs"), format!("{prefix}.jobs.dead")] {
                    let _ = channel
                        .queue_delete(&q, QueueDeleteOptions::default())
                        .await;
                }
                for x in [format!("{prefix}.jobs"), format!("{prefix}.jobs.dlx")] {
                    let _ = channel
                        .exchange_delete(&x, ExchangeDeleteOptions::default())
                        .await;
                }
            })
        })
        .join();
    }
}

async fn queue_exists(conn: &Connection, name: &str) -> bool {
    // A passive declare that fails closes its channel: use a fresh one each time.
    let Ok(channel) = conn.create_channel().await else {
        return false;
    };
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let found = channel
        .queue_declare(name, passive, FieldTable::default())
        .await
        .is_ok();
    let _ = channel.close(200, "probe").await;
    found
}

#[tokio::test]
async fn worker_declares_its_topology_dead_letters_what_it_cannot_run_and_stops_on_sigterm() {
    let prefix = format!("palisade-test-{}", uuid::Uuid::new_v4().simple());
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    let _cleanup = Cleanup {
        channel: channel.clone(),
        prefix: prefix.clone(),
    };

    let db = TestDatabase::new(Backend::Postgres);
    db.store();
    let mut worker = Command::new(BIN)
        .arg("worker")
        .env_clear()
        .env("DATABASE_URL", db.url())
        .env("AMQP_URL", amqp_url())
        .env("PALISADE_QUEUE_PREFIX", &prefix)
        .env("PALISADE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    while !(queue_exists(&conn, &format!("{prefix}.jobs")).await
        && queue_exists(&conn, &format!("{prefix}.jobs.dead")).await)
    {
        assert!(
            Instant::now() < deadline,
            "the worker did not declare its queues"
        );
        assert!(
            worker.try_wait().unwrap().is_none(),
            "the worker exited early"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A job of a kind no worker knows, and something that is not a job at all.
    for body in [
        br#"{"job_id":"j-1","kind":"no_such_kind"}"#.as_slice(),
        b"garbage".as_slice(),
    ] {
        channel
            .basic_publish(
                &format!("{prefix}.jobs"),
                "job",
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let mut dead = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while dead.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "expected 2 dead-lettered messages, got {}",
            dead.len()
        );
        match channel
            .basic_get(
                &format!("{prefix}.jobs.dead"),
                BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap()
        {
            Some(msg) => dead.push(String::from_utf8_lossy(&msg.delivery.data).into_owned()),
            None => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(dead.iter().any(|d| d.contains("no_such_kind")));
    assert!(dead.iter().any(|d| d == "garbage"));

    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "the worker did not stop within 10 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut worker.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("worker stopped"), "{stderr}");
    assert!(!stderr.contains("guest:guest"), "no password in the logs");
}

#[test]
fn worker_keeps_retrying_an_unreachable_broker_and_still_stops_on_sigterm() {
    let port = common::free_port();
    let db = TestDatabase::new(Backend::Sqlite);
    let mut worker = Command::new(BIN)
        .arg("worker")
        .env_clear()
        .env("DATABASE_URL", db.url())
        .env(
            "AMQP_URL",
            format!("amqp://guest:hunter2@127.0.0.1:{port}/%2f"),
        )
        .env("PALISADE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        worker.try_wait().unwrap().is_none(),
        "an unreachable broker is retried, not fatal"
    );
    let stopping = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "no exit within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut worker.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.matches("broker session lost").count() >= 2,
        "retried with back-off: {stderr}"
    );
    assert!(!stderr.contains("hunter2"), "no password in the logs");
}

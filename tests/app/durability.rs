//! A write that was acknowledged survives the server being killed (`kill -9`) in the middle of a
//! write load: the real binary runs on its own database and port, is hammered with concurrent creates,
//! killed with SIGKILL, and started again.
//!
//! The test is about SQLite by nature (a WAL file left behind by a killed process, then
//! `PRAGMA integrity_check`); with TEST_DATABASE_URL set it runs the same load and checks against
//! PostgreSQL too, without the SQLite integrity check.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::{json, Value};

use crate::helpers::TestDatabase;

/// How long the load runs before the server is killed.
const LOAD: Duration = Duration::from_secs(2);
/// How many clients write at once.
const WRITERS: usize = 8;

/// The server binary, killed when dropped (so a failing test leaves no process behind).
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database_url: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_LOG", "error")
            .env("LATCHKEY_WORKERS", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the latchkey binary");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait().expect("check the server process") {
                panic!("the server exited at start: {status}");
            }
            let answered = client.get(format!("{}/healthz", self.base)).send().await;
            if answered.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready within 30 s");
    }

    /// SIGKILL: no shutdown, no flush, no chance to finish what it was doing.
    fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An Admin key made the way an operator makes one: `latchkey create-key` on the server.
fn create_admin_key(database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["create-key", "--name", "Load test", "--role", "Admin"])
        .env("DATABASE_URL", database_url)
        .env("LATCHKEY_LOG", "error")
        .output()
        .expect("run latchkey create-key");
    assert!(
        output.status.success(),
        "create-key failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("the key is text")
        .trim()
        .to_string()
}

/// Creates roles as fast as it can until a request fails (the server was killed); returns the ids
/// of the roles whose creation was acknowledged with 201.
async fn write_until_killed(base: String, key: Arc<String>, writer: usize) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client");
    let mut acknowledged = Vec::new();
    for i in 0.. {
        let sent = client
            .post(format!("{base}/api/v1/roles"))
            .bearer_auth(key.as_str())
            .json(
                &json!({"name": format!("Load {writer}-{i}"), "description": "written under load"}),
            )
            .send()
            .await;
        let Ok(response) = sent else { break };
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "a write under load answered {status}"
        );
        if status == 201 {
            // Acknowledged only once the whole answer arrived: a kill during the body is not.
            let Ok(body) = response.json::<Value>().await else {
                break;
            };
            acknowledged.push(body["id"].as_str().expect("the role's id").to_string());
        }
    }
    acknowledged
}

#[derive(QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9_and_a_restart() {
    let database = TestDatabase::create();
    let key = Arc::new(create_admin_key(&database.url));
    let mut server = Server::start(&database.url);
    server.wait_until_ready().await;

    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| tokio::spawn(write_until_killed(server.base.clone(), key.clone(), writer)))
        .collect();
    tokio::time::sleep(LOAD).await;
    server.kill_9();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("a writer finished"));
    }
    assert!(
        acknowledged.len() >= WRITERS,
        "the load wrote something before the kill ({} writes)",
        acknowledged.len()
    );

    println!("{} writes acknowledged before kill -9", acknowledged.len());

    let mut restarted = Server::start(&database.url);
    restarted.wait_until_ready().await;
    let client = reqwest::Client::new();
    let mut missing = Vec::new();
    for id in &acknowledged {
        let found = client
            .get(format!("{}/api/v1/roles/{id}", restarted.base))
            .bearer_auth(key.as_str())
            .send()
            .await
            .expect("the restarted server answers");
        if found.status() != 200 {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes are gone after kill -9: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    restarted.kill_9();

    if !database.url.starts_with("postgres") {
        let mut conn = SqliteConnection::establish(&database.url).expect("open the SQLite file");
        let checks: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
            .load(&mut conn)
            .expect("run PRAGMA integrity_check");
        let results: Vec<&str> = checks.iter().map(|c| c.integrity_check.as_str()).collect();
        assert_eq!(results, vec!["ok"], "the database file is intact");
    }
}

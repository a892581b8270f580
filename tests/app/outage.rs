//! The database blinks: a throwaway PostgreSQL cluster (`initdb` + `pg_ctl`, in a temp directory,
//! on a free port) is stopped under a running Latchkey (`pg_ctl stop -m immediate`, as a crash
//! would) and started again.
//!
//! The tests bring their own cluster whatever `TEST_DATABASE_URL` says, so they run on both passes
//! of the suite (on the SQLite pass too: a database that goes away is PostgreSQL's case; a SQLite
//! file on local disk does not blink). When the tests run as root the cluster runs as `postgres`
//! (initdb refuses root). Without PostgreSQL's server binaries a test prints `SKIPPED: …` and
//! returns; with `CI` set it fails instead.

use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey::auth::api_key::generate;
use latchkey::auth::key_verifier::{KeyVerifier, Verification};
use latchkey::db::health::{Health, Transition, FAIL_FAST_FOR};
use latchkey::db::{new_id, Db};
use latchkey::error::AppError;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{browser_like_client, TestDatabase, ADMIN_EMAIL, PASSWORD};

/// What "at once" means for an answer during an outage.
const PROMPT: Duration = Duration::from_secs(1);
/// How soon after the database's return everything must work again.
const RECOVERY: Duration = Duration::from_secs(5);
const LATCHKEY: &str = env!("CARGO_BIN_EXE_latchkey");

/// A PostgreSQL cluster of its own, removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// The `postgres` account's uid and gid when the tests run as root.
    run_as: Option<(u32, u32)>,
}

impl Cluster {
    /// Creates and starts a cluster, or `None` after printing why the test is skipped (a failure
    /// when `CI` is set).
    fn start_or_skip() -> Option<Cluster> {
        let found = server_binaries().and_then(|bin| {
            let run_as = if running_as_root() {
                Some(account("postgres").ok_or(
                    "the tests run as root and there is no `postgres` account to run PostgreSQL as",
                )?)
            } else {
                None
            };
            Ok((bin, run_as))
        });
        let (bin, run_as) = match found {
            Ok(found) => found,
            Err(reason) => {
                if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                    panic!("the outage tests cannot run on CI: {reason}; install Debian's postgresql package");
                }
                eprintln!("SKIPPED: {reason}");
                return None;
            }
        };
        let dir = std::env::temp_dir().join(format!("latchkey-pg-{}", new_id()));
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .expect("give the directory to postgres");
        }
        let cluster = Cluster {
            bin,
            dir,
            port: free_port(),
            run_as,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                "data",
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start();
        Some(cluster)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                "data",
                "-l",
                "postgres.log",
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "start",
            ],
        );
    }

    /// Stops the server the way a crash would: every backend ends at once, no checkpoint.
    fn stop_immediately(&self) {
        self.run("pg_ctl", &["-D", "data", "-m", "immediate", "-w", "stop"]);
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command.current_dir(&self.dir).stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", "data", "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest PostgreSQL's `bin` directory holding `initdb` and `pg_ctl`.
fn server_binaries() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| {
            format!(
                "PostgreSQL's server binaries are not installed ({}: {e})",
                root.display()
            )
        })?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "no initdb and pg_ctl under {}/<version>/bin",
            root.display()
        )
    })
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of a local account.
fn account(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: a valid C string; getpwnam returns null or a pointer to a static record, read at once
    // (the tests call it from one thread at a time per record they need).
    unsafe {
        let entry = libc::getpwnam(name.as_ptr());
        (!entry.is_null()).then(|| ((*entry).pw_uid, (*entry).pw_gid))
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `latchkey serve` as its own process, so that what it logs can be read; killed when dropped.
struct Server {
    child: Child,
    log: PathBuf,
    address: String,
}

impl Server {
    async fn start(cluster: &Cluster) -> Server {
        let port = free_port();
        let log = cluster.dir.join("latchkey.log");
        let child = latchkey_command(cluster)
            .env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_LOG", "info")
            .env("LATCHKEY_WORKERS", "2")
            .env("LATCHKEY_DB_POOL_SIZE", "4")
            .env("LATCHKEY_LAST_USED_FLUSH_SECS", "1")
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("create the server's log"))
            .spawn()
            .expect("start latchkey serve");
        let server = Server {
            child,
            log,
            address: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(server.url("/readyz")).send().await {
                if response.status() == 200 {
                    return server;
                }
            }
            assert!(
                Instant::now() < deadline,
                "latchkey did not become ready:\n{}",
                server.logged()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn latchkey_command(cluster: &Cluster) -> Command {
    let mut command = Command::new(LATCHKEY);
    command
        .env("DATABASE_URL", cluster.url())
        .env_remove("LATCHKEY_SESSION_KEY")
        .env_remove("LATCHKEY_PUBLIC_URL");
    command
}

/// Creates the first administrator and an Admin key with the command-line tools; returns the key.
fn provision(cluster: &Cluster) -> String {
    create_admin(cluster);
    create_key(cluster, "gateway", &["--role", "Admin"])
}

fn create_admin(cluster: &Cluster) {
    let mut admin = latchkey_command(cluster)
        .args(["create-admin", "--email", ADMIN_EMAIL, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run latchkey create-admin");
    writeln!(admin.stdin.take().expect("stdin"), "{PASSWORD}").expect("send the password");
    assert!(
        admin.wait().expect("create-admin ends").success(),
        "create-admin succeeds"
    );
}

/// A key made by `latchkey create-key --name <name> <roles…>`.
fn create_key(cluster: &Cluster, name: &str, roles: &[&str]) -> String {
    let key = latchkey_command(cluster)
        .args(["create-key", "--name", name])
        .args(roles)
        .output()
        .expect("run latchkey create-key");
    assert!(
        key.status.success(),
        "create-key succeeds: {}",
        String::from_utf8_lossy(&key.stderr)
    );
    String::from_utf8(key.stdout)
        .expect("a UTF-8 key")
        .trim()
        .to_string()
}

/// Sends the request and measures how long the answer took.
async fn timed(request: reqwest::RequestBuilder) -> (Response, Duration) {
    let started = Instant::now();
    let response = request.send().await.expect("an answer");
    (response, started.elapsed())
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a numeric Retry-After on {}", response.url()))
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_down_requests_answer_503_at_once_cached_keys_still_verify_and_it_recovers_by_itself(
) {
    let Some(cluster) = Cluster::start_or_skip() else {
        return;
    };
    let key = provision(&cluster);
    // A key without roles: its refusals are audited, and cannot be while the database is down.
    let powerless = create_key(&cluster, "reporting", &[]);
    let server = Server::start(&cluster).await;
    let api = reqwest::Client::new();
    let console = browser_like_client();
    let signed_in = console
        .post(server.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "the admin signs in");
    assert_eq!(
        console
            .get(server.url("/"))
            .send()
            .await
            .expect("GET /")
            .status(),
        200
    );
    let roles = api.get(server.url("/api/v1/roles")).bearer_auth(&key);
    assert_eq!(roles.send().await.expect("GET roles").status(), 200);
    // The gateway's key is checked once, so it is in the verification cache.
    let verify = || {
        api.post(server.url("/api/v1/keys/verify"))
            .json(&json!({ "key": key, "permissions": ["roles.retrieve"] }))
    };
    assert_eq!(verify().send().await.expect("verify").status(), 200);
    let refused = api.get(server.url("/api/v1/roles")).bearer_auth(&powerless);
    assert_eq!(refused.send().await.expect("GET roles").status(), 403);

    cluster.stop_immediately();

    // The first request after the crash meets the pool's dead connections; it and every later one
    // answer at once.
    for round in 0..10 {
        let (response, took) = timed(api.get(server.url("/api/v1/roles")).bearer_auth(&key)).await;
        assert_eq!(
            response.status(),
            503,
            "an API call that needs the database (round {round})"
        );
        assert!(
            took < PROMPT,
            "the API answered 503 in {took:?} (round {round})"
        );
        assert!(retry_after(&response) >= 1);
        assert!(content_type(&response).starts_with("application/json"));
        let body: Value = response.json().await.expect("a JSON error");
        assert_eq!(body["error"]["code"], "UNAVAILABLE", "{body}");

        let (response, took) = timed(console.get(server.url("/"))).await;
        assert_eq!(response.status(), 503, "a console page (round {round})");
        assert!(
            took < PROMPT,
            "the console answered 503 in {took:?} (round {round})"
        );
        assert!(retry_after(&response) >= 1);
        assert!(content_type(&response).starts_with("text/html"));
        let page = response.text().await.expect("a page");
        assert!(page.contains("Database unavailable"), "{page}");
        assert!(page.contains("cannot reach its database"), "{page}");

        let (response, took) = timed(api.get(server.url("/readyz"))).await;
        assert_eq!(response.status(), 503, "readiness (round {round})");
        assert!(
            took < PROMPT,
            "/readyz answered 503 in {took:?} (round {round})"
        );
        assert!(retry_after(&response) >= 1);

        // The key already checked keeps working for the services that rely on it.
        let (response, took) = timed(verify()).await;
        assert_eq!(response.status(), 200, "verify (round {round})");
        assert!(took < PROMPT, "verify answered in {took:?}");
        let verdict: Value = response.json().await.expect("a verdict");
        assert_eq!(verdict["valid"], true, "{verdict}");
        let whoami = api.get(server.url("/api/v1/whoami")).bearer_auth(&key);
        let response = whoami.send().await.expect("whoami");
        assert_eq!(
            response.status(),
            200,
            "whoami with the cached key (round {round})"
        );
        let me: Value = response.json().await.expect("whoami's JSON");
        assert_eq!(me["name"], "gateway");
        let forward = api
            .get(server.url("/api/v1/auth/forward?permission=roles.retrieve"))
            .bearer_auth(&key);
        assert_eq!(forward.send().await.expect("forward auth").status(), 204);
        // A cached key lacking the permission is still refused, without the audit write failing
        // loudly.
        let refused = api.get(server.url("/api/v1/roles")).bearer_auth(&powerless);
        assert_eq!(refused.send().await.expect("GET roles").status(), 403);
    }
    // A key the cache has never seen cannot be checked: 503, not a refusal.
    let unknown = generate().full_key;
    let (response, took) = timed(api.get(server.url("/api/v1/whoami")).bearer_auth(&unknown)).await;
    assert_eq!(response.status(), 503, "a key never checked before");
    assert!(took < PROMPT, "an uncached key answered in {took:?}");
    assert!(retry_after(&response) >= 1);

    cluster.start();
    let back = Instant::now();
    loop {
        let ready = api.get(server.url("/readyz")).send().await.expect("readyz");
        let roles = api
            .get(server.url("/api/v1/roles"))
            .bearer_auth(&key)
            .send()
            .await;
        let page = console.get(server.url("/")).send().await.expect("GET /");
        if ready.status() == 200 && roles.is_ok_and(|r| r.status() == 200) && page.status() == 200 {
            break;
        }
        assert!(
            back.elapsed() < RECOVERY,
            "Latchkey did not recover within {RECOVERY:?} of the database's return:\n{}",
            server.logged()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // One ERROR line when the outage began and one INFO line when it ended; the requests during it
    // (about eighty) wrote no warning or error of their own.
    let logged = server.logged();
    let errors: Vec<&str> = logged.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one ERROR line for the outage:\n{logged}");
    assert!(errors[0].contains("database unreachable"), "{logged}");
    let warnings: Vec<&str> = logged.lines().filter(|l| l.contains("WARN")).collect();
    assert!(warnings.is_empty(), "no warning per request:\n{logged}");
    let recovered = logged
        .lines()
        .filter(|l| l.contains("INFO") && l.contains("database reachable again"))
        .count();
    assert_eq!(recovered, 1, "one INFO line for the return:\n{logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_an_outage_a_stale_cached_key_is_served_for_a_bounded_time_and_an_unknown_one_is_unavailable(
) {
    let Some(cluster) = Cluster::start_or_skip() else {
        return;
    };
    let key = provision(&cluster);
    let url = cluster.url();
    let db = tokio::task::spawn_blocking(move || Db::open(&url, 2).expect("open the database"))
        .await
        .expect("join");
    // Entries are fresh for 200 ms here instead of a minute, so the test can look past it.
    let verifier = KeyVerifier::with_cache_ttl(db.clone(), Duration::from_millis(200));
    let checked = {
        let verifier = verifier.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || verifier.verify_blocking(&key, None))
            .await
            .expect("join")
    };
    assert!(matches!(checked, Ok(Verification::Valid(_))), "{checked:?}");

    cluster.stop_immediately();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (stale, unknown, took) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let stale = verifier.verify_blocking(&key, None);
        let unknown = verifier.verify_blocking(&generate().full_key, None);
        (stale, unknown, started.elapsed())
    })
    .await
    .expect("join");
    assert!(
        matches!(stale, Ok(Verification::Valid(_))),
        "a key past its freshness is still served while the database is down: {stale:?}"
    );
    assert!(
        matches!(unknown, Err(AppError::Unavailable(_))),
        "a key never cached cannot be checked: {unknown:?}"
    );
    assert!(took < PROMPT * 2, "both answers took {took:?}");
    assert!(
        db.is_unreachable(),
        "the database layer knows the database is down"
    );
}

/// All connections in use is load, not an outage: a request waits for one (up to 5 s) instead of
/// answering 503 after the second an unreachable database takes to be refused. On the suite's
/// database (SQLite or PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_a_busy_pool_rather_than_answering_503() {
    let database = TestDatabase::create();
    let url = database.url.clone();
    let db = tokio::task::spawn_blocking(move || Db::open(&url, 1).expect("open the database"))
        .await
        .expect("join");
    let (held, is_held) = tokio::sync::oneshot::channel();
    let holder_db = db.clone();
    // Another request holds the pool's only connection for a second and a half.
    let holder = tokio::task::spawn_blocking(move || {
        let conn = holder_db.get().expect("the pool's only connection");
        let _ = held.send(());
        std::thread::sleep(Duration::from_millis(1500));
        drop(conn);
    });
    is_held.await.expect("the connection is held");
    let started = Instant::now();
    let answer = db
        .run(|conn| latchkey::models::setting::ping(conn).map_err(AppError::from))
        .await;
    let waited = started.elapsed();
    assert!(
        answer.is_ok(),
        "the request is served once the connection is free: {answer:?}"
    );
    assert!(
        waited >= PROMPT,
        "it waited for the busy connection ({waited:?})"
    );
    assert!(!db.is_unreachable());
    holder.await.expect("join");
}

#[test]
fn an_outage_is_reported_once_when_it_starts_and_once_when_it_ends() {
    let health = Health::new();
    let start = Instant::now();
    assert!(!health.is_down());
    assert_eq!(health.connected_at(start), Transition::Unchanged);
    assert_eq!(health.connect_failed_at(start), Transition::WentDown);
    assert!(health.is_down());
    for retry in 1..20 {
        let at = start + Duration::from_millis(500 * retry);
        assert_eq!(
            health.connect_failed_at(at),
            Transition::Unchanged,
            "retry {retry}"
        );
        assert!(health.failing_fast_at(at + Duration::from_millis(100)));
    }
    let last_failure = start + Duration::from_millis(500 * 19);
    // A second without a failed attempt: requests go to the pool again (one of them probes).
    assert!(!health.failing_fast_at(last_failure + FAIL_FAST_FOR));
    let back = last_failure + Duration::from_millis(400);
    assert_eq!(
        health.connected_at(back),
        Transition::CameBack(back - start),
        "the outage's length is reported when it ends"
    );
    assert!(!health.is_down());
    assert!(!health.failing_fast_at(back));
    assert_eq!(health.connected_at(back), Transition::Unchanged);
    assert_eq!(
        health.connect_failed_at(back),
        Transition::WentDown,
        "a new outage is reported again"
    );
}

/// Makes every write to the `sessions` table fail (`on`), or work again: the database blinking
/// between loading a session and saving it.
async fn session_writes_fail(app: &crate::helpers::TestApp, on: bool) {
    use diesel::connection::SimpleConnection;
    let postgres = app.database.url.starts_with("postgres");
    let sql = match (postgres, on) {
        (false, true) => {
            "CREATE TRIGGER sessions_blink_update BEFORE UPDATE ON sessions \
             BEGIN SELECT RAISE(ABORT, 'the database blinked'); END; \
             CREATE TRIGGER sessions_blink_delete BEFORE DELETE ON sessions \
             BEGIN SELECT RAISE(ABORT, 'the database blinked'); END;"
        }
        (false, false) => "DROP TRIGGER sessions_blink_update; DROP TRIGGER sessions_blink_delete;",
        (true, true) => {
            "CREATE FUNCTION sessions_blink() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the database blinked'; END $$; \
             CREATE TRIGGER sessions_blink BEFORE UPDATE OR DELETE ON sessions \
             FOR EACH ROW EXECUTE FUNCTION sessions_blink();"
        }
        (true, false) => "DROP TRIGGER sessions_blink ON sessions; DROP FUNCTION sessions_blink();",
    };
    app.with_db(move |conn| conn.batch_execute(sql).expect("change the triggers"))
        .await;
}

#[tokio::test]
async fn a_session_that_cannot_be_saved_answers_unavailable_not_a_bare_500() {
    let app = crate::helpers::spawn_app().await;
    app.signed_in_admin().await;

    session_writes_fail(&app, true).await;
    let sign_out = app.post_form("/logout", &[]).await;
    assert_eq!(
        sign_out.status(),
        503,
        "the session could not be deleted: try again"
    );
    assert!(sign_out.headers().contains_key(RETRY_AFTER));
    assert!(
        sign_out.headers().get("location").is_none(),
        "not sent on as if signed out"
    );
    assert!(
        sign_out
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .all(|v| !v.starts_with("latchkey_session=")),
        "the cookie is neither removed nor replaced"
    );
    let page = sign_out.text().await.unwrap();
    assert!(
        page.contains("<html"),
        "the error page, not a bare body: {page}"
    );

    session_writes_fail(&app, false).await;
    assert_eq!(
        app.get("/").await.status(),
        200,
        "nothing was ended: the person is still signed in and can sign out again"
    );
    assert_eq!(app.post_form("/logout", &[]).await.status(), 303);
    assert_eq!(app.get("/").await.status(), 303, "signed out now");
}

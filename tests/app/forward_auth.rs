//! Forward auth end to end: Debian's real nginx runs the README's config
//! (`docs/forward-auth/nginx.conf`, shown verbatim in the README) in front of a small service, and
//! asks a running Latchkey about every request.
//!
//! nginx runs as a child process of the test with everything in a temp directory (config, pid file,
//! logs, temp paths) and on free 127.0.0.1 ports; when the tests run as root it runs as `nobody`.
//! Dropping [`Nginx`] ends it and removes the directory. Without nginx the test prints
//! `skipped: …` and returns; with `CI` set it fails instead.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey::db::new_id;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::spawn_app;

const README: &str = include_str!("../../README.md");
/// The README's nginx config, the one source for both.
const NGINX_CONF: &str = include_str!("../../docs/forward-auth/nginx.conf");

/// Where nginx is looked for before `PATH` (Debian installs it outside most users' `PATH`).
const NGINX_CANDIDATES: &[&str] = &["/usr/sbin/nginx"];
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// `nobody` / `nogroup` on Debian: nginx runs as them when the tests run as root.
const UNPRIVILEGED_ID: u32 = 65534;

/// The service behind nginx: it answers with what nginx told it about the caller.
const UPSTREAM_SERVER: &str = r#"
    server {
        listen 127.0.0.1:UPSTREAM_PORT;
        default_type text/plain;
        location / {
            return 200 "hello $http_x_latchkey_key_name\nid: $http_x_latchkey_key_id\nauthorization: $http_authorization\nx-api-key: $http_x_api_key\nmethod: $request_method\n";
        }
    }
"#;

/// One nginx process running the README's config.
pub struct Nginx {
    child: Child,
    dir: PathBuf,
    /// `http://127.0.0.1:<port>`, the protected service as clients see it.
    pub address: String,
}

impl Nginx {
    /// Starts nginx with the README's server block, its `127.0.0.1:8080` (Latchkey) replaced by
    /// `latchkey` (`host:port`) and its `127.0.0.1:3000` (the service) by an echo server.
    pub async fn start(executable: &Path, latchkey: &str) -> Nginx {
        Self::start_with(executable, |port, upstream_port| {
            readme_server(latchkey, port, upstream_port)
        })
        .await
    }

    /// Starts nginx as a plain reverse proxy in front of `latchkey` (`host:port`), appending the
    /// client's address to `X-Forwarded-For` as the usual configuration does.
    pub async fn start_proxy(executable: &Path, latchkey: &str) -> Nginx {
        Self::start_with(executable, |port, _| {
            format!(
                "    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{latchkey};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
"
            )
        })
        .await
    }

    /// Starts nginx with `server(port, upstream_port)` as its server block(s), beside the echo
    /// service on `upstream_port`.
    async fn start_with(executable: &Path, server: impl Fn(u16, u16) -> String) -> Nginx {
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = std::env::temp_dir().join(format!("latchkey-nginx-{}", new_id()));
            std::fs::create_dir_all(dir.join("temp")).expect("create nginx's temp directory");
            let port = free_port();
            let upstream_port = free_port();
            let config = nginx_config(&dir, &server(port, upstream_port), upstream_port);
            std::fs::write(dir.join("nginx.conf"), config).expect("write nginx.conf");
            let unprivileged = running_as_root();
            if unprivileged {
                chown_tree(&dir, UNPRIVILEGED_ID);
            }
            let stderr = File::create(dir.join("stderr.log")).expect("create nginx's stderr log");
            let mut command = Command::new(executable);
            command
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr);
            if unprivileged {
                command.uid(UNPRIVILEGED_ID).gid(UNPRIVILEGED_ID);
            }
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", executable.display()));
            let mut nginx = Nginx {
                child,
                dir,
                address: format!("http://127.0.0.1:{port}"),
            };
            match nginx.wait_until_listening(&[port, upstream_port]).await {
                Ok(()) => return nginx,
                // Most likely another test took a port between `free_port` and nginx's bind.
                Err(e) => last_error = format!("{e}\nerror.log:\n{}", nginx.logs()),
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    async fn wait_until_listening(&mut self, ports: &[u16]) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited with {status}"));
            }
            let listening = ports.iter().all(|port| {
                TcpStream::connect_timeout(
                    &(Ipv4Addr::LOCALHOST, *port).into(),
                    Duration::from_millis(200),
                )
                .is_ok()
            });
            if listening {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not listening on {ports:?} within {}s",
                    START_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// nginx's error log and stderr, for failure messages.
    pub fn logs(&self) -> String {
        ["error.log", "stderr.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // One process (`master_process off`): killing it ends nginx entirely.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The README's server block with only addresses substituted.
fn readme_server(latchkey: &str, port: u16, upstream_port: u16) -> String {
    let readme_server = replace_once(
        NGINX_CONF,
        "listen 80;",
        &format!("listen 127.0.0.1:{port};"),
    );
    let readme_server = replace_once(
        &readme_server,
        "proxy_pass http://127.0.0.1:8080/",
        &format!("proxy_pass http://{latchkey}/"),
    );
    let readme_server = replace_once(
        &readme_server,
        "proxy_pass http://127.0.0.1:3000;",
        &format!("proxy_pass http://127.0.0.1:{upstream_port};"),
    );
    readme_server
}

/// The whole nginx.conf: process settings that keep nginx inside `dir`, the echo service, and
/// `server`.
fn nginx_config(dir: &Path, server: &str, upstream_port: u16) -> String {
    let dir = dir.display();
    let upstream = UPSTREAM_SERVER.replace("UPSTREAM_PORT", &upstream_port.to_string());
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 256;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/temp/client_body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
{upstream}
{server}
}}
"
    )
}

/// `text` with its one occurrence of `from` replaced; panics when there is not exactly one, so
/// that a change to the README's config cannot silently leave the test running something else.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "docs/forward-auth/nginx.conf contains `{from}` exactly once"
    );
    text.replacen(from, to, 1)
}

/// nginx, or `None` after printing why the test is skipped (a failure when `CI` is set).
pub fn nginx_or_skip() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = NGINX_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .chain(on_path.iter().map(|dir| dir.join("nginx")))
        .find(|path| path.is_file());
    if found.is_none() {
        let reason = "nginx is not installed (no /usr/sbin/nginx, none on PATH)";
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!(
                "the forward-auth test cannot run on CI: {reason}; install Debian's nginx-light"
            );
        }
        eprintln!("skipped: {reason}");
    }
    found
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn chown_tree(path: &Path, id: u32) {
    std::os::unix::fs::chown(path, Some(id), Some(id))
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("list the nginx directory") {
            chown_tree(&entry.expect("a directory entry").path(), id);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// What the echo service answered: status, and its body (nginx's JSON on a refusal).
async fn call(request: reqwest::RequestBuilder) -> (StatusCode, String) {
    let response = request.send().await.expect("nginx answers");
    let status = response.status();
    (status, response.text().await.expect("a body"))
}

fn error_code(body: &str) -> String {
    let parsed: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("a JSON refusal from nginx ({e}): {body}"));
    parsed["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn nginx_protects_a_service_with_the_readme_config() {
    assert!(
        README.contains(&format!("```nginx\n{NGINX_CONF}```")),
        "the README shows docs/forward-auth/nginx.conf verbatim"
    );
    let Some(executable) = nginx_or_skip() else {
        return;
    };

    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let created = app
        .api_post_json(
            "/api/v1/permissions",
            &admin,
            &json!({"name": "documents.render"}),
        )
        .await;
    assert_eq!(created.status(), 201, "the README's permission is defined");
    let renderer = app.create_role("Renderer", &["documents.render"]).await;
    let reader = app.create_role("Reader", &["roles.retrieve"]).await;
    let render_key = app.issue_key("Billing service", &[&renderer]).await;
    let reader_key = app.issue_key("Reporting", &[&reader]).await;
    let verified: Value = app
        .client
        .post(app.url("/api/v1/keys/verify"))
        .json(&json!({"key": render_key}))
        .send()
        .await
        .expect("verify")
        .json()
        .await
        .expect("JSON");
    let render_key_id = verified["key"]["id"]
        .as_str()
        .expect("the key's id")
        .to_string();

    let latchkey = app.address.trim_start_matches("http://");
    let nginx = Nginx::start(&executable, latchkey).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let service = |method: Method| client.request(method, format!("{}/documents/7", nginx.address));
    let logs = || nginx.logs();

    // A key holding the permission reaches the service, which learns which key called (and not
    // the key's secret).
    let (status, body) = call(service(Method::GET).bearer_auth(&render_key)).await;
    assert_eq!(status, 200, "{body}\n{}", logs());
    assert!(body.starts_with("hello Billing service\n"), "{body}");
    assert!(body.contains(&format!("id: {render_key_id}\n")), "{body}");
    assert!(body.contains("authorization: \n"), "{body}");
    assert!(body.contains("x-api-key: \n"), "{body}");

    // The same through X-Api-Key; a request with a body (Latchkey never sees it); and the identity
    // headers a client forges are replaced.
    let (status, body) = call(service(Method::GET).header("X-Api-Key", &render_key)).await;
    assert_eq!(status, 200, "X-Api-Key: {body}");
    assert!(body.starts_with("hello Billing service\n"), "{body}");
    let (status, body) = call(
        service(Method::POST)
            .bearer_auth(&render_key)
            .body("x".repeat(300 * 1024)),
    )
    .await;
    assert_eq!(status, 200, "a POST with a large body: {body}\n{}", logs());
    assert!(body.contains("method: POST\n"), "{body}");
    let (status, body) = call(
        service(Method::GET)
            .bearer_auth(&render_key)
            .header("X-Latchkey-Key-Name", "Admin automation")
            .header("X-Latchkey-Key-Id", "forged"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("hello Billing service\n"), "{body}");
    assert!(body.contains(&format!("id: {render_key_id}\n")), "{body}");

    // A valid key without the permission: 403, also when the client names another permission.
    let (status, body) = call(service(Method::GET).bearer_auth(&reader_key)).await;
    assert_eq!(status, 403, "{body}\n{}", logs());
    assert_eq!(error_code(&body), "INSUFFICIENT_PERMISSIONS");
    let (status, body) = call(
        service(Method::GET)
            .bearer_auth(&reader_key)
            .header("X-Required-Permission", "roles.retrieve"),
    )
    .await;
    assert_eq!(
        status, 403,
        "the client cannot choose the permission: {body}"
    );

    // Invalid keys, a missing key and another scheme: 401.
    let unknown = latchkey::auth::api_key::generate().full_key;
    let last = if render_key.ends_with('a') { 'b' } else { 'a' };
    let wrong_secret = format!("{}{last}", &render_key[..render_key.len() - 1]);
    let refused = [
        ("an unknown key", service(Method::GET).bearer_auth(&unknown)),
        (
            "a malformed key",
            service(Method::GET).bearer_auth("not-a-key"),
        ),
        (
            "a wrong secret",
            service(Method::GET).bearer_auth(&wrong_secret),
        ),
        ("no key", service(Method::GET)),
        (
            "Basic credentials",
            service(Method::GET).basic_auth("user", Some("password")),
        ),
        (
            "an unknown key in X-Api-Key",
            service(Method::GET).header("X-Api-Key", &unknown),
        ),
    ];
    for (what, request) in refused {
        let (status, body) = call(request).await;
        assert_eq!(status, 401, "{what}: {body}\n{}", logs());
        assert_eq!(error_code(&body), "INVALID_KEY", "{what}");
    }

    // Revoked (it was just used, so Latchkey has it cached): 401 at the next request.
    let revoked = app
        .api_delete(&format!("/api/v1/service-accounts/{render_key_id}"), &admin)
        .await;
    assert_eq!(revoked.status(), 200, "the key is revoked");
    let (status, body) = call(service(Method::GET).bearer_auth(&render_key)).await;
    assert_eq!(status, 401, "a revoked key: {body}");
    assert_eq!(error_code(&body), "INVALID_KEY");
}

//! Test harness: every test gets its own throwaway database (a temp SQLite file, or a fresh PostgreSQL
//! database when TEST_DATABASE_URL is set) and its own server on a free port, as a [`TestApp`].
//!
//! The tests name the library's modules through this file where they can (the permission catalog,
//! the application, the settings), so that a module moved in `src/` is followed here once.

pub mod seed;

use std::path::PathBuf;

use diesel::{Connection, PgConnection, RunQueryDsl};
use latchkey::db::{new_id, Db, DbConnection};
use latchkey::models::{api_key, audit, role, user};
use latchkey::services::setup::{self, AdminInput};
use reqwest::redirect::Policy;
use reqwest::{Method, Response};
use serde_json::Value;

pub use latchkey::authz::catalog::{self, *};
pub use latchkey::config::Settings;
pub use latchkey::startup::Application;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// A database that exists for one test and is removed afterwards.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            Some(admin_url) => {
                let name = format!("latchkey_test_{}", uuid_simple());
                latchkey::db::prepare_postgres_client();
                let mut conn = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create the test database");
                let url = replace_database(&admin_url, &name);
                Self {
                    url,
                    cleanup: Cleanup::Postgres { admin_url, name },
                }
            }
            None => {
                let dir = std::env::temp_dir().join(format!("latchkey-test-{}", uuid_simple()));
                std::fs::create_dir_all(&dir).expect("create a temp dir");
                let url = dir.join("latchkey.db").to_string_lossy().into_owned();
                Self {
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            }
        }
    }
}

fn uuid_simple() -> String {
    new_id().replace('-', "")
}

/// `postgres://u@h:5432/postgres?x=y` with the database name replaced.
fn replace_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

pub fn settings_for(database_url: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.into(),
        public_url: None,
        session_key: None,
        db_pool_size: 4,
        workers: Some(1),
        last_used_flush_secs: 1,
        log: "warn".into(),
        trusted_proxies: Vec::new(),
        key_failures_per_minute: latchkey::auth::key_verifier::FAILURE_LIMIT,
    }
}

/// A running app on its own database, with a browser-like client (see [`browser_like_client`]).
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub setup_url: Option<String>,
    pub database: TestDatabase,
}

/// A running app on a fresh database with no users.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A running app on a fresh database with no users, with settings changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create();
    let mut settings = settings_for(&database.url);
    adjust(&mut settings);
    let (address, db, setup_url) = start_with(settings).await;
    TestApp {
        address,
        client: browser_like_client(),
        db,
        setup_url,
        database,
    }
}

/// Starts another server on an existing database (a restart, or a second instance).
pub async fn start_server(database_url: &str) -> (String, Db, Option<String>) {
    start_with(settings_for(database_url)).await
}

async fn start_with(settings: Settings) -> (String, Db, Option<String>) {
    latchkey::telemetry::init("warn");
    let app = Application::build(settings).await.expect("the app starts");
    // The bound address, also when the settings name another public URL.
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let setup_url = app.setup_url();
    tokio::spawn(app.run_until_stopped());
    (address, db, setup_url)
}

/// A client that keeps cookies, does not follow redirects (tests look at them) and, like a browser
/// posting a same-origin form, sends `Sec-Fetch-Site: same-origin`.
pub fn browser_like_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "sec-fetch-site",
        reqwest::header::HeaderValue::from_static("same-origin"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .default_headers(headers)
        .build()
        .expect("a reqwest client")
}

/// A fresh client (no cookies) for acting as someone else.
pub fn new_client() -> reqwest::Client {
    browser_like_client()
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub async fn body(response: Response) -> String {
    response.text().await.expect("a text body")
}

pub async fn json_of(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// `/development/keys/{id}/created` → `{id}`.
pub fn key_id_from(location: &str) -> String {
    location
        .trim_start_matches("/development/keys/")
        .trim_end_matches("/created")
        .to_string()
}

fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

/// Requests: the console as this app's browser-like client, the JSON API with a key.
impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Posts a form as htmx does (with `HX-Request: true`).
    pub async fn htmx_post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header("HX-Request", "true")
            .form(form)
            .send()
            .await
            .expect("htmx POST")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Someone else, in a browser of their own.
    pub fn visitor(&self) -> Visitor<'_> {
        Visitor {
            app: self,
            client: new_client(),
        }
    }

    /// A request to the JSON API with a key, for what the helpers below do not cover.
    pub fn api(&self, method: Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(key)
    }

    /// Sends an API request without a body.
    pub async fn api_send(&self, method: Method, path: &str, key: &str) -> Response {
        let sent = self.api(method.clone(), path, key).send().await;
        sent.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Sends an API request with a JSON body.
    pub async fn api_send_json(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        let sent = self.api(method.clone(), path, key).json(body).send().await;
        sent.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn api_get(&self, path: &str, key: &str) -> Response {
        self.api_send(Method::GET, path, key).await
    }

    pub async fn api_put(&self, path: &str, key: &str) -> Response {
        self.api_send(Method::PUT, path, key).await
    }

    pub async fn api_delete(&self, path: &str, key: &str) -> Response {
        self.api_send(Method::DELETE, path, key).await
    }

    pub async fn api_post_json(&self, path: &str, key: &str, body: &Value) -> Response {
        self.api_send_json(Method::POST, path, key, body).await
    }

    pub async fn api_patch_json(&self, path: &str, key: &str, body: &Value) -> Response {
        self.api_send_json(Method::PATCH, path, key, body).await
    }
}

/// Someone else at the same app, in their own browser (their own cookies).
pub struct Visitor<'a> {
    app: &'a TestApp,
    pub client: reqwest::Client,
}

impl Visitor<'_> {
    pub async fn get(&self, path: &str) -> Response {
        let sent = self.client.get(self.app.url(path)).send().await;
        sent.expect("GET")
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let sent = self.client.post(self.app.url(path)).form(form).send().await;
        sent.expect("POST")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }
}

/// Seeding: people, roles and keys made through the services (see [`seed`]) or through the console's
/// own forms, so that each leaves its audit event as in real use.
impl TestApp {
    /// Creates the first administrator the way `latchkey create-admin` does.
    pub async fn create_admin(&self) -> String {
        self.with_db(|conn| {
            let input = AdminInput {
                email: ADMIN_EMAIL.into(),
                display_name: "Ada Admin".into(),
                password: PASSWORD.into(),
                password_confirmation: PASSWORD.into(),
            };
            match setup::create_admin_blocking(conn, &input) {
                Ok(user) => user.id,
                Err(_) => panic!("create the admin"),
            }
        })
        .await
    }

    pub async fn signed_in_admin(&self) -> String {
        let id = self.create_admin().await;
        let response = self.sign_in(ADMIN_EMAIL, PASSWORD).await;
        assert_eq!(response.status(), 303, "the admin signs in");
        id
    }

    /// A team member with the password [`PASSWORD`], holding one role (“Role of {email}”) with
    /// exactly `permissions`.
    pub async fn create_member(&self, email: &str, permissions: &[&str]) -> String {
        let role_id = self
            .create_role(&format!("Role of {email}"), permissions)
            .await;
        seed::member(&self.db, email, "Team Member", PASSWORD, &[role_id]).await
    }

    /// Signs in, in this app's own client, a member holding `permissions`.
    pub async fn signed_in_member(&self, permissions: &[&str]) -> String {
        let id = self.create_member("member@example.com", permissions).await;
        assert_eq!(
            self.sign_in("member@example.com", PASSWORD).await.status(),
            303
        );
        id
    }

    /// A role with exactly these permissions (each already in the catalog); returns its id.
    pub async fn create_role(&self, name: &str, permissions: &[&str]) -> String {
        seed::role(&self.db, name, &owned(permissions)).await
    }

    /// Adds a permission of the operator's own to the catalog.
    pub async fn create_permission(&self, name: &str, description: &str) {
        seed::permission(&self.db, name, description).await
    }

    /// Gives a team member one more role.
    pub async fn grant_user_role(&self, user_id: &str, role_id: &str) {
        seed::grant_user_role(&self.db, user_id, role_id).await
    }

    /// Deactivates a team member (their sessions end; their keys keep working).
    pub async fn deactivate_member(&self, user_id: &str) {
        seed::deactivate(&self.db, user_id).await
    }

    /// Reactivates a deactivated team member.
    pub async fn reactivate_member(&self, user_id: &str) {
        seed::reactivate(&self.db, user_id).await
    }

    /// Issues a key holding these roles and returns its full text.
    pub async fn issue_key(&self, name: &str, role_ids: &[&str]) -> String {
        let (_, secret) = seed::key(&self.db, name, &owned(role_ids)).await;
        secret
    }

    /// Issues a key holding these roles as `created_by` made it (or Latchkey, for `None`), expiring
    /// at `expires_at` (or never); returns (its id, its full text).
    pub async fn issue_key_made_by(
        &self,
        name: &str,
        role_ids: &[&str],
        created_by: Option<&str>,
        expires_at: Option<chrono::NaiveDateTime>,
    ) -> (String, String) {
        let creator = match created_by {
            Some(user_id) => seed::acting_as(&self.db, user_id).await,
            None => seed::seeder(),
        };
        seed::key_made_by(&self.db, creator, name, &owned(role_ids), expires_at).await
    }

    /// Revokes a key (by id).
    pub async fn revoke_key(&self, key_id: &str) {
        seed::revoke_key(&self.db, key_id).await
    }

    /// A key holding the Admin role.
    pub async fn admin_key(&self) -> String {
        self.issue_key("Admin automation", &[ADMIN_ROLE_ID]).await
    }

    /// Creates a key through the form and returns its id (from the redirect to its one-time page).
    pub async fn create_key(&self, name: &str, role_ids: &[&str]) -> String {
        let mut form = vec![("name", name), ("expiry", "never")];
        form.extend(role_ids.iter().map(|id| ("role_ids", *id)));
        let response = self.post_form("/development/keys", &form).await;
        assert_eq!(response.status(), 303, "the key is created");
        key_id_from(&location(&response))
    }

    /// Invites someone through the Team tab and returns (user id, the one-time link's token).
    pub async fn invite(&self, email: &str, role_ids: &[&str]) -> (String, String) {
        self.invite_as(email, "Invited Person", role_ids).await
    }

    /// [`TestApp::invite`], with the name the person is invited under.
    pub async fn invite_as(
        &self,
        email: &str,
        display_name: &str,
        role_ids: &[&str],
    ) -> (String, String) {
        let mut form = vec![("email", email), ("display_name", display_name)];
        form.extend(role_ids.iter().map(|id| ("role_ids", *id)));
        let response = self.post_form("/team/invite", &form).await;
        assert_eq!(response.status(), 303, "{email} is invited");
        let link_page = location(&response);
        let user_id = link_page
            .trim_start_matches("/team/")
            .trim_end_matches("/link")
            .to_string();
        let html = body(self.get(&link_page).await).await;
        let token = html
            .split("/set-password?token=")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page shows the link")
            .to_string();
        (user_id, token)
    }
}

/// Reading (and, for states no request can reach, writing) this app's database directly.
impl TestApp {
    /// Runs blocking model code against this app's database.
    pub async fn with_db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> T + Send + 'static,
    ) -> T {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.get().expect("a connection");
            work(&mut conn)
        })
        .await
        .expect("join")
    }

    /// The ids of the roles a key holds.
    pub async fn key_role_ids(&self, key_id: &str) -> Vec<String> {
        let key_id = key_id.to_string();
        let mut ids = self
            .with_db(move |conn| api_key::role_ids(conn, &key_id).expect("roles of a key"))
            .await;
        ids.sort();
        ids
    }

    pub async fn key_count(&self) -> i64 {
        self.with_db(|conn| api_key::count(conn).expect("count keys"))
            .await
    }

    pub async fn role_named(&self, name: &str) -> Option<role::Role> {
        let name = name.to_string();
        self.with_db(move |conn| role::find_by_name(conn, &name).expect("find a role"))
            .await
    }

    pub async fn role_permissions(&self, role_id: &str) -> Vec<String> {
        let role_id = role_id.to_string();
        self.with_db(move |conn| role::permissions_of(conn, &role_id).expect("permissions"))
            .await
    }

    /// The ids of the roles a user holds.
    pub async fn user_role_ids(&self, user_id: &str) -> Vec<String> {
        let user_id = user_id.to_string();
        self.with_db(move |conn| user::role_ids(conn, &user_id).expect("roles of a user"))
            .await
    }

    /// (action, outcome, target label) of every audit event, oldest first.
    pub async fn audit_events(&self) -> Vec<(String, String, String)> {
        self.with_db(|conn| {
            let mut events = audit::search(conn, &Default::default(), None, 10_000)
                .expect("search the audit log");
            events.reverse();
            events
                .into_iter()
                .map(|e| (e.action, e.outcome, e.target_label))
                .collect()
        })
        .await
    }

    pub async fn has_audit_event(&self, action: &str, outcome: &str) -> bool {
        self.audit_events()
            .await
            .iter()
            .any(|(a, o, _)| a == action && o == outcome)
    }
}

//! Building the application: database, seed data, session key, HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::auth::client_address::TrustedProxies;
use crate::auth::key_verifier::KeyVerifier;
use crate::auth::session_store::{self, DbSessionStore};
use crate::auth::token;
use crate::config::Settings;
use crate::db::{Db, OpenError};
use crate::error::AppError;
use crate::limits::MAX_BODY_BYTES;
use crate::middleware::except_api::ExceptApi;
use crate::middleware::{error_format, request_guard, request_log, security_headers};
use crate::models::setting;
use crate::routes;
use crate::services::setup;
use crate::state::AppState;

/// How long a session lasts without activity (enforced by the server: [`session_store::IDLE`]; the
/// cookie's own lifetime only tells the browser when to forget it).
pub const SESSION_TTL_HOURS: i64 = session_store::IDLE.num_hours();

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] OpenError),
    #[error("{0}")]
    Config(String),
    #[error("cannot prepare the database: {0}")]
    Seed(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

pub struct Application {
    server: Server,
    port: u16,
    base_url: String,
    setup_token: Option<String>,
    db: Db,
    keys: Arc<KeyVerifier>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let public_origin = settings
            .public_url
            .as_deref()
            .map(parse_origin)
            .transpose()?;
        let db = open_database(&settings).await?;
        let key_db = db.clone();
        let configured_key = settings.session_key.clone();
        let (session_key, setup_token) = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = key_db.get()?;
            setup::seed(&mut conn)?;
            let key = session_key(&mut conn, configured_key.as_deref())?;
            let token = setup::prepare_token(&mut conn)?;
            Ok::<_, AppError>((key, token))
        })
        .await
        .map_err(|e| StartupError::Seed(e.to_string()))?
        .map_err(|e| match e {
            AppError::BadRequest(message) => StartupError::Config(message),
            other => StartupError::Seed(format!("{other:?}")),
        })?;

        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
        let base_url = public_origin
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let secure_cookies = base_url.starts_with("https://");
        let keys = KeyVerifier::new(db.clone());
        keys.limit_failures_to(settings.key_failures_per_minute);
        keys.start_background(Duration::from_secs(settings.last_used_flush_secs.max(1)));
        session_store::start_sweeper(db.clone(), &keys);
        let store = DbSessionStore::new(db.clone());
        let trusted_proxies = TrustedProxies::new(settings.trusted_proxies.clone());
        let state = web::Data::new(AppState {
            db: db.clone(),
            keys: Arc::clone(&keys),
            public_origin,
        });

        // What the principal extractor needs, apart from the handlers' state.
        let principal_db = web::Data::new(db.clone());
        let principal_keys = web::Data::from(Arc::clone(&keys));
        let mut server = HttpServer::new(move || {
            // The cookie carries only the session id, signed and encrypted with the session key.
            let session =
                SessionMiddleware::builder(DbSessionStore::clone(&store), session_key.clone())
                    .cookie_name("latchkey_session".into())
                    .cookie_secure(secure_cookies)
                    .cookie_http_only(true)
                    .cookie_same_site(SameSite::Lax)
                    .cookie_content_security(CookieContentSecurity::Private)
                    .session_lifecycle(
                        PersistentSession::default()
                            .session_ttl(actix_web::cookie::time::Duration::hours(
                                SESSION_TTL_HOURS,
                            ))
                            .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
                    )
                    .build();
            App::new()
                .app_data(state.clone())
                .app_data(principal_db.clone())
                .app_data(principal_keys.clone())
                .app_data(trusted_proxies.clone())
                .app_data(routes::form_config())
                .app_data(routes::api::json_config())
                .app_data(routes::api::query_config())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(request_guard::guard_requests))
                .wrap(from_fn(error_format::render_errors))
                .wrap(ExceptApi(session))
                .wrap(from_fn(error_format::render_session_failures))
                .wrap(security_headers::security_headers(secure_cookies))
                .wrap(from_fn(request_log::log_requests))
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers.max(1));
        }
        Ok(Self {
            server: server.run(),
            port: local.port(),
            base_url,
            setup_token,
            db,
            keys,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where people open the console.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The one-time setup link, when no user exists yet.
    pub fn setup_url(&self) -> Option<String> {
        self.setup_token
            .as_ref()
            .map(|token| format!("{}/setup?token={token}", self.base_url))
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until the server stops (Ctrl-C, SIGTERM), then writes the pending key-use times.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        let keys = self.keys;
        let _ = actix_web::rt::task::spawn_blocking(move || keys.flush_last_used(true)).await;
        outcome
    }
}

async fn open_database(settings: &Settings) -> Result<Db, StartupError> {
    let url = settings.database_url.clone();
    let pool_size = settings.db_pool_size;
    actix_web::rt::task::spawn_blocking(move || Db::open(&url, pool_size))
        .await
        .map_err(|e| StartupError::Seed(e.to_string()))?
        .map_err(StartupError::from)
}

/// The configured key, or the one kept in the database (made on first start), so that every instance
/// sharing the database signs cookies alike and restarts keep people signed in.
fn session_key(
    conn: &mut crate::db::DbConnection,
    configured: Option<&str>,
) -> Result<Key, AppError> {
    let hex = match configured {
        Some(hex) => hex.trim().to_string(),
        None => setting::get_or_insert(conn, setting::SESSION_KEY, &token::random_hex(64))?,
    };
    let bytes = token::unhex(&hex)
        .filter(|bytes| bytes.len() >= 64)
        .ok_or_else(|| {
            AppError::BadRequest(
                "LATCHKEY_SESSION_KEY must be at least 128 hex characters (64 bytes)".into(),
            )
        })?;
    Key::try_from(bytes.as_slice())
        .map_err(|e| AppError::BadRequest(format!("LATCHKEY_SESSION_KEY is not usable: {e}")))
}

/// `https://keys.example.com/some/path` → `https://keys.example.com`.
fn parse_origin(raw: &str) -> Result<String, StartupError> {
    let parsed = url::Url::parse(raw).map_err(|e| {
        StartupError::Config(format!("LATCHKEY_PUBLIC_URL is not a URL ({e}): {raw}"))
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed.origin().ascii_serialization()),
        other => Err(StartupError::Config(format!(
            "LATCHKEY_PUBLIC_URL must start with http:// or https://, not {other}://"
        ))),
    }
}

//! Where the data lives (`DATABASE_URL`), and the libpq parameters a PostgreSQL URL is given when
//! it sets none.

use std::path::PathBuf;

/// libpq's `connect_timeout` added to a PostgreSQL URL that sets none, so that a database host that
/// drops packets fails an attempt in 10 s rather than the system's TCP timeout (minutes). Not
/// shorter: a busy server can take seconds to start a backend, and one attempt that times out
/// counts as an outage (a stopped or unreachable server refuses at once, whatever this is). With
/// 2 s, CI's PostgreSQL under the whole test suite's load timed out first connections.
const PG_CONNECT_TIMEOUT_SECS: u32 = 10;
/// TCP keepalive and `tcp_user_timeout` (libpq parameters) added to a PostgreSQL URL that sets
/// none of them, so that a network partition fails a checked-out connection (its query answers
/// "unavailable") instead of hanging it until the system's TCP timeout (up to ~15 minutes): an idle
/// connection is probed after [`PG_KEEPALIVES_IDLE_SECS`], every [`PG_KEEPALIVES_INTERVAL_SECS`],
/// and dropped after [`PG_KEEPALIVES_COUNT`] unanswered probes; data sent and not acknowledged
/// within [`PG_TCP_USER_TIMEOUT_MS`] drops it too.
const PG_KEEPALIVES_IDLE_SECS: u32 = 10;
const PG_KEEPALIVES_INTERVAL_SECS: u32 = 5;
const PG_KEEPALIVES_COUNT: u32 = 3;
const PG_TCP_USER_TIMEOUT_MS: u32 = 10_000;

/// Where the data lives, decided once from `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `postgres://` / `postgresql://` select PostgreSQL; `sqlite://path`, `sqlite:path` or a plain path select SQLite.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("DATABASE_URL is empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_string()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.contains("://") {
            return Err(format!(
                "DATABASE_URL must be a SQLite file path, a sqlite:// URL or a postgres:// URL, not {}",
                redact(raw)
            ));
        }
        if path.is_empty() || path == ":memory:" {
            return Err("DATABASE_URL must name a SQLite file (an in-memory database is not shared by the pool)".into());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }

    /// The URL with any password removed, fit for logs.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(url) => redact(url),
        }
    }
}

/// Removes the password from a URL so it can be logged.
fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_string(),
    }
}

/// `url` with `connect_timeout=10` added unless it (or `PGCONNECT_TIMEOUT`) sets one, and TCP
/// keepalives and `tcp_user_timeout` (see [`PG_KEEPALIVES_IDLE_SECS`]) each added unless the URL
/// sets it.
pub(super) fn with_connect_timeout(url: &str, env_sets_one: bool) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let sets = |name: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    };
    let connect_timeout = (!env_sets_one).then(|| PG_CONNECT_TIMEOUT_SECS.to_string());
    let added: Vec<String> = [
        ("connect_timeout", connect_timeout),
        ("keepalives", Some("1".to_string())),
        ("keepalives_idle", Some(PG_KEEPALIVES_IDLE_SECS.to_string())),
        (
            "keepalives_interval",
            Some(PG_KEEPALIVES_INTERVAL_SECS.to_string()),
        ),
        ("keepalives_count", Some(PG_KEEPALIVES_COUNT.to_string())),
        ("tcp_user_timeout", Some(PG_TCP_USER_TIMEOUT_MS.to_string())),
    ]
    .into_iter()
    .filter(|(name, _)| !sets(name))
    .filter_map(|(name, value)| value.map(|value| format!("{name}={value}")))
    .collect();
    if added.is_empty() {
        return url.to_string();
    }
    let separator = match url.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some(_) => "&",
    };
    format!("{url}{separator}{}", added.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_gets_timeouts_and_keepalives_it_does_not_set() {
        assert_eq!(
            with_connect_timeout("postgres://u@db:5432/latchkey", false),
            "postgres://u@db:5432/latchkey?connect_timeout=10&keepalives=1&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3&tcp_user_timeout=10000"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@db/latchkey?sslmode=require", true),
            "postgres://u@db/latchkey?sslmode=require&keepalives=1&keepalives_idle=10\
             &keepalives_interval=5&keepalives_count=3&tcp_user_timeout=10000",
            "PGCONNECT_TIMEOUT sets the connect timeout"
        );
    }

    #[test]
    fn a_postgres_url_keeps_the_values_it_sets() {
        let url = "postgres://u@db/latchkey?connect_timeout=9&keepalives=0&tcp_user_timeout=500";
        assert_eq!(
            with_connect_timeout(url, false),
            format!("{url}&keepalives_idle=10&keepalives_interval=5&keepalives_count=3")
        );
        let everything = "postgres://u@db/l?connect_timeout=9&keepalives=1&keepalives_idle=1\
                          &keepalives_interval=1&keepalives_count=1&tcp_user_timeout=1";
        assert_eq!(with_connect_timeout(everything, false), everything);
        assert_eq!(
            with_connect_timeout("postgres://u@db/l?", true),
            "postgres://u@db/l?keepalives=1&keepalives_idle=10&keepalives_interval=5\
             &keepalives_count=3&tcp_user_timeout=10000"
        );
    }
}

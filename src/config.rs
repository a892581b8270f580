//! Settings from flags and environment variables (one clap definition for both), with defaults that
//! run out of the box: `cargo run --release` needs none of them.

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hosted console for API keys and their roles"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the console (the default when no command is given).
    Serve,
    /// Create an administrator without a browser (for scripted installs and account recovery).
    CreateAdmin {
        /// The administrator's email address, used to sign in.
        #[arg(long)]
        email: String,
        /// The name shown in the console (defaults to the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (one line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an API key as the system and print it once on standard output (scripted set-ups, CI).
    #[command(hide = true)]
    CreateKey {
        /// The key's name (the system that will use it).
        #[arg(long)]
        name: String,
        /// A role to give the key, by name or id (repeat for several), e.g. `--role Admin`.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// What the key is for.
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "LATCHKEY_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// SQLite file (a path or sqlite:// URL) or postgres:// URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "data/latchkey.db",
        global = true
    )]
    pub database_url: String,
    /// The address people use to reach the console (e.g. https://keys.example.com). Decides the
    /// cookie's Secure flag and the origin accepted for form posts; defaults to http://<bind>.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Session signing key: 128 hex characters (64 bytes). When unset, one is generated once and kept
    /// in the database, so every instance on the same database shares it.
    #[arg(
        long,
        env = "LATCHKEY_SESSION_KEY",
        hide_env_values = true,
        global = true
    )]
    pub session_key: Option<String>,
    /// Largest number of pooled database connections.
    #[arg(
        long,
        env = "LATCHKEY_DB_POOL_SIZE",
        default_value_t = 16,
        global = true
    )]
    pub db_pool_size: u32,
    /// HTTP worker threads (defaults to the number of CPU cores).
    #[arg(long, env = "LATCHKEY_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// How often recorded key use (`last_used_at`) is written, in seconds; each key at most once a minute.
    #[arg(
        long,
        env = "LATCHKEY_LAST_USED_FLUSH_SECS",
        default_value_t = 15,
        global = true
    )]
    pub last_used_flush_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the client: comma-separated
    /// CIDR ranges or addresses (e.g. `127.0.0.1,10.0.0.0/8`). Default none: the client is the TCP
    /// peer, and forwarding headers are ignored.
    #[arg(
        long,
        env = "LATCHKEY_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = crate::auth::client_address::parse_trusted_proxy,
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "LATCHKEY_LOG", default_value = "info", global = true)]
    pub log: String,
}

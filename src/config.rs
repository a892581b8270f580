//! Settings from flags and environment variables (one clap definition for both), with defaults that
//! run out of the box: `cargo run --release` needs none of them.

use clap::{Args, Parser, Subcommand};

/// With no command the binary serves, so the server's options are also the top level's; given
/// before a command they would be ignored, so clap refuses them there.
#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hosted console for API keys and their roles",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub serve: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the console (the default when no command is given).
    Serve(Settings),
    /// Create an administrator without a browser (for scripted installs and account recovery).
    ///
    /// The password is asked for twice on the terminal, or read from standard input with
    /// `--password-stdin`.
    CreateAdmin {
        /// The administrator's email address, used to sign in.
        #[arg(long)]
        email: String,
        /// The name shown in the console (defaults to the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (its first line) instead of asking on the terminal.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        settings: CommandSettings,
    },
    /// Apply pending database migrations and exit.
    Migrate(CommandSettings),
    /// Create an API key as the system and print it once on standard output (scripted set-ups, CI).
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
        #[command(flatten)]
        settings: CommandSettings,
    },
}

impl Command {
    /// The log filter the command was given.
    pub fn log_filter(&self) -> &str {
        match self {
            Command::Serve(settings) => &settings.log,
            Command::CreateAdmin { settings, .. }
            | Command::Migrate(settings)
            | Command::CreateKey { settings, .. } => &settings.log,
        }
    }
}

/// The options of the commands that work on the database and exit. Each is declared as in
/// [`Settings`] (a test holds them equal), which keeps its flat fields for the server and its tests.
#[derive(Debug, Clone, Args)]
pub struct CommandSettings {
    /// SQLite file (a path or sqlite:// URL) or postgres:// URL.
    #[arg(long, env = "DATABASE_URL", default_value = "data/latchkey.db")]
    pub database_url: String,
    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "LATCHKEY_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(long, env = "LATCHKEY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// SQLite file (a path or sqlite:// URL) or postgres:// URL.
    #[arg(long, env = "DATABASE_URL", default_value = "data/latchkey.db")]
    pub database_url: String,
    /// The address people use to reach the console (e.g. https://keys.example.com). Decides the
    /// cookie's Secure flag and the origin accepted for form posts; defaults to http://<bind>.
    #[arg(long, env = "LATCHKEY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Session signing key: 128 hex characters (64 bytes). When unset, one is generated once and kept
    /// in the database, so every instance on the same database shares it.
    #[arg(long, env = "LATCHKEY_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,
    /// Largest number of pooled database connections.
    #[arg(long, env = "LATCHKEY_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
    /// HTTP worker threads (defaults to the number of CPU cores).
    #[arg(long, env = "LATCHKEY_WORKERS")]
    pub workers: Option<usize>,
    /// How often recorded key use (`last_used_at`) is written, in seconds; each key at most once a minute.
    #[arg(long, env = "LATCHKEY_LAST_USED_FLUSH_SECS", default_value_t = 15)]
    pub last_used_flush_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers name the client: comma-separated
    /// CIDR ranges or addresses (e.g. `127.0.0.1,10.0.0.0/8`). Default none: the client is the TCP
    /// peer, and forwarding headers are ignored. Empty (or empty entries) means none.
    #[arg(
        long,
        env = "LATCHKEY_TRUSTED_PROXIES",
        value_parser = parse_trusted_proxies,
        default_value = "",
        hide_default_value = true
    )]
    pub trusted_proxies: TrustedProxyList,
    /// How many failing API keys one client address (IPv6: one /64) may present per minute before
    /// its further failures get 429; a valid key is never refused.
    #[arg(
        long,
        env = "LATCHKEY_KEY_FAILURES_PER_MINUTE",
        default_value_t = crate::auth::key_verifier::FAILURE_LIMIT
    )]
    pub key_failures_per_minute: u32,
    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "LATCHKEY_LOG", default_value = "info")]
    pub log: String,
}

/// The trusted proxies, as one comma-separated value (an alias, so that clap parses the whole list
/// with [`parse_trusted_proxies`] rather than each entry on its own).
pub type TrustedProxyList = Vec<ipnet::IpNet>;

/// `--trusted-proxies` / `LATCHKEY_TRUSTED_PROXIES`: comma-separated ranges or addresses. Empty
/// entries are skipped, so an empty value (`LATCHKEY_TRUSTED_PROXIES=""`, as templated deployments
/// often leave it) or a trailing comma means what it says: no (more) proxies, not a failed start.
pub fn parse_trusted_proxies(text: &str) -> Result<TrustedProxyList, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(crate::auth::client_address::parse_trusted_proxy)
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{parse_trusted_proxies, Cli, Command};

    fn proxies_of(args: &[&str]) -> Result<Vec<String>, String> {
        let mut argv = vec!["latchkey"];
        argv.extend(args);
        Cli::try_parse_from(argv)
            .map(|cli| {
                cli.serve
                    .trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_trusted_proxies_setting_means_none() {
        assert_eq!(parse_trusted_proxies(""), Ok(vec![]));
        assert_eq!(parse_trusted_proxies(" , "), Ok(vec![]));
        assert_eq!(proxies_of(&["--trusted-proxies", ""]), Ok(vec![]));
        assert_eq!(proxies_of(&["--trusted-proxies="]), Ok(vec![]));
        // The environment variable, as a deployment template leaves it. Only this test reads the
        // variable without a flag (a flag overrides it), so setting it here disturbs no other test.
        std::env::set_var("LATCHKEY_TRUSTED_PROXIES", "");
        let empty = proxies_of(&[]);
        std::env::set_var("LATCHKEY_TRUSTED_PROXIES", "10.0.0.1,");
        let trailing = proxies_of(&[]);
        std::env::remove_var("LATCHKEY_TRUSTED_PROXIES");
        assert_eq!(empty, Ok(vec![]));
        assert_eq!(trailing, Ok(vec!["10.0.0.1/32".to_string()]));
        assert_eq!(proxies_of(&[]), Ok(vec![]), "the default is none");
    }

    #[test]
    fn a_trailing_comma_in_trusted_proxies_is_ignored() {
        assert_eq!(
            proxies_of(&["--trusted-proxies", "127.0.0.1, 10.0.0.0/8,"]),
            Ok(vec!["127.0.0.1/32".to_string(), "10.0.0.0/8".to_string()])
        );
    }

    #[test]
    fn trusted_proxies_still_refuse_what_is_not_an_address() {
        assert!(proxies_of(&["--trusted-proxies", "10.0.0.1,proxy.internal"]).is_err());
        assert!(parse_trusted_proxies("10.0.0.0/33").is_err());
    }

    const ONE_SHOT_COMMANDS: [&str; 3] = ["migrate", "create-admin", "create-key"];

    #[test]
    fn the_database_and_log_options_are_declared_alike_for_every_command() {
        let cli = Cli::command();
        for id in ["database_url", "log"] {
            let described = |command: &clap::Command| {
                command
                    .get_arguments()
                    .find(|arg| arg.get_id() == id)
                    .map(|arg| {
                        (
                            arg.get_long().map(str::to_owned),
                            arg.get_env().map(|env| env.to_owned()),
                            arg.get_default_values().to_vec(),
                            arg.get_help().map(ToString::to_string),
                        )
                    })
            };
            let top_level = described(&cli);
            assert!(top_level.is_some(), "the bare run takes --{id}");
            for name in ["serve"].into_iter().chain(ONE_SHOT_COMMANDS) {
                let command = cli.find_subcommand(name).expect("the command exists");
                assert_eq!(described(command), top_level, "{id} of {name}");
            }
        }
    }

    #[test]
    fn only_the_server_takes_the_server_options() {
        let cli = Cli::command();
        for name in ONE_SHOT_COMMANDS {
            let command = cli.find_subcommand(name).expect("the command exists");
            assert!(!command.is_hide_set(), "{name} is listed in --help");
            assert!(
                command.get_arguments().all(|arg| arg.get_id() != "bind"),
                "{name} does not take --bind"
            );
        }
        let bind_of = |args: &[&str]| {
            Cli::try_parse_from(args).map(|cli| match cli.command {
                None => cli.serve.bind,
                Some(Command::Serve(settings)) => settings.bind,
                Some(other) => panic!("not a server: {other:?}"),
            })
        };
        assert_eq!(
            bind_of(&["latchkey", "--bind", "0.0.0.0:1"]).ok(),
            Some("0.0.0.0:1".into())
        );
        assert_eq!(
            bind_of(&["latchkey", "serve", "--bind", "0.0.0.0:1"]).ok(),
            Some("0.0.0.0:1".into())
        );
        assert!(
            Cli::try_parse_from(["latchkey", "--bind", "0.0.0.0:1", "migrate"]).is_err(),
            "a server option before a command is refused, not ignored"
        );
        assert!(Cli::try_parse_from(["latchkey", "migrate", "--bind", "0.0.0.0:1"]).is_err());
    }
}

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Parser;

use latchkey::config::{Cli, Command, CommandSettings, Settings};
use latchkey::db::Db;
use latchkey::error::AppError;
use latchkey::services::api_keys::{self as key_service, Expiry, KeyInput};
use latchkey::services::setup::{self, AdminInput};
use latchkey::services::{self, FormError};
use latchkey::startup::Application;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    latchkey::telemetry::init(command.log_filter());
    let outcome = match command {
        Command::Serve(settings) => serve(settings),
        Command::Migrate(settings) => migrate(&settings),
        Command::CreateAdmin {
            settings,
            email,
            name,
            password_stdin,
        } => create_admin(&settings, email, name, password_stdin),
        Command::CreateKey {
            settings,
            name,
            roles,
            description,
        } => create_key(&settings, name, roles, description),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchkey: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await.map_err(|e| e.to_string())?;
        tracing::info!(backend = app.db().url().backend_name(), database = %app.db().url().display(), "database ready");
        tracing::info!("Latchkey is running: open {}", app.base_url());
        match app.setup_url() {
            Some(link) => tracing::info!(
                "First run: no user exists yet. Open this one-time link to create the first administrator: {link}"
            ),
            None => tracing::info!("Sign in at {}/login", app.base_url()),
        }
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn migrate(settings: &CommandSettings) -> Result<(), String> {
    Db::open(&settings.database_url, 1).map_err(|e| e.to_string())?;
    tracing::info!("migrations applied");
    Ok(())
}

fn create_admin(
    settings: &CommandSettings,
    email: String,
    name: Option<String>,
    password_stdin: bool,
) -> Result<(), String> {
    let (password, password_confirmation) = if password_stdin {
        let password = read_line(&mut std::io::stdin().lock())
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        (password.clone(), password)
    } else if std::io::stdin().is_terminal() {
        (
            read_hidden_line("Password: ")?,
            read_hidden_line("The same password again: ")?,
        )
    } else {
        return Err(
            "standard input is not a terminal to ask for the password on: pass --password-stdin \
             to read it from standard input"
                .into(),
        );
    };
    let db = Db::open(&settings.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    setup::seed(&mut conn).map_err(|e| e.to_string())?;
    let input = AdminInput {
        email,
        display_name: name.unwrap_or_default(),
        password,
        password_confirmation,
    };
    match setup::create_admin_blocking(&mut conn, &input) {
        Ok(user) => {
            println!(
                "Created administrator {} with the Admin role. Sign in at /login.",
                user.email
            );
            Ok(())
        }
        Err(FormError::Invalid(errors)) => {
            // The fields the setup service reports problems against, with the flag or prompt that
            // gives each here.
            let messages: Vec<String> = [
                ("email", "--email"),
                ("display_name", "--name"),
                ("password", "password"),
                ("password_confirmation", "password confirmation"),
            ]
            .iter()
            .filter_map(|(field, given_by)| errors.get(field).map(|m| format!("{given_by}: {m}")))
            .collect();
            Err(messages.join("; "))
        }
        Err(FormError::Failed(err)) => Err(err.to_string()),
    }
}

/// One line, without its line ending.
fn read_line(input: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Asks on standard error and reads a line from the terminal on standard input without echoing it.
#[cfg(unix)]
fn read_hidden_line(prompt: &str) -> Result<String, String> {
    use std::os::fd::AsRawFd;

    let cannot = |e: std::io::Error| format!("cannot read the password from the terminal: {e}");
    let stdin = std::io::stdin();
    let fd = stdin.as_raw_fd();
    // SAFETY: `termios` is plain data; tcgetattr fills it in before it is read.
    let mut shown: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is standard input, open for the life of the process; `shown` outlives the call.
    if unsafe { libc::tcgetattr(fd, &mut shown) } != 0 {
        return Err(cannot(std::io::Error::last_os_error()));
    }
    let mut hidden = shown;
    hidden.c_lflag &= !libc::ECHO;
    hidden.c_lflag |= libc::ECHONL;
    // Echo goes off before the prompt appears, so that nothing typed after it is ever shown.
    // SAFETY: as above; `hidden` is a copy of valid settings.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &hidden) } != 0 {
        return Err(cannot(std::io::Error::last_os_error()));
    }
    eprint!("{prompt}");
    let line = read_line(&mut stdin.lock());
    // SAFETY: as above; the terminal gets its echo back whether or not the read succeeded.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &shown) };
    line.map_err(cannot)
}

#[cfg(not(unix))]
fn read_hidden_line(_prompt: &str) -> Result<String, String> {
    Err("cannot ask for a password on this system: pass --password-stdin".into())
}

/// The `create-key` flag for a field the key service reports a problem against.
fn flag_for(field: &str) -> &str {
    if field == services::field::ROLES {
        "role"
    } else {
        field
    }
}

/// Creates a key as the system, through the same service as the console, and prints it once.
fn create_key(
    settings: &CommandSettings,
    name: String,
    roles: Vec<String>,
    description: String,
) -> Result<(), String> {
    let db = Db::open(&settings.database_url, 1).map_err(|e| e.to_string())?;
    {
        let mut conn = db.get().map_err(|e| e.to_string())?;
        setup::seed(&mut conn).map_err(|e| e.to_string())?;
    }
    let input = KeyInput {
        name,
        description,
        expiry: Expiry::Never,
        roles,
        new_roles: Vec::new(),
    };
    let created = actix_web::rt::System::new()
        .block_on(key_service::create_as_system(&db, input))
        .map_err(|err| match err.into_app_error() {
            AppError::Validation { field, message }
            | AppError::FieldConflict { field, message } => {
                format!("--{}: {message}", flag_for(&field))
            }
            other => other.to_string(),
        })?;
    eprintln!(
        "Created API key {} (lk_{}). It is shown once, below; Latchkey keeps only its hash.",
        created.detail.key.name, created.detail.key.public_id
    );
    println!("{}", created.secret);
    Ok(())
}

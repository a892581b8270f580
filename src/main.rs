use std::io::BufRead;
use std::process::ExitCode;

use clap::Parser;

use latchkey::config::{Cli, Command, Settings};
use latchkey::db::Db;
use latchkey::error::AppError;
use latchkey::services::api_keys::{self as key_service, Expiry, KeyInput};
use latchkey::services::setup::{self, AdminInput};
use latchkey::services::FormError;
use latchkey::startup::Application;

fn main() -> ExitCode {
    let cli = Cli::parse();
    latchkey::telemetry::init(&cli.settings.log);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings),
        Command::Migrate => migrate(&cli.settings),
        Command::CreateAdmin {
            email,
            name,
            password_stdin: _,
        } => create_admin(&cli.settings, email, name),
        Command::CreateKey {
            name,
            roles,
            description,
        } => create_key(&cli.settings, name, roles, description),
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

fn migrate(settings: &Settings) -> Result<(), String> {
    Db::open(&settings.database_url, 1).map_err(|e| e.to_string())?;
    tracing::info!("migrations applied");
    Ok(())
}

fn create_admin(settings: &Settings, email: String, name: Option<String>) -> Result<(), String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    let db = Db::open(&settings.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    setup::seed(&mut conn).map_err(|e| e.to_string())?;
    let input = AdminInput {
        email,
        display_name: name.unwrap_or_default(),
        password_confirmation: password.clone(),
        password,
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
            let messages: Vec<String> =
                ["email", "display_name", "password", "password_confirmation"]
                    .iter()
                    .filter_map(|field| errors.get(field).map(|m| format!("{field}: {m}")))
                    .collect();
            Err(messages.join("; "))
        }
        Err(FormError::Failed(err)) => Err(err.to_string()),
    }
}

/// Creates a key as the system, through the same service as the console, and prints it once.
fn create_key(
    settings: &Settings,
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
        expiry: Ok(Expiry::Never),
        role_ids: roles,
        new_roles: Vec::new(),
    };
    let created = actix_web::rt::System::new()
        .block_on(key_service::create_as_system(&db, input))
        .map_err(|err| match err.into_app_error() {
            AppError::Validation { field, message } => {
                let flag = if field == "role_ids" { "role" } else { &field };
                format!("--{flag}: {message}")
            }
            other => other.to_string(),
        })?;
    eprintln!(
        "Created API key {} (lk_{}). It is shown once, below; Latchkey keeps only its hash.",
        created.key.name, created.key.public_id
    );
    println!("{}", created.secret);
    Ok(())
}

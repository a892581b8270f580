//! First run and the operator's commands on the server: the one-time setup link,
//! `latchkey create-admin` and `latchkey create-key`.

use std::process::Command;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

fn setup_form<'a>(token: &'a str, email: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("token", token),
        ("email", email),
        ("display_name", "First Admin"),
        ("password", password),
        ("password_confirmation", password),
    ]
}

fn token_of(setup_url: &str) -> String {
    setup_url
        .split("token=")
        .nth(1)
        .expect("the link carries a token")
        .to_string()
}

#[tokio::test]
async fn first_run_link_creates_the_admin_and_then_the_setup_page_is_gone() {
    let app = spawn_app().await;
    let link = app
        .setup_url
        .clone()
        .expect("a first run prints a setup link");
    let token = token_of(&link);

    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(body(page).await.contains("Create the first administrator"));

    let created = app
        .post_form("/setup", &setup_form(&token, "Owner@Example.com", PASSWORD))
        .await;
    assert_eq!(created.status(), 303);
    assert_eq!(location(&created), "/");

    let overview = body(app.get("/").await).await;
    assert!(
        overview.contains("You hold the <strong>Admin</strong> role"),
        "{overview}"
    );
    assert!(
        overview.contains("first administrator"),
        "the welcome flash is shown"
    );

    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 404);
    let again = app
        .post_form(
            "/setup",
            &setup_form(&token, "second@example.com", PASSWORD),
        )
        .await;
    assert_eq!(again.status(), 404, "the token cannot be used twice");

    let (_, _, link_after_restart) = start_server(&app.database.url).await;
    assert!(
        link_after_restart.is_none(),
        "a restart prints no setup link once an admin exists"
    );

    let fresh = new_client();
    let signed_in = fresh
        .post(app.url("/login"))
        .form(&[("email", "owner@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed_in.status(),
        303,
        "the admin signs in with the email in any case"
    );
}

#[tokio::test]
async fn setup_page_refuses_a_wrong_token() {
    let app = spawn_app().await;
    assert_eq!(app.get("/setup?token=not-the-token").await.status(), 404);
    assert_eq!(app.get("/setup").await.status(), 404);
    let refused = app
        .post_form(
            "/setup",
            &setup_form("not-the-token", "a@example.com", PASSWORD),
        )
        .await;
    assert_eq!(refused.status(), 404);
    let users = app
        .with_db(|conn| latchkey::models::user::count(conn).unwrap())
        .await;
    assert_eq!(users, 0);
}

#[tokio::test]
async fn setup_form_keeps_what_was_typed_and_explains_each_problem() {
    let app = spawn_app().await;
    let token = token_of(&app.setup_url.clone().unwrap());
    let response = app
        .post_form("/setup", &setup_form(&token, "not-an-email", "short"))
        .await;
    assert_eq!(response.status(), 422);
    let html = body(response).await;
    assert!(
        html.contains(r#"value="not-an-email""#),
        "the email is kept"
    );
    assert!(html.contains(r#"value="First Admin""#), "the name is kept");
    assert!(html.contains("Enter an email address like name@example.com."));
    assert!(html.contains("Use at least 12 characters."));
    assert!(html.contains(r#"aria-invalid="true""#));
    let users = app
        .with_db(|conn| latchkey::models::user::count(conn).unwrap())
        .await;
    assert_eq!(users, 0, "nothing is written");
    assert_eq!(
        app.get(&format!("/setup?token={token}")).await.status(),
        200,
        "the link still works"
    );
}

#[tokio::test]
async fn create_admin_command_creates_an_admin_without_a_browser() {
    use std::io::Write;
    use std::process::Stdio;

    let database = TestDatabase::create();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "create-admin",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &database.url)
        .env("LATCHKEY_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run latchkey create-admin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("Created administrator ops@example.com")
    );

    let (address, _db, setup_url) = start_server(&database.url).await;
    assert!(setup_url.is_none(), "no setup link once an admin exists");
    let client = new_client();
    let signed_in = client
        .post(format!("{address}/login"))
        .form(&[("email", "ops@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let overview = client
        .get(format!("{address}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(overview.contains("Audit log"), "the admin sees every tab");
}

#[tokio::test]
async fn create_admin_command_rejects_a_weak_password_with_a_clear_message() {
    use std::io::Write;
    use std::process::Stdio;

    let database = TestDatabase::create();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "create-admin",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &database.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("password: Use at least 12 characters.")
    );
}

#[tokio::test]
async fn create_key_command_prints_a_working_key_once() {
    let database = TestDatabase::create();
    let (address, _db, _) = start_server(&database.url).await;

    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["create-key", "--name", "Deploy bot", "--role", "Admin"])
        .env("DATABASE_URL", &database.url)
        .env("LATCHKEY_LOG", "warn")
        .output()
        .expect("run latchkey create-key");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "standard output is the key alone: {stdout:?}"
    );
    let key = lines[0];
    assert!(key.starts_with("lk_"), "{key}");

    let client = reqwest::Client::new();
    let whoami = client
        .get(format!("{address}/api/v1/whoami"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), 200);
    let whoami: Value = whoami.json().await.unwrap();
    assert_eq!(whoami["name"], "Deploy bot");
    assert_eq!(whoami["roles"][0]["name"], "Admin");
    assert_eq!(whoami["all_permissions"], true);

    let events: Value = client
        .request(
            Method::GET,
            format!("{address}/api/v1/audit-events?action=service-account.created"),
        )
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let event = &events["data"][0];
    assert_eq!(event["actor_kind"], "system", "{events}");
    assert_eq!(event["target_label"], "Deploy bot");

    let unknown_role = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["create-key", "--name", "Other", "--role", "No such role"])
        .env("DATABASE_URL", &database.url)
        .env("LATCHKEY_LOG", "warn")
        .output()
        .unwrap();
    assert!(!unknown_role.status.success());
    assert!(unknown_role.stdout.is_empty(), "no key is printed");
    assert!(String::from_utf8_lossy(&unknown_role.stderr).contains("No such role"));
}

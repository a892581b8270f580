//! The README's screenshots. Not tests of behaviour: they seed a small demo and save the PNGs the
//! README shows (`readme_screenshots_team` also checks that its pages do not scroll sideways at 1280
//! or 390 pixels, and leaves phone-width pictures in `target/screenshots-phone/`). They are ignored
//! by default; regenerate them with `cargo test readme_screenshots -- --ignored`.

use std::path::PathBuf;

use crate::browser::Browser;
use crate::browser_flows::{open_development_tab, sign_in, tick};
use crate::helpers::*;

/// Where the README's screenshots live.
fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

/// A PNG of the whole page at the window's width: the window grows to the page's height for the
/// picture and returns to its size afterwards.
async fn screenshot_whole_page(browser: &Browser, name: &str) {
    let driver = browser.driver();
    let before = driver.get_window_rect().await.expect("the window size");
    let extra = driver
        .execute(
            "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
            Vec::new(),
        )
        .await
        .expect("measure the page");
    let sizes = extra.json().as_array().cloned().unwrap_or_default();
    let page_height = sizes.first().and_then(|v| v.as_u64()).unwrap_or(900);
    let chrome_height = sizes.get(1).and_then(|v| v.as_u64()).unwrap_or(0);
    let height = u32::try_from(page_height + chrome_height)
        .unwrap_or(900)
        .max(900);
    driver
        .set_window_rect(0, 0, before.width as u32, height)
        .await
        .expect("grow the window");
    // No caret or focus ring in a picture for the README.
    driver
        .execute(
            "if (document.activeElement) { document.activeElement.blur(); }",
            Vec::new(),
        )
        .await
        .expect("blur");
    browser.screenshot(screenshot_dir().join(name)).await;
    driver
        .set_window_rect(0, 0, before.width as u32, before.height as u32)
        .await
        .expect("restore the window");
}

/// Adds permissions an operator defines for their own systems.
async fn add_custom_permissions(app: &TestApp, entries: &[(&str, &str)]) {
    for (name, description) in entries {
        app.create_permission(name, description).await;
    }
}

#[tokio::test]
#[ignore = "writes docs/screenshots/*.png; run with `cargo test readme_screenshots -- --ignored`"]
async fn readme_screenshots() {
    let Some(browser) = Browser::start().await else {
        panic!("the screenshots need Chromium and chromedriver");
    };
    let app = spawn_app().await;
    app.signed_in_admin().await;
    add_custom_permissions(
        &app,
        &[
            ("invoices.create", "Create invoices"),
            ("invoices.retrieve", "Read invoices"),
            ("customers.retrieve", "Read customers"),
            ("documents.render", "Render documents to PDF"),
        ],
    )
    .await;

    let read_only = app
        .create_role(
            "Read-only",
            &[
                ACCOUNTS_RETRIEVE,
                AUDIT_LOG_RETRIEVE,
                PERMISSIONS_RETRIEVE,
                ROLES_RETRIEVE,
                SERVICE_ACCOUNTS_RETRIEVE,
                USERS_RETRIEVE,
                "customers.retrieve",
                "invoices.retrieve",
            ],
        )
        .await;
    let billing = app
        .create_role(
            "Billing service",
            &["invoices.create", "invoices.retrieve", "customers.retrieve"],
        )
        .await;
    let full_access = app
        .create_role(
            "Full access",
            &[
                ROLES_CREATE,
                ROLES_RETRIEVE,
                ROLES_UPDATE,
                SERVICE_ACCOUNTS_CREATE,
                SERVICE_ACCOUNTS_RETRIEVE,
                SERVICE_ACCOUNTS_UPDATE,
                USERS_RETRIEVE,
                "customers.retrieve",
                "invoices.create",
                "invoices.retrieve",
            ],
        )
        .await;
    let auditor = app.create_role("Auditor", &[AUDIT_LOG_RETRIEVE]).await;

    let legacy = app.create_key("Legacy CSV importer", &[&read_only]).await;
    let revoked = app
        .post_form(&format!("/development/keys/{legacy}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), 303, "the old key is revoked");
    app.create_key("Reporting dashboard", &[&read_only, &auditor])
        .await;
    app.create_key("Deploy pipeline", &[&full_access]).await;
    app.create_key("Billing service", &[&billing]).await;

    sign_in(&browser, &app, ADMIN_EMAIL).await;
    screenshot_whole_page(&browser, "overview.png").await;

    open_development_tab(&browser).await;
    screenshot_whole_page(&browser, "development.png").await;

    browser.click_link("New API key").await;
    browser.fill("Name", "Document renderer").await;
    browser
        .fill(
            "description",
            "Turns invoices into PDFs for the customer portal",
        )
        .await;
    tick(&browser, "Read-only").await;
    browser.click_button("+ Create new role").await;
    browser.fill("Role name", "Document renderers").await;
    tick(&browser, "documents.render").await;
    screenshot_whole_page(&browser, "key-form.png").await;

    browser.click_button("Create role and select it").await;
    browser
        .wait_for_text("Role “Document renderers” created and selected.")
        .await;
    browser.click_button("Create API key").await;
    browser.wait_for("input#new-key-secret").await;
    screenshot_whole_page(&browser, "key-created.png").await;

    for name in [
        "overview.png",
        "development.png",
        "key-form.png",
        "key-created.png",
    ] {
        let png = std::fs::read(screenshot_dir().join(name)).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    }
}

/// The invited person chooses a password with the link and signs in, in a browser of their own.
async fn accept_invitation<'a>(app: &'a TestApp, email: &str, token: &str) -> Visitor<'a> {
    let person = app.visitor();
    let form = [
        ("token", token),
        ("password", PASSWORD),
        ("password_confirmation", PASSWORD),
    ];
    let set = person.post_form("/set-password", &form).await;
    assert_eq!(set.status(), 303, "{email} sets a password");
    let signed_in = person.sign_in(email, PASSWORD).await;
    assert_eq!(signed_in.status(), 303, "{email} signs in");
    person
}

/// Whether the page, or a table in it, is wider than the window (and scrolls sideways).
async fn overflows_horizontally(browser: &Browser) -> bool {
    browser
        .driver()
        .execute(
            "const wide = (e) => e.scrollWidth > e.clientWidth; \
             return wide(document.documentElement) \
               || [...document.querySelectorAll('.table-wrap')].some(wide);",
            Vec::new(),
        )
        .await
        .expect("measure the page")
        .json()
        .as_bool()
        .unwrap_or(true)
}

/// Takes the README picture at 1280 px and, for looking at by hand, one at a phone's width
/// (390 px, in `target/screenshots-phone/`); neither may scroll sideways.
async fn photograph(browser: &Browser, name: &str) {
    assert!(
        !overflows_horizontally(browser).await,
        "{name}: the page scrolls sideways at 1280 px"
    );
    screenshot_whole_page(browser, name).await;
    let driver = browser.driver();
    let before = driver.get_window_rect().await.expect("the window size");
    driver
        .set_window_rect(0, 0, 390, 844)
        .await
        .expect("a phone-sized window");
    let narrow = overflows_horizontally(browser).await;
    let phone = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots-phone");
    browser.screenshot(phone.join(format!("top-{name}"))).await;
    let height = driver
        .execute("return document.documentElement.scrollHeight;", Vec::new())
        .await
        .expect("measure the page")
        .json()
        .as_u64()
        .unwrap_or(844);
    driver
        .set_window_rect(0, 0, 390, u32::try_from(height + 100).unwrap_or(844))
        .await
        .expect("a tall phone-sized window");
    browser.screenshot(phone.join(name)).await;
    driver
        .set_window_rect(0, 0, before.width as u32, before.height as u32)
        .await
        .expect("restore the window");
    assert!(!narrow, "{name}: the page scrolls sideways at 390 px");
}

#[tokio::test]
#[ignore = "writes docs/screenshots/{team,member,audit}.png; run with `cargo test readme_screenshots -- --ignored`"]
async fn readme_screenshots_team() {
    let Some(browser) = Browser::start().await else {
        panic!("the screenshots need Chromium and chromedriver");
    };
    let app = spawn_app().await;
    app.signed_in_admin().await;

    let read_only = app
        .create_role(
            "Read-only",
            &[
                ACCOUNTS_RETRIEVE,
                AUDIT_LOG_RETRIEVE,
                PERMISSIONS_RETRIEVE,
                ROLES_RETRIEVE,
                SERVICE_ACCOUNTS_RETRIEVE,
                USERS_RETRIEVE,
            ],
        )
        .await;
    let team_leads = app
        .create_role(
            "Team leads",
            &[
                USERS_CREATE,
                USERS_RETRIEVE,
                USERS_UPDATE,
                SERVICE_ACCOUNTS_CREATE,
                SERVICE_ACCOUNTS_RETRIEVE,
                ROLES_RETRIEVE,
                AUDIT_LOG_RETRIEVE,
            ],
        )
        .await;
    let key_creators = app
        .create_role(
            "Key creators",
            &[SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_RETRIEVE],
        )
        .await;
    let release_managers = app
        .create_role(
            "Release managers",
            &[SERVICE_ACCOUNTS_UPDATE, SERVICE_ACCOUNTS_DELETE],
        )
        .await;
    let auditor = app.create_role("Auditor", &[AUDIT_LOG_RETRIEVE]).await;

    let (_, grace_token) = app
        .invite_as("grace@example.com", "Grace Hopper", &[&team_leads])
        .await;
    let grace = accept_invitation(&app, "grace@example.com", &grace_token).await;
    let (ben_id, ben_token) = app
        .invite_as(
            "ben@example.com",
            "Ben Okafor",
            &[&key_creators, &release_managers],
        )
        .await;
    let ben = accept_invitation(&app, "ben@example.com", &ben_token).await;
    let (_, chen_token) = app
        .invite_as("chen@example.com", "Chen Wei", &[&read_only])
        .await;
    accept_invitation(&app, "chen@example.com", &chen_token).await;
    let (eli_id, eli_token) = app
        .invite_as("eli@example.com", "Eli Novak", &[&key_creators])
        .await;
    accept_invitation(&app, "eli@example.com", &eli_token).await;
    app.invite_as("dana@example.com", "Dana Ruiz", &[&auditor])
        .await;

    // Grace, a team lead, cannot change Ben's roles: he holds Release managers, whose permissions
    // she lacks. The administrator gives him the Auditor role; Ben creates a key; Eli leaves.
    let refused = grace
        .post_form(
            &format!("/team/{ben_id}/roles"),
            &[
                ("role_ids", key_creators.as_str()),
                ("role_ids", release_managers.as_str()),
                ("role_ids", auditor.as_str()),
            ],
        )
        .await;
    assert_eq!(refused.status(), 403, "Ben is beyond Grace's rank");
    let saved = app
        .client
        .post(app.url(&format!("/team/{ben_id}/roles")))
        .form(&[
            ("role_ids", key_creators.as_str()),
            ("role_ids", release_managers.as_str()),
            ("role_ids", auditor.as_str()),
        ])
        .send()
        .await
        .expect("POST roles");
    assert_eq!(
        saved.status(),
        303,
        "the administrator gives Ben the Auditor role"
    );
    let key = ben
        .post_form(
            "/development/keys",
            &[
                ("name", "Release bot"),
                ("expiry", "never"),
                ("role_ids", key_creators.as_str()),
            ],
        )
        .await;
    assert_eq!(key.status(), 303, "Ben creates a key");
    let wrong = new_client()
        .post(app.url("/login"))
        .form(&[
            ("email", "chen@example.com"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(wrong.status(), 401, "a mistyped password is refused");
    let deactivated = app
        .post_form(&format!("/team/{eli_id}/deactivate"), &[])
        .await;
    assert_eq!(deactivated.status(), 303, "Eli is deactivated");

    sign_in(&browser, &app, ADMIN_EMAIL).await;
    browser.click_link("Team").await;
    browser.wait_for_text("grace@example.com").await;
    photograph(&browser, "team.png").await;

    browser.click_link("Audit log").await;
    browser.wait_for_text("Filter").await;
    photograph(&browser, "audit.png").await;

    // Ben's page as Grace sees it: she cannot change his roles, and the page says why.
    browser.click_button("Sign out").await;
    sign_in(&browser, &app, "grace@example.com").await;
    browser.click_link("Team").await;
    browser.click_link("ben@example.com").await;
    browser.wait_for_text("Effective permissions").await;
    photograph(&browser, "member.png").await;

    for name in ["team.png", "member.png", "audit.png"] {
        let png = std::fs::read(screenshot_dir().join(name)).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    }
}

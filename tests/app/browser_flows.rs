//! The flows Latchkey exists for, walked through in real (headless) Chromium as a person would:
//! signing in, opening tabs, typing, ticking, clicking. Each test skips (prints `skipped: …`)
//! when Chromium or chromedriver is missing, and fails instead when `CI` is set.
//!
//! `readme_screenshots` is not a test of behaviour: it seeds a small demo and saves the PNGs the
//! README shows. It is ignored by default; regenerate them with
//! `cargo test readme_screenshots -- --ignored`.

use std::path::PathBuf;

use latchkey::auth::catalog::*;
use thirtyfour::prelude::*;

use crate::browser::Browser;
use crate::helpers::*;

/// What a member without `service-accounts.create` is told, on the Development tab and on the 403
/// page alike.
const ASK_FOR_CREATE: &str = "You need the `service-accounts.create` permission to create API \
                              keys. Ask someone who can manage your roles to grant it.";

/// Signs in through the login form and waits for the Overview tab.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/login")).await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.click_button("Sign in").await;
    browser.wait_for_text("Welcome").await;
}

/// Clicks the Development tab and waits for its page.
async fn open_development_tab(browser: &Browser) {
    browser.click_link("Development").await;
    browser
        .wait_for_text("API keys for the systems you connect.")
        .await;
}

/// The current value of a form control.
async fn value_of(browser: &Browser, css: &str) -> String {
    browser
        .find(css)
        .await
        .value()
        .await
        .expect("the control's value")
        .unwrap_or_default()
}

/// Ticks a checkbox found by its label and checks that it is ticked now.
async fn tick(browser: &Browser, label: &str) {
    let checkbox = browser.find_by_label(label).await;
    assert!(
        !checkbox.is_selected().await.expect("the checkbox state"),
        "{label} starts unticked"
    );
    checkbox
        .click()
        .await
        .unwrap_or_else(|e| panic!("tick {label}: {e}"));
    assert!(
        checkbox.is_selected().await.expect("the checkbox state"),
        "{label} is ticked"
    );
}

async fn is_ticked(browser: &Browser, label: &str) -> bool {
    browser
        .find_by_label(label)
        .await
        .is_selected()
        .await
        .expect("the checkbox state")
}

/// Leaves a mark on the current document; `still_the_same_page` finds it only if no page load
/// happened in between.
async fn mark_the_page(browser: &Browser) {
    browser
        .driver()
        .execute("window.latchkeyTestMark = true;", Vec::new())
        .await
        .expect("mark the page");
}

async fn still_the_same_page(browser: &Browser) -> bool {
    browser
        .driver()
        .execute("return window.latchkeyTestMark === true;", Vec::new())
        .await
        .expect("look for the mark")
        .json()
        .as_bool()
        .unwrap_or(false)
}

#[tokio::test]
async fn admin_creates_a_key_with_a_new_role_created_inline() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.create_admin().await;

    sign_in(&browser, &app, ADMIN_EMAIL).await;
    open_development_tab(&browser).await;
    browser.click_link("New API key").await;
    browser.wait_for_text("Roles & access").await;

    browser.fill("Name", "Invoice exporter").await;
    browser
        .fill("description", "Sends invoices to the accounting system")
        .await;

    browser.click_button("+ Create new role").await;
    browser.fill("Role name", "Invoice readers").await;
    tick(&browser, ROLES_RETRIEVE).await;
    mark_the_page(&browser).await;
    browser.click_button("Create role and select it").await;

    browser
        .wait_for_text("Role “Invoice readers” created and selected.")
        .await;
    assert!(
        is_ticked(&browser, "Invoice readers").await,
        "the new role arrives selected"
    );
    assert_eq!(
        value_of(&browser, "#name").await,
        "Invoice exporter",
        "the key's name is still there"
    );
    assert_eq!(
        value_of(&browser, "#description").await,
        "Sends invoices to the accounting system",
        "the key's description is still there"
    );
    assert!(
        still_the_same_page(&browser).await,
        "only the Roles & access field was replaced, the page did not load again"
    );
    let focused = browser
        .driver()
        .active_element()
        .await
        .expect("the focused element")
        .text()
        .await
        .expect("its text");
    assert!(
        focused.contains("created and selected"),
        "keyboard focus moves to the notice, not to the top of the page: {focused:?}"
    );
    assert_eq!(
        value_of(&browser, "#new_role_name").await,
        "",
        "the sub-form is cleared for another role"
    );
    let role = app
        .role_named("Invoice readers")
        .await
        .expect("the role exists");
    assert_eq!(app.role_permissions(&role.id).await, vec![ROLES_RETRIEVE]);
    assert_eq!(app.key_count().await, 0, "no key is created yet");

    browser.click_button("Create API key").await;
    let secret = value_of(&browser, "input#new-key-secret").await;
    assert!(secret.starts_with("lk_"), "the key is shown: {secret:?}");
    assert_eq!(
        value_of(&browser, "input#new-key-header").await,
        format!("Authorization: Bearer {secret}"),
        "the header to send is shown"
    );
    let page = browser.text().await;
    assert!(page.contains("This is the only time the key is shown."));
    assert!(page.contains("Send it in this header"));
    let url = browser.current_url().await;
    let key_id = key_id_from(url.trim_start_matches(&app.address));
    assert_eq!(
        app.key_role_ids(&key_id).await,
        vec![role.id],
        "the key holds the new role"
    );

    browser.driver().refresh().await.expect("reload the page");
    browser.wait_for_text("cannot be shown again").await;
    assert!(
        browser.find_all("input#new-key-secret").await.is_empty(),
        "no secret field after a reload"
    );
    let source = browser.driver().source().await.expect("the page source");
    assert!(!source.contains(&secret), "the secret is gone for good");
}

#[tokio::test]
async fn admin_edits_a_key_and_adds_a_role() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let reader = app.create_role("Invoice reader", &[ROLES_RETRIEVE]).await;
    let auditor = app.create_role("Auditor", &[AUDIT_LOG_RETRIEVE]).await;
    let key_id = app.create_key("Nightly export", &[&reader]).await;
    // Another key, so the test has to pick the right row's Edit button.
    app.create_key("Chat bot", &[]).await;

    sign_in(&browser, &app, ADMIN_EMAIL).await;
    open_development_tab(&browser).await;
    browser.click_link("Edit Nightly export").await;
    browser.wait_for_text("Edit “Nightly export”").await;

    assert!(
        is_ticked(&browser, "Invoice reader").await,
        "the key's role is ticked"
    );
    tick(&browser, "Auditor").await;
    browser.click_button("Save").await;

    browser
        .wait_for_text("API key “Nightly export” saved.")
        .await;
    assert_eq!(browser.current_url().await, app.url("/development"));
    let chips = browser
        .driver()
        .find_all(By::XPath(
            "//tr[th[normalize-space(.)='Nightly export']]//span[contains(@class, 'chip')]",
        ))
        .await
        .expect("the row's role chips");
    let mut names = Vec::new();
    for chip in chips {
        names.push(chip.text().await.expect("a chip's text"));
    }
    names.sort();
    assert_eq!(
        names,
        vec!["Auditor", "Invoice reader"],
        "the row shows both roles"
    );
    let mut expected = vec![reader, auditor];
    expected.sort();
    assert_eq!(app.key_role_ids(&key_id).await, expected);
}

#[tokio::test]
async fn member_without_create_permission_is_told_to_ask_a_superior() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.create_member("dev@example.com", &[SERVICE_ACCOUNTS_RETRIEVE])
        .await;

    sign_in(&browser, &app, "dev@example.com").await;
    open_development_tab(&browser).await;

    let buttons = browser
        .driver()
        .find_all(By::XPath("//button[normalize-space(.)='New API key']"))
        .await
        .expect("look for the button");
    assert_eq!(buttons.len(), 1, "the button is shown, not hidden");
    let button = &buttons[0];
    assert!(
        !button.is_enabled().await.expect("the button state"),
        "the button is disabled"
    );
    let described_by = button
        .attr("aria-describedby")
        .await
        .expect("aria-describedby")
        .expect("the button says why it is disabled");
    let reason = browser
        .find(&format!("#{described_by}"))
        .await
        .text()
        .await
        .expect("the reason's text");
    assert_eq!(reason, ASK_FOR_CREATE);
    assert!(
        browser
            .driver()
            .find_all(By::XPath("//a[normalize-space(.)='New API key']"))
            .await
            .expect("look for a link")
            .is_empty(),
        "no link to the form"
    );

    browser.goto(&app.url("/development/keys/new")).await;
    browser.wait_for_text("Error 403").await;
    let page = browser.text().await;
    assert!(page.contains("Permission needed"), "page: {page}");
    assert!(page.contains(ASK_FOR_CREATE), "page: {page}");
    assert!(
        browser.find_all("#name").await.is_empty(),
        "no key form behind the refusal"
    );
}

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
async fn add_custom_permissions(app: &TestApp, entries: &'static [(&'static str, &'static str)]) {
    app.with_db(move |conn| {
        for (name, description) in entries {
            latchkey::models::permission::insert_custom(conn, name, description)
                .expect("add a custom permission");
        }
    })
    .await;
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

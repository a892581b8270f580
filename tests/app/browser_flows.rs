//! The flows Latchkey exists for, walked through in real (headless) Chromium as a person would:
//! signing in, opening tabs, typing, ticking, clicking. Each test skips (prints `skipped: …`)
//! when Chromium or chromedriver is missing, and fails instead when `CI` is set.
//!
//! `readme_screenshots` and `readme_screenshots_team` are not tests of behaviour: they seed a small
//! demo and save the PNGs the README shows (the second also checks that its pages do not scroll
//! sideways at 1280 or 390 pixels, and leaves phone-width pictures in `target/screenshots-phone/`).
//! They are ignored by default; regenerate them with `cargo test readme_screenshots -- --ignored`.

use std::path::PathBuf;

use latchkey::authz::catalog::*;
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

/// The checkbox labelled `label`, and whether it is disabled with a reason: `Some(reason)` for a
/// disabled box (its `aria-describedby` text), `None` for one that can be ticked.
async fn disabled_reason(browser: &Browser, label: &str) -> Option<String> {
    let checkbox = browser.find_by_label(label).await;
    if checkbox.is_enabled().await.expect("the checkbox state") {
        return None;
    }
    let described_by = checkbox
        .attr("aria-describedby")
        .await
        .expect("aria-describedby")
        .unwrap_or_else(|| panic!("the disabled {label:?} says why"));
    Some(
        browser
            .find(&format!("#{described_by}"))
            .await
            .text()
            .await
            .expect("the reason's text"),
    )
}

/// The help page's story: a member may not create keys, asks, a superior grants the role that
/// allows it, and the member creates one. Two browsers, one per person, side by side.
#[tokio::test]
async fn a_superior_grants_the_role_that_lets_a_member_create_keys() {
    let Some(member) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.create_member("dev@example.com", &[SERVICE_ACCOUNTS_RETRIEVE])
        .await;
    // Not an administrator: someone who may manage people and create keys, nothing more.
    app.create_member(
        "lead@example.com",
        &[
            USERS_RETRIEVE,
            USERS_UPDATE,
            SERVICE_ACCOUNTS_CREATE,
            SERVICE_ACCOUNTS_RETRIEVE,
        ],
    )
    .await;
    let key_creators = app
        .create_role(
            "Key creators",
            &[SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_RETRIEVE],
        )
        .await;

    // The member: the button is there, disabled, and says what to ask for.
    sign_in(&member, &app, "dev@example.com").await;
    open_development_tab(&member).await;
    let button = member.find("button[aria-describedby='new-key-why']").await;
    assert_eq!(button.text().await.expect("its text"), "New API key");
    assert!(
        !button.is_enabled().await.expect("the button state"),
        "New API key is disabled"
    );
    assert_eq!(
        member.find("#new-key-why").await.text().await.expect("why"),
        ASK_FOR_CREATE
    );

    // The superior, in a browser of their own.
    let Some(superior) = Browser::start().await else {
        return;
    };
    sign_in(&superior, &app, "lead@example.com").await;
    superior.click_link("Team").await;
    superior
        .wait_for_text("The people who sign in to this console.")
        .await;
    superior.click_link("dev@example.com").await;
    superior.wait_for_text("Effective permissions").await;
    assert!(
        is_ticked(&superior, "Role of dev@example.com").await,
        "the member's current role is ticked"
    );
    let admin_reason = disabled_reason(&superior, "Admin")
        .await
        .expect("the superior cannot give Admin");
    assert_eq!(
        admin_reason,
        "You cannot give this role: it holds every permission (Admin), which you do not hold."
    );
    assert_eq!(
        disabled_reason(&superior, "Key creators").await,
        None,
        "the superior holds both permissions of Key creators, so may give it"
    );
    tick(&superior, "Key creators").await;
    superior.click_button("Save roles").await;
    superior
        .wait_for_text("Roles of dev@example.com saved.")
        .await;
    assert!(
        is_ticked(&superior, "Key creators").await,
        "the saved page shows the new role ticked"
    );
    let granted_by = superior
        .driver()
        .find(By::XPath(
            "//tr[th[normalize-space(.)='service-accounts.create']]/td[@data-label='Granted by']",
        ))
        .await
        .expect("service-accounts.create is among the effective permissions")
        .text()
        .await
        .expect("its roles");
    assert_eq!(granted_by, "Key creators");
    drop(superior);
    let member_id = app
        .with_db(|conn| {
            latchkey::models::user::find_by_email(conn, "dev@example.com")
                .expect("find the member")
                .expect("the member exists")
                .id
        })
        .await;
    assert!(app.user_role_ids(&member_id).await.contains(&key_creators));

    // The member again, without signing in anew: the next page load knows the new role.
    member.driver().refresh().await.expect("reload Development");
    member.click_link("New API key").await;
    member.wait_for_text("Roles & access").await;
    member.fill("Name", "Invoice exporter").await;
    assert_eq!(
        disabled_reason(&member, "Role of lead@example.com").await,
        Some(
            "You cannot give this role: it holds users.retrieve, users.update, which you do not \
             hold."
                .to_string()
        ),
        "no escalation: the member cannot give a key the superior's role"
    );
    tick(&member, "Key creators").await;
    member.click_button("Create API key").await;
    let secret = value_of(&member, "input#new-key-secret").await;
    assert!(secret.starts_with("lk_"), "the key is shown: {secret:?}");
    member
        .wait_for_text("This is the only time the key is shown.")
        .await;
    let url = member.current_url().await;
    let key_id = key_id_from(url.trim_start_matches(&app.address));
    assert_eq!(app.key_role_ids(&key_id).await, vec![key_creators]);
}

/// An invitation from start to finish: the admin invites, copies the one-time link from the page,
/// and the invited person opens it in their own browser, chooses a password and is signed in.
#[tokio::test]
async fn an_invited_person_sets_a_password_with_the_one_time_link() {
    let Some(admin) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    app.create_admin().await;
    let key_creators = app
        .create_role(
            "Key creators",
            &[SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_RETRIEVE],
        )
        .await;

    sign_in(&admin, &app, ADMIN_EMAIL).await;
    admin.click_link("Team").await;
    admin.click_link("Invite someone").await;
    admin.wait_for_text("Invite a team member").await;
    admin.fill("Email", "new.hire@example.com").await;
    admin.fill("display_name", "Nia Newcomer").await;
    tick(&admin, "Key creators").await;
    admin.click_button("Invite").await;

    admin
        .wait_for_text("Hand this link to new.hire@example.com now; it is shown only once.")
        .await;
    assert!(admin.text().await.contains("expires in 7 days"));
    let link = value_of(&admin, "input#password-link").await;
    assert!(
        link.starts_with(&app.url("/set-password?token=")),
        "a link into this console: {link}"
    );
    admin
        .driver()
        .refresh()
        .await
        .expect("reload the link page");
    admin.wait_for_text("This link cannot be shown again").await;
    assert!(admin.find_all("input#password-link").await.is_empty());

    // The invited person, in a browser of their own.
    let Some(invited) = Browser::start().await else {
        return;
    };
    invited.goto(&link).await;
    invited.wait_for_text("Welcome to Latchkey").await;
    assert!(invited
        .text()
        .await
        .contains("You were invited as new.hire@example.com."));
    invited.fill("New password", PASSWORD).await;
    invited.fill("Repeat the new password", PASSWORD).await;
    invited.click_button("Set password and sign in").await;

    invited
        .wait_for_text("Your password is set. Welcome to Latchkey.")
        .await;
    assert_eq!(invited.current_url().await, app.url("/"));
    let heading = invited.find("h1").await.text().await.expect("the heading");
    assert_eq!(heading, "Welcome, Nia Newcomer");
    let access = invited
        .find("section[aria-labelledby='access-heading']")
        .await
        .text()
        .await
        .expect("the access section");
    assert!(
        access.contains(SERVICE_ACCOUNTS_CREATE),
        "the invited role's permissions: {access}"
    );
    let tabs = invited
        .find("nav.tabs")
        .await
        .text()
        .await
        .expect("the tabs");
    assert!(
        tabs.contains("Development") && !tabs.contains("Team"),
        "tabs: {tabs}"
    );

    let user_id = app
        .with_db(|conn| {
            latchkey::models::user::find_by_email(conn, "new.hire@example.com")
                .expect("find the person")
                .expect("the person exists")
        })
        .await;
    assert_eq!(user_id.status, latchkey::authz::UserStatus::Active.as_str());
    assert_eq!(app.user_role_ids(&user_id.id).await, vec![key_creators]);

    // The link worked once.
    invited.goto(&link).await;
    invited.wait_for_text("Error 404").await;
    assert!(invited.find_all("#password").await.is_empty());
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

/// Invites someone through the Team tab as the signed-in admin of `app`, and returns their id and
/// the one-time link's token.
async fn invite_person(
    app: &TestApp,
    email: &str,
    name: &str,
    role_ids: &[&str],
) -> (String, String) {
    let mut form = vec![("email", email), ("display_name", name)];
    form.extend(role_ids.iter().map(|id| ("role_ids", *id)));
    let response = app.post_form("/team/invite", &form).await;
    assert_eq!(response.status(), 303, "{email} is invited");
    let link_page = location(&response);
    let user_id = link_page
        .trim_start_matches("/team/")
        .trim_end_matches("/link")
        .to_string();
    let html = body(app.get(&link_page).await).await;
    let token = html
        .split("/set-password?token=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page shows the link")
        .to_string();
    (user_id, token)
}

/// The invited person chooses a password with the link and signs in; returns their own client.
async fn accept_invitation(app: &TestApp, email: &str, token: &str) -> reqwest::Client {
    let client = new_client();
    let set = client
        .post(app.url("/set-password"))
        .form(&[
            ("token", token),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
        ])
        .send()
        .await
        .expect("POST /set-password");
    assert_eq!(set.status(), 303, "{email} sets a password");
    let signed_in = client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(signed_in.status(), 303, "{email} signs in");
    client
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

    let (_, grace_token) =
        invite_person(&app, "grace@example.com", "Grace Hopper", &[&team_leads]).await;
    let grace = accept_invitation(&app, "grace@example.com", &grace_token).await;
    let (ben_id, ben_token) = invite_person(
        &app,
        "ben@example.com",
        "Ben Okafor",
        &[&key_creators, &release_managers],
    )
    .await;
    let ben = accept_invitation(&app, "ben@example.com", &ben_token).await;
    let (_, chen_token) = invite_person(&app, "chen@example.com", "Chen Wei", &[&read_only]).await;
    accept_invitation(&app, "chen@example.com", &chen_token).await;
    let (eli_id, eli_token) =
        invite_person(&app, "eli@example.com", "Eli Novak", &[&key_creators]).await;
    accept_invitation(&app, "eli@example.com", &eli_token).await;
    invite_person(&app, "dana@example.com", "Dana Ruiz", &[&auditor]).await;

    // Grace, a team lead, cannot change Ben's roles: he holds Release managers, whose permissions
    // she lacks. The administrator gives him the Auditor role; Ben creates a key; Eli leaves.
    let refused = grace
        .post(app.url(&format!("/team/{ben_id}/roles")))
        .form(&[
            ("role_ids", key_creators.as_str()),
            ("role_ids", release_managers.as_str()),
            ("role_ids", auditor.as_str()),
        ])
        .send()
        .await
        .expect("POST roles");
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
        .post(app.url("/development/keys"))
        .form(&[
            ("name", "Release bot"),
            ("expiry", "never"),
            ("role_ids", key_creators.as_str()),
        ])
        .send()
        .await
        .expect("POST a key");
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

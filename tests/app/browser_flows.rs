//! The flows Latchkey exists for, walked through in real (headless) Chromium as a person would:
//! signing in, opening tabs, typing, ticking, clicking. Each test skips (prints `skipped: …`)
//! when Chromium or chromedriver is missing, and fails instead when `CI` is set. The README's
//! screenshots, taken the same way, are in `screenshots.rs`.

use thirtyfour::prelude::*;

use crate::browser::Browser;
use crate::helpers::*;

/// What a member without `service-accounts.create` is told, on the Development tab and on the 403
/// page alike.
const ASK_FOR_CREATE: &str = "You need the `service-accounts.create` permission to create API \
                              keys. Ask someone who can manage your roles to grant it.";

/// Signs in through the login form and waits for the Overview tab.
pub(crate) async fn sign_in(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/login")).await;
    browser.fill("Email", email).await;
    browser.fill("Password", PASSWORD).await;
    browser.click_button("Sign in").await;
    browser.wait_for_text("Welcome").await;
}

/// Clicks the Development tab and waits for its page.
pub(crate) async fn open_development_tab(browser: &Browser) {
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
pub(crate) async fn tick(browser: &Browser, label: &str) {
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
        "You cannot give this role: it holds every permission (the Admin role), which you do not hold."
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

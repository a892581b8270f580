//! Rank: you may change, revoke, reset or rename only what you could have created or given yourself
//! (every permission of its roles is yours), and a key that expires cannot hand out more time than
//! it has. In the console and the API alike.

use chrono::{Duration, NaiveDateTime};
use reqwest::Method;
use serde_json::{json, Value};

use latchkey::models::api_key;

use crate::helpers::*;

async fn key_row(app: &TestApp, key_id: &str) -> api_key::ApiKey {
    let key_id = key_id.to_string();
    app.with_db(move |conn| api_key::find(conn, &key_id).unwrap().unwrap())
        .await
}

async fn user_status(app: &TestApp, user_id: &str) -> String {
    let user_id = user_id.to_string();
    app.with_db(move |conn| {
        latchkey::models::user::find(conn, &user_id)
            .unwrap()
            .unwrap()
            .status
    })
    .await
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

fn in_hours(hours: i64) -> NaiveDateTime {
    latchkey::db::now() + Duration::hours(hours)
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Signs `client` in as a new member holding exactly `permissions`.
async fn member_client(app: &TestApp, email: &str, permissions: &[&str]) -> reqwest::Client {
    app.create_member(email, permissions).await;
    let client = new_client();
    let signed_in = client
        .post(app.url("/login"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303, "{email} signs in");
    client
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .expect("POST")
}

async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    client.get(app.url(path)).send().await.expect("GET")
}

fn assert_refused_for_rank(answer: &Value) {
    assert_eq!(
        answer["error"]["code"], "INSUFFICIENT_PERMISSIONS",
        "refused as beyond the caller's rank: {answer}"
    );
    assert!(
        answer["error"]["required"].is_string(),
        "the answer names the missing permission: {answer}"
    );
}

#[tokio::test]
async fn a_member_who_may_only_deactivate_cannot_revoke_keys_through_deactivation() {
    let app = spawn_app().await;
    let leaver = app.create_member("leaver@example.com", &[]).await;
    let (admin_key, _) = app
        .issue_key_made_by("Deploys", &[ADMIN_ROLE_ID], Some(&leaver), None)
        .await;
    let offboarder = member_client(&app, "hr@example.com", &[USERS_RETRIEVE, USERS_DELETE]).await;

    let confirm = body(get(&app, &offboarder, &format!("/team/{leaver}/deactivate")).await).await;
    assert!(
        confirm.contains(r#"value="yes" disabled aria-describedby="revoke-keys-why""#),
        "the revoke-keys choice is disabled: {confirm}"
    );
    assert!(
        confirm.contains("You need the `service-accounts.delete` permission"),
        "and says why: {confirm}"
    );

    let crafted = post(
        &app,
        &offboarder,
        &format!("/team/{leaver}/deactivate"),
        &[("revoke_keys", "yes")],
    )
    .await;
    assert_eq!(
        crafted.status(),
        403,
        "revoking keys needs service-accounts.delete"
    );
    assert!(body(crafted).await.contains("service-accounts.delete"));
    assert!(
        key_row(&app, &admin_key).await.revoked_at.is_none(),
        "the key stays active"
    );
    assert_eq!(
        user_status(&app, &leaver).await,
        "active",
        "nothing half-happened"
    );

    let plain = post(
        &app,
        &offboarder,
        &format!("/team/{leaver}/deactivate"),
        &[],
    )
    .await;
    assert_eq!(
        plain.status(),
        303,
        "deactivating alone is still theirs to do"
    );
    assert_eq!(user_status(&app, &leaver).await, "deactivated");
    assert!(key_row(&app, &admin_key).await.revoked_at.is_none());
}

#[tokio::test]
async fn revoking_a_leavers_keys_needs_the_rank_to_revoke_every_one_of_them() {
    let app = spawn_app().await;
    let leaver = app.create_member("leaver@example.com", &[]).await;
    let readers = app.create_role("Readers", &[AUDIT_LOG_RETRIEVE]).await;
    let (small_key, _) = app
        .issue_key_made_by("Reports", &[&readers], Some(&leaver), None)
        .await;
    let (admin_key, _) = app
        .issue_key_made_by("Deploys", &[ADMIN_ROLE_ID], Some(&leaver), None)
        .await;
    let offboarder = member_client(
        &app,
        "hr@example.com",
        &[
            USERS_RETRIEVE,
            USERS_DELETE,
            SERVICE_ACCOUNTS_DELETE,
            AUDIT_LOG_RETRIEVE,
        ],
    )
    .await;

    let confirm = body(get(&app, &offboarder, &format!("/team/{leaver}/deactivate")).await).await;
    assert!(
        confirm.contains("You cannot revoke every key they created: that needs `"),
        "the page says why the keys cannot be revoked: {confirm}"
    );
    let refused = post(
        &app,
        &offboarder,
        &format!("/team/{leaver}/deactivate"),
        &[("revoke_keys", "yes")],
    )
    .await;
    assert_eq!(
        refused.status(),
        403,
        "one key beyond their rank refuses the whole operation"
    );
    assert!(
        key_row(&app, &small_key).await.revoked_at.is_none(),
        "no key was revoked"
    );
    assert!(key_row(&app, &admin_key).await.revoked_at.is_none());
    assert_eq!(user_status(&app, &leaver).await, "active");

    // An administrator may.
    app.signed_in_admin().await;
    let done = app
        .post_form(
            &format!("/team/{leaver}/deactivate"),
            &[("revoke_keys", "yes")],
        )
        .await;
    assert_eq!(done.status(), 303);
    assert!(key_row(&app, &small_key).await.revoked_at.is_some());
    assert!(key_row(&app, &admin_key).await.revoked_at.is_some());
    assert_eq!(user_status(&app, &leaver).await, "deactivated");
}

#[tokio::test]
async fn a_key_editor_without_admin_cannot_rename_or_redate_an_admin_key() {
    let app = spawn_app().await;
    let (admin_key, _) = app
        .issue_key_made_by("Deploys", &[ADMIN_ROLE_ID], None, None)
        .await;
    let editor = member_client(
        &app,
        "editor@example.com",
        &[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_UPDATE],
    )
    .await;

    let list = body(get(&app, &editor, "/development").await).await;
    assert!(
        list.contains(
            r#"aria-label="Edit Deploys (not allowed: You cannot change this key: that needs `"#
        ),
        "the list disables Edit on that key, and says why: {list}"
    );
    let page = body(get(&app, &editor, &format!("/development/keys/{admin_key}")).await).await;
    assert!(
        page.contains(r#"disabled aria-describedby="edit-why">Edit</button>"#),
        "Edit is disabled: {page}"
    );
    assert!(page.contains("You cannot change this key: that needs `"));
    let form = get(
        &app,
        &editor,
        &format!("/development/keys/{admin_key}/edit"),
    )
    .await;
    assert_eq!(form.status(), 403, "the edit form is refused up front");
    let renamed = post(
        &app,
        &editor,
        &format!("/development/keys/{admin_key}"),
        &[("name", "Mine now"), ("expiry", "30")],
    )
    .await;
    assert_eq!(renamed.status(), 403);

    // The same through the API, by a key that may update keys.
    let updaters = app
        .create_role(
            "Key updaters",
            &[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_UPDATE],
        )
        .await;
    let (_, updater) = app
        .issue_key_made_by("Updater", &[&updaters], None, None)
        .await;
    for patch in [
        json!({"name": "Mine now"}),
        json!({"expires_at": rfc3339(in_hours(1))}),
        json!({"roles": []}),
    ] {
        let answer = app
            .api_patch_json(
                &format!("/api/v1/service-accounts/{admin_key}"),
                &updater,
                &patch,
            )
            .await;
        assert_eq!(answer.status(), 403, "{patch}");
        assert_refused_for_rank(&json_of(answer).await);
    }
    let removed = app
        .api_delete(
            &format!("/api/v1/service-accounts/{admin_key}/roles/{ADMIN_ROLE_ID}"),
            &updater,
        )
        .await;
    assert_eq!(removed.status(), 403, "nor take its Admin role");

    let key = key_row(&app, &admin_key).await;
    assert_eq!(key.name, "Deploys");
    assert_eq!(key.expires_at, None);
    assert_eq!(
        app.key_role_ids(&admin_key).await,
        vec![ADMIN_ROLE_ID.to_string()]
    );
}

#[tokio::test]
async fn a_key_revoker_without_admin_cannot_revoke_an_admin_key() {
    let app = spawn_app().await;
    let (admin_key, _) = app
        .issue_key_made_by("Deploys", &[ADMIN_ROLE_ID], None, None)
        .await;
    let revoker = member_client(
        &app,
        "revoker@example.com",
        &[SERVICE_ACCOUNTS_RETRIEVE, SERVICE_ACCOUNTS_DELETE],
    )
    .await;

    let page = body(get(&app, &revoker, &format!("/development/keys/{admin_key}")).await).await;
    assert!(
        page.contains(r#"disabled aria-describedby="revoke-why">Revoke…</button>"#),
        "Revoke is disabled: {page}"
    );
    assert!(page.contains("You cannot revoke this key: that needs `"));
    let confirm = get(
        &app,
        &revoker,
        &format!("/development/keys/{admin_key}/revoke"),
    )
    .await;
    assert_eq!(confirm.status(), 403);
    let console = post(
        &app,
        &revoker,
        &format!("/development/keys/{admin_key}/revoke"),
        &[],
    )
    .await;
    assert_eq!(console.status(), 403);

    let revokers = app
        .create_role("Key revokers", &[SERVICE_ACCOUNTS_DELETE])
        .await;
    let (_, api_revoker) = app
        .issue_key_made_by("Revoker", &[&revokers], None, None)
        .await;
    let answer = app
        .api_delete(
            &format!("/api/v1/service-accounts/{admin_key}"),
            &api_revoker,
        )
        .await;
    assert_eq!(answer.status(), 403);
    assert_refused_for_rank(&json_of(answer).await);
    assert!(
        key_row(&app, &admin_key).await.revoked_at.is_none(),
        "the Admin key still works"
    );
}

#[tokio::test]
async fn a_superior_still_changes_and_revokes_keys_within_their_rank() {
    let app = spawn_app().await;
    let readers = app.create_role("Readers", &[AUDIT_LOG_RETRIEVE]).await;
    let (key_id, _) = app
        .issue_key_made_by("Reports", &[&readers], None, None)
        .await;
    let manager = member_client(
        &app,
        "manager@example.com",
        &[
            SERVICE_ACCOUNTS_RETRIEVE,
            SERVICE_ACCOUNTS_UPDATE,
            SERVICE_ACCOUNTS_DELETE,
            AUDIT_LOG_RETRIEVE,
        ],
    )
    .await;
    let list = body(get(&app, &manager, "/development").await).await;
    assert!(list.contains(&format!(
        r#"href="/development/keys/{key_id}/edit" aria-label="Edit Reports""#
    )));
    let page = body(get(&app, &manager, &format!("/development/keys/{key_id}")).await).await;
    assert!(page.contains(&format!(
        r#"href="/development/keys/{key_id}/edit">Edit</a>"#
    )));
    let renamed = post(
        &app,
        &manager,
        &format!("/development/keys/{key_id}"),
        &[
            ("name", "Monthly reports"),
            ("expiry", "30"),
            ("role_ids", &readers),
        ],
    )
    .await;
    assert_eq!(renamed.status(), 303);
    let key = key_row(&app, &key_id).await;
    assert_eq!(key.name, "Monthly reports");
    assert!(key.expires_at.is_some());

    let managers = app
        .create_role(
            "Key managers",
            &[
                SERVICE_ACCOUNTS_UPDATE,
                SERVICE_ACCOUNTS_DELETE,
                AUDIT_LOG_RETRIEVE,
            ],
        )
        .await;
    let (_, manager_key) = app
        .issue_key_made_by("Manager", &[&managers], None, None)
        .await;
    let patched = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{key_id}"),
            &manager_key,
            &json!({"name": "Reports", "expires_at": null}),
        )
        .await;
    assert_eq!(
        patched.status(),
        200,
        "a key that never expires may remove an expiry"
    );
    let revoked = app
        .api_delete(&format!("/api/v1/service-accounts/{key_id}"), &manager_key)
        .await;
    assert_eq!(revoked.status(), 200);
    assert!(key_row(&app, &key_id).await.revoked_at.is_some());
}

#[tokio::test]
async fn a_role_editor_cannot_rename_or_delete_a_role_it_could_not_give() {
    let app = spawn_app().await;
    let powerful = app
        .create_role("Powerful", &[USERS_DELETE, ROLES_RETRIEVE])
        .await;
    let editor = member_client(
        &app,
        "editor@example.com",
        &[ROLES_RETRIEVE, ROLES_UPDATE, ROLES_DELETE],
    )
    .await;

    let page = body(get(&app, &editor, &format!("/roles/{powerful}")).await).await;
    assert!(
        page.contains(
            "You cannot change this role: that needs `users.delete`, which you do not hold"
        ),
        "the role is shown read-only, with the reason: {page}"
    );
    assert!(!page.contains(">Save</button>"), "no Save button: {page}");
    assert!(!page.contains("Delete role…"), "no Delete: {page}");
    let renamed = post(
        &app,
        &editor,
        &format!("/roles/{powerful}"),
        &[("name", "Harmless"), ("permissions", ROLES_RETRIEVE)],
    )
    .await;
    assert_eq!(renamed.status(), 403);
    assert!(
        body(renamed).await.contains("users.delete"),
        "the refusal names the permission"
    );
    assert_eq!(
        get(&app, &editor, &format!("/roles/{powerful}/delete"))
            .await
            .status(),
        403
    );
    let deleted = post(&app, &editor, &format!("/roles/{powerful}/delete"), &[]).await;
    assert_eq!(deleted.status(), 403);

    let editors = app
        .create_role(
            "Role editors",
            &[ROLES_UPDATE, ROLES_DELETE, ROLES_RETRIEVE],
        )
        .await;
    let (_, key) = app
        .issue_key_made_by("Role editor", &[&editors], None, None)
        .await;
    let patched = app
        .api_patch_json(
            &format!("/api/v1/roles/{powerful}"),
            &key,
            &json!({"name": "Harmless"}),
        )
        .await;
    assert_eq!(patched.status(), 403);
    let answer = json_of(patched).await;
    assert_refused_for_rank(&answer);
    assert_eq!(answer["error"]["required"], USERS_DELETE);
    let removed = app
        .api_delete(&format!("/api/v1/roles/{powerful}"), &key)
        .await;
    assert_eq!(removed.status(), 403);

    let role = app
        .role_named("Powerful")
        .await
        .expect("the role is still there");
    assert_eq!(role.id, powerful);
    assert!(app.role_named("Harmless").await.is_none());

    // A role within their rank they still rename.
    let mine = app.create_role("Readers", &[ROLES_RETRIEVE]).await;
    let ok = app
        .api_patch_json(
            &format!("/api/v1/roles/{mine}"),
            &key,
            &json!({"name": "Role readers"}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    assert!(app.role_named("Role readers").await.is_some());
}

/// The token in the page a password link redirects to.
async fn issued_token(
    app: &TestApp,
    client: &reqwest::Client,
    issued: reqwest::Response,
) -> String {
    assert_eq!(issued.status(), 303, "the link is issued");
    let html = body(get(app, client, &location(&issued)).await).await;
    html.split("/set-password?token=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page shows the link")
        .to_string()
}

#[tokio::test]
async fn a_user_updater_cannot_issue_a_reset_link_for_a_colleague_holding_more() {
    let app = spawn_app().await;
    let colleague = app
        .create_member("auditor@example.com", &[AUDIT_LOG_RETRIEVE, USERS_RETRIEVE])
        .await;
    let helpdesk = member_client(
        &app,
        "helpdesk@example.com",
        &[USERS_RETRIEVE, USERS_UPDATE],
    )
    .await;

    let page = body(get(&app, &helpdesk, &format!("/team/{colleague}")).await).await;
    assert!(
        page.contains(r#"disabled aria-describedby="link-why">Password reset link</button>"#),
        "the reset link button is disabled: {page}"
    );
    assert!(page.contains("that needs `audit-log.retrieve`, which you do not hold"));
    let refused = post(
        &app,
        &helpdesk,
        &format!("/team/{colleague}/password-link"),
        &[],
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(body(refused).await.contains("audit-log.retrieve"));
    assert!(
        !app.has_audit_event("user.password-link-issued", "success")
            .await
    );
}

#[tokio::test]
async fn nobody_issues_a_reset_link_for_their_own_account() {
    let app = spawn_app().await;
    let admin = app.signed_in_admin().await;
    let page = body(app.get(&format!("/team/{admin}")).await).await;
    assert!(
        page.contains("You cannot issue a password link for your own account"),
        "{page}"
    );
    let own = app
        .post_form(&format!("/team/{admin}/password-link"), &[])
        .await;
    assert_eq!(
        own.status(),
        409,
        "a session alone cannot set a new password"
    );
    assert!(
        !app.has_audit_event("user.password-link-issued", "success")
            .await
    );
}

#[tokio::test]
async fn a_reset_link_stops_working_when_its_holder_is_promoted_beyond_its_issuer() {
    let app = spawn_app().await;
    let colleague = app.create_member("newcomer@example.com", &[]).await;
    let helpdesk = member_client(
        &app,
        "helpdesk@example.com",
        &[USERS_RETRIEVE, USERS_UPDATE],
    )
    .await;
    let issued = post(
        &app,
        &helpdesk,
        &format!("/team/{colleague}/password-link"),
        &[],
    )
    .await;
    let token = issued_token(&app, &helpdesk, issued).await;
    let usable = new_client()
        .get(app.url(&format!("/set-password?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        usable.status(),
        200,
        "the link works while the issuer outranks the holder"
    );

    // The colleague becomes an administrator before the link is used.
    app.grant_user_role(&colleague, ADMIN_ROLE_ID).await;
    let person = new_client();
    let form = person
        .get(app.url(&format!("/set-password?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 404, "the link no longer works");
    let taken = person
        .post(app.url("/set-password"))
        .form(&[
            ("token", token.as_str()),
            ("password", "the helpdesk owns this now"),
            ("password_confirmation", "the helpdesk owns this now"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 404, "nor sets a password");
    assert!(!app.has_audit_event("user.password-reset", "success").await);
}

#[tokio::test]
async fn a_superior_still_issues_links_and_deactivates_within_their_rank() {
    let app = spawn_app().await;
    let colleague = app
        .create_member("auditor@example.com", &[AUDIT_LOG_RETRIEVE])
        .await;
    let lead = member_client(
        &app,
        "lead@example.com",
        &[
            USERS_RETRIEVE,
            USERS_UPDATE,
            USERS_DELETE,
            AUDIT_LOG_RETRIEVE,
        ],
    )
    .await;
    let issued = post(
        &app,
        &lead,
        &format!("/team/{colleague}/password-link"),
        &[],
    )
    .await;
    let token = issued_token(&app, &lead, issued).await;
    let set = new_client()
        .post(app.url("/set-password"))
        .form(&[
            ("token", token.as_str()),
            ("password", "another long passphrase"),
            ("password_confirmation", "another long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 303, "the colleague sets a password with it");
    let deactivated = post(&app, &lead, &format!("/team/{colleague}/deactivate"), &[]).await;
    assert_eq!(deactivated.status(), 303);
    assert_eq!(user_status(&app, &colleague).await, "deactivated");
}

#[tokio::test]
async fn an_expiring_key_cannot_outlive_itself_nor_extend_its_own_expiry() {
    let app = spawn_app().await;
    let expires = in_hours(24);
    let (own_id, key) = app
        .issue_key_made_by("Temporary", &[ADMIN_ROLE_ID], None, Some(expires))
        .await;
    let (other_id, _) = app.issue_key_made_by("Forever", &[], None, None).await;

    let refusals = [
        (
            format!("/api/v1/service-accounts/{own_id}"),
            Method::PATCH,
            json!({"expires_at": null}),
        ),
        (
            format!("/api/v1/service-accounts/{own_id}"),
            Method::PATCH,
            json!({"expires_at": rfc3339(in_hours(48))}),
        ),
        (
            "/api/v1/service-accounts".to_string(),
            Method::POST,
            json!({"name": "Never expires"}),
        ),
        (
            "/api/v1/service-accounts".to_string(),
            Method::POST,
            json!({"name": "Outlives", "expires_at": rfc3339(in_hours(48))}),
        ),
        (
            format!("/api/v1/service-accounts/{other_id}"),
            Method::PATCH,
            json!({"expires_at": rfc3339(in_hours(48))}),
        ),
    ];
    for (path, method, payload) in refusals {
        let answer = app
            .api_send_json(method.clone(), &path, &key, &payload)
            .await;
        assert_eq!(answer.status(), 422, "{method} {path} {payload}");
        let answer = json_of(answer).await;
        assert_eq!(answer["error"]["field"], "expires_at", "{answer}");
    }
    assert_eq!(
        key_row(&app, &own_id)
            .await
            .expires_at
            .map(|t| t.and_utc().timestamp()),
        Some(expires.and_utc().timestamp())
    );
    assert_eq!(key_row(&app, &other_id).await.expires_at, None);
    assert_eq!(app.key_count().await, 2, "no key was created");

    // Within its own lifetime it still works.
    let shorter = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{own_id}"),
            &key,
            &json!({"expires_at": rfc3339(in_hours(12))}),
        )
        .await;
    assert_eq!(shorter.status(), 200, "it may shorten its own expiry");
    let created = app
        .api_post_json(
            "/api/v1/service-accounts",
            &key,
            &json!({"name": "Short-lived", "expires_at": rfc3339(in_hours(6))}),
        )
        .await;
    assert_eq!(
        created.status(),
        201,
        "and create a key that expires before it"
    );
    let renamed = app
        .api_patch_json(
            &format!("/api/v1/service-accounts/{other_id}"),
            &key,
            &json!({"name": "Forever and ever"}),
        )
        .await;
    assert_eq!(
        renamed.status(),
        200,
        "renaming a key leaves its expiry alone"
    );
    assert_eq!(key_row(&app, &other_id).await.expires_at, None);

    // A key without expiry is not limited.
    let (_, forever) = app
        .issue_key_made_by("Unlimited", &[ADMIN_ROLE_ID], None, None)
        .await;
    let unlimited = app
        .api_post_json(
            "/api/v1/service-accounts",
            &forever,
            &json!({"name": "Also forever"}),
        )
        .await;
    assert_eq!(unlimited.status(), 201);
}

#[tokio::test]
async fn a_user_updater_cannot_change_an_administrators_roles_but_still_changes_a_peers() {
    let app = spawn_app().await;
    let admin = app.create_member("boss@example.com", &[]).await;
    app.grant_user_role(&admin, ADMIN_ROLE_ID).await;
    let plain = app.create_role("Newcomers", &[]).await;
    let spare = app.create_role("Spare", &[]).await;
    app.grant_user_role(&admin, &spare).await;
    let admin_roles = app.user_role_ids(&admin).await;
    let helpdesk = member_client(
        &app,
        "helpdesk@example.com",
        &[USERS_RETRIEVE, USERS_UPDATE],
    )
    .await;

    // The console: the form is not offered, and a crafted save that keeps every role the
    // administrator holds and adds one anyone may give is refused.
    let page = body(get(&app, &helpdesk, &format!("/team/{admin}")).await).await;
    assert!(
        page.contains("You cannot change their roles: that needs `")
            && !page.contains("Save roles"),
        "the page says why: {page}"
    );
    let mut form: Vec<(&str, &str)> = admin_roles
        .iter()
        .map(|r| ("role_ids", r.as_str()))
        .collect();
    form.push(("role_ids", &plain));
    let saved = post(&app, &helpdesk, &format!("/team/{admin}/roles"), &form).await;
    assert_eq!(saved.status(), 403, "an administrator is beyond their rank");

    // The API, with a key holding the same permissions.
    let updaters = app
        .create_role("User updaters", &[USERS_RETRIEVE, USERS_UPDATE])
        .await;
    let (_, key) = app
        .issue_key_made_by("Helpdesk", &[&updaters], None, None)
        .await;
    let granted = app
        .api_put(&format!("/api/v1/users/{admin}/roles/{plain}"), &key)
        .await;
    assert_eq!(granted.status(), 403);
    assert_refused_for_rank(&json_of(granted).await);
    let revoked = app
        .api_delete(&format!("/api/v1/users/{admin}/roles/{spare}"), &key)
        .await;
    assert_eq!(revoked.status(), 403, "nor take a role anyone could give");
    assert_refused_for_rank(&json_of(revoked).await);
    let mut held = app.user_role_ids(&admin).await;
    held.sort();
    let mut expected = admin_roles.clone();
    expected.sort();
    assert_eq!(held, expected, "the administrator's roles are unchanged");

    // Within their rank they still can, in both.
    let peer = app
        .create_member("peer@example.com", &[USERS_RETRIEVE])
        .await;
    let mut peer_form: Vec<(String, String)> = app
        .user_role_ids(&peer)
        .await
        .into_iter()
        .map(|r| ("role_ids".to_string(), r))
        .collect();
    peer_form.push(("role_ids".into(), plain.clone()));
    let peer_form: Vec<(&str, &str)> = peer_form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let saved = post(&app, &helpdesk, &format!("/team/{peer}/roles"), &peer_form).await;
    assert_eq!(saved.status(), 303);
    assert!(app.user_role_ids(&peer).await.contains(&plain));
    let revoked = app
        .api_delete(&format!("/api/v1/users/{peer}/roles/{plain}"), &key)
        .await;
    assert_eq!(revoked.status(), 200);
    let granted = app
        .api_put(&format!("/api/v1/users/{peer}/roles/{spare}"), &key)
        .await;
    assert!(granted.status().is_success(), "{}", granted.status());
    let held = app.user_role_ids(&peer).await;
    assert!(held.contains(&spare) && !held.contains(&plain));
}

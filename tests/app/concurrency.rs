//! Acknowledged writes stay written when many arrive at once: grants and revocations never lose
//! each other, two administrators cannot remove each other and leave nobody, and concurrent creates
//! of one name answer 2xx once and 409/422 otherwise, never 5xx. Every test runs on both databases.

use reqwest::{Method, StatusCode};
use serde_json::json;

use latchkey::models::user;

use crate::helpers::*;

/// How many requests each test sends at the same moment.
const CONCURRENT: usize = 16;

/// Sends every request at once (one task each) and returns the statuses, in order.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<StatusCode> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| tokio::spawn(async move { request.send().await.expect("a response") }))
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("join").status());
    }
    statuses
}

/// `CONCURRENT` roles without permissions (so anyone may give them), created directly.
async fn many_roles(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..CONCURRENT {
        ids.push(app.create_role(&format!("{prefix} {i:02}"), &[]).await);
    }
    ids.sort();
    ids
}

async fn key_id(app: &TestApp, key: &str) -> String {
    let public_id = latchkey::auth::api_key::parse(key)
        .expect("a key in Latchkey's format")
        .0
        .to_string();
    app.with_db(move |conn| {
        latchkey::models::api_key::find_by_public_id(conn, &public_id)
            .expect("find the key")
            .expect("the key exists")
            .id
    })
    .await
}

fn assert_all_succeeded(statuses: &[StatusCode], what: &str) {
    assert!(
        statuses.iter().all(|s| s.is_success()),
        "every {what} is acknowledged: {statuses:?}"
    );
}

#[tokio::test]
async fn sixteen_concurrent_grants_on_one_key_all_stay() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let target = key_id(&app, &app.issue_key("Target", &[]).await).await;
    let roles = many_roles(&app, "Grant").await;

    let statuses = all_at_once(
        roles
            .iter()
            .map(|role| {
                app.api(
                    Method::PUT,
                    &format!("/api/v1/service-accounts/{target}/roles/{role}"),
                    &admin,
                )
            })
            .collect(),
    )
    .await;

    assert_all_succeeded(&statuses, "grant");
    assert_eq!(
        app.key_role_ids(&target).await,
        roles,
        "the key holds every role it was given"
    );
}

#[tokio::test]
async fn sixteen_concurrent_revocations_on_one_key_all_stay_revoked() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let roles = many_roles(&app, "Revoke").await;
    let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
    let target = key_id(&app, &app.issue_key("Target", &role_refs).await).await;

    let statuses = all_at_once(
        roles
            .iter()
            .map(|role| {
                app.api(
                    Method::DELETE,
                    &format!("/api/v1/service-accounts/{target}/roles/{role}"),
                    &admin,
                )
            })
            .collect(),
    )
    .await;

    assert_all_succeeded(&statuses, "revocation");
    assert!(
        app.key_role_ids(&target).await.is_empty(),
        "no revoked role came back"
    );
}

#[tokio::test]
async fn grants_sent_while_the_key_is_renamed_all_stay() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let target = key_id(&app, &app.issue_key("Target", &[]).await).await;
    let roles = many_roles(&app, "Grant").await;

    let mut requests = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        requests.push(app.api(
            Method::PUT,
            &format!("/api/v1/service-accounts/{target}/roles/{role}"),
            &admin,
        ));
        requests.push(
            app.api(
                Method::PATCH,
                &format!("/api/v1/service-accounts/{target}"),
                &admin,
            )
            .json(&json!({"description": format!("edit {i}")})),
        );
    }
    let statuses = all_at_once(requests).await;

    assert_all_succeeded(&statuses, "grant and edit");
    assert_eq!(
        app.key_role_ids(&target).await,
        roles,
        "an edit that does not send roles never writes back the roles it read before a grant"
    );
}

#[tokio::test]
async fn sixteen_concurrent_grants_on_one_user_all_stay() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let member = app.create_member("member@example.com", &[]).await;
    let mut expected = app.user_role_ids(&member).await;
    let roles = many_roles(&app, "Grant").await;

    let statuses = all_at_once(
        roles
            .iter()
            .map(|role| {
                app.api(
                    Method::PUT,
                    &format!("/api/v1/users/{member}/roles/{role}"),
                    &admin,
                )
            })
            .collect(),
    )
    .await;

    assert_all_succeeded(&statuses, "grant");
    expected.extend(roles);
    expected.sort();
    let mut held = app.user_role_ids(&member).await;
    held.sort();
    assert_eq!(
        held, expected,
        "the person holds every role they were given"
    );
}

#[tokio::test]
async fn sixteen_concurrent_revocations_on_one_user_all_stay_revoked() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let member = app.create_member("member@example.com", &[]).await;
    let kept = app.user_role_ids(&member).await;
    let roles = many_roles(&app, "Revoke").await;
    for role in &roles {
        app.grant_user_role(&member, role).await;
    }

    let statuses = all_at_once(
        roles
            .iter()
            .map(|role| {
                app.api(
                    Method::DELETE,
                    &format!("/api/v1/users/{member}/roles/{role}"),
                    &admin,
                )
            })
            .collect(),
    )
    .await;

    assert_all_succeeded(&statuses, "revocation");
    assert_eq!(
        app.user_role_ids(&member).await,
        kept,
        "no revoked role came back"
    );
}

#[tokio::test]
async fn a_role_edited_by_many_at_once_keeps_its_new_permissions() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let permissions: Vec<String> = (0..4).map(|i| format!("documents.action-{i}")).collect();
    for name in &permissions {
        let made = app
            .api_post_json("/api/v1/permissions", &admin, &json!({"name": name}))
            .await;
        assert_eq!(made.status(), 201);
    }
    let role = app.create_role("Edited", &[]).await;

    for round in 0..3 {
        let mut requests = vec![app
            .api(Method::PATCH, &format!("/api/v1/roles/{role}"), &admin)
            .json(&json!({"permissions": permissions}))];
        for i in 1..CONCURRENT {
            requests.push(
                app.api(Method::PATCH, &format!("/api/v1/roles/{role}"), &admin)
                    .json(&json!({"description": format!("round {round}, edit {i}")})),
            );
        }
        let statuses = all_at_once(requests).await;

        assert_all_succeeded(&statuses, "role edit");
        assert_eq!(
            app.role_permissions(&role).await,
            permissions,
            "round {round}: an edit of the description never writes back the permissions it read \
             before another edit"
        );
        let clear = app
            .api_patch_json(
                &format!("/api/v1/roles/{role}"),
                &admin,
                &json!({"permissions": []}),
            )
            .await;
        assert_eq!(clear.status(), 200);
    }
}

/// A person holding the Admin role, signed in with a client of their own.
async fn signed_in_admin_user(app: &TestApp, email: &str) -> (String, reqwest::Client) {
    let id = app.create_member(email, &[]).await;
    app.grant_user_role(&id, ADMIN_ROLE_ID).await;
    (id, signed_in_client(app, email).await)
}

async fn signed_in_client(app: &TestApp, email: &str) -> reqwest::Client {
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

async fn active_admins(app: &TestApp) -> Vec<String> {
    app.with_db(|conn| {
        let mut ids = Vec::new();
        for candidate in user::list_after(conn, None, 100).expect("list users") {
            let holds_admin = user::role_ids(conn, &candidate.id)
                .expect("roles")
                .iter()
                .any(|r| r == ADMIN_ROLE_ID);
            if holds_admin && candidate.is_active() {
                ids.push(candidate.id);
            }
        }
        ids
    })
    .await
}

/// Posts a console form as `client`; true when it succeeded (a redirect back to the person's page,
/// not to the sign-in page).
async fn console_post(app: &TestApp, client: &reqwest::Client, path: String, back: String) -> bool {
    let response = client
        .post(app.url(&path))
        .form(&[("confirm", "yes")])
        .send()
        .await
        .expect("a response");
    let status = response.status();
    assert!(
        !status.is_server_error(),
        "{path} answered {status}, never a server error"
    );
    status == 303 && location(&response) == back
}

#[tokio::test]
async fn two_admins_demoting_each_other_leave_one_admin() {
    let app = spawn_app().await;
    let (ada, ada_client) = signed_in_admin_user(&app, "ada@example.com").await;
    let (bob, bob_client) = signed_in_admin_user(&app, "bob@example.com").await;

    for round in 0..6 {
        let (ada_demotes_bob, bob_demotes_ada) = tokio::join!(
            console_post(
                &app,
                &ada_client,
                format!("/team/{bob}/roles"),
                format!("/team/{bob}")
            ),
            console_post(
                &app,
                &bob_client,
                format!("/team/{ada}/roles"),
                format!("/team/{ada}")
            ),
        );
        let admins = active_admins(&app).await;
        assert_eq!(
            admins.len(),
            1,
            "round {round}: one active administrator remains"
        );
        assert!(
            ada_demotes_bob ^ bob_demotes_ada,
            "round {round}: exactly one demotion succeeds ({ada_demotes_bob}, {bob_demotes_ada})"
        );
        let demoted = if ada_demotes_bob {
            bob.clone()
        } else {
            ada.clone()
        };
        app.grant_user_role(&demoted, ADMIN_ROLE_ID).await;
    }
}

#[tokio::test]
async fn two_admins_deactivating_each_other_leave_one_admin() {
    let app = spawn_app().await;
    let (ada, mut ada_client) = signed_in_admin_user(&app, "ada@example.com").await;
    let (bob, mut bob_client) = signed_in_admin_user(&app, "bob@example.com").await;

    for round in 0..10 {
        let (ada_deactivates_bob, bob_deactivates_ada) = tokio::join!(
            console_post(
                &app,
                &ada_client,
                format!("/team/{bob}/deactivate"),
                format!("/team/{bob}")
            ),
            console_post(
                &app,
                &bob_client,
                format!("/team/{ada}/deactivate"),
                format!("/team/{ada}")
            ),
        );
        assert_eq!(
            active_admins(&app).await.len(),
            1,
            "round {round}: one active administrator remains"
        );
        assert!(
            ada_deactivates_bob ^ bob_deactivates_ada,
            "round {round}: exactly one deactivation succeeds"
        );
        let (deactivated, email) = if ada_deactivates_bob {
            (bob.clone(), "bob@example.com")
        } else {
            (ada.clone(), "ada@example.com")
        };
        app.with_db(move |conn| {
            user::set_status(conn, &deactivated, user::STATUS_ACTIVE).expect("reactivate")
        })
        .await;
        let client = signed_in_client(&app, email).await;
        if ada_deactivates_bob {
            bob_client = client;
        } else {
            ada_client = client;
        }
    }
}

fn assert_one_created(statuses: &[StatusCode], created: StatusCode, what: &str) {
    assert!(
        statuses
            .iter()
            .all(|s| *s == created || *s == StatusCode::CONFLICT || *s == 422),
        "each {what} is created or refused as a duplicate, never a server error: {statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == created).count(),
        1,
        "exactly one {what} is created: {statuses:?}"
    );
}

#[tokio::test]
async fn concurrent_roles_with_one_name_create_one_role() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|i| {
                app.api(Method::POST, "/api/v1/roles", &admin)
                    .json(&json!({"name": "Same name", "description": format!("attempt {i}")}))
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::CREATED, "role");
    assert!(app.role_named("Same name").await.is_some());
}

#[tokio::test]
async fn concurrent_permissions_with_one_name_create_one_permission() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|_| {
                app.api(Method::POST, "/api/v1/permissions", &admin)
                    .json(&json!({"name": "documents.render"}))
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::CREATED, "permission");
}

#[tokio::test]
async fn concurrent_keys_with_one_inline_role_name_create_one_key_and_role() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let keys_before = app.key_count().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|i| {
                app.api(Method::POST, "/api/v1/service-accounts", &admin)
                    .json(&json!({
                        "name": format!("Billing {i}"),
                        "new_roles": [{"name": "Billing access"}],
                    }))
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::CREATED, "key with its inline role");
    assert_eq!(
        app.key_count().await,
        keys_before + 1,
        "a refused key is not half-written"
    );
    assert!(app.role_named("Billing access").await.is_some());
}

#[tokio::test]
async fn concurrent_invitations_of_one_email_invite_once() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let statuses = all_at_once(
        (0..CONCURRENT)
            .map(|_| {
                app.client.post(app.url("/team/invite")).form(&[
                    ("email", "new.colleague@example.com"),
                    ("display_name", "New Colleague"),
                ])
            })
            .collect(),
    )
    .await;
    assert_one_created(&statuses, StatusCode::SEE_OTHER, "invitation");
    let invited = app
        .with_db(|conn| {
            user::find_by_email(conn, "new.colleague@example.com").expect("find by email")
        })
        .await;
    assert!(invited.is_some());
}

#[tokio::test]
async fn granting_a_role_while_it_is_deleted_never_answers_a_server_error() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    for round in 0..3 {
        let role = app.create_role(&format!("Doomed {round}"), &[]).await;
        let mut keys = Vec::new();
        for i in 0..CONCURRENT {
            keys.push(key_id(&app, &app.issue_key(&format!("Key {round}-{i}"), &[]).await).await);
        }
        let mut requests: Vec<_> = keys
            .iter()
            .map(|key| {
                app.api(
                    Method::PUT,
                    &format!("/api/v1/service-accounts/{key}/roles/{role}"),
                    &admin,
                )
            })
            .collect();
        requests.insert(
            CONCURRENT / 2,
            app.api(Method::DELETE, &format!("/api/v1/roles/{role}"), &admin),
        );
        let statuses = all_at_once(requests).await;
        assert!(
            statuses.iter().all(|s| s.is_success()
                || *s == StatusCode::NOT_FOUND
                || *s == StatusCode::CONFLICT
                || *s == 422),
            "round {round}: a grant racing the role's deletion is done or refused, never a 5xx: \
             {statuses:?}"
        );
        for key in &keys {
            assert!(
                app.key_role_ids(key).await.is_empty(),
                "round {round}: no key keeps a deleted role"
            );
        }
    }
}

/// How long to wait before the second of two racing requests, one value per round: the races
/// below are decided while the first request hashes a password or checks many keys, and these
/// offsets land the second request before, inside and after that window whatever the machine's
/// speed. They decide only which ordering a round exercises, never whether the test passes.
const STAGGER_MS: [u64; 6] = [0, 5, 10, 20, 40, 80];

async fn after(ms: u64, request: reqwest::RequestBuilder) -> reqwest::Response {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    request.send().await.expect("a response")
}

async fn status_of(app: &TestApp, user_id: &str) -> String {
    let user_id = user_id.to_string();
    app.with_db(move |conn| user::find(conn, &user_id).unwrap().unwrap().status)
        .await
}

/// Where the first audit event with this action, outcome and target label is, oldest first.
fn position(events: &[(String, String, String)], action: &str, label: &str) -> Option<usize> {
    events
        .iter()
        .position(|(a, o, l)| a == action && o == "success" && l == label)
}

#[tokio::test]
async fn a_password_change_racing_a_deactivation_never_reactivates_the_person() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    for (round, wait) in STAGGER_MS.iter().enumerate() {
        let email = format!("leaver{round}@example.com");
        let leaver = app.create_member(&email, &[]).await;
        let client = signed_in_client(&app, &email).await;
        let new_password = format!("a fresh passphrase for round {round}");
        let change = client.post(app.url("/account/password")).form(&[
            ("current_password", PASSWORD),
            ("password", new_password.as_str()),
            ("password_confirmation", new_password.as_str()),
        ]);
        let deactivate = app
            .client
            .post(app.url(&format!("/team/{leaver}/deactivate")))
            .form(&[("confirm", "yes")]);
        let (changed, deactivated) = tokio::join!(change.send(), after(*wait, deactivate));
        let (changed, deactivated) = (changed.expect("a response"), deactivated);
        assert!(!changed.status().is_server_error(), "round {round}");
        assert_eq!(deactivated.status(), 303, "round {round}: deactivated");
        assert_eq!(
            status_of(&app, &leaver).await,
            "deactivated",
            "round {round} (+{wait} ms): a password change never undoes a deactivation"
        );
        for password in [PASSWORD, new_password.as_str()] {
            let signed_in = new_client()
                .post(app.url("/login"))
                .form(&[("email", email.as_str()), ("password", password)])
                .send()
                .await
                .expect("a response");
            assert_ne!(
                signed_in.status(),
                303,
                "round {round}: a deactivated person cannot sign in"
            );
        }
    }
}

#[tokio::test]
async fn a_reset_link_redeemed_while_its_holder_is_promoted_never_outranks_its_issuer() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    app.create_member("helpdesk@example.com", &[USERS_RETRIEVE, USERS_UPDATE])
        .await;
    let helpdesk = signed_in_client(&app, "helpdesk@example.com").await;
    for (round, wait) in STAGGER_MS.iter().enumerate() {
        let email = format!("newcomer{round}@example.com");
        let holder = app.create_member(&email, &[]).await;
        let issued = helpdesk
            .post(app.url(&format!("/team/{holder}/password-link")))
            .send()
            .await
            .expect("a response");
        assert_eq!(issued.status(), 303, "round {round}: the link is issued");
        let page = helpdesk
            .get(app.url(&location(&issued)))
            .send()
            .await
            .expect("a response")
            .text()
            .await
            .expect("a body");
        let token = page
            .split("/set-password?token=")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page shows the link")
            .to_string();

        let redeem = new_client().post(app.url("/set-password")).form(&[
            ("token", token.as_str()),
            ("password", "the helpdesk chose this one"),
            ("password_confirmation", "the helpdesk chose this one"),
        ]);
        let promote = app.api(
            Method::PUT,
            &format!("/api/v1/users/{holder}/roles/{ADMIN_ROLE_ID}"),
            &admin,
        );
        let (redeemed, promoted) = tokio::join!(redeem.send(), after(*wait, promote));
        let redeemed = redeemed.expect("a response");
        assert!(
            !redeemed.status().is_server_error(),
            "round {round}: {}",
            redeemed.status()
        );
        assert_eq!(promoted.status(), 200, "round {round}: promoted");
        if redeemed.status() == 303 {
            let events = app.audit_events().await;
            let reset = position(&events, "user.password-reset", &email);
            let granted = position(&events, "user.roles-granted", &email);
            assert!(
                reset.is_some() && reset < granted,
                "round {round} (+{wait} ms): a link works only while its issuer outranks its \
                 holder, so a password set with it was set before the promotion"
            );
        }
    }
}

#[tokio::test]
async fn two_reactivations_of_one_person_at_once_reactivate_once() {
    let app = spawn_app().await;
    let (_, ada_client) = signed_in_admin_user(&app, "ada@example.com").await;
    let (_, bob_client) = signed_in_admin_user(&app, "bob@example.com").await;
    let member = app.create_member("returner@example.com", &[]).await;
    for round in 0..8 {
        let deactivate = member.clone();
        app.with_db(move |conn| {
            user::set_status(conn, &deactivate, user::STATUS_DEACTIVATED).expect("deactivate")
        })
        .await;
        let path = format!("/team/{member}/reactivate");
        let (ada, bob) = tokio::join!(
            ada_client
                .post(app.url(&path))
                .form(&[("confirm", "yes")])
                .send(),
            bob_client
                .post(app.url(&path))
                .form(&[("confirm", "yes")])
                .send(),
        );
        let statuses = [
            ada.expect("a response").status(),
            bob.expect("a response").status(),
        ];
        assert!(
            statuses.contains(&StatusCode::SEE_OTHER) && statuses.contains(&StatusCode::CONFLICT),
            "round {round}: one reactivation succeeds, the other finds the person active: \
             {statuses:?}"
        );
        assert_eq!(status_of(&app, &member).await, "active");
    }
}

#[tokio::test]
async fn a_key_promoted_while_its_creator_is_deactivated_is_not_revoked_unchecked() {
    let app = spawn_app().await;
    let admin = app.admin_key().await;
    let readers = app.create_role("Readers", &[AUDIT_LOG_RETRIEVE]).await;
    app.create_member(
        "hr@example.com",
        &[
            USERS_RETRIEVE,
            USERS_DELETE,
            SERVICE_ACCOUNTS_DELETE,
            AUDIT_LOG_RETRIEVE,
        ],
    )
    .await;
    let offboarder = signed_in_client(&app, "hr@example.com").await;
    for (round, wait) in [0u64, 1, 2, 4, 6, 8, 12, 16].iter().enumerate() {
        let email = format!("leaver{round}@example.com");
        let leaver = app.create_member(&email, &[]).await;
        // Many keys, so that checking each takes a while; the first one checked is promoted.
        let held = [readers.as_str()];
        let mut keys = Vec::new();
        for i in 0..24 {
            let name = format!("Key {i}");
            let made = app.issue_key_made_by(&name, &held, Some(&leaver), None);
            keys.push(made.await.0);
        }
        keys.sort();
        let promoted_key = keys[0].clone();
        let deactivate = offboarder
            .post(app.url(&format!("/team/{leaver}/deactivate")))
            .form(&[("revoke_keys", "yes")]);
        let promote = app.api(
            Method::PUT,
            &format!("/api/v1/service-accounts/{promoted_key}/roles/{ADMIN_ROLE_ID}"),
            &admin,
        );
        let (deactivated, promoted) = tokio::join!(deactivate.send(), after(*wait, promote));
        let deactivated = deactivated.expect("a response").status();
        let promoted = promoted.status();
        assert!(
            !deactivated.is_server_error() && !promoted.is_server_error(),
            "round {round}: {deactivated}, {promoted}"
        );
        let key_id = promoted_key.clone();
        let key = app
            .with_db(move |conn| {
                latchkey::models::api_key::find(conn, &key_id)
                    .unwrap()
                    .unwrap()
            })
            .await;
        let holds_admin = app
            .key_role_ids(&promoted_key)
            .await
            .contains(&ADMIN_ROLE_ID.to_string());
        if deactivated == 303 && holds_admin {
            // Both succeeded, so the key became an Admin key before the deactivation took its
            // turn (a revoked key cannot be given roles): the offboarder could not revoke it.
            assert!(
                key.revoked_at.is_none(),
                "round {round} (+{wait} ms): an Admin key was revoked by someone who could not \
                 have revoked it ({deactivated}, {promoted})"
            );
        }
        if deactivated == 303 && !holds_admin {
            assert!(
                key.revoked_at.is_some(),
                "round {round}: the checked keys are revoked"
            );
        }
    }
}

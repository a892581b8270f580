//! Rank over people: deactivating a leaver (and revoking their keys), reset links, and changing
//! the roles of someone holding more than the caller.

use super::*;

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

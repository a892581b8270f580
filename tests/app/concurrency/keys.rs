//! Many writes to one key at once: grants, revocations and a rename never lose each other, and a
//! key promoted while its creator is deactivated is not revoked unchecked.

use super::*;

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

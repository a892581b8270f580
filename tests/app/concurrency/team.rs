//! Many writes to one person at once: grants and revocations never lose each other, two
//! administrators cannot remove each other and leave nobody, one email is invited once, and a
//! password change, a reset link or a reactivation racing another change stays consistent.

use super::*;

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
        app.reactivate_member(&deactivated).await;
        let client = signed_in_client(&app, email).await;
        if ada_deactivates_bob {
            bob_client = client;
        } else {
            ada_client = client;
        }
    }
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
        app.deactivate_member(&member).await;
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

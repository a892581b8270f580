use crate::helpers::*;

#[tokio::test]
async fn an_invited_person_sets_a_password_with_the_link_and_signs_in() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let reader = app.create_role("Reader", &[ROLES_RETRIEVE]).await;
    let (user_id, token) = app.invite("New.Person@Example.com", &[&reader]).await;

    let team = body(app.get("/team").await).await;
    assert!(team.contains("new.person@example.com"));
    assert!(team.contains(r#"<span class="status status-invited">invited</span>"#));
    let again = body(app.get(&format!("/team/{user_id}/link")).await).await;
    assert!(
        again.contains("cannot be shown again"),
        "the link is shown once"
    );

    let person = app.visitor();
    let form = person.get(&format!("/set-password?token={token}")).await;
    assert_eq!(form.status(), 200);
    assert!(form
        .text()
        .await
        .unwrap()
        .contains("You were invited as <strong>new.person@example.com</strong>"));
    let short = person
        .post_form(
            "/set-password",
            &[
                ("token", token.as_str()),
                ("password", "short"),
                ("password_confirmation", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), 422);
    assert!(short
        .text()
        .await
        .unwrap()
        .contains("Use at least 12 characters."));

    let set = person
        .post_form(
            "/set-password",
            &[
                ("token", token.as_str()),
                ("password", PASSWORD),
                ("password_confirmation", PASSWORD),
            ],
        )
        .await;
    assert_eq!(set.status(), 303);
    let overview = person.get("/").await.text().await.unwrap();
    assert!(
        overview.contains(">Roles</a>"),
        "signed in, with the invited role"
    );

    let reused = new_client()
        .get(app.url(&format!("/set-password?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 404, "the link works once");
    assert_eq!(
        new_client()
            .post(app.url("/login"))
            .form(&[("email", "new.person@example.com"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

#[tokio::test]
async fn a_superior_grants_roles_only_within_their_own_permissions() {
    let app = spawn_app().await;
    app.signed_in_member(&[
        USERS_RETRIEVE,
        USERS_UPDATE,
        SERVICE_ACCOUNTS_CREATE,
        SERVICE_ACCOUNTS_RETRIEVE,
    ])
    .await;
    let key_makers = app
        .create_role(
            "Key makers",
            &[SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_RETRIEVE],
        )
        .await;
    let powerful = app.create_role("Powerful", &[USERS_DELETE]).await;
    let colleague = app.create_member("colleague@example.com", &[]).await;
    let colleague_role = app.user_role_ids(&colleague).await;

    let page = body(app.get(&format!("/team/{colleague}")).await).await;
    assert!(
        page.contains(&format!(
            r#"value="{powerful}" id="role-{powerful}" disabled"#
        )),
        "a role beyond the granter is disabled"
    );

    let mut granted: Vec<&str> = colleague_role.iter().map(String::as_str).collect();
    granted.push(&key_makers);
    let form: Vec<(&str, &str)> = granted.iter().map(|id| ("role_ids", *id)).collect();
    let saved = app
        .post_form(&format!("/team/{colleague}/roles"), &form)
        .await;
    assert_eq!(saved.status(), 303);
    assert!(app.user_role_ids(&colleague).await.contains(&key_makers));

    let mut crafted = form.clone();
    crafted.push(("role_ids", &powerful));
    let refused = app
        .post_form(&format!("/team/{colleague}/roles"), &crafted)
        .await;
    assert_eq!(refused.status(), 422);
    assert!(body(refused)
        .await
        .contains("Not allowed: “Powerful” (needs users.delete)."));
    let admin = app
        .post_form(
            &format!("/team/{colleague}/roles"),
            &[("role_ids", ADMIN_ROLE_ID)],
        )
        .await;
    assert_eq!(admin.status(), 422, "nor the Admin role");
    assert!(!app.user_role_ids(&colleague).await.contains(&powerful));
}

#[tokio::test]
async fn a_superior_cannot_take_away_a_role_they_could_not_grant() {
    let app = spawn_app().await;
    let boss = app
        .create_member(
            "boss@example.com",
            &[USERS_RETRIEVE, USERS_UPDATE, USERS_DELETE],
        )
        .await;
    let _ = boss;
    assert_eq!(
        app.sign_in("boss@example.com", PASSWORD).await.status(),
        303
    );
    let powerful = app.create_role("Powerful", &[AUDIT_LOG_RETRIEVE]).await;
    let senior = app.create_member("senior@example.com", &[]).await;
    app.grant_user_role(&senior, &powerful).await;

    let page = body(app.get(&format!("/team/{senior}")).await).await;
    assert!(
        page.contains(
            "You cannot change their roles: that needs `audit-log.retrieve`, which you do not hold."
        ),
        "the person's page says the boss cannot change their roles, and why: {page}"
    );
    assert!(
        !page.contains("Save roles"),
        "no roles form is offered: {page}"
    );
    let saved = app
        .post_form(&format!("/team/{senior}/roles"), &[("role_ids", &powerful)])
        .await;
    assert_eq!(
        saved.status(),
        403,
        "someone holding more than the boss could give is beyond the boss's rank, even for a save \
         that keeps the role"
    );
    let taken = app.post_form(&format!("/team/{senior}/roles"), &[]).await;
    assert_eq!(
        taken.status(),
        403,
        "leaving the role out asks to take it away, which the boss may not: refused, not a no-op"
    );
    assert!(body(taken).await.contains("audit-log.retrieve"));
    assert!(app.user_role_ids(&senior).await.contains(&powerful));
    let deactivate = app
        .post_form(&format!("/team/{senior}/deactivate"), &[])
        .await;
    assert_eq!(
        deactivate.status(),
        403,
        "nor can the boss deactivate someone holding more than they could grant"
    );
    let reset = app
        .post_form(&format!("/team/{senior}/password-link"), &[])
        .await;
    assert_eq!(
        reset.status(),
        403,
        "nor take over their account with a reset link"
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let app = spawn_app().await;
    let admin_id = app.signed_in_admin().await;
    let demote = app.post_form(&format!("/team/{admin_id}/roles"), &[]).await;
    assert_eq!(demote.status(), 422);
    assert!(body(demote)
        .await
        .contains("is the last active administrator"));

    let second = app
        .create_member(
            "second@example.com",
            &[USERS_RETRIEVE, USERS_DELETE, USERS_UPDATE],
        )
        .await;
    let other = app.visitor();
    other
        .post_form(
            "/login",
            &[("email", "second@example.com"), ("password", PASSWORD)],
        )
        .await;
    app.grant_user_role(&second, ADMIN_ROLE_ID).await;
    let refused = other
        .post_form(&format!("/team/{admin_id}/deactivate"), &[("x", "")])
        .await;
    assert_eq!(
        refused.status(),
        303,
        "with two admins one may be deactivated"
    );
    let last = app
        .with_db(move |conn| {
            latchkey::models::user::count_active_holders(conn, ADMIN_ROLE_ID).unwrap()
        })
        .await;
    assert_eq!(last, 1);
    let second_demotes_self = other
        .post_form(&format!("/team/{second}/roles"), &[("x", "")])
        .await;
    assert_eq!(
        second_demotes_self.status(),
        422,
        "the remaining admin cannot be demoted"
    );
}

#[tokio::test]
async fn deactivation_ends_a_live_session_and_keys_keep_working_unless_asked() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let member = app
        .create_member(
            "leaver@example.com",
            &[SERVICE_ACCOUNTS_CREATE, SERVICE_ACCOUNTS_RETRIEVE],
        )
        .await;
    let leaver = app.visitor();
    leaver
        .post_form(
            "/login",
            &[("email", "leaver@example.com"), ("password", PASSWORD)],
        )
        .await;
    let created = leaver
        .post_form(
            "/development/keys",
            &[("name", "Leaver's key"), ("expiry", "never")],
        )
        .await;
    let key_id = key_id_from(&location(&created));
    assert_eq!(leaver.get("/").await.status(), 200);

    let confirm = body(app.get(&format!("/team/{member}/deactivate")).await).await;
    assert!(confirm.contains("Also revoke the 1 API key they created"));
    let done = app
        .post_form(&format!("/team/{member}/deactivate"), &[])
        .await;
    assert_eq!(done.status(), 303);
    assert!(body(app.get(&format!("/team/{member}")).await)
        .await
        .contains("The API keys they created keep working."));
    let after = leaver.get("/").await;
    assert_eq!(after.status(), 303, "signed out at the next request");
    let detail = body(app.get(&format!("/development/keys/{key_id}")).await).await;
    assert!(
        detail.contains("status-active"),
        "the key belongs to the organisation and keeps working"
    );

    assert_eq!(
        app.post_form(&format!("/team/{member}/reactivate"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.post_form(
            &format!("/team/{member}/deactivate"),
            &[("revoke_keys", "yes")]
        )
        .await
        .status(),
        303
    );
    let detail = body(app.get(&format!("/development/keys/{key_id}")).await).await;
    assert!(
        detail.contains("status-revoked"),
        "when asked, their keys are revoked too"
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    app.create_member("me@example.com", &[]).await;
    let laptop = app.visitor();
    let phone = app.visitor();
    for person in [&laptop, &phone] {
        assert_eq!(
            person.sign_in("me@example.com", PASSWORD).await.status(),
            303
        );
    }
    let wrong = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", "not it at all"),
                ("password", "a brand new passphrase"),
                ("password_confirmation", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("This is not your current password."));

    let changed = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirmation", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(
        laptop.get("/account").await.status(),
        200,
        "this browser stays signed in"
    );
    assert_eq!(
        phone.get("/").await.status(),
        303,
        "the other session ended"
    );
    let with_new = new_client()
        .post(app.url("/login"))
        .form(&[
            ("email", "me@example.com"),
            ("password", "a brand new passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(with_new.status(), 303);
}

#[tokio::test]
async fn a_superior_issues_a_password_reset_link() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let member = app.create_member("forgetful@example.com", &[]).await;
    let issued = app
        .post_form(&format!("/team/{member}/password-link"), &[])
        .await;
    assert_eq!(issued.status(), 303);
    let html = body(app.get(&location(&issued)).await).await;
    assert!(html.contains("Password reset link for forgetful@example.com"));
    assert!(html.contains("expires in 24 hours"));
    let token = html
        .split("/set-password?token=")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let person = app.visitor();
    let set = person
        .post_form(
            "/set-password",
            &[
                ("token", token.as_str()),
                ("password", "another long passphrase"),
                ("password_confirmation", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status(), 303);
    assert!(app.has_audit_event("user.password-reset", "success").await);
}

#[tokio::test]
async fn my_account_page_explains_which_role_grants_each_permission() {
    let app = spawn_app().await;
    app.signed_in_member(&[ROLES_RETRIEVE, USERS_RETRIEVE])
        .await;
    let page = body(app.get("/account").await).await;
    assert!(page.contains("<code>roles.retrieve</code>"));
    assert!(
        page.contains("Role of member@example.com"),
        "the granting role is named"
    );
    assert!(page.contains("Ask someone who can manage your roles to grant it."));
}

#[tokio::test]
async fn team_denials_name_the_missing_permission() {
    let app = spawn_app().await;
    app.signed_in_member(&[USERS_RETRIEVE]).await;
    let list = body(app.get("/team").await).await;
    assert!(list.contains("You need the `users.create` permission to invite team members."));
    let invite = app
        .post_form("/team/invite", &[("email", "x@example.com")])
        .await;
    assert_eq!(invite.status(), 403);
    let other = app.create_member("other@example.com", &[]).await;
    assert_eq!(
        app.post_form(&format!("/team/{other}/roles"), &[])
            .await
            .status(),
        403
    );
    assert_eq!(
        app.post_form(&format!("/team/{other}/deactivate"), &[])
            .await
            .status(),
        403
    );
}

/// The sentence the operation answers when a refusal is `Conflict`.
fn conflict_sentence<T: std::fmt::Debug>(outcome: Result<T, latchkey::error::AppError>) -> String {
    match outcome {
        Err(latchkey::error::AppError::Conflict(sentence)) => sentence,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn refusal_sentence(allowed: Result<(), latchkey::services::Refusal>) -> String {
    latchkey::services::refusal_reason(allowed).expect("a refusal")
}

#[tokio::test]
async fn the_team_service_refuses_with_the_sentence_its_pages_show() {
    use latchkey::services::team;

    let app = spawn_app().await;
    let admin_id = app.create_admin().await;
    let db = &app.db;
    let admin = seed::acting_as(db, &admin_id).await;

    let own = team::member(db, &admin, admin_id.clone())
        .await
        .unwrap()
        .member;
    assert_eq!(
        refusal_sentence(team::can_deactivate(&own)),
        conflict_sentence(team::deactivate(db, admin.clone(), admin_id.clone(), false).await),
        "nobody deactivates their own account"
    );
    assert_eq!(
        refusal_sentence(team::can_issue_link(&own)),
        conflict_sentence(team::issue_reset_link(db, admin.clone(), admin_id.clone()).await),
        "nobody issues a password link for their own account"
    );

    let system = latchkey::auth::Principal::system();
    let last = team::member(db, &system, admin_id.clone())
        .await
        .unwrap()
        .member;
    let last_admin = refusal_sentence(team::can_lose_admin(&last));
    assert!(last_admin.contains("is the last active administrator"));
    assert_eq!(
        last_admin,
        conflict_sentence(team::deactivate(db, system.clone(), admin_id.clone(), false).await),
        "the last administrator stays active"
    );
    match team::revoke_role(db, system.clone(), admin_id.clone(), ADMIN_ROLE_ID.into()).await {
        Err(latchkey::error::AppError::Validation { field, message }) => {
            assert_eq!((field.as_str(), message), ("roles", last_admin));
        }
        other => panic!("the last administrator keeps the Admin role: {other:?}"),
    }

    let member_id = app.create_member("member@example.com", &[]).await;
    let active = team::member(db, &admin, member_id.clone())
        .await
        .unwrap()
        .member;
    assert!(team::can_deactivate(&active).is_ok());
    assert!(team::can_issue_link(&active).is_ok());
    assert_eq!(
        refusal_sentence(team::can_reactivate(&active)),
        conflict_sentence(team::reactivate(db, admin.clone(), member_id.clone()).await),
    );
    app.deactivate_member(&member_id).await;
    let deactivated = team::member(db, &admin, member_id.clone())
        .await
        .unwrap()
        .member;
    assert!(team::can_reactivate(&deactivated).is_ok());
    assert_eq!(
        refusal_sentence(team::can_issue_link(&deactivated)),
        conflict_sentence(team::issue_reset_link(db, admin.clone(), member_id.clone()).await),
        "a deactivated person gets no password link"
    );
    assert_eq!(
        refusal_sentence(team::can_deactivate(&deactivated)),
        conflict_sentence(team::deactivate(db, admin, member_id, false).await),
    );
}

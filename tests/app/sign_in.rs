use crate::helpers::*;

#[tokio::test]
async fn admin_signs_in_sees_every_tab_and_signs_out() {
    let app = spawn_app().await;
    app.create_admin().await;
    let response = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag");

    let html = body(app.get("/").await).await;
    for tab in ["Overview", "Development", "Roles", "Team", "Audit log"] {
        assert!(html.contains(&format!(">{tab}</a>")), "tab {tab} is shown");
    }

    let signed_out = app.post_form("/logout", &[]).await;
    assert_eq!(signed_out.status(), 303);
    assert_eq!(location(&signed_out), "/login?signed_out=1");
    assert!(body(app.get("/login?signed_out=1").await)
        .await
        .contains("You have signed out."));
    let after = app.get("/").await;
    assert_eq!(after.status(), 303);
    assert_eq!(location(&after), "/login");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.create_admin().await;

    let wrong = app.sign_in(ADMIN_EMAIL, "not the password at all").await;
    assert_eq!(wrong.status(), 401);
    let wrong_html = body(wrong).await;
    assert!(wrong_html.contains("The email or password is not correct."));
    assert!(
        wrong_html.contains(&format!(r#"value="{ADMIN_EMAIL}""#)),
        "the email is kept"
    );

    let unknown = app
        .sign_in("nobody@example.com", "not the password at all")
        .await;
    assert_eq!(unknown.status(), 401);
    assert!(body(unknown)
        .await
        .contains("The email or password is not correct."));

    assert_eq!(app.get("/").await.status(), 303, "still signed out");
}

#[tokio::test]
async fn five_failed_sign_ins_slow_that_email_down() {
    let app = spawn_app().await;
    app.create_admin().await;
    for _ in 0..5 {
        assert_eq!(
            app.sign_in(ADMIN_EMAIL, "wrong password here")
                .await
                .status(),
            401
        );
    }
    let throttled = app.sign_in(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(throttled.status(), 429, "even the right password waits");
    assert!(body(throttled)
        .await
        .contains("Too many failed sign-ins for this email. Try again in 15 minutes."));

    app.create_member("other@example.com", &[]).await;
    assert_eq!(
        app.sign_in("other@example.com", PASSWORD).await.status(),
        303,
        "other emails are not affected"
    );
}

#[tokio::test]
async fn sign_in_returns_to_the_page_that_asked_for_it() {
    let app = spawn_app().await;
    app.create_admin().await;
    let asked = app.get("/roles").await;
    assert_eq!(location(&asked), "/login?next=%2Froles");
    let form = body(app.get("/login?next=%2Froles").await).await;
    assert!(form.contains(r#"name="next" value="/roles""#));
    let response = app
        .post_form(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
                ("next", "/roles"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/roles");

    let other = app.visitor();
    let offsite = other
        .post_form(
            "/login",
            &[
                ("email", ADMIN_EMAIL),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&offsite), "/", "never redirects to another site");
}

#[tokio::test]
async fn deactivated_user_is_signed_out_at_the_next_request() {
    let app = spawn_app().await;
    let member = app.create_member("member@example.com", &[]).await;
    assert_eq!(
        app.sign_in("member@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(app.get("/").await.status(), 200);

    // Only the status changes (the Team tab's deactivation also deletes the sessions): the check is
    // made at every request.
    app.with_db(move |conn| {
        latchkey::models::user::set_status(conn, &member, latchkey::authz::UserStatus::Deactivated)
            .unwrap()
    })
    .await;
    let next = app.get("/").await;
    assert_eq!(next.status(), 303);
    assert_eq!(location(&next), "/login");
    assert_eq!(
        app.sign_in("member@example.com", PASSWORD).await.status(),
        401,
        "cannot sign in again"
    );
}

#[tokio::test]
async fn a_password_change_signs_out_other_browsers_and_only_the_new_password_signs_in() {
    const NEW_PASSWORD: &str = "a brand new long passphrase";
    let app = spawn_app().await;
    app.create_member("member@example.com", &[]).await;
    let elsewhere = app.visitor();
    assert_eq!(
        elsewhere
            .sign_in("member@example.com", PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.sign_in("member@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(elsewhere.get("/").await.status(), 200);

    let change = app
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(change.status(), 303, "the password is changed");

    assert_eq!(
        elsewhere.get("/").await.status(),
        303,
        "the other browser is signed out"
    );
    assert_eq!(
        elsewhere
            .sign_in("member@example.com", PASSWORD)
            .await
            .status(),
        401,
        "the old password no longer signs in"
    );
    assert_eq!(
        elsewhere
            .sign_in("member@example.com", NEW_PASSWORD)
            .await
            .status(),
        303,
        "the new password signs in"
    );
    assert_eq!(elsewhere.get("/").await.status(), 200);
}

#[tokio::test]
async fn sessions_survive_a_restart_because_the_key_is_kept_in_the_database() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let (second_address, _, _) = start_server(&app.database.url).await;
    let page = app
        .client
        .get(format!("{second_address}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.status(),
        200,
        "another instance on the same database accepts the cookie"
    );
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure_and_only_the_public_origin_may_post() {
    let database = TestDatabase::create();
    let mut settings = settings_for(&database.url);
    settings.public_url = Some("https://keys.example.com/".into());
    let app = Application::build(settings).await.expect("the app starts");
    let port = app.port();
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    tokio::task::spawn_blocking(move || {
        let mut conn = db.get().unwrap();
        let input = latchkey::services::setup::AdminInput {
            email: ADMIN_EMAIL.into(),
            display_name: String::new(),
            password: PASSWORD.into(),
            password_confirmation: PASSWORD.into(),
        };
        assert!(latchkey::services::setup::create_admin_blocking(&mut conn, &input).is_ok());
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/login");
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = [("email", ADMIN_EMAIL), ("password", PASSWORD)];

    let from_public = plain
        .post(&url)
        .header("Origin", "https://keys.example.com")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(from_public.status(), 303);
    let cookie = from_public
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");

    let from_host = plain
        .post(&url)
        .header("Origin", format!("http://127.0.0.1:{port}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        from_host.status(),
        403,
        "only the configured public origin is accepted"
    );
}

//! The audit log through the API (`/api/v1/audit-events`).

use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn audit_events_are_read_with_filters_and_actions_by_keys_are_attributed() {
    let app = spawn_app().await;
    let key = app.admin_key().await;
    for n in 0..3 {
        let made = app
            .api_post_json("/api/v1/roles", &key, &json!({"name": format!("Role {n}")}))
            .await;
        assert_eq!(made.status(), 201);
    }
    let page = json_of(
        app.api_get("/api/v1/audit-events?action=role.created&limit=2", &key)
            .await,
    )
    .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["target_label"], "Role 2", "newest first");
    assert_eq!(page["data"][0]["actor_kind"], "service-account");
    assert_eq!(page["data"][0]["actor_label"], "Admin automation");
    let at = page["data"][0]["occurred_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
        "RFC 3339 UTC: {at}"
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json_of(
        app.api_get(
            &format!("/api/v1/audit-events?action=role.created&limit=2&cursor={cursor}"),
            &key,
        )
        .await,
    )
    .await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let bad = app
        .api_get("/api/v1/audit-events?from=tomorrow", &key)
        .await;
    assert_eq!(bad.status(), 422);
}

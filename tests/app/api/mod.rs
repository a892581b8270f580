//! The JSON API under `/api/v1`, by resource: how a key authenticates, then keys, roles, the
//! permission catalog, people, the audit log, and the endpoints other services ask about a key.

mod audit_events;
mod authentication;
mod keys;
mod limits;
mod permissions;
mod roles;
mod users;
mod verification;

use crate::helpers::TestApp;

/// The id of a key from its full text.
async fn id_of(app: &TestApp, key: &str) -> String {
    let public_id = latchkey::auth::api_key::parse(key).unwrap().0.to_string();
    app.with_db(move |conn| {
        latchkey::models::api_key::find_by_public_id(conn, &public_id)
            .unwrap()
            .unwrap()
            .id
    })
    .await
}

//! Seeding shared by the benchmarks: a database filled through the library's own models, and keys
//! issued the way the test helpers issue them (`tests/app/helpers.rs`, `issue_key`).

use diesel::Connection;
use latchkey::auth::api_key;
use latchkey::authz::catalog::ADMIN_ROLE_ID;
use latchkey::db::{new_id, now, Db, DbConnection};
use latchkey::models::{api_key as key_model, permission, role};
use latchkey::services::setup;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// The operator's own permissions the seeded roles hold (besides Latchkey's built-in ones).
pub const RESOURCES: &[&str] = &[
    "documents",
    "invoices",
    "reports",
    "customers",
    "orders",
    "payments",
    "shipments",
    "webhooks",
];
pub const ACTIONS: &[&str] = &["create", "retrieve", "update", "delete", "render"];

/// A permission every seeded "few roles" key holds, for the permission check.
pub const CHECKED_PERMISSION: &str = "documents.render";

/// What a seeded database holds that the benchmarks use.
pub struct Seeded {
    /// A key holding the built-in Admin role.
    pub admin_key: String,
    /// A key holding three roles, one of which grants [`CHECKED_PERMISSION`].
    pub role_key: String,
    /// Every other key issued (full text), when asked for.
    pub other_keys: Vec<String>,
}

/// Issues a key holding these roles directly in the database and returns its full text.
pub fn issue_key(conn: &mut DbConnection, name: &str, role_ids: &[String]) -> String {
    let generated = api_key::generate();
    let at = now();
    let id = new_id();
    key_model::insert(
        conn,
        &key_model::NewApiKey {
            id: &id,
            public_id: &generated.public_id,
            name,
            description: "",
            secret_hash: &generated.secret_hash,
            created_by: None,
            created_at: at,
            updated_at: at,
            expires_at: None,
        },
    )
    .expect("insert a key");
    key_model::set_roles(conn, &id, role_ids).expect("give the key its roles");
    generated.full_key
}

/// Seeds Latchkey's catalog and Admin role, `roles` roles of 3 to 8 permissions each, and `keys`
/// keys of 1 to 3 roles each (plus the two keys of [`Seeded`]). `keep_keys` keeps the other keys'
/// text in [`Seeded::other_keys`].
pub fn seed(db: &Db, roles: usize, keys: usize, keep_keys: bool) -> Seeded {
    let mut conn = db.get().expect("a connection");
    let mut rng = StdRng::seed_from_u64(0x4c61_7463);
    setup::seed(&mut conn).expect("seed the catalog");

    let custom: Vec<String> = RESOURCES
        .iter()
        .flat_map(|r| ACTIONS.iter().map(move |a| format!("{r}.{a}")))
        .collect();
    conn.transaction(|conn| {
        for name in &custom {
            if permission::find(conn, name)?.is_none() {
                permission::insert_custom(conn, name, "Seeded for benchmarks")?;
            }
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("seed permissions");

    let mut role_ids = Vec::with_capacity(roles.max(3));
    conn.transaction(|conn| {
        for n in 0..roles.max(3) {
            let id = new_id();
            let count = rng.gen_range(3..=8);
            let mut permissions: Vec<String> =
                custom.choose_multiple(&mut rng, count).cloned().collect();
            if n == 0 && !permissions.iter().any(|p| p == CHECKED_PERMISSION) {
                permissions.push(CHECKED_PERMISSION.to_string());
            }
            role::insert(
                conn,
                &id,
                &format!("Bench role {n:05} {id}"),
                "",
                &permissions,
            )?;
            role_ids.push(id);
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("seed roles");

    let mut other_keys = Vec::new();
    let mut issued = 0;
    while issued < keys {
        let batch = (keys - issued).min(5_000);
        conn.transaction(|conn| {
            for n in issued..issued + batch {
                let count = rng.gen_range(1..=3);
                let held: Vec<String> =
                    role_ids.choose_multiple(&mut rng, count).cloned().collect();
                let key = issue_key(conn, &format!("Bench system {n:06}"), &held);
                if keep_keys {
                    other_keys.push(key);
                }
            }
            Ok::<_, diesel::result::Error>(())
        })
        .expect("seed keys");
        issued += batch;
    }

    let admin_key = issue_key(&mut conn, "Bench admin", &[ADMIN_ROLE_ID.to_string()]);
    let role_key = issue_key(&mut conn, "Bench service", &role_ids[..3]);
    Seeded {
        admin_key,
        role_key,
        other_keys,
    }
}

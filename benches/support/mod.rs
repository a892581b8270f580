//! Seeding shared by the benchmarks: a database filled through Latchkey's own services, with the
//! seeding the tests use (`tests/app/helpers/seed.rs`).

use std::future::Future;

use latchkey::authz::catalog::ADMIN_ROLE_ID;
use latchkey::db::Db;
use latchkey::services::setup;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Each benchmark uses a part of what the tests use.
#[allow(dead_code)]
#[path = "../../tests/app/helpers/seed.rs"]
mod seed;

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

/// How many keys are created at the same moment (SQLite writes them one after another; the
/// concurrency overlaps each one's checks with the others' commits).
const CONCURRENT_KEYS: usize = 8;

/// What a seeded database holds that the benchmarks use.
pub struct Seeded {
    /// A key holding the built-in Admin role.
    pub admin_key: String,
    /// A key holding three roles, one of which grants [`CHECKED_PERMISSION`].
    pub role_key: String,
    /// Every other key issued (full text), when asked for.
    pub other_keys: Vec<String>,
}

/// Runs the async services from a benchmark's plain `main`.
fn block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(work)
}

/// Seeds Latchkey's catalog and Admin role, `roles` roles of 3 to 8 permissions each, and `keys`
/// keys of 1 to 3 roles each (plus the two keys of [`Seeded`]). `keep_keys` keeps the other keys'
/// text in [`Seeded::other_keys`].
pub fn seed(db: &Db, roles: usize, keys: usize, keep_keys: bool) -> Seeded {
    let mut conn = db.get().expect("a connection");
    setup::seed(&mut conn).expect("seed the catalog");
    drop(conn);
    block_on(seed_through_services(db, roles, keys, keep_keys))
}

async fn seed_through_services(db: &Db, roles: usize, keys: usize, keep_keys: bool) -> Seeded {
    let mut rng = StdRng::seed_from_u64(0x4c61_7463);
    let custom: Vec<String> = RESOURCES
        .iter()
        .flat_map(|r| ACTIONS.iter().map(move |a| format!("{r}.{a}")))
        .collect();
    for name in &custom {
        seed::permission(db, name, "Seeded for benchmarks").await;
    }

    let mut role_ids = Vec::with_capacity(roles.max(3));
    for n in 0..roles.max(3) {
        let count = rng.gen_range(3..=8);
        let mut permissions: Vec<String> =
            custom.choose_multiple(&mut rng, count).cloned().collect();
        if n == 0 && !permissions.iter().any(|p| p == CHECKED_PERMISSION) {
            permissions.push(CHECKED_PERMISSION.to_string());
        }
        role_ids.push(seed::role(db, &format!("Bench role {n:05}"), &permissions).await);
    }

    let held_by_each: Vec<Vec<String>> = (0..keys)
        .map(|_| {
            let count = rng.gen_range(1..=3);
            role_ids.choose_multiple(&mut rng, count).cloned().collect()
        })
        .collect();
    let mut other_keys = Vec::new();
    for (batch_number, batch) in held_by_each.chunks(CONCURRENT_KEYS).enumerate() {
        let mut created = tokio::task::JoinSet::new();
        for (offset, held) in batch.iter().enumerate() {
            let n = batch_number * CONCURRENT_KEYS + offset;
            let (db, held) = (db.clone(), held.clone());
            created.spawn(async move {
                let (_, key) = seed::key(&db, &format!("Bench system {n:06}"), &held).await;
                (n, key)
            });
        }
        let mut batch_keys = created.join_all().await;
        batch_keys.sort();
        if keep_keys {
            other_keys.extend(batch_keys.into_iter().map(|(_, key)| key));
        }
    }

    let (_, admin_key) = seed::key(db, "Bench admin", &[ADMIN_ROLE_ID.to_string()]).await;
    let (_, role_key) = seed::key(db, "Bench service", &role_ids[..3]).await;
    Seeded {
        admin_key,
        role_key,
        other_keys,
    }
}

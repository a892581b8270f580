//! Key verification, the hot path of every API request: parse → cache lookup → SHA-256 compare →
//! permission check, on a SQLite database seeded with 1,000 roles and 10,000 keys.
//!
//! ```sh
//! cargo bench --bench verify
//! ```
//!
//! Targets: a cached key ≤ 5 µs, an uncached key (looked up in SQLite) ≤ 100 µs.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Bencher, Criterion};
use latchkey::auth::key_verifier::{KeyVerifier, Verification};
use latchkey::db::{new_id, Db};

mod support;

/// A throwaway SQLite file in the temp folder; the folder is removed on drop.
pub struct TempDatabase {
    pub dir: PathBuf,
    pub url: String,
}

impl TempDatabase {
    pub fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", new_id()));
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        let url = dir.join("latchkey.db").to_string_lossy().into_owned();
        Self { dir, url }
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const IP: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

/// Verifies and checks one permission, as a request with a required permission does.
fn verify_and_check(verifier: &KeyVerifier, presented: &str) -> bool {
    let verification = verifier
        .verify_blocking(black_box(presented), IP)
        .expect("verification runs");
    verification.record().is_some_and(|record| {
        record
            .permissions
            .can(black_box(support::CHECKED_PERMISSION))
    })
}

/// Times verification with the cache cleared before each call (the clearing is not timed).
fn uncached<'a>(
    verifier: &'a KeyVerifier,
    presented: &'a str,
    expect_valid: bool,
) -> impl FnMut(&mut Bencher) + 'a {
    move |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                verifier.invalidate_all();
                let started = Instant::now();
                let valid = verify_and_check(verifier, presented);
                total += started.elapsed();
                assert_eq!(valid, expect_valid);
            }
            total
        })
    }
}

fn benches(c: &mut Criterion) {
    let database = TempDatabase::create();
    let db = Db::open(&database.url, 4).expect("open the database");
    let seeded = support::seed(&db, 1_000, 10_000, true);
    let verifier = KeyVerifier::new(db);

    let valid = seeded.role_key.as_str();
    let admin = seeded.admin_key.as_str();
    // Well-formed, unknown public id.
    let unknown = "lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    // A known public id with a wrong secret.
    let wrong_secret = format!("{}_{}", &valid[..19], "C".repeat(32));
    let malformed = "lk_not-a-key";

    // The keys do what the benchmark says they do.
    assert!(verify_and_check(&verifier, valid), "the role key is valid");
    assert!(verify_and_check(&verifier, admin), "the admin key is valid");
    let unknown_outcome = verifier.verify_blocking(unknown, IP).expect("runs");
    assert!(matches!(unknown_outcome, Verification::NotFound));
    let wrong_outcome = verifier.verify_blocking(&wrong_secret, IP).expect("runs");
    assert!(matches!(wrong_outcome, Verification::NotFound));
    let malformed_outcome = verifier.verify_blocking(malformed, IP).expect("runs");
    assert!(matches!(malformed_outcome, Verification::Malformed));

    let mut group = c.benchmark_group("verify");
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("cached valid key", |b| {
        b.iter(|| assert!(verify_and_check(&verifier, valid)))
    });
    group.bench_function("cached admin key", |b| {
        b.iter(|| assert!(verify_and_check(&verifier, admin)))
    });
    group.bench_function("cached unknown key", |b| {
        b.iter(|| assert!(!verify_and_check(&verifier, unknown)))
    });
    group.bench_function("cached wrong secret", |b| {
        b.iter(|| assert!(!verify_and_check(&verifier, &wrong_secret)))
    });
    // Every seeded key in turn, all cached: the cache holding 10,002 entries.
    for key in &seeded.other_keys {
        assert!(verifier
            .verify_blocking(key, IP)
            .expect("runs")
            .record()
            .is_some());
    }
    let mut next = seeded.other_keys.iter().cycle();
    group.bench_function("cached key, 10,000 keys in turn", |b| {
        b.iter(|| {
            let key = next.next().expect("keys");
            assert!(verifier
                .verify_blocking(black_box(key), IP)
                .expect("runs")
                .record()
                .is_some())
        })
    });
    group.bench_function("malformed key", |b| {
        b.iter(|| assert!(!verify_and_check(&verifier, malformed)))
    });

    let verifier: &KeyVerifier = &verifier;
    group.bench_function(
        "uncached valid key (SQLite)",
        uncached(verifier, valid, true),
    );
    group.bench_function(
        "uncached admin key (SQLite)",
        uncached(verifier, admin, true),
    );
    group.bench_function(
        "uncached unknown key (SQLite)",
        uncached(verifier, unknown, false),
    );
    group.finish();
}

criterion_group!(verify, benches);
criterion_main!(verify);

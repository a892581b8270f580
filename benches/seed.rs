//! Seeds a database for the HTTP benchmarks (`benches/wrk/run.sh`) through the library's own
//! services (each change audited, as in real use): Latchkey's catalog and Admin role, 40
//! permissions of the operator's, `--roles` roles of 3 to 8 permissions and `--keys` keys of 1 to 3
//! roles each. Prints one key holding the Admin role and one holding three roles:
//!
//! ```sh
//! cargo bench --bench seed -- --keys 100000 --roles 1000 --db /tmp/latchkey-bench.db [--keys-out keys.txt]
//! ```
//!
//! ```text
//! ADMIN_KEY=lk_…
//! ROLE_KEY=lk_…
//! ```
//!
//! `--keys-out` also writes every other key, one a line. Every key is its own transaction (one
//! commit, synced to disk, each), so 100,000 keys take a few minutes.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use latchkey::db::Db;

mod support;

struct Args {
    keys: usize,
    roles: usize,
    db: Option<String>,
    keys_out: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        keys: 100_000,
        roles: 1_000,
        db: None,
        keys_out: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--keys" => args.keys = value()?.parse().map_err(|e| format!("--keys: {e}"))?,
            "--roles" => args.roles = value()?.parse().map_err(|e| format!("--roles: {e}"))?,
            "--db" => args.db = Some(value()?),
            "--keys-out" => args.keys_out = Some(value()?),
            // `cargo bench` adds `--bench`.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("seed: {message}");
            return ExitCode::FAILURE;
        }
    };
    let Some(url) = args.db else {
        // `cargo bench` with no filter runs every bench target; without --db there is nothing to do.
        eprintln!(
            "seed: nothing to do; usage: cargo bench --bench seed -- --keys N --roles N --db PATH [--keys-out FILE]"
        );
        return ExitCode::SUCCESS;
    };
    let started = Instant::now();
    let db = match Db::open(&url, 2) {
        Ok(db) => db,
        Err(err) => {
            eprintln!("seed: {err}");
            return ExitCode::FAILURE;
        }
    };
    let seeded = support::seed(&db, args.roles, args.keys, args.keys_out.is_some());
    if let Some(path) = args.keys_out {
        let written = std::fs::File::create(&path).and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            for key in &seeded.other_keys {
                writeln!(out, "{key}")?;
            }
            out.flush()
        });
        if let Err(err) = written {
            eprintln!("seed: cannot write {path}: {err}");
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "seed: {} roles and {} keys (+2) in {url} in {:.1} s",
        args.roles.max(3),
        args.keys,
        started.elapsed().as_secs_f64()
    );
    println!("ADMIN_KEY={}", seeded.admin_key);
    println!("ROLE_KEY={}", seeded.role_key);
    ExitCode::SUCCESS
}

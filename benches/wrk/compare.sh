#!/usr/bin/env bash
# Key verification throughput of this checkout against a reference build, in the same run on the same
# machine: the two servers take turns on copies of one seeded database, so a change's cost shows as a
# ratio that the machine's noise (2 cores shared by wrk and the server) affects alike.
#
#   BASE_BIN=/path/to/reference/latchkey bash benches/wrk/compare.sh
#
# Seeds one database with `cargo bench --bench seed` ($KEYS keys, $ROLES roles), then $RUNS times, in
# alternating order, starts each server on its own copy and measures GET /api/v1/whoami with a valid
# key, with an unknown key (the verification rate limiter's path) and GET /healthz. Prints the medians
# and the ratios this/reference. Settings: BASE_BIN (required), DURATION (10s), CONNECTIONS (32),
# THREADS (2), RUNS (5), KEYS (10000), ROLES (100), QUIET_WAIT (30), SKIP_BUILD=1.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BASE_BIN=${BASE_BIN:?set BASE_BIN to the reference build of latchkey}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
KEYS=${KEYS:-10000}
ROLES=${ROLES:-100}
QUIET_WAIT=${QUIET_WAIT:-30}
UNKNOWN_KEY=lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
SECS=${DURATION%s}
CORES=$(nproc)
HZ=$(getconf CLK_TCK)
SIGNIN_PID=

command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/latchkey-compare.XXXXXX)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=benches/wrk/lib.sh
source "$ROOT/benches/wrk/lib.sh"

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release)"
    cargo build --release --bin latchkey
    cargo bench --no-run --bench seed
fi
THIS_BIN="$ROOT/target/release/latchkey"

echo "== seeding: $KEYS keys, $ROLES roles"
cargo bench -q --bench seed -- --keys "$KEYS" --roles "$ROLES" --db "$WORK/seed.db" >"$WORK/seed.keys"
ROLE_KEY=$(awk -F= '$1 == "ROLE_KEY" {print $2}' "$WORK/seed.keys")
: >"$WORK/results"

run_one() { # run_one this|base RUN
    local label=$1 db="$WORK/$1-$2.db"
    cp "$WORK/seed.db" "$db"
    if [ "$label" = this ]; then SERVER=$THIS_BIN; else SERVER=$BASE_BIN; fi
    start_server "$db"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $ROLE_KEY" "$BASE/api/v1/whoami" >/dev/null 2>&1
    measure "$label-whoami" /api/v1/whoami -H "Authorization: Bearer $ROLE_KEY"
    measure "$label-unknown" /api/v1/whoami -H "Authorization: Bearer $UNKNOWN_KEY"
    measure "$label-healthz" /healthz
    stop_server
}

echo "== $CORES cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $RUNS rounds, this checkout vs $BASE_BIN"
for run in $(seq 1 "$RUNS"); do
    echo "  round $run"
    if ((run % 2)); then run_one this "$run"; run_one base "$run"; else run_one base "$run"; run_one this "$run"; fi
done

median_of() { awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$WORK/results" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

echo
echo "== medians of $RUNS rounds"
printf '| %-28s | %12s | %12s | %10s |\n' run "this req/s" "base req/s" "this/base"
for kind in whoami unknown healthz; do
    this=$(median_of "this-$kind" 2)
    base=$(median_of "base-$kind" 2)
    printf '| %-28s | %12s | %12s | %10s |\n' "$kind" "$this" "$base" "$(ratio "$this" "$base")"
done
echo "whoami/healthz: this $(ratio "$(median_of this-whoami 2)" "$(median_of this-healthz 2)"), base $(ratio "$(median_of base-whoami 2)" "$(median_of base-healthz 2)")"

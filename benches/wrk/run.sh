#!/usr/bin/env bash
# HTTP benchmarks of the release build with wrk (Debian: `apt-get install wrk`); the server and wrk
# run side by side on this machine, against 127.0.0.1 only.
#
#   bash benches/wrk/run.sh
#
# Builds the release binary, seeds two databases with `cargo bench --bench seed` (a small one, and a
# large one with $KEYS keys and $ROLES roles), starts the server on a free port with LATCHKEY_LOG=warn
# and measures, with $CONNECTIONS connections on $THREADS wrk threads for $DURATION per run:
#
#   small database: GET /healthz; GET /api/v1/whoami with a valid key; the same with an unknown key
#   large database: the same three; whoami with a random one of the $KEYS keys on each request; and
#                   whoami while failed sign-ins (one argon2 check each) are posted to /login on
#                   $SIGNIN_CONNECTIONS more connections, next to a reference run prepared the same
#                   way without them (the two in alternating order, so neither gets the quieter
#                   machine more often)
#
# Each database's runs are repeated $RUNS times, interleaved, and the table shows the medians (req/s,
# p50 and p99 each) with the range of p99: on a machine this small, where wrk and the server compete
# for the same cores, p99 varies a lot from run to run. The "other CPU" column is the CPU that processes other than the server and wrk used during the run (this
# machine may be shared): figures from a busy machine are not comparable. Before each run the script
# waits up to $QUIET_WAIT seconds for the machine to be quiet.
#
# Settings (environment): DURATION (10s), CONNECTIONS (32), THREADS (2), RUNS (5), KEYS (100000),
# ROLES (1000), SIGNIN_CONNECTIONS (2), QUIET_WAIT (60), LATCHKEY_WORKERS (unset: one per core),
# SKIP_BUILD=1 to use the binaries already built.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
KEYS=${KEYS:-100000}
ROLES=${ROLES:-1000}
SIGNIN_CONNECTIONS=${SIGNIN_CONNECTIONS:-2}
QUIET_WAIT=${QUIET_WAIT:-60}
UNKNOWN_KEY=lk_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB
SECS=${DURATION%s}
CORES=$(nproc)
HZ=$(getconf CLK_TCK)

command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/latchkey-wrk.XXXXXX)
SERVER_PID=
SIGNIN_PID=
cleanup() {
    if [ -n "$SIGNIN_PID" ]; then kill "$SIGNIN_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building (release)"
    cargo build --release --bin latchkey
    cargo bench --no-run --bench seed
fi
SERVER="$ROOT/target/release/latchkey"

seed() { # seed NAME KEYS ROLES [more arguments]
    local name=$1 keys=$2 roles=$3
    shift 3
    echo "== seeding $name: $keys keys, $roles roles"
    cargo bench -q --bench seed -- --keys "$keys" --roles "$roles" --db "$WORK/$name.db" "$@" \
        >"$WORK/$name.keys"
}

key_from() { awk -F= -v k="$2" '$1 == k {print $2}' "$WORK/$1.keys"; }

# shellcheck source=benches/wrk/lib.sh
source "$ROOT/benches/wrk/lib.sh"

warm_up() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $ROLE_KEY" "$BASE/api/v1/whoami" >/dev/null 2>&1
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$BASE/healthz" >/dev/null 2>&1
}

whoami_beside_signins() { # with|without: failed sign-ins on more connections from 2 s before to 2 s after
    wait_for_quiet
    if [ "$1" = with ]; then
        wrk -t1 -c"$SIGNIN_CONNECTIONS" -d"$((SECS + 4))s" --latency -s "$ROOT/benches/wrk/login.lua" \
            "$BASE/login" >"$WORK/signins.out" 2>&1 &
        SIGNIN_PID=$!
    fi
    sleep 2
    QUIET_WAIT=0 measure "large-whoami-$1-signins" /api/v1/whoami -H "Authorization: Bearer $ROLE_KEY"
    if [ "$1" = with ]; then
        wait "$SIGNIN_PID" || true
        SIGNIN_PID=
        record signins "$WORK/signins.out" "-"
    else
        sleep 2
    fi
}

echo "== $CORES cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $RUNS runs each; server workers: ${LATCHKEY_WORKERS:-one per core}"
: >"$WORK/results"

seed small 10 10
seed large "$KEYS" "$ROLES" --keys-out "$WORK/large-keys.txt"
export KEYS_FILE="$WORK/large-keys.txt"

echo "== small database (12 keys, 10 roles)"
ROLE_KEY=$(key_from small ROLE_KEY)
start_server "$WORK/small.db"
warm_up
for run in $(seq 1 "$RUNS"); do
    echo "  run $run"
    measure healthz /healthz
    measure whoami /api/v1/whoami -H "Authorization: Bearer $ROLE_KEY"
    measure whoami-invalid /api/v1/whoami -H "Authorization: Bearer $UNKNOWN_KEY"
done
stop_server

echo "== large database ($KEYS keys, $ROLES roles)"
ROLE_KEY=$(key_from large ROLE_KEY)
start_server "$WORK/large.db"
warm_up
for run in $(seq 1 "$RUNS"); do
    echo "  run $run"
    measure large-healthz /healthz
    measure large-whoami /api/v1/whoami -H "Authorization: Bearer $ROLE_KEY"
    measure large-whoami-invalid /api/v1/whoami -H "Authorization: Bearer $UNKNOWN_KEY"
    measure large-whoami-random /api/v1/whoami -s "$ROOT/benches/wrk/keys.lua"
    if ((run % 2)); then
        whoami_beside_signins without
        whoami_beside_signins with
    else
        whoami_beside_signins with
        whoami_beside_signins without
    fi
done
stop_server

# ---- summary: medians over the runs of each kind ----------------------------------------------------
median_of() { # median of field F over NAME's runs
    awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$WORK/results" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
check() { awk "BEGIN { print (($1) ? \"met\" : \"MISSED\") }"; }

echo
echo "== summary: $CORES cores, server and wrk on the same machine, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $RUNS runs (req/s and p99 medians taken separately)"
printf '| %-44s | %10s | %7s | %7s | %12s | %9s |\n' run "req/s" "p50 ms" "p99 ms" "p99 range ms" "other CPU"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "------------" "---------" "---------" "--------------" "-----------"
for name in healthz whoami whoami-invalid large-healthz large-whoami large-whoami-invalid large-whoami-random large-whoami-without-signins large-whoami-with-signins signins; do
    case $name in
        healthz) label="GET /healthz (small db)" ;;
        whoami) label="GET /api/v1/whoami, valid key (small db)" ;;
        whoami-invalid) label="whoami, unknown key (small db)" ;;
        large-healthz) label="GET /healthz (large db)" ;;
        large-whoami) label="whoami, valid key (large db)" ;;
        large-whoami-invalid) label="whoami, unknown key (large db)" ;;
        large-whoami-random) label="whoami, a random key of $KEYS (large db)" ;;
        large-whoami-without-signins) label="whoami, valid key, reference for the next" ;;
        large-whoami-with-signins) label="whoami, valid key, during sign-ins" ;;
        signins) label="POST /login, failed (argon2), meanwhile" ;;
    esac
    range=$(awk -v n="$name" '$1 == n {print $4}' "$WORK/results" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}')
    others=$(awk -v n="$name" '$1 == n {printf "%s%s", sep, $6; sep = "/"}' "$WORK/results")
    printf '| %-44s | %10s | %7s | %7s | %12s | %9s |\n' "$label" "$(median_of "$name" 2)" "$(median_of "$name" 3)" \
        "$(median_of "$name" 4)" "$range" "$others%"
done

rps() { median_of "$1" 2; }
p99() { median_of "$1" 4; }
echo
echo "targets (medians):"
r=$(ratio "$(rps whoami)" "$(rps healthz)")
r2=$(ratio "$(rps large-whoami)" "$(rps large-healthz)")
printf '  whoami req/s >= 60%% of healthz req/s: %s (small db), %s (large db) -> %s\n' "$r" "$r2" "$(check "$r >= 0.6 && $r2 >= 0.6")"
worst=$(printf '%s\n' "$(p99 whoami)" "$(p99 whoami-invalid)" "$(p99 large-whoami)" "$(p99 large-whoami-invalid)" | sort -g | tail -1)
printf '  whoami p99 <= 2 ms (worst of valid and unknown keys, small and large db): %s ms -> %s\n' "$worst" "$(check "$worst <= 2")"
r=$(ratio "$(rps whoami-invalid)" "$(rps whoami)")
r2=$(ratio "$(rps large-whoami-invalid)" "$(rps large-whoami)")
p=$(ratio "$(p99 whoami-invalid)" "$(p99 whoami)")
p2=$(ratio "$(p99 large-whoami-invalid)" "$(p99 large-whoami)")
printf '  unknown keys cost no more than valid ones: req/s unknown/valid %s and %s, p99 unknown/valid %s and %s -> %s\n' \
    "$r" "$r2" "$p" "$p2" "$(check "$r >= 0.95 && $r2 >= 0.95")"
r=$(ratio "$(rps large-whoami)" "$(rps whoami)")
p=$(ratio "$(p99 large-whoami)" "$(p99 whoami)")
printf '  %s keys and %s roles cost whoami <= 10%%: req/s large/small db %s, p99 large/small %s -> %s\n' \
    "$KEYS" "$ROLES" "$r" "$p" "$(check "$r >= 0.9")"
r=$(ratio "$(p99 large-whoami-with-signins)" "$(p99 large-whoami-without-signins)")
printf '  sign-ins move whoami p99 by <= 2x: p99 during/without sign-ins %s -> %s\n' "$r" "$(check "$r <= 2")"

# Shared by the wrk scripts (run.sh, compare.sh): a free port, starting and stopping the server
# ($SERVER, on a database, logging to $WORK/server.log), CPU accounting, and one measured wrk run that
# appends "NAME req/s p50 p99 non-2xx other-CPU%" to $WORK/results. Expects WORK, SECS, CORES, HZ,
# THREADS, CONNECTIONS, DURATION and QUIET_WAIT to be set; SIGNIN_PID may name a process whose CPU is
# not counted as "other".

free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" | grep -q .; then
            echo "$port"
            return
        fi
    done
    echo "no free port found" >&2
    exit 1
}

start_server() { # start_server DB
    PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    LATCHKEY_LOG=warn DATABASE_URL="$1" LATCHKEY_BIND="127.0.0.1:$PORT" \
        "$SERVER" serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if curl -sf "$BASE/healthz" >/dev/null 2>&1; then
            return
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "the server did not answer within 10 s" >&2
    cat "$WORK/server.log" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# CPU time (clock ticks) of the whole machine, and of one process.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
process_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

wait_for_quiet() { # while the server idles, waits (bounded) until the machine is below 10% busy
    local start=$SECONDS before after
    ((QUIET_WAIT > 0)) || return 0
    while ((SECONDS - start < QUIET_WAIT)); do
        before=$(busy_ticks)
        sleep 1
        after=$(busy_ticks)
        if (((after - before) * 100 < HZ * CORES * 10)); then
            return
        fi
    done
    echo "   (the machine is still busy after ${QUIET_WAIT}s; measuring anyway)"
}

to_ms() { # wrk latency (850.00us, 1.20ms, 2.00s) in milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n = n / 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n = n * 1000
        printf "%.3f", n
    }'
}

record() { # record NAME WRK_OUTPUT OTHER_CPU_PERCENT: one line in $WORK/results
    local out=$2 rps p50 p99 non2xx
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
    echo "$1 ${rps:-0} $p50 $p99 ${non2xx:-0} $3" >>"$WORK/results"
    printf '   %-22s %10s req/s  p50 %7s ms  p99 %7s ms  non-2xx %-8s other CPU %s%%\n' \
        "$1" "${rps:-0}" "$p50" "$p99" "${non2xx:-0}" "$3"
}

measure() { # measure NAME PATH [wrk arguments...]
    local name=$1 path=$2 busy0 server0 signin0 busy1 server1 signin1 wrk_ticks other
    shift 2
    wait_for_quiet
    busy0=$(busy_ticks)
    server0=$(process_ticks "$SERVER_PID")
    signin0=$([ -n "$SIGNIN_PID" ] && process_ticks "$SIGNIN_PID" || echo 0)
    wrk_ticks=$( { TIMEFORMAT="%U %S"; time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" \
        "$BASE$path" >"$WORK/$name.out" 2>&1; } 2>&1 | awk -v hz="$HZ" '{printf "%d", ($1 + $2) * hz}')
    busy1=$(busy_ticks)
    server1=$(process_ticks "$SERVER_PID")
    signin1=$([ -n "$SIGNIN_PID" ] && process_ticks "$SIGNIN_PID" || echo 0)
    other=$(awk -v b=$((busy1 - busy0)) -v s=$((server1 - server0)) -v l=$((signin1 - signin0)) \
        -v w="$wrk_ticks" -v t="$SECS" -v hz="$HZ" -v c="$CORES" \
        'BEGIN { o = (b - s - l - w) * 100 / (t * hz * c); printf "%d", (o < 0 ? 0 : o) }')
    record "$name" "$WORK/$name.out" "$other"
}


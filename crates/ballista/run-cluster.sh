#!/usr/bin/env bash
# Tries deduplication on a Ballista cluster on this machine: builds mergetag-ballista, starts a
# scheduler and two executors on 127.0.0.1, runs the `cluster` example against them (generated
# records deduplicated in process, by the local plan and on the cluster, the answers compared),
# then stops them. Exits non-zero when the answers differ or anything fails.
#
#   crates/ballista/run-cluster.sh [PEOPLE]      # default 5000 people (about 7,500 records)
#
# Ports: MERGETAG_SCHEDULER_PORT (default 50050), and the executors' Arrow Flight and gRPC
# ports MERGETAG_EXECUTOR_PORTS (default "50051 50052 50061 50062"). Build profile:
# MERGETAG_PROFILE (default dev; "release" is much faster to run, much slower to build);
# MERGETAG_SKIP_BUILD=1 runs the binaries already built for it (say, in a build of the whole
# workspace with other features, which would otherwise build DataFusion again).
# Logs and the plan's files go to a temporary directory, removed at the end unless
# MERGETAG_KEEP=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

people=${1:-5000}
scheduler_port=${MERGETAG_SCHEDULER_PORT:-50050}
read -r -a executor_ports <<<"${MERGETAG_EXECUTOR_PORTS:-50051 50052 50061 50062}"
if [ "${#executor_ports[@]}" -ne 4 ]; then
    echo "MERGETAG_EXECUTOR_PORTS needs four ports: flight and gRPC of each executor" >&2
    exit 2
fi
profile=${MERGETAG_PROFILE:-dev}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
case $profile in
    dev) bin_dir=$target_dir/debug ;;
    *) bin_dir=$target_dir/$profile ;;
esac

if [ "${MERGETAG_SKIP_BUILD:-0}" = 1 ]; then
    echo "==> using the binaries in $bin_dir"
else
    echo "==> building mergetag-ballista ($profile)"
    cargo build --profile "$profile" -p mergetag-ballista --bins --example cluster
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mergetag-cluster.XXXXXX")
pids=()
stop() {
    status=$?
    # Executors first (they tell the scheduler they stop), the scheduler last.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[$i]}" 2>/dev/null || true
        wait "${pids[$i]}" 2>/dev/null || true
    done
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do
            [ -e "$log" ] || continue
            echo "==> last lines of $log" >&2
            tail -n 20 "$log" >&2
        done
    fi
    if [ "${MERGETAG_KEEP:-0}" = 1 ]; then
        echo "==> kept $work"
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap stop EXIT INT TERM

# Waits up to 60 s for 127.0.0.1:$1 to accept connections.
wait_for_port() {
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "nothing listens on 127.0.0.1:$1 after 60 s" >&2
    return 1
}

echo "==> scheduler on 127.0.0.1:$scheduler_port"
"$bin_dir/mergetag-ballista-scheduler" --bind-host 127.0.0.1 --port "$scheduler_port" \
    >"$work/scheduler.log" 2>&1 &
pids+=($!)
wait_for_port "$scheduler_port"

for e in 0 1; do
    flight=${executor_ports[$((2 * e))]}
    grpc=${executor_ports[$((2 * e + 1))]}
    echo "==> executor $e on 127.0.0.1:$flight (flight) and :$grpc (gRPC)"
    mkdir -p "$work/executor-$e"
    "$bin_dir/mergetag-ballista-executor" --scheduler-host 127.0.0.1 \
        --scheduler-port "$scheduler_port" --bind-host 127.0.0.1 \
        --flight-port "$flight" --grpc-port "$grpc" --work-dir "$work/executor-$e" \
        >"$work/executor-$e.log" 2>&1 &
    pids+=($!)
    wait_for_port "$flight"
    wait_for_port "$grpc"
done

echo "==> deduplicating $people people on the cluster"
MERGETAG_PLAN_DIR="$work/plan" "$bin_dir/examples/cluster" "df://127.0.0.1:$scheduler_port" "$people"

# The servers' peak resident memory (Linux), before they stop.
names=(scheduler executor-0 executor-1)
for i in "${!pids[@]}"; do
    peak=$(awk '/^VmHWM:/ { printf "%d MiB", $2 / 1024 }' "/proc/${pids[$i]}/status" 2>/dev/null || true)
    echo "peak memory of the ${names[$i]}: ${peak:-unknown}"
done

#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time and fails on any crash.
#
# Usage: bash fuzz/smoke.sh [SECONDS]   (per target; default 60)
#
# Works on the stable toolchain: `-s none` builds with libFuzzer's coverage
# instrumentation but no sanitizer (sanitizers need nightly), and the build
# adds `-Cdebug-assertions`, so integer overflow panics too. New inputs go to
# a temporary directory; the committed seeds in corpus/<target>/ are only
# read. A crash leaves its input in fuzz/artifacts/<target>/ and the command
# that replays it in the output.
set -euo pipefail

secs="${1:-60}"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || {
    echo "usage: bash fuzz/smoke.sh [SECONDS]  (a whole number of seconds per target, got '$secs')" >&2
    exit 2
}
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
started=$SECONDS

step() {
    echo
    echo "==> $*"
    "$@"
}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    step cargo install --locked cargo-fuzz
fi
cargo fuzz --version

step cargo fuzz build -s none
mapfile -t targets < <(cargo fuzz list)
((${#targets[@]} > 0)) || fail "cargo fuzz list found no targets"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary=()
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    log="$work/$target.log"
    cmd=(cargo fuzz run -s none "$target" "$work/$target" "corpus/$target" --
        -max_total_time="$secs" -timeout=10 -print_final_stats=1)
    echo
    echo "==> ${cmd[*]}"
    status=0
    # libFuzzer stops itself after max_total_time; the outer timeout only
    # guards against a hang in start-up or shut-down.
    timeout $((secs + 120)) "${cmd[@]}" >"$log" 2>&1 || status=$?
    grep -E 'INITED|DONE|^Done|^stat::|panicked|ERROR|SUMMARY|Test unit written|artifact' "$log" || true
    if ((status != 0)); then
        tail -n 40 "$log"
        fail "$target: cargo fuzz run exited with status $status (a crash or a timeout; see above)"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    summary+=("$(printf '%-16s %12s executions %9s exec/s in %s s' "$target" "${runs:-?}" "${rate:-?}" "$secs")")
done

echo
echo "==> summary: no crash"
printf '%s\n' "${summary[@]}"
echo "fuzz smoke run passed in $((SECONDS - started)) s"

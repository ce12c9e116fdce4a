#!/usr/bin/env bash
# The core on a microcontroller: builds the two firmwares for a Cortex-M4
# (thumbv7em-none-eabihf) and checks their size budgets; runs the simulator's
# under QEMU (mps2-an386) and checks every run's log digest against the
# host's `scalemodel sim ... --digest`; runs the node's as machine 2 of a
# networked run (`scalemodel run --mcu 2`), checked by `analyze` with
# conservation exact; also builds the core for RISC-V.
#
# Usage: bash tests/firmware/check.sh   (from anywhere; installs what it needs)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
started=$SECONDS

# The budget: flash for code, constants and vectors; RAM for statics and for
# the stack (measured by the firmware: it paints the stack before main). The
# simulator (Sim<16, 8>) is one static reset in place for each run, so the
# statics hold it once and the stack none of it; together at most 32 KiB of
# RAM (the board has 4 MiB). Flash was 32 KiB until the node took `n`
# machines (docs/MACHINES.md, step 1): its links by id, one dial slot per
# dialled peer and the plan of its links cost 1,576 B (33,932 B, from
# 32,356 B), so the budget grew by 2 KiB. The simulator for `n` (its links
# `[[Link; M]; M]`, three of them unused on the diagonal, and its link sets
# of up to 256 bits) took flash to 33,648 B, statics from 22,268 B to
# 23,964 B and the peak stack from 7,680 B to 8,136 B (the report's nine
# links): all within the budget, the stack by 56 B.
TEXT_MAX=$((34 * 1024))
STATIC_RAM_MAX=$((24 * 1024))
STACK_MAX=$((8 * 1024))
# The node's firmware (docs/MCU.md): one node, Node<64, 256, 3, 3>, in a
# static, and its bridge's serial frames. Flash: the node and its handshake
# as in the simulator's firmware, without the simulator, plus the serial
# frames' encoding (postcard over serde for some twenty frame kinds, the
# node's report among them), the log line's formatting and the UART and
# timer drivers: 37,244 B at first; the budget leaves 10 % for the frames
# still to come. Statics: the node itself (7,200 B) and a few words. Stack:
# a turn of the node's loop with a frame's buffer (512 B) and a log line on
# it, and the report's frame at the end: 4,736 B at first, 6 KiB allowed.
NODE_TEXT_MAX=$((40 * 1024))
NODE_STATIC_RAM_MAX=$((8 * 1024))
NODE_STACK_MAX=$((6 * 1024))
QEMU_TIMEOUT_S=60
# The mixed run: machine 2 on the board for 10 s, the others on Linux.
MIXED_DURATION_S=10
MIXED_TIMEOUT_S=120

step() {
    echo
    echo "==> $*"
    "$@"
}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

echo "==> tools"
if ! command -v qemu-system-arm >/dev/null; then
    step apt-get update
    step apt-get install -y --no-install-recommends qemu-system-arm
fi
qemu-system-arm --version | head -n 1
step rustup target add thumbv7em-none-eabihf riscv32imac-unknown-none-elf
step rustup component add llvm-tools
size_tool=$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-size 2>/dev/null | head -n 1 || true)
if [ -z "$size_tool" ]; then
    size_tool=$(command -v llvm-size || command -v arm-none-eabi-size || true)
fi
[ -n "$size_tool" ] || fail "no llvm-size: rustup component add llvm-tools did not install it"
echo "size tool: $size_tool"

# Each panic location keeps its source file's path in .rodata, so a build
# from an absolute checkout path takes more flash the deeper the repository
# lies: about 10 B per character of the path (a CI runner's
# `/home/runner/work/<repo>/<repo>/` costs some 300 B more than a
# 10-character one), and the registry's paths 170 B. The measured build and
# the one QEMU runs name the core's files from the repository
# (`core/src/...`) and the dependencies' from the registry
# (`postcard-1.2.0/src/...`), wherever both are.
toml_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}
remap=$(toml_str "--remap-path-prefix=$root/=")
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
    if [ -d "$dir" ]; then
        remap+=", $(toml_str "--remap-path-prefix=$dir=")"
    fi
done
firmware_cargo=(cargo --config "target.thumbv7em-none-eabihf.rustflags = [$remap]")

cd "$here"
step "${firmware_cargo[@]}" build --release --locked
elf="$here/target/thumbv7em-none-eabihf/release/scalemodel-firmware"
node_elf="$here/target/thumbv7em-none-eabihf/release/scalemodel-node-firmware"

# sizes ELF: sets text (.text), flash_text (code + constants + vectors) and
# static_ram (.data + .bss + .uninit) for ELF.
sizes() {
    echo
    echo "==> $size_tool -A $1"
    "$size_tool" -A "$1" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit) '
    section() {
        "$size_tool" -A "$1" | awk -v name="$2" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
    }
    text=$(section "$1" .text)
    flash_text=$(($(section "$1" .vector_table) + text + $(section "$1" .rodata)))
    static_ram=$(($(section "$1" .data) + $(section "$1" .bss) + $(section "$1" .uninit)))
}
sizes "$node_elf"
node_text=$text
node_flash_text=$flash_text
node_static_ram=$static_ram
echo "node firmware: code + constants + vectors $node_flash_text B (budget $NODE_TEXT_MAX B), .data + .bss $node_static_ram B (budget $NODE_STATIC_RAM_MAX B)"
((node_flash_text <= NODE_TEXT_MAX)) || fail "the node firmware's text is $node_flash_text B, over the budget of $NODE_TEXT_MAX B"
((node_static_ram <= NODE_STATIC_RAM_MAX)) || fail "the node firmware's .data + .bss is $node_static_ram B, over the budget of $NODE_STATIC_RAM_MAX B"
sizes "$elf"
echo ".text $text B; code + constants + vectors $flash_text B (budget $TEXT_MAX B)"
echo ".data + .bss $static_ram B (budget $STATIC_RAM_MAX B)"
((flash_text <= TEXT_MAX)) || fail "the firmware's text is $flash_text B, over the budget of $TEXT_MAX B"
((static_ram <= STATIC_RAM_MAX)) || fail "the firmware's .data + .bss is $static_ram B, over the budget of $STATIC_RAM_MAX B"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo
echo "==> timeout $QEMU_TIMEOUT_S cargo run --release --locked --bin scalemodel-firmware (QEMU mps2-an386)"
qemu_started_ms=$(($(date +%s%N) / 1000000))
status=0
timeout "$QEMU_TIMEOUT_S" "${firmware_cargo[@]}" run --release --locked --bin scalemodel-firmware >"$out" || status=$?
cat "$out"
((status != 124)) || fail "the firmware did not finish within $QEMU_TIMEOUT_S s"
((status == 0)) || fail "the firmware exited with status $status"
qemu_ms=$(($(date +%s%N) / 1000000 - qemu_started_ms))
stack=$(sed -n 's/^stack peak=\([0-9]*\) bytes.*$/\1/p' "$out")
[ -n "$stack" ] || fail "the firmware printed no stack peak"
echo "peak stack $stack B (budget $STACK_MAX B)"
((stack <= STACK_MAX)) || fail "the firmware's peak stack is $stack B, over the budget of $STACK_MAX B"

cd "$root"
step cargo build --release --locked -p scalemodel -p scalemodel-node
host="$root/target/release/scalemodel"

# field NAME LINE: the value of `NAME=...` in a `run` line.
field() {
    tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

runs=0
summary=()
while IFS= read -r line; do
    seed=$(field seed "$line")
    rates=$(field rates "$line")
    range=$(field range "$line")
    sides=$(field sides "$line")
    duration=$(field duration "$line")
    inbox=$(field inbox "$line")
    link=$(field link "$line")
    want=$(field digest "$line")
    # Exact rates, and for a run that drew its rates, the same draw on the host.
    for r in "$rates" ${range:+"$range"}; do
        cmd=("$host" sim --seed "$seed" --rates "$r" --sides "$sides" --duration "$duration"
            --inbox-cap "$inbox" --link-cap "$link" --digest --no-log)
        echo
        echo "==> ${cmd[*]}"
        got=$("${cmd[@]}" | sed -n 's/^digest //p')
        echo "firmware $want, host $got"
        [ "$got" = "$want" ] || fail "seed $seed (--rates $r): the host's digest $got differs from the firmware's $want"
    done
    summary+=("seed $seed rates $rates${range:+ (drawn from $range)} sides $sides: digest $want")
    runs=$((runs + 1))
done < <(grep '^run ' "$out")
((runs >= 3)) || fail "the firmware reported $runs runs, expected at least 3"
grep -q "max_queue $((inbox - 1)) " "$out" || fail "no run filled an inbox of $inbox"

# The mixed run: machine 2 is the node's firmware under QEMU, bridged to
# the Linux nodes' TCP links. It must complete, keep every rule, and
# balance every link exactly (nothing in flight, nothing lost).
mixed=$(mktemp -d)
mixed_out=$(mktemp)
trap 'rm -f "$out" "$mixed_out"; rm -rf "$mixed"' EXIT
mixed_cmd=("$host" run --mcu 2 --firmware "$node_elf" --trials 1 --duration "$MIXED_DURATION_S"
    --seed 21 --out "$mixed/run")
echo
echo "==> timeout $MIXED_TIMEOUT_S ${mixed_cmd[*]}"
status=0
timeout "$MIXED_TIMEOUT_S" "${mixed_cmd[@]}" >"$mixed_out" 2>&1 || status=$?
cat "$mixed_out"
((status != 124)) || fail "the mixed run did not finish within $MIXED_TIMEOUT_S s"
((status == 0)) || fail "the mixed run exited with status $status"
grep -q "machine 2 ran on QEMU mps2-an386" "$mixed_out" || fail "the mixed run's summary does not say machine 2 ran on the board"
conservation=$(grep -E '^  conservation: ' "$mixed_out")
grep -qE '^  conservation: 6 of 6 links balanced, [0-9]+ messages sent, 0 in flight, 0 lost \(counted\), 0 inferred lost; conformance: 0 violations$' <<<"$conservation" ||
    fail "the mixed run's conservation is not exact: $conservation"
node_stack=$(sed -n 's/^.*board: stack peak=\([0-9]*\) bytes.*$/\1/p' "$mixed_out")
[ -n "$node_stack" ] || fail "the board printed no stack peak"
((node_stack <= NODE_STACK_MAX)) || fail "the node firmware's peak stack is $node_stack B, over the budget of $NODE_STACK_MAX B"
mixed_rows=$(grep -E '^ +[0-2] +[0-9]+ +[0-9]+ +[-+0-9.]+ ' "$mixed_out" | tail -n 3)
step "$host" analyze "$mixed/run/trial-1"

step cargo build -p scalemodel-core --release --locked --target riscv32imac-unknown-none-elf

echo
echo "==> summary"
echo "node firmware (thumbv7em-none-eabihf, mps2-an386):"
echo "  .text $node_text B, code + constants + vectors $node_flash_text B of $NODE_TEXT_MAX B"
echo "  .data + .bss $node_static_ram B of $NODE_STATIC_RAM_MAX B"
echo "  peak stack $node_stack B of $NODE_STACK_MAX B (in the mixed run)"
sed -n 's/^.*board: stack peak=[0-9]* bytes; node sizes/  bytes per node:/p' "$mixed_out"
echo "mixed run (machine 2 on the board), ${MIXED_DURATION_S} s:"
echo "  machine rate  ticks  rate err %      late p50 / p99 / max (µs) ..."
printf '%s\n' "$mixed_rows"
echo "$conservation"
echo "simulator firmware (thumbv7em-none-eabihf, mps2-an386):"
echo "  .text $text B, code + constants + vectors $flash_text B of $TEXT_MAX B"
echo "  .data + .bss $static_ram B of $STATIC_RAM_MAX B"
echo "  peak stack $stack B of $STACK_MAX B"
echo "  QEMU run (build cached) $qemu_ms ms"
echo "digests, firmware = host, $runs runs:"
printf '  %s\n' "${summary[@]}"
echo "scalemodel-core builds for riscv32imac-unknown-none-elf"
echo "firmware check passed in $((SECONDS - started)) s"

#!/usr/bin/env bash
# The core on a microcontroller: builds the firmware for a Cortex-M4
# (thumbv7em-none-eabihf), checks its size budget, runs it under QEMU
# (mps2-an386) and checks every run's log digest against the host's
# `scalemodel sim ... --digest`; also builds the core for RISC-V.
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
QEMU_TIMEOUT_S=60

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

echo
echo "==> $size_tool -A $elf"
"$size_tool" -A "$elf" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit) '
section() {
    "$size_tool" -A "$elf" | awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}
vectors=$(section .vector_table)
text=$(section .text)
rodata=$(section .rodata)
data=$(section .data)
bss=$(section .bss)
uninit=$(section .uninit)
flash_text=$((vectors + text + rodata))
static_ram=$((data + bss + uninit))
echo ".text $text B; code + constants + vectors $flash_text B (budget $TEXT_MAX B)"
echo ".data + .bss $static_ram B (budget $STATIC_RAM_MAX B)"
((flash_text <= TEXT_MAX)) || fail "the firmware's text is $flash_text B, over the budget of $TEXT_MAX B"
((static_ram <= STATIC_RAM_MAX)) || fail "the firmware's .data + .bss is $static_ram B, over the budget of $STATIC_RAM_MAX B"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo
echo "==> timeout $QEMU_TIMEOUT_S cargo run --release --locked (QEMU mps2-an386)"
qemu_started_ms=$(($(date +%s%N) / 1000000))
status=0
timeout "$QEMU_TIMEOUT_S" "${firmware_cargo[@]}" run --release --locked >"$out" || status=$?
cat "$out"
((status != 124)) || fail "the firmware did not finish within $QEMU_TIMEOUT_S s"
((status == 0)) || fail "the firmware exited with status $status"
qemu_ms=$(($(date +%s%N) / 1000000 - qemu_started_ms))
stack=$(sed -n 's/^stack peak=\([0-9]*\) bytes.*$/\1/p' "$out")
[ -n "$stack" ] || fail "the firmware printed no stack peak"
echo "peak stack $stack B (budget $STACK_MAX B)"
((stack <= STACK_MAX)) || fail "the firmware's peak stack is $stack B, over the budget of $STACK_MAX B"

cd "$root"
step cargo build --release --locked -p scalemodel
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

step cargo build -p scalemodel-core --release --locked --target riscv32imac-unknown-none-elf

echo
echo "==> summary"
echo "firmware (thumbv7em-none-eabihf, mps2-an386):"
echo "  .text $text B, code + constants + vectors $flash_text B of $TEXT_MAX B"
echo "  .data + .bss $static_ram B of $STATIC_RAM_MAX B"
echo "  peak stack $stack B of $STACK_MAX B"
echo "  QEMU run (build cached) $qemu_ms ms"
echo "digests, firmware = host, $runs runs:"
printf '  %s\n' "${summary[@]}"
echo "scalemodel-core builds for riscv32imac-unknown-none-elf"
echo "firmware check passed in $((SECONDS - started)) s"

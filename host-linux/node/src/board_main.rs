//! `scalemodel-board`: the bridge of a machine that runs on a board
//! (docs/MCU.md), a binary of its own so that `scalemodel-node` links no
//! bridge. `scalemodel run --mcu` starts it when it lies beside its own
//! binary; it takes the flags of `scalemodel node`, `--board` required.

use std::process::ExitCode;

fn main() -> ExitCode {
    scalemodel_node::lean_main(
        "scalemodel-board",
        "Run one machine of a networked run on a board under QEMU, as its bridge: what `scalemodel run --mcu` starts for that machine",
        scalemodel_node::run_board,
    )
}

//! `scalemodel-node`: one machine of a networked run, in a process that links
//! only what a node needs (no analysis, reports or plots). `scalemodel run`
//! starts its nodes from this binary when it lies beside its own; it takes
//! the flags of `scalemodel node`, from the same definition
//! ([`scalemodel_cli::NodeArgs`], which carries their rules). It runs no
//! board: `--board` is for `scalemodel-board`, the board's bridge, a binary
//! of its own so that no node maps the bridge's code.

use std::process::ExitCode;

fn main() -> ExitCode {
    scalemodel_node::lean_main(
        "scalemodel-node",
        "Run one machine of a networked run: what `scalemodel run` starts three of, and how a run spans several hosts",
        scalemodel_node::run_node,
    )
}

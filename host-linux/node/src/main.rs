//! `scalemodel-node`: one machine of a networked run, in a process that links
//! only what a node needs (no analysis, reports or plots). `scalemodel run`
//! starts its nodes from this binary when it lies beside its own; it takes
//! the flags of `scalemodel node`, from the same definition
//! ([`scalemodel_cli::NodeArgs`], which carries their rules). It runs no
//! board: `--board` is for `scalemodel-board`, the board's bridge, a binary
//! of its own so that no node maps the bridge's code.

use std::process::ExitCode;

use clap::Parser;
use scalemodel_cli::NodeArgs;

/// Run one machine of a networked run: what `scalemodel run` starts three
/// of, and how a run spans several hosts.
#[derive(Debug, Parser)]
#[command(name = "scalemodel-node", version, long_about = None)]
struct NodeCli {
    #[command(flatten)]
    args: NodeArgs,
}

fn main() -> ExitCode {
    let args = scalemodel_cli::negative_values_joined(std::env::args_os());
    let cli = match NodeCli::try_parse_from(&args) {
        Ok(cli) => cli,
        // Help and version go to stdout and exit 0.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint!("Error: {text}");
            return ExitCode::from(2);
        }
    };
    match scalemodel_node::run_node(&cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

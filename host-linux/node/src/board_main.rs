//! `scalemodel-board`: the bridge of a machine that runs on a board
//! (docs/MCU.md), a binary of its own so that `scalemodel-node` links no
//! bridge. `scalemodel run --mcu` starts it when it lies beside its own
//! binary; it takes the flags of `scalemodel node`, `--board` required.

use std::process::ExitCode;

use clap::Parser;
use scalemodel_cli::NodeArgs;

/// Run one machine of a networked run on a board under QEMU, as its
/// bridge: what `scalemodel run --mcu` starts for that machine.
#[derive(Debug, Parser)]
#[command(name = "scalemodel-board", version, long_about = None)]
struct BoardCli {
    #[command(flatten)]
    args: NodeArgs,
}

fn main() -> ExitCode {
    let args = scalemodel_cli::negative_values_joined(std::env::args_os());
    let cli = match BoardCli::try_parse_from(&args) {
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
    match scalemodel_node::run_board(&cli.args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `scalemodel`: run, simulate and analyse the Lamport-clock scale model.

use std::process::ExitCode;

use clap::Parser;
use scalemodel::cli::{Cli, Command};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            match e.downcast_ref::<scalemodel::run_cmd::Failed>() {
                Some(failed) => ExitCode::from(failed.code),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli =
        match Cli::try_parse_from(scalemodel::cli::negative_values_joined(std::env::args_os())) {
            Ok(cli) => cli,
            // Help and version go to stdout and exit 0.
            Err(e) if !e.use_stderr() => e.exit(),
            // `scalemodel` alone: the help, not an error message (exit 2 all the same).
            Err(e)
                if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
            {
                e.exit()
            }
            Err(e) => {
                // clap names the flag and the value; say it in the house's `Error:` form.
                let text = e.render().to_string();
                let text = text.strip_prefix("error: ").unwrap_or(&text);
                eprint!("Error: {text}");
                std::process::exit(2);
            }
        };
    match &cli.command {
        Command::Sim(args) => scalemodel::sim_cmd::run(args),
        Command::Node(args) => scalemodel::node_cmd::run(args),
        Command::Run(args) => scalemodel::run_cmd::run(args),
        Command::Analyze { dirs, out } => scalemodel::analyze_cmd::run(dirs, out.as_deref()),
        Command::Study(args) => scalemodel::study_cmd::run(args),
        Command::Swarm(args) => scalemodel::swarm_cmd::run(args),
        Command::Replay(args) => scalemodel::replay_cmd::run(args),
    }
}

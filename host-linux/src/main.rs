//! `scalemodel`: run, simulate and analyse the Lamport-clock scale model.

use std::process::ExitCode;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
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
    let args = scalemodel::cli::negative_values_joined(std::env::args_os());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // Help and version go to stdout and exit 0.
        Err(e) if !e.use_stderr() => e.exit(),
        // `scalemodel` alone: the help, not an error message (exit 2 all the same).
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(mut e) => {
            if e.kind() == ErrorKind::UnknownArgument {
                retip(&mut e, &args);
            }
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
        Command::Swarm(args) => scalemodel::swarm_cmd::command(args),
        Command::Replay(args) => scalemodel::replay_cmd::run(args),
        Command::Export(format) => scalemodel::export_cmd::run(format),
        Command::Bench(args) => scalemodel::bench_cmd::run(args),
    }
}

/// Replaces clap's tip for a flag that another command takes with one that
/// names those commands (see [`scalemodel::cli::tip_for_other_commands_flag`]).
fn retip(e: &mut clap::Error, args: &[std::ffi::OsString]) {
    let Some(ContextValue::String(flag)) = e.get(ContextKind::InvalidArg) else {
        return;
    };
    use clap::CommandFactory;
    let mut cli = Cli::command();
    cli.build();
    let command = args.iter().skip(1).find_map(|a| {
        let a = a.to_str()?;
        cli.get_subcommands()
            .any(|c| c.get_name() == a)
            .then_some(a)
    });
    let Some(command) = command else { return };
    let Some(tip) = scalemodel::cli::tip_for_other_commands_flag(command, flag) else {
        return;
    };
    // clap's usage line shows the flag it suggested; the command's own is
    // what the tip points to.
    if let Some(sub) = cli.find_subcommand_mut(command) {
        e.insert(
            ContextKind::Usage,
            ContextValue::StyledStr(sub.render_usage()),
        );
    }
    e.remove(ContextKind::SuggestedArg);
    e.remove(ContextKind::Suggested);
    e.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![tip.into()]),
    );
}

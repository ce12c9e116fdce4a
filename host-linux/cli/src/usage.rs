//! The command line's own errors made useful: a negative value reaches its
//! flag's parser, and a flag of another command is named as such.

use super::Cli;

/// The command line with every value that looks negative (`-1..=3`, `-5ms`,
/// `-.5`) joined to the long flag before it (`--rates=-1..=3`), so that clap
/// hands it to the flag's parser, which refuses it and says why, rather than
/// calling it an unknown flag. No flag is a dash and a digit, so nothing
/// that was a flag becomes a value.
pub fn negative_values_joined(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    for arg in args {
        let looks_negative = arg.to_str().is_some_and(|a| {
            let b = a.as_bytes();
            b.len() > 1 && b[0] == b'-' && (b[1].is_ascii_digit() || b[1] == b'.')
        });
        let after_flag = out.last().and_then(|p| p.to_str()).is_some_and(|p| {
            p.len() > 2 && p.starts_with("--") && !p.contains('=') && !out.iter().any(|a| a == "--")
        });
        match out.last_mut() {
            Some(prev) if looks_negative && after_flag => {
                prev.push("=");
                prev.push(&arg);
            }
            _ => out.push(arg),
        }
    }
    out
}

/// What to say when `command` is given `flag` (e.g. `--rates`), a flag it
/// does not take: which commands take it, and for a few near-misses what
/// this command takes instead. `None` when no command takes it (a typo,
/// where clap's "a similar argument exists" is the right tip).
// clap's own tip for a flag of another command misleads: the nearest
// spelling (`study --rates` suggests `--trials`), or on a command with a
// positional argument, passing the flag as a value with `--`.
pub fn tip_for_other_commands_flag(command: &str, flag: &str) -> Option<String> {
    use clap::CommandFactory;
    let name = flag.strip_prefix("--")?.split('=').next()?;
    let cli = Cli::command();
    let takers: Vec<String> = cli
        .get_subcommands()
        .filter(|c| c.get_name() != command)
        .filter(|c| {
            c.get_arguments()
                .any(|a| !a.is_hide_set() && a.get_long() == Some(name))
        })
        .map(|c| format!("'{}'", c.get_name()))
        .collect();
    if takers.is_empty() {
        return None;
    }
    let instead = match (command, name) {
        ("study", "rates") => {
            "; the study runs the rates 1..=6 and, for the smaller spread, `--small-rates A..=B` (default 3..=4)"
        }
        ("sim", "trials") => "; `sim` runs one trial: `run --trials N` runs N on the network",
        ("run", "sim") => "; for simulated trials, `study --sim` or `sim` once per seed",
        (_, "seeds") => "; one run's seed is `--seed N`",
        _ => "",
    };
    Some(format!(
        "'--{name}' is a flag of {}, not of '{command}'{instead}; `scalemodel {command} --help` lists every flag",
        takers.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_of_another_command_names_its_commands() {
        let tip = tip_for_other_commands_flag("study", "--rates").unwrap();
        assert!(
            tip.starts_with("'--rates' is a flag of 'sim', 'node', 'run', not of 'study'"),
            "{tip}"
        );
        assert!(tip.contains("--small-rates"), "{tip}");
        let tip = tip_for_other_commands_flag("analyze", "--seed=3").unwrap();
        assert!(tip.contains("'sim'") && tip.contains("'swarm'"), "{tip}");
        assert_eq!(tip_for_other_commands_flag("sim", "--seeed"), None);
        // A hidden flag is nobody's to suggest.
        assert_eq!(tip_for_other_commands_flag("sim", "--launcher"), None);
    }

    #[test]
    fn negative_values_join_their_flag() {
        let joined = |args: &[&str]| -> Vec<String> {
            negative_values_joined(args.iter().map(std::ffi::OsString::from))
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            joined(&[
                "scalemodel",
                "sim",
                "--rates",
                "-1..=3",
                "--latency",
                "-5ms"
            ]),
            ["scalemodel", "sim", "--rates=-1..=3", "--latency=-5ms"]
        );
        assert_eq!(joined(&["x", "--duration", "-.5"]), ["x", "--duration=-.5"]);
        // Flags stay flags; a value after `=` or after `--` is left alone.
        assert_eq!(
            joined(&["x", "--sim", "--out", "d"]),
            ["x", "--sim", "--out", "d"]
        );
        assert_eq!(joined(&["x", "--seed=1", "-5"]), ["x", "--seed=1", "-5"]);
        assert_eq!(
            joined(&["x", "--", "--out", "-5"]),
            ["x", "--", "--out", "-5"]
        );
        assert_eq!(joined(&["x", "-h"]), ["x", "-h"]);
    }
}

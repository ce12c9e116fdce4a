//! The simulator's queue capacities: its queues are const generics, so each
//! capacity `--inbox-cap` and `--link-cap` may choose is built in (see
//! `sim_cmd::with_caps`, which has one arm per entry), and the flags'
//! parsers, which the command line and the commands share.

/// Messages each simulated inbox holds by default: the network's capacity.
pub const INBOX_CAP: usize = scalemodel_core::sim::INBOX_CAP;
/// Frames each simulated link holds by default before its sender stalls.
pub const LINK_CAP: usize = scalemodel_core::sim::LINK_CAP;

/// The stack a simulator thread needs: the simulator keeps its queues inline
/// (no allocation in the core), a few MiB at the host's capacities.
pub const SIM_STACK_BYTES: usize = 64 << 20;

/// The inbox capacities `--inbox-cap` may choose: the simulator's capacities
/// are const generics, so each one is built in. The small ones are for runs
/// that fill their queues, and for comparing digests with a microcontroller.
pub const INBOX_CAPS: [usize; 4] = [4, 16, 64, INBOX_CAP];
/// The link capacities `--link-cap` may choose; see [`INBOX_CAPS`].
pub const LINK_CAPS: [usize; 4] = [2, 8, 16, LINK_CAP];

/// Parses `--inbox-cap`: one of [`INBOX_CAPS`].
pub fn parse_inbox_cap(s: &str) -> Result<usize, String> {
    parse_cap(s, &INBOX_CAPS)
}

/// Parses `--link-cap`: one of [`LINK_CAPS`].
pub fn parse_link_cap(s: &str) -> Result<usize, String> {
    parse_cap(s, &LINK_CAPS)
}

fn parse_cap(s: &str, allowed: &[usize]) -> Result<usize, String> {
    let list = allowed
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    match s.trim().parse::<usize>() {
        Ok(n) if allowed.contains(&n) => Ok(n),
        _ => Err(format!(
            "the capacity must be one of {list} messages (built in), got `{s}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::{Cli, Command};

    #[test]
    fn capacity_flags_take_only_the_built_in_values() {
        let sim = |extra: &[&str]| {
            let args = ["scalemodel", "sim", "--no-log"].iter().chain(extra);
            Cli::try_parse_from(args).map(|cli| match cli.command {
                Command::Sim(args) => (args.inbox_cap, args.link_cap, args.digest),
                other => panic!("parsed as {other:?}"),
            })
        };
        assert_eq!(sim(&[]).unwrap(), (INBOX_CAP, LINK_CAP, false));
        assert_eq!(
            sim(&["--inbox-cap", "16", "--link-cap", "8", "--digest"]).unwrap(),
            (16, 8, true)
        );
        let err = sim(&["--inbox-cap", "5"]).unwrap_err().to_string();
        assert!(
            err.contains("--inbox-cap") && err.contains("4, 16, 64, 8192"),
            "{err}"
        );
        let err = sim(&["--link-cap", "4097"]).unwrap_err().to_string();
        assert!(
            err.contains("--link-cap") && err.contains("2, 8, 16, 4096"),
            "{err}"
        );
        assert!(parse_link_cap("x").is_err());
    }
}

//! `scalemodel swarm` end to end: it passes, its shards add up, and a case's
//! replay command reproduces the case exactly.

use scalemodel::rundir::Topology;
use scalemodel::sim_cmd::{SimJob, SimStamp, SimWidth, Width, built, with_width};
use scalemodel::swarm_cmd::{Shape, case, case_of};
use scalemodel_core::digest::DigestSink;
use scalemodel_tests::scalemodel;

fn swarm(args: &[&str]) -> (bool, String) {
    let out = scalemodel()
        .arg("swarm")
        .args(args)
        .output()
        .expect("scalemodel runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The number printed before `label`, e.g. `300 seeds`.
fn figure(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"));
    let before = text[..at].trim_end();
    let digits: String = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().expect("a number")
}

#[test]
fn a_swarm_passes_and_its_shards_add_up() {
    let (ok, whole) = swarm(&["--seeds", "300", "--seed", "5"]);
    assert!(ok, "{whole}");
    assert!(whole.contains("300 seeds, 0 failures"), "{whole}");
    let (mut cases, mut records) = (0, 0);
    for k in 1..=3 {
        let (ok, part) = swarm(&[
            "--seeds",
            "300",
            "--seed",
            "5",
            "--shard",
            &format!("{k}/3"),
        ]);
        assert!(ok, "{part}");
        cases += figure(&part, " seeds,");
        records += figure(&part, " records");
    }
    assert_eq!(cases, 300);
    assert_eq!(records, figure(&whole, " records"));
    assert!(records > 10_000, "the swarm checked only {records} records");
    // Receivers that closed a link with messages waiting counted them.
    let dropped = figure(&whole, " of them counted by a receiver as it closed");
    assert!(dropped > 0, "{whole}");
}

#[test]
fn a_bad_shard_is_refused_by_name() {
    for bad in ["0/3", "4/3", "x", "1/0"] {
        let (ok, text) = swarm(&["--seeds", "3", "--shard", bad]);
        assert!(!ok);
        assert!(text.contains("--shard"), "{text}");
    }
}

struct Digest(
    scalemodel_core::sim::Config<16>,
    scalemodel_core::fault::Faults,
);

impl SimJob for Digest {
    type Output = u64;
    fn run<const INBOX: usize, const LINK: usize, const M: usize, const C: usize, H: SimStamp>(
        self,
    ) -> u64
    where
        Width<M, C>: SimWidth,
    {
        let config = self.0.to_width::<M>().expect("a case its simulator holds");
        let mut sim = built::<INBOX, LINK, M, C, H>(config, self.1).expect("a valid case");
        let mut digest = DigestSink::new();
        sim.run(&mut digest).expect("the case ends");
        digest.value()
    }
}

#[test]
fn a_cases_replay_command_reproduces_it_exactly() {
    // Cases with faults, small queues and jitter: the replay must carry all.
    let mut checked = 0;
    let shapes = [
        Shape::THREE,
        Shape {
            machines: 5,
            topology: Topology::Ring,
            clock: scalemodel::cli::ClockArg::Lamport,
        },
        Shape {
            machines: 16,
            topology: Topology::All,
            clock: scalemodel::cli::ClockArg::Lamport,
        },
        Shape {
            machines: 8,
            topology: Topology::Leader,
            clock: scalemodel::cli::ClockArg::Lamport,
        },
    ];
    for i in 0..80 {
        let shape = shapes[checked % shapes.len()];
        let c = case_of(11, i, shape);
        if c.faults.as_slice().is_empty() || checked == 8 {
            continue;
        }
        checked += 1;
        let machines = c.config.machines;
        let want = with_width(c.caps, machines, Digest(c.config, c.faults.clone())).unwrap();
        let line = c.replay();
        let args = shell_words(&line);
        assert_eq!(args[..2], ["scalemodel", "sim"]);
        let out = scalemodel()
            .args(&args[1..])
            .args(["--no-log", "--digest"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{line}\n{text}\n{err}");
        assert!(
            text.contains(&format!("digest {want:#018x}")),
            "{line}\n{text}"
        );
    }
    assert_eq!(checked, 8);
    // Three machines under `all` are drawn as before the other shapes.
    assert_eq!(case(11, 7), case_of(11, 7, Shape::THREE));
}

#[test]
fn swarms_of_other_shapes_pass_and_say_their_shape() {
    for (machines, topology) in [("5", "ring"), ("16", "all"), ("8", "leader")] {
        let (ok, text) = swarm(&[
            "--seeds",
            "40",
            "--seed",
            "3",
            "--machines",
            machines,
            "--topology",
            topology,
        ]);
        assert!(ok, "{text}");
        assert!(
            text.contains(&format!("{machines} machines, topology {topology}")),
            "{text}"
        );
        assert!(text.contains("40 seeds, 0 failures"), "{text}");
        assert!(figure(&text, " records") > 1_000, "{text}");
    }
}

/// Splits a replay line as a shell would: words, and one '…'-quoted word.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').expect("a closing quote");
            words.push(quoted[..end].to_owned());
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            words.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
    }
    words
}

/// `swarm --clock hlc` and `--clock vector`: every case carries the clock
/// at the default capacities, the checker holds each log to the clock's
/// rules too (a vector's also to happened-before rebuilt from the logs),
/// and the replay line of a case says its clock.
#[test]
fn a_carried_clock_swarm_passes_and_its_cases_replay_with_their_clock() {
    use scalemodel::cli::ClockArg;
    for (clock, machines) in [
        (ClockArg::Hlc, "3"),
        (ClockArg::Vector, "3"),
        (ClockArg::Vector, "6"),
    ] {
        let name = clock.name();
        let out = scalemodel()
            .args(["swarm", "--seeds", "300", "--seed", "41", "--jobs", "2"])
            .args(["--clock", name, "--machines", machines])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("clock {name}")) && stdout.contains("0 failures"),
            "{stdout}"
        );
        let shape = Shape {
            machines: machines.parse().unwrap(),
            topology: Topology::All,
            clock,
        };
        let case = case_of(41, 7, shape);
        let tail = format!(" --clock {name}");
        assert!(case.replay().ends_with(&tail), "{}", case.replay());
        assert!(case.replay().contains("--inbox-cap 8192 --link-cap 4096"));
        // The rest of the case is the Lamport swarm's.
        let lamport = case_of(
            41,
            7,
            Shape {
                clock: ClockArg::Lamport,
                ..shape
            },
        );
        assert_eq!((case.config, case.faults), (lamport.config, lamport.faults));
    }
}

//! The checker catches each kind of broken run, naming the line and the rule.

use scalemodel::check::{Rule, VIOLATIONS_KEPT, Violation, check, format_violations};
use scalemodel::rundir::{Kind, Params, Row, parse_log};
use scalemodel_core::sim::Config;
use scalemodel_tests::simulate;

/// A valid run with receives on every machine.
fn valid() -> (Params, Vec<Vec<Row>>) {
    let mut config = Config::new(11, [2, 5, 6]);
    config.duration_ns = 20_000_000_000;
    let (params, rows, _) = simulate::<256, 64>(config);
    assert!(check(&params, &rows.0).is_empty());
    (params, rows.0)
}

/// The index of the first row of machine `m` matching `pred`.
fn find(rows: &[Row], pred: impl Fn(&Row) -> bool) -> usize {
    rows.iter().position(pred).expect("the run has such a row")
}

fn has(violations: &[Violation], file: &str, line: Option<usize>, rule: Rule) -> bool {
    violations
        .iter()
        .any(|v| v.file == file && v.rule == rule && (line.is_none() || v.line == line))
}

#[test]
fn a_wrong_clock_is_named_by_line_and_rule() {
    let (params, mut logs) = valid();
    let i = find(&logs[1], |r| r.kind == Kind::Receive);
    logs[1][i].clock += 1;
    let line = logs[1][i].line;
    let v = check(&params, &logs);
    assert!(has(&v, "machine-1.csv", Some(line), Rule::Clock), "{v:#?}");
    let text = v[0].to_string();
    assert!(
        text.starts_with(&format!("machine-1.csv line {line} (tick")),
        "{text}"
    );
}

#[test]
fn a_missing_send_leaves_its_receive_unmatched() {
    let (params, mut logs) = valid();
    let i = find(&logs[2], |r| r.kind == Kind::Send && r.peers == [0]);
    let seq = logs[2][i].seqs[0];
    logs[2].remove(i);
    let receive = find(&logs[0], |r| {
        r.kind == Kind::Receive && r.peers == [2] && r.seqs == [seq]
    });
    let v = check(&params, &logs);
    assert!(
        has(
            &v,
            "machine-0.csv",
            Some(logs[0][receive].line),
            Rule::Match
        ),
        "{v:#?}"
    );
    assert!(has(&v, "machine-2.csv", None, Rule::TickOrder));
    assert!(has(&v, "params.json", None, Rule::Conservation));
}

#[test]
fn a_duplicated_receive_is_caught() {
    let (params, mut logs) = valid();
    let i = find(&logs[1], |r| r.kind == Kind::Receive);
    let mut copy = logs[1][i].clone();
    copy.line += 1;
    logs[1].insert(i + 1, copy);
    let v = check(&params, &logs);
    assert!(
        has(&v, "machine-1.csv", Some(logs[1][i].line + 1), Rule::Match),
        "{v:#?}"
    );
}

#[test]
fn out_of_order_receives_break_fifo() {
    let (params, mut logs) = valid();
    let rx: Vec<usize> = (0..logs[1].len())
        .filter(|&i| logs[1][i].kind == Kind::Receive && logs[1][i].peers == [2])
        .take(2)
        .collect();
    let (a, b) = (rx[0], rx[1]);
    let (sa, sb) = (logs[1][a].seqs.clone(), logs[1][b].seqs.clone());
    logs[1][a].seqs = sb;
    logs[1][b].seqs = sa;
    let v = check(&params, &logs);
    assert!(
        has(&v, "machine-1.csv", Some(logs[1][a].line), Rule::Match),
        "{v:#?}"
    );
}

#[test]
fn a_send_with_a_waiting_message_breaks_the_tick_rule() {
    let (params, mut logs) = valid();
    let i = find(&logs[0], |r| r.kind == Kind::Internal);
    logs[0][i].queue_len = 1;
    let v = check(&params, &logs);
    assert!(
        has(&v, "machine-0.csv", Some(logs[0][i].line), Rule::EmptyInbox),
        "{v:#?}"
    );
}

#[test]
fn an_off_schedule_tick_is_caught() {
    let (params, mut logs) = valid();
    logs[2][5].model_ns += 1;
    logs[2][6].system_ns = params.start_ns;
    let v = check(&params, &logs);
    assert!(
        has(&v, "machine-2.csv", Some(logs[2][5].line), Rule::Schedule),
        "{v:#?}"
    );
    assert!(
        has(&v, "machine-2.csv", Some(logs[2][6].line), Rule::Schedule),
        "{v:#?}"
    );
}

#[test]
fn an_unbalanced_summary_is_caught() {
    let (mut params, logs) = valid();
    params.links[3].in_flight += 1;
    let v = check(&params, &logs);
    assert!(has(&v, "params.json", None, Rule::Conservation), "{v:#?}");
}

#[test]
fn unparseable_lines_are_format_violations() {
    let text = "machine,tick,model_ns,system_ns,event,clock,queue_len,peer,msg_clock,seq\n\
                0,0,0,0,internal,1,0,,,\n\
                0,1,x,0,internal,2,0,,,\n\
                0,2,0,0,jump,3,0,,,\n\
                0,3,0\n";
    let log = parse_log(text.as_bytes());
    let v = format_violations("machine-0.csv", &log.bad);
    assert_eq!(log.rows.len(), 1);
    let lines: Vec<_> = v.iter().map(|v| (v.line, v.rule)).collect();
    assert_eq!(
        lines,
        [
            (Some(3), Rule::Format),
            (Some(4), Rule::Format),
            (Some(5), Rule::Format)
        ]
    );
    let v = format_violations("machine-0.csv", &parse_log(b"bad header\n").bad);
    assert_eq!(v[0].line, Some(1));
}

#[test]
fn a_log_broken_on_every_line_keeps_the_first_violations_and_counts_all() {
    let mut text = String::from(scalemodel_core::HEADER) + "\n";
    for _ in 0..5_000 {
        text.push_str("0,x,0,0,internal,1,0,,,\n");
    }
    let log = parse_log(text.as_bytes());
    let mut v = format_violations("machine-0.csv", &log.bad);
    assert!(log.rows.is_empty());
    assert_eq!(v.total(), 5_000);
    assert_eq!(v.len(), VIOLATIONS_KEPT);
    assert_eq!(v.not_kept(), 5_000 - v.len() as u64);
    assert_eq!(v[0].line, Some(2));
    // The rules' violations are listed too, not hidden behind the format's.
    let (params, logs) = valid();
    let mut broken = logs.clone();
    broken[0].clear();
    v.append(check(&params, &broken));
    assert!(v.total() > 5_000 && v.len() > VIOLATIONS_KEPT);
    assert!(has(&v, "params.json", None, Rule::Conservation), "{v:#?}");
}

#[test]
fn a_summary_given_twice_does_not_stand_in_for_a_missing_one() {
    let (mut params, logs) = valid();
    params.links[1] = params.links[0];
    let v = check(&params, &logs);
    assert!(
        v.iter().any(|v| v.detail.ends_with("summarised twice")),
        "{v:#?}"
    );
    assert!(
        v.iter().any(|v| v.detail.ends_with("is not summarised")),
        "{v:#?}"
    );
    let (mut params, logs) = valid();
    params.machines[2] = params.machines[1].clone();
    let v = check(&params, &logs);
    assert!(
        v.iter().any(|v| v.detail == "machine 2 is not summarised"),
        "{v:#?}"
    );
}

#[test]
fn counts_that_wrap_in_u64_do_not_balance() {
    let (mut params, logs) = valid();
    params.links[0].in_flight = params.links[0].in_flight.wrapping_add(1 << 63);
    params.links[0].lost = params.links[0].lost.wrapping_add(1 << 63);
    let v = check(&params, &logs);
    assert!(has(&v, "params.json", None, Rule::Conservation), "{v:#?}");
}

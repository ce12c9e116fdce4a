//! The bench's table: one row per figure, scalemodel's value and Python's
//! beside it, the goal and how far it is, and the command behind it.

use std::fmt::Write as _;

use serde::Serialize;

/// What a figure counts, which decides how it is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Events per second, printed with a `k`/`M` prefix.
    PerSecond,
    /// MB (10^6 bytes) per second.
    MegabytesPerSecond,
    /// A signed percentage.
    Percent,
    /// Microseconds.
    Micros,
    /// Milliseconds.
    Millis,
    /// Memory in MiB.
    Mebibytes,
    /// A ratio to another figure (`0.8×`).
    Ratio,
    /// A speed factor (`--speed`).
    Speed,
}

impl Unit {
    /// `value` in this unit, as the table prints it.
    pub fn format(self, value: f64) -> String {
        match self {
            Self::PerSecond if value >= 1e6 => format!("{:.2} M/s", value / 1e6),
            Self::PerSecond if value >= 1e3 => format!("{:.1} k/s", value / 1e3),
            Self::PerSecond => format!("{value:.0}/s"),
            Self::MegabytesPerSecond => format!("{value:.0} MB/s"),
            Self::Percent => format!("{value:+.5} %"),
            Self::Micros => format!("{value:.1} µs"),
            Self::Millis => format!("{value:.1} ms"),
            Self::Mebibytes => format!("{value:.2} MiB"),
            Self::Ratio => format!("{value:.2}×"),
            Self::Speed if value < 10.0 => format!("{value:.1}×"),
            Self::Speed => format!("{value:.0}×"),
        }
    }
}

/// A goal from the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// The figure should be at least this.
    AtLeast(f64),
    /// The figure's size (its absolute value) should be at most this.
    AtMost(f64),
}

/// How a figure stands against its goal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The goal is met.
    Met,
    /// The goal is missed: the figure is `by` times too small or too large.
    Missed {
        /// How many times off the goal the figure is (more than 1).
        by: f64,
    },
}

impl Goal {
    /// `value` against this goal.
    pub fn verdict(self, value: f64) -> Verdict {
        let by = match self {
            Self::AtLeast(goal) if value >= goal => return Verdict::Met,
            Self::AtLeast(goal) => goal / value.max(f64::MIN_POSITIVE),
            Self::AtMost(goal) if value.abs() <= goal => return Verdict::Met,
            Self::AtMost(goal) => value.abs() / goal.max(f64::MIN_POSITIVE),
        };
        Verdict::Missed { by }
    }

    fn describe(self, unit: Unit) -> String {
        match self {
            Self::AtLeast(g) => format!("≥ {}", unit.format(g)),
            Self::AtMost(g) if unit == Unit::Percent => format!("≤ {g} %"),
            Self::AtMost(g) => format!("≤ {}", unit.format(g)),
        }
    }
}

/// One figure of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What is measured, in words.
    pub figure: String,
    /// How the values are printed.
    pub unit: Unit,
    /// scalemodel's figure, if measured.
    pub scalemodel: Option<f64>,
    /// The Python solution's figure, where it has one and ran.
    pub python: Option<f64>,
    /// The goal for scalemodel's figure, if it set one.
    pub goal: Option<Goal>,
    /// scalemodel's figure against the goal.
    pub verdict: Option<Verdict>,
    /// The command behind scalemodel's figure: an index into
    /// [`Table::commands`], from 1.
    pub command: usize,
    /// The command behind the Python figure, where there is one.
    pub python_command: Option<usize>,
}

/// The whole table, as printed and as written to JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    /// Where and when it was measured: the version, cores, load average.
    pub machine: String,
    /// The figures in order.
    pub rows: Vec<Row>,
    /// The commands behind the rows, numbered from 1; any one reruns its rows alone.
    pub commands: Vec<String>,
    /// What the reader should know: skipped parts, runs that were not exact.
    pub notes: Vec<String>,
}

impl Table {
    /// Adds `command` (once) and returns its number, for [`Table::row`].
    pub fn command(&mut self, command: String) -> usize {
        if let Some(i) = self.commands.iter().position(|c| *c == command) {
            return i + 1;
        }
        self.commands.push(command);
        self.commands.len()
    }

    /// Adds a row of scalemodel's alone, judging it against `goal`.
    pub fn row(
        &mut self,
        figure: &str,
        unit: Unit,
        scalemodel: Option<f64>,
        goal: Option<Goal>,
        command: usize,
    ) {
        self.pair(figure, unit, (scalemodel, None), goal, (command, None));
    }

    /// Adds a row with scalemodel's figure and Python's, each with its
    /// command, judging scalemodel's against `goal`.
    pub fn pair(
        &mut self,
        figure: &str,
        unit: Unit,
        (scalemodel, python): (Option<f64>, Option<f64>),
        goal: Option<Goal>,
        (command, python_command): (usize, Option<usize>),
    ) {
        let verdict = goal.zip(scalemodel).map(|(g, v)| g.verdict(v));
        self.rows.push(Row {
            figure: figure.to_owned(),
            unit,
            scalemodel,
            python,
            goal,
            verdict,
            command,
            python_command,
        });
    }

    /// The table in markdown, then the numbered commands and the notes.
    pub fn markdown(&self) -> String {
        let mut s = format!("{}\n\n", self.machine);
        s.push_str("| figure | scalemodel | Python | goal | against the goal | command |\n");
        s.push_str("| --- | --- | --- | --- | --- | --- |\n");
        let cell =
            |v: Option<f64>, unit: Unit| v.map_or_else(|| "—".to_owned(), |v| unit.format(v));
        for r in &self.rows {
            let goal = r.goal.map_or_else(String::new, |g| g.describe(r.unit));
            let verdict = match r.verdict {
                Some(Verdict::Met) => "met".to_owned(),
                Some(Verdict::Missed { by }) => format!("missed by ×{by:.1}"),
                None => String::new(),
            };
            let commands = match r.python_command {
                Some(py) if r.python.is_some() => format!("[{}], [{py}]", r.command),
                _ => format!("[{}]", r.command),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {goal} | {verdict} | {commands} |",
                r.figure,
                cell(r.scalemodel, r.unit),
                cell(r.python, r.unit),
            );
        }
        s.push('\n');
        for (i, c) in self.commands.iter().enumerate() {
            let _ = writeln!(s, "[{}] `{c}`  ", i + 1);
        }
        for n in &self.notes {
            let _ = write!(s, "\n- {n}");
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_say_by_how_much_they_are_missed() {
        assert_eq!(Goal::AtLeast(50e6).verdict(60e6), Verdict::Met);
        assert_eq!(
            Goal::AtLeast(50e6).verdict(10e6),
            Verdict::Missed { by: 5.0 }
        );
        // A rate error is judged by its size, whichever its sign.
        assert_eq!(Goal::AtMost(0.001).verdict(-0.0005), Verdict::Met);
        assert_eq!(
            Goal::AtMost(30.0).verdict(120.0),
            Verdict::Missed { by: 4.0 }
        );
        // Nothing measured is missed, never a division by zero.
        assert!(matches!(
            Goal::AtLeast(1.0).verdict(0.0),
            Verdict::Missed { by } if by > 1.0
        ));
    }

    #[test]
    fn the_markdown_numbers_each_command_once() {
        let mut t = Table {
            machine: "here".to_owned(),
            ..Table::default()
        };
        let c = t.command("scalemodel sim".to_owned());
        t.row("a", Unit::PerSecond, Some(2.5e6), None, c);
        let again = t.command("scalemodel sim".to_owned());
        assert_eq!(again, c);
        let py = t.command("python3 x.py".to_owned());
        t.pair(
            "b",
            Unit::Micros,
            (Some(40.0), Some(500.0)),
            Some(Goal::AtMost(30.0)),
            (again, Some(py)),
        );
        let md = t.markdown();
        assert!(md.contains("| a | 2.50 M/s | — |  |  | [1] |"), "{md}");
        assert!(
            md.contains("| b | 40.0 µs | 500.0 µs | ≤ 30.0 µs | missed by ×1.3 | [1], [2] |"),
            "{md}"
        );
        assert_eq!(md.matches("[1] `scalemodel sim`").count(), 1, "{md}");
    }
}

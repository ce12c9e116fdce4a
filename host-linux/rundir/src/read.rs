//! Reading a run directory's JSON files with bounds: at most
//! [`JSON_BYTES_MAX`] bytes, a parse error located and quoted briefly, and
//! `params.json`'s ranges checked, each error naming its field.

use std::path::Path;

use super::{PARAMS, Params, RunDirError};

impl Params {
    /// Reads `dir/params.json` and checks its ranges ([`Params::validate`]).
    pub fn read(dir: &Path) -> Result<Self, RunDirError> {
        let path = dir.join(PARAMS);
        let params: Self = read_json(&path)?;
        params
            .validate()
            .map_err(|what| RunDirError::Invalid { path, what })?;
        Ok(params)
    }

    /// Checks that every parameter is in the range the commands that write
    /// runs accept; the error names the field and its range.
    pub fn validate(&self) -> Result<(), String> {
        if self.mode != "sim" && self.mode != "net" {
            return Err(format!(
                "`mode` is {}; it must be `sim` or `net`",
                super::quote(self.mode.as_bytes())
            ));
        }
        if let Some(clock) = self
            .clock
            .as_deref()
            .filter(|c| !["hlc", "vector"].contains(c))
        {
            return Err(format!(
                "`clock` is {}; it must be `hlc`, `vector` or absent (Lamport's clock alone)",
                super::quote(clock.as_bytes())
            ));
        }
        let d = self.duration_s;
        if !(d.is_finite() && d > 0.0 && d <= DURATION_S_MAX) {
            return Err(format!(
                // `{:?}`: 1e300 as `1e300`, not 301 digits.
                "`duration_s` is {d:?}; it must be more than 0 and at most {DURATION_S_MAX} seconds"
            ));
        }
        if self.speed < SPEED_MIN {
            return Err(format!(
                "`speed` is {}; it must be from {SPEED_MIN} to {}",
                self.speed,
                u32::MAX
            ));
        }
        let n = self.n();
        if !MACHINES.contains(&n) {
            return Err(format!(
                "`rates` holds {n} rates, one per machine; a run has from {} to {MACHINES_MAX} machines",
                MACHINES.start()
            ));
        }
        // Faces 1 to n send: a die needs one face more for internal events.
        let sides_min = SIDES_MIN.max(u8::try_from(n + 1).unwrap_or(u8::MAX));
        if self.sides < sides_min {
            return Err(format!(
                "`sides` is {}; a die for {n} machines has from {sides_min} to {} sides",
                self.sides,
                u8::MAX
            ));
        }
        if self.rates.iter().any(|r| !RATES.contains(r)) {
            return Err(format!(
                "`rates` is {:?}: every rate must be at least 1 tick per second and at most {}",
                self.rates,
                RATES.end()
            ));
        }
        if let Some([lo, hi]) = self.rate_range {
            let range = lo..=hi;
            if !(RATES.contains(&lo) && RATES.contains(&hi) && lo <= hi) {
                return Err(format!(
                    "`rate_range` is [{lo}, {hi}]; it must be [A, B] with 1 <= A <= B <= {}",
                    RATES.end()
                ));
            }
            if !self.rates.iter().all(|r| range.contains(r)) {
                return Err(format!(
                    "`rates` {:?} are not all in `rate_range` [{lo}, {hi}]",
                    self.rates
                ));
            }
        }
        if let Some(skew) = &self.skew {
            skew.validate(n)?;
        }
        Ok(())
    }
}

/// The fewest sides a die may have: faces 1 to 3 send, so fewer leaves no
/// internal event (`scalemodel_core::ConfigError::TooFewSides`). With `n`
/// machines faces 1 to `n` send, and a die needs `n + 1` sides.
pub const SIDES_MIN: u8 = 4;

/// The most machines a run may have.
pub const MACHINES_MAX: usize = 16;

/// The numbers of machines a run may have: `params.json`'s `rates` holds
/// one rate per machine.
pub const MACHINES: std::ops::RangeInclusive<usize> = 3..=MACHINES_MAX;

/// The lowest speed: model time never runs slower than wall time.
pub const SPEED_MIN: u32 = 1;

/// The longest run in model seconds: a week, which keeps every time in ns
/// within u64; `--duration` takes the same bound.
pub const DURATION_S_MAX: f64 = 604_800.0;

/// The highest rate a machine may have, in ticks per model second.
pub const RATE_MAX: u32 = 1_000;

/// The rates a machine may have, in ticks per model second.
pub const RATES: std::ops::RangeInclusive<u32> = 1..=RATE_MAX;

/// The largest JSON file of a run read (`params.json`, `node-<id>.json`): a
/// valid one is a few KiB; a larger one is refused unread.
pub const JSON_BYTES_MAX: u64 = 1 << 20;

/// Reads at most [`JSON_BYTES_MAX`] bytes of `path` and parses them; a parse
/// error names the line and quotes a short piece of the text before the fault.
pub(super) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, RunDirError> {
    let bytes = super::open_in(path, JSON_BYTES_MAX)?
        .read_all()
        .map_err(|source| RunDirError::Read {
            path: path.to_owned(),
            source,
        })?;
    serde_json::from_slice(&bytes).map_err(|source| RunDirError::Json {
        path: path.to_owned(),
        line: source.line(),
        near: near(&bytes, source.line(), source.column()),
        source,
    })
}

/// A short quote of the text of `line` (1-based) up to `column`: where a
/// JSON error is, with the field's name when it is on the same line.
fn near(bytes: &[u8], line: usize, column: usize) -> String {
    let text = bytes
        .split(|&b| b == b'\n')
        .nth(line.saturating_sub(1))
        .unwrap_or_default();
    let end = column.min(text.len());
    let start = end.saturating_sub(super::QUOTE_CHARS_MAX);
    super::quote(text[start..end].trim_ascii_start())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_core::sim::Config;

    #[test]
    fn the_ranges_admit_what_the_commands_write_and_name_the_field_otherwise() {
        let config = Config::new(1, [1, 6, RATE_MAX]);
        let good = Params::sim(&config, Some([1, RATE_MAX]), 604_800.0, 4, 2);
        assert_eq!(good.validate(), Ok(()));
        let sixteen = Params {
            rates: vec![3; 16],
            sides: 17,
            ..good.clone()
        };
        assert_eq!(sixteen.validate(), Ok(()));
        type Edit = fn(&mut Params);
        let bad: [(&str, Edit); 11] = [
            ("`speed` is 0", |p| p.speed = 0),
            ("`clock` is `lamport`", |p| p.clock = Some("lamport".into())),
            ("`sides` is 3", |p| p.sides = 3),
            ("`rates` holds 2 rates", |p| p.rates = vec![1, 2]),
            ("`rates` holds 17 rates", |p| p.rates = vec![1; 17]),
            ("`sides` is 5; a die for 5 machines has from 6", |p| {
                (p.rates, p.sides) = (vec![1; 5], 5);
            }),
            ("`rates` is [1, 1, 1, 1, 0]", |p| {
                p.rates = vec![1, 1, 1, 1, 0]
            }),
            ("`duration_s` is NaN", |p| p.duration_s = f64::NAN),
            ("`duration_s` is inf", |p| p.duration_s = f64::INFINITY),
            ("`rates` is [1, 6, 1001]", |p| p.rates[2] = 1001),
            ("`mode` is `x`", |p| p.mode = "x".to_owned()),
        ];
        for (want, edit) in bad {
            let mut p = good.clone();
            edit(&mut p);
            let e = p.validate().unwrap_err();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn a_parse_error_is_quoted_from_its_own_line() {
        let text = b"{\n  \"seed\": 1,\n  \"speed\": \"fast\",\n  \"x\": 2\n}";
        assert_eq!(near(text, 3, 17), "`\"speed\": \"fast\"`");
        let long = [b'x'; 10_000];
        // Only the 60 bytes before the fault, however long its line.
        assert_eq!(near(&long, 1, 9_000), format!("`{}`", "x".repeat(60)));
        assert_eq!(near(text, 99, 5), "``");
    }
}

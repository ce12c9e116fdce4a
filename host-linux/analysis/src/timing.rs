//! Timing figures of a run, from its logs: how well the ticks kept their schedule.

use scalemodel_rundir::Row;

/// How one machine's ticks kept their schedule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Timing {
    /// Ticks logged.
    pub ticks: u64,
    /// The measured rate against the nominal one, in percent:
    /// `(ticks - 1) / (last - first tick time)`, in model seconds.
    pub rate_error_pct: f64,
    /// Median lateness in µs: `system_ns - start_ns - model_ns / speed`.
    pub late_p50_us: f64,
    /// 99th percentile lateness in µs.
    pub late_p99_us: f64,
    /// Largest lateness in µs.
    pub late_max_us: f64,
}

/// The timing of one machine's log, or `None` with fewer than two ticks.
pub fn timing(rows: &[Row], rate: u32, start_ns: u64, speed: u32) -> Option<Timing> {
    let (first, last) = (rows.first()?, rows.last()?);
    if rows.len() < 2 || last.system_ns <= first.system_ns {
        return None;
    }
    let mut late: Vec<i64> = rows
        .iter()
        .map(|r| {
            let due = scalemodel_core::due_ns(start_ns, r.model_ns, speed);
            let late = i128::from(r.system_ns) - i128::from(due);
            late.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
        })
        .collect();
    late.sort_unstable();
    let model_s = (last.system_ns - first.system_ns) as f64 * speed as f64 / 1e9;
    let measured = (rows.len() - 1) as f64 / model_s;
    let us = |ns: i64| ns as f64 / 1e3;
    Some(Timing {
        ticks: rows.len() as u64,
        rate_error_pct: (measured - f64::from(rate)) / f64::from(rate) * 100.0,
        late_p50_us: us(percentile(&late, 50.0)),
        late_p99_us: us(percentile(&late, 99.0)),
        late_max_us: us(*late.last()?),
    })
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use scalemodel_rundir::Kind;

    fn row(tick: u64, model_ns: u64, system_ns: u64) -> Row {
        Row {
            line: tick as usize + 2,
            machine: 0,
            tick,
            model_ns,
            system_ns,
            kind: Kind::Internal,
            clock: tick + 1,
            queue_len: 0,
            peers: vec![],
            msg_clock: None,
            seqs: vec![],
            hlc: None,
            vc: None,
        }
    }

    #[test]
    fn lateness_and_rate_come_from_the_timestamps() {
        // Rate 2 at speed 2: ticks due every 250 ms of wall time from 1 s.
        let late = [10_000, 20_000, 30_000, 40_000, 1_000_000];
        let rows: Vec<Row> = (0..5)
            .map(|k| {
                row(
                    k,
                    k * 500_000_000,
                    1_000_000_000 + k * 250_000_000 + late[k as usize],
                )
            })
            .collect();
        let t = timing(&rows, 2, 1_000_000_000, 2).unwrap();
        assert_eq!(t.ticks, 5);
        assert_eq!((t.late_p50_us, t.late_max_us), (30.0, 1000.0));
        assert_eq!(t.late_p99_us, 1000.0);
        // 4 intervals over 1.00099 s of wall time, 2.00198 model s: a rate of 1.998.
        assert!(
            (t.rate_error_pct - (-0.0989)).abs() < 0.001,
            "{}",
            t.rate_error_pct
        );
        assert_eq!(timing(&rows[..1], 2, 0, 1), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}

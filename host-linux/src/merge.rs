//! Merging the three machines' `node-<id>.json` into the run's `params.json`.

use std::path::Path;

use scalemodel_core::{MachineId, N};

use crate::rundir::{LinkSummary, NodeSummary, Params, PeerSummary, ProcessSummary, RunDirError};

/// Why the nodes' summaries do not make one run.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A summary could not be read.
    #[error(transparent)]
    Read(#[from] RunDirError),
    /// The machines disagree on the run's parameters or its start.
    #[error("machine {0} ran a different run than machine 0 ({1})")]
    Mismatch(MachineId, &'static str),
    /// A machine has no record of one of its peers.
    #[error("machine {0} has no record of machine {1}")]
    NoPeer(MachineId, MachineId),
}

/// Reads `dir/node-0.json` … `node-2.json` and builds the run's `params.json`:
/// per link, `sent` and `in_flight` (undeliverable) from the sender, `received`
/// and `queued` from the receiver.
pub fn merge_nodes(dir: &Path) -> Result<Params, MergeError> {
    let nodes = MachineId::ALL
        .iter()
        .map(|&id| NodeSummary::read(dir, id))
        .collect::<Result<Vec<_>, _>>()?;
    let first = &nodes[0];
    for (id, node) in MachineId::ALL.iter().zip(&nodes).skip(1) {
        if node.run != first.run {
            return Err(MergeError::Mismatch(*id, "parameters"));
        }
        if node.start_ns != first.start_ns {
            return Err(MergeError::Mismatch(*id, "start time"));
        }
    }
    let peer = |from: MachineId, to: MachineId| -> Result<PeerSummary, MergeError> {
        nodes[from.index()]
            .peers
            .iter()
            .find(|p| p.peer == to.get())
            .copied()
            .ok_or(MergeError::NoPeer(from, to))
    };
    let mut links = Vec::with_capacity(N * (N - 1));
    for from in MachineId::ALL {
        let mut to = [from.next(), from.other()];
        to.sort();
        for to in to {
            let (out, back) = (peer(from, to)?, peer(to, from)?);
            links.push(LinkSummary {
                from: from.get(),
                to: to.get(),
                sent: out.sent,
                received: back.received,
                queued: back.left,
                in_flight: out.undeliverable,
                lost: 0,
            });
        }
    }
    let run = &first.run;
    Ok(Params {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        seed: run.seed,
        mode: "net".to_owned(),
        duration_s: run.duration_s,
        speed: run.speed,
        sides: run.sides,
        rate_range: run.rate_range,
        rates: run.rates,
        latency_ns: None,
        jitter_ns: None,
        addresses: nodes.iter().map(|n| n.listen.clone()).collect(),
        start_ns: first.start_ns,
        inbox_capacity: run.inbox_capacity,
        link_capacity: None,
        machines: nodes.iter().map(|n| n.machine.clone()).collect(),
        links,
        processes: nodes
            .iter()
            .map(|n| ProcessSummary {
                id: n.machine.id,
                first_tick_ms: n.first_tick_ms,
                peak_rss_kib: n.peak_rss_kib,
                cpu_ms: n.cpu_ms,
                notes: n.notes.clone(),
            })
            .collect(),
    })
}

//! Merging the machines' `node-<id>.json` into the run's `params.json`.

use std::path::Path;

use scalemodel_core::balance::{self, Parts};

use crate::{
    End, LinkSummary, MACHINES, NodeSummary, Params, PeerSummary, ProcessSummary, RunDirError,
    model_links,
};

/// Why the nodes' summaries do not make one run.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A summary could not be read.
    #[error(transparent)]
    Read(#[from] RunDirError),
    /// Machine 0's `rates` names a number of machines no run has.
    #[error(
        "node-0.json's `rates` holds {0} rates, one per machine; a run has from {min} to {max} machines",
        min = MACHINES.start(),
        max = MACHINES.end()
    )]
    Machines(usize),
    /// The machines disagree on the run's parameters or its start.
    #[error("machine {0} ran a different run than machine 0 ({1})")]
    Mismatch(u8, &'static str),
    /// A machine has no record of one of its peers.
    #[error("machine {0} has no record of machine {1}")]
    NoPeer(u8, u8),
}

/// Reads `dir/node-0.json` … `node-<n-1>.json`, `n` the number of rates
/// machine 0 knows, and builds the run's `params.json` (its links as
/// [`links`] makes them).
pub fn merge_nodes(dir: &Path) -> Result<Params, MergeError> {
    let first = NodeSummary::read(dir, 0)?;
    let n = first.run.rates.len();
    if !MACHINES.contains(&n) {
        return Err(MergeError::Machines(n));
    }
    let mut nodes = Vec::with_capacity(n);
    nodes.push(first);
    // `n` is at most `MACHINES_MAX`: the ids fit a u8.
    for id in 1..n as u8 {
        nodes.push(NodeSummary::read(dir, id)?);
    }
    let first = &nodes[0];
    for (id, node) in (0u8..).zip(&nodes).skip(1) {
        if node.run != first.run {
            return Err(MergeError::Mismatch(id, "parameters"));
        }
        if node.start_ns != first.start_ns {
            return Err(MergeError::Mismatch(id, "start time"));
        }
    }
    let links = links(&nodes)?;
    let run = &first.run;
    Ok(Params {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        seed: run.seed,
        mode: "net".to_owned(),
        duration_s: run.duration_s,
        speed: run.speed,
        sides: run.sides,
        rate_range: run.rate_range,
        rates: run.rates.clone(),
        topology: run.topology,
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
                ticking_cpu_ms: n.ticking_cpu_ms,
                notes: n.notes.clone(),
                host: n.host.clone(),
                died: n.died.clone(),
            })
            .collect(),
        // The nodes cannot know what acted on them from outside: `run` says.
        faults: None,
        skew: None,
        clock: run.clock.clone(),
    })
}

/// Each directed link's accounting, from both ends' summaries (`nodes` by
/// machine id), as the simulator counts it: `sent` from the sender;
/// `received` and `queued` (left in its inbox) from the receiver;
/// `in_flight`, what was on its way when the model ended (still in the
/// sender, or reaching the receiver after its end); `lost`, counted where it
/// happened: what the sender could never deliver, and what the receiver
/// found on the connection when it closed it (`dropped`). So
/// `sent = received + queued + in_flight + lost` exactly when both ends
/// counted right.
///
/// A link with a `crashed` end (a node that died, its summary rebuilt from
/// its log by [`crate::salvage`]) has nobody who counted what the crash
/// destroyed (in the dead node's outbox or inbox, or in the sockets): that
/// is reported apart, as `inferred`, what was sent and is not accounted for
/// otherwise, never folded into `lost`. A receive the dead node's log lacks
/// is then inferred too. A send it lacks cannot have left: a node flushes a
/// send's record to the kernel before it writes the send's frames
/// (`scalemodel_mio::Host::flush`). An overcount shows as a conservation
/// violation: the remainder is never forced to balance.
pub fn links(nodes: &[NodeSummary]) -> Result<Vec<LinkSummary>, MergeError> {
    let peer = |from: u8, to: u8| -> Result<&PeerSummary, MergeError> {
        nodes
            .get(usize::from(from))
            .and_then(|n| n.peers.iter().find(|p| p.peer == to))
            .ok_or(MergeError::NoPeer(from, to))
    };
    let crashed = |id: u8| {
        nodes
            .get(usize::from(id))
            .is_some_and(|n| n.machine.end == End::Crashed)
    };
    let n = nodes.len();
    // Every node's parameters agree (`params`): the first's topology is the run's.
    let topology = nodes
        .first()
        .map(|node| node.run.topology)
        .unwrap_or_default();
    let mut links = Vec::with_capacity(n * n.saturating_sub(1));
    for (from, to) in model_links(n, topology) {
        let (out, back) = (peer(from, to)?, peer(to, from)?);
        let in_flight = out.unsent.saturating_add(back.after_end);
        let counted = Parts {
            received: back.received,
            queued: back.queued,
            in_flight,
            lost: out.undeliverable.saturating_add(back.dropped),
            inferred: 0,
        };
        let inferred = if crashed(from) || crashed(to) {
            // An overcount infers nothing; the checker names it.
            balance::remainder(out.sent, &counted).unwrap_or(0)
        } else {
            0
        };
        links.push(LinkSummary {
            from,
            to,
            sent: out.sent,
            received: back.received,
            queued: back.queued,
            in_flight,
            lost: counted.lost,
            inferred,
        });
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MachineSummary, NetRun};

    /// Machine `id`'s summary, its side of each link made up from `flows`:
    /// `(from, to, received, queued, after_end, unsent, undeliverable)`.
    fn node(id: u8, flows: &[(u8, u8, u64, u64, u64, u64, u64)]) -> NodeSummary {
        let n = flows
            .iter()
            .map(|f| f.0.max(f.1))
            .max()
            .map_or(0, |m| m + 1);
        let side = |peer: u8| {
            let out = flows.iter().find(|f| (f.0, f.1) == (id, peer));
            let back = flows.iter().find(|f| (f.0, f.1) == (peer, id));
            let (&(_, _, r, q, a, u, d), &(_, _, br, bq, ba, _, _)) = (out.unwrap(), back.unwrap());
            PeerSummary {
                peer,
                sent: r + q + a + u + d,
                undeliverable: d,
                unsent: u,
                peer_sent: None,
                received: br,
                queued: bq,
                after_end: ba,
                dropped: 0,
                protocol_errors: 0,
                lost: None,
                lost_at_ns: None,
            }
        };
        NodeSummary {
            run: NetRun {
                seed: 1,
                run_id: 1,
                duration_s: 1.0,
                speed: 1,
                sides: 10,
                rate_range: None,
                rates: (1..=u32::from(n)).collect(),
                topology: crate::Topology::All,
                inbox_capacity: 8,
                clock: None,
            },
            listen: String::new(),
            start_ns: 0,
            machine: MachineSummary {
                id,
                ..MachineSummary::from_tally::<3>(
                    scalemodel_core::MachineId::ZERO,
                    1,
                    &Default::default(),
                    End::PeerLost,
                )
            },
            peers: (0..n).filter(|&p| p != id).map(side).collect(),
            behind_ticks: 0,
            max_late_ns: 0,
            rejected: 0,
            protocol_errors: Default::default(),
            first_tick_ms: None,
            peak_rss_kib: None,
            cpu_ms: None,
            ticking_cpu_ms: None,
            notes: Vec::new(),
            died: None,
            host: None,
        }
    }

    /// Each directed link's `(from, to, received, queued, after_end,
    /// unsent, undeliverable)`, every figure different.
    const FLOWS: [(u8, u8, u64, u64, u64, u64, u64); 6] = [
        (0, 1, 10, 2, 1, 3, 4),
        (0, 2, 7, 0, 0, 0, 0),
        (1, 0, 5, 1, 0, 0, 9),
        (1, 2, 20, 3, 2, 1, 0),
        (2, 0, 4, 0, 6, 2, 1),
        (2, 1, 1, 8, 0, 0, 5),
    ];

    #[test]
    fn links_take_each_figure_from_the_end_that_knows_it_and_balance() {
        let nodes = [0, 1, 2].map(|id| node(id, &FLOWS));
        let links = links(&nodes).unwrap();
        assert_eq!(links.len(), FLOWS.len());
        for (l, &(from, to, received, queued, after_end, unsent, undeliverable)) in
            links.iter().zip(&FLOWS)
        {
            assert_eq!((l.from, l.to), (from, to));
            assert_eq!(l.received, received, "{l:?}");
            assert_eq!(l.queued, queued, "{l:?}");
            assert_eq!(l.in_flight, unsent + after_end, "{l:?}");
            assert_eq!(l.lost, undeliverable, "{l:?}");
            assert_eq!(l.inferred, 0, "{l:?}");
            assert_eq!(l.balance(), Ok(()), "{l:?}");
        }
    }

    #[test]
    fn what_a_crash_destroyed_is_inferred_on_both_its_links_and_never_called_lost() {
        let mut nodes = [0, 1, 2].map(|id| node(id, &FLOWS));
        // Machine 2 died: nobody counted its losses. It logged 30 sends to
        // 0 (0 took 4 and holds none, 6 came after 0's end) and took 1 of
        // 0's 7 and 20 of 1's 28 (1 still held 1 unsent for it, and
        // counted 2 it could not deliver once the link broke).
        nodes[2].machine.end = End::Crashed;
        for p in &mut nodes[2].peers {
            (p.sent, p.undeliverable, p.unsent, p.queued, p.after_end) = (30, 0, 0, 0, 0);
            p.received = if p.peer == 0 { 1 } else { 20 };
        }
        let to_2 = nodes[1].peers.iter_mut().find(|p| p.peer == 2).unwrap();
        (to_2.sent, to_2.undeliverable) = (to_2.sent + 2, 2);
        let links = links(&nodes).unwrap();
        let link = |f: u8, t: u8| *links.iter().find(|l| (l.from, l.to) == (f, t)).unwrap();
        let l = link(2, 0);
        assert_eq!(
            (l.sent, l.received, l.in_flight, l.lost, l.inferred),
            (30, 4, 6, 0, 20)
        );
        let l = link(0, 2);
        assert_eq!(
            (l.sent, l.received, l.in_flight, l.lost, l.inferred),
            (7, 1, 0, 0, 6)
        );
        let l = link(1, 2);
        assert_eq!(
            (
                l.sent,
                l.received,
                l.queued,
                l.in_flight,
                l.lost,
                l.inferred
            ),
            (28, 20, 0, 1, 2, 5)
        );
        for l in &links {
            assert_eq!(l.balance(), Ok(()), "{l:?}");
        }
        // The links between survivors keep their own counts and infer nothing.
        assert_eq!((link(0, 1).lost, link(0, 1).inferred), (4, 0));
    }

    #[test]
    fn what_a_receiver_found_on_the_connection_it_closed_is_counted_lost() {
        let mut nodes = [0, 1, 2].map(|id| node(id, &FLOWS));
        // Machine 1 closed its link from 0 with 3 of 0's messages unread on
        // it: 0 had handed them to the socket, so it counts none of them.
        let from_0 = nodes[1].peers.iter_mut().find(|p| p.peer == 0).unwrap();
        from_0.dropped = 3;
        let to_1 = nodes[0].peers.iter_mut().find(|p| p.peer == 1).unwrap();
        to_1.sent += 3;
        let links = links(&nodes).unwrap();
        let l = links.iter().find(|l| (l.from, l.to) == (0, 1)).unwrap();
        assert_eq!((l.lost, l.inferred), (4 + 3, 0));
        assert_eq!(l.balance(), Ok(()));
    }

    #[test]
    fn an_overcount_on_a_crashed_link_is_not_forced_to_balance() {
        let mut nodes = [0, 1, 2].map(|id| node(id, &FLOWS));
        nodes[2].machine.end = End::Crashed;
        // Machine 2's log shows more receives from 0 than 0 ever sent.
        let from_0 = nodes[2].peers.iter_mut().find(|p| p.peer == 0).unwrap();
        from_0.received = 9;
        let links = links(&nodes).unwrap();
        let l = links.iter().find(|l| (l.from, l.to) == (0, 2)).unwrap();
        assert_eq!((l.sent, l.received, l.lost, l.inferred), (7, 9, 0, 0));
        assert_eq!(
            l.balance(),
            Err(scalemodel_core::balance::Imbalance::Extra { by: 2 })
        );
    }

    #[test]
    fn survivors_links_infer_nothing_even_when_they_do_not_balance() {
        let mut nodes = [0, 1, 2].map(|id| node(id, &FLOWS));
        // An undercount between two live machines stays visible.
        let from_0 = nodes[1].peers.iter_mut().find(|p| p.peer == 0).unwrap();
        from_0.received -= 3;
        let links = links(&nodes).unwrap();
        let l = links.iter().find(|l| (l.from, l.to) == (0, 1)).unwrap();
        assert_eq!(l.inferred, 0);
        assert_eq!(
            l.balance(),
            Err(scalemodel_core::balance::Imbalance::Missing { by: 3 })
        );
    }

    #[test]
    fn a_machine_without_its_peer_is_named() {
        let mut nodes = [0, 1, 2].map(|id| node(id, &FLOWS));
        nodes[1].peers.clear();
        assert!(matches!(links(&nodes), Err(MergeError::NoPeer(1, _))));
    }

    #[test]
    fn five_machines_merge_into_twenty_links_in_order() {
        let flows: Vec<_> = model_links(5, crate::Topology::All)
            .map(|(from, to)| (from, to, u64::from(from * 10 + to), 1, 0, 0, 0))
            .collect();
        let nodes: Vec<_> = (0..5).map(|id| node(id, &flows)).collect();
        let links = links(&nodes).unwrap();
        assert_eq!(links.len(), 20);
        for (l, f) in links.iter().zip(&flows) {
            assert_eq!((l.from, l.to, l.received, l.queued), (f.0, f.1, f.2, 1));
            assert_eq!(l.balance(), Ok(()), "{l:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        for (id, node) in (0..).zip(&nodes) {
            node.write(dir.path(), id).unwrap();
        }
        let params = merge_nodes(dir.path()).unwrap();
        assert_eq!(
            (params.n(), params.links, params.machines.len()),
            (5, links, 5)
        );
        let mut six = nodes[0].clone();
        six.run.rates = vec![1; 17];
        six.write(dir.path(), 0).unwrap();
        let err = merge_nodes(dir.path()).unwrap_err().to_string();
        assert!(err.contains("`rates` holds 17 rates"), "{err}");
    }
}

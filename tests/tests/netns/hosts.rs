//! Simulated hosts: one network namespace per node, each with a TUN device
//! as its only link (an address in [`SUBNET`] and the route to the others'),
//! and the delay and loss put on those links by `tc netem` where the kernel
//! has it, else by the test's own [`Wire`].
//!
//! [`Hosts`] owns everything it makes: dropping it (also when a test
//! panics) kills the nodes the test started in it, stops the wire, which
//! closes the TUN devices and so removes them, and deletes the namespaces.

use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use scalemodel_tests::Children;

use crate::tun;
use crate::wire::{Counts, Link, Wire};

/// The nodes' addresses: 198.18.0.1, .2, ... (RFC 2544's range for test
/// networks), each in its own namespace, so no address is shared with the
/// machine or with another run of the test.
pub const SUBNET: [u8; 3] = [198, 18, 0];

/// What puts the delay and loss on the links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delay {
    /// A `netem` qdisc on each TUN device, as the packets leave a node;
    /// the wire then only carries them.
    Netem,
    /// The wire (this kernel refused `netem`, saying `.0`).
    Wire(String),
}

/// The namespaces, devices and nodes of one test run; see the module doc.
#[derive(Debug)]
pub struct Hosts {
    /// The processes the test started in the namespaces; killed first.
    pub children: Children,
    namespaces: Vec<String>,
    addrs: Vec<Ipv4Addr>,
    wire: Option<Wire>,
    delay: Delay,
}

impl Hosts {
    /// `n` hosts linked with `link`, the wire's draws seeded with `seed`.
    /// `Err` says why this machine cannot make them (not root, no `ip`, a
    /// namespace or a TUN device refused); a failure to set up what was
    /// made panics, naming the command.
    pub fn new(n: usize, link: Link, seed: u64) -> Result<Self, String> {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        if !rustix::process::geteuid().is_root() {
            return Err("not root: making network namespaces needs root".into());
        }
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let mut hosts = Self {
            children: Children::default(),
            namespaces: Vec::with_capacity(n),
            addrs: Vec::with_capacity(n),
            wire: None,
            delay: Delay::Netem,
        };
        let mut ends = Vec::with_capacity(n);
        for i in 0..n {
            let ns = format!("scalemodel-{}-{run}-{i}", std::process::id());
            let made = ip(&["netns", "add", &ns]).map_err(|e| format!("`ip` did not run: {e}"))?;
            if !made.status.success() {
                return Err(format!(
                    "`ip netns add` failed: {}",
                    String::from_utf8_lossy(&made.stderr).trim()
                ));
            }
            hosts.namespaces.push(ns.clone());
            let (file, dev) = tun::open().map_err(|e| format!("no TUN device: {e}"))?;
            let host = u8::try_from(i + 1).expect("at most 254 hosts");
            let addr = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], host);
            must(&["link", "set", &dev, "netns", &ns]);
            must(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", &dev]);
            must(&["-n", &ns, "link", "set", &dev, "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
            hosts.addrs.push(addr);
            ends.push((file, addr, dev));
        }
        hosts.delay = hosts.put_netem(&ends, link);
        let wired = if hosts.delay == Delay::Netem {
            Link::DIRECT
        } else {
            link
        };
        let ends = ends
            .into_iter()
            .map(|(file, addr, _)| (file, addr))
            .collect();
        hosts.wire = Some(Wire::start(ends, wired, seed).expect("the wire's thread starts"));
        Ok(hosts)
    }

    /// Puts `netem` on every device if the kernel takes it on the first.
    fn put_netem(&self, ends: &[(std::fs::File, Ipv4Addr, String)], link: Link) -> Delay {
        let us = |ns: u64| format!("{}us", ns / 1_000);
        let loss = format!("{}%", f64::from(link.loss_ppm) / 10_000.0);
        let (delay, jitter) = (us(link.delay_ns), us(link.jitter_ns));
        for (i, (_, _, dev)) in ends.iter().enumerate() {
            let tc = [
                "qdisc", "add", "dev", dev, "root", "netem", "delay", &delay, &jitter, "loss",
                &loss,
            ];
            let out = self
                .exec(i, "tc")
                .args(tc)
                .output()
                .expect("`ip netns exec` runs");
            if !out.status.success() {
                let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                assert_eq!(i, 0, "netem on host 0 but not on host {i}: {why}");
                return Delay::Wire(why);
            }
        }
        Delay::Netem
    }

    /// What puts the delay on the links.
    pub fn delay(&self) -> &Delay {
        &self.delay
    }

    /// The hosts' addresses, host 0 first.
    pub fn addrs(&self) -> &[Ipv4Addr] {
        &self.addrs
    }

    /// A command that runs `program` in host `i`'s namespace.
    pub fn exec(&self, i: usize, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespaces[i], program]);
        cmd
    }

    /// Stops the wire (the nodes must have ended): what it counted.
    pub fn stop_wire(&mut self) -> Counts {
        let wire = self.wire.take().expect("the wire runs until stopped");
        wire.stop()
            .expect("the wire carried packets without an error")
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // The nodes first, then the devices (closing their files removes
        // them), then the namespaces.
        drop(std::mem::take(&mut self.children));
        drop(self.wire.take());
        for ns in &self.namespaces {
            match ip(&["netns", "del", ns]) {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!(
                    "could not delete namespace {ns}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                Err(e) => eprintln!("could not delete namespace {ns}: {e}"),
            }
        }
    }
}

/// Runs `ip ARGS`.
fn ip(args: &[&str]) -> std::io::Result<Output> {
    Command::new("ip").args(args).output()
}

/// Runs `ip ARGS`, which must succeed.
fn must(args: &[&str]) {
    let out = ip(args).unwrap_or_else(|e| panic!("ip {args:?} did not run: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

//! One machine of a networked run on a Cortex-M4, under QEMU (`mps2-an386`):
//! scalemodel-core's node, its links and its log over UART0.
//!
//! The board's bridge (`scalemodel-board --board`, which `scalemodel run
//! --mcu` starts for the machine) holds the other end of the UART: the TCP
//! sockets, the log file and the launcher. The line carries
//! [`scalemodel_core::serial`]'s frames both ways: the node's parameters
//! and start, the bytes of each connection within the other side's credit,
//! the log's lines and the node's report. Time is a timer's count
//! ([`clock`]); between events the core sleeps in `wfi` until the node's
//! next timeout or the next byte. The node is the core's, with the board's
//! capacities ([`BoardNode`]); this firmware only moves bytes and time.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::debug;
use embedded_io::{Read, ReadReady, Write, WriteReady};
use postcard::accumulator::{CobsAccumulator, FeedResult};
use scalemodel_core::LINE_MAX;
use scalemodel_core::node::{ConnId, Event, Node};
use scalemodel_core::serial::{self, CHUNK, Down, FRAME_MAX, Line, Up};

mod clock;
#[allow(unsafe_code)]
mod mem;
#[allow(unsafe_code)]
mod mmio;
mod out;
#[allow(unsafe_code)]
mod stack;
mod uart;

use clock::Clock;
use uart::Uart;

/// Messages the inbox holds: 64, about 20 s of the standard experiment's
/// worst growth (rates 1,6,6 and a die of 4: 3 messages a second); then
/// the node reads no more, and the peers' bytes wait in TCP.
const INBOX: usize = 64;
/// Bytes each link's outbox holds: ten of the longest `Clock` frames.
const OUT: usize = 256;
/// Connection slots: the dial, the accepted link and one stranger.
const CONNS: usize = 3;
/// Bytes of a connection buffered towards the node: the credit the board
/// grants the host per line.
const RX: usize = 128;

/// How long the board waits for its parameters after boot: its bridge is
/// gone if none came (the bridge's `BOOT_WAIT`).
const BOOT_WAIT_NS: u64 = 30_000_000_000;

/// How long the board waits for its bridge to take one byte before it
/// stops: the bridge reads its line at once, so only a bridge that is gone
/// takes this long.
const HOST_GONE_NS: u64 = 2_000_000_000;

/// The board's node: three machines, Lamport's clock.
type BoardNode = Node<INBOX, OUT, 3, CONNS>;

/// One connection on the line: its number and the bytes that came for it.
struct Open {
    conn: ConnId,
    line: Line,
    rx: [u8; RX],
    rx_len: usize,
    /// Bytes the host can still take for it.
    credit: usize,
}

/// The board: its UART, its node once built, and its connections.
struct Board {
    clock: Clock,
    uart: Uart,
    node: Option<&'static mut BoardNode>,
    /// By slot.
    open: [Option<Open>; CONNS],
    /// Dials asked for, by slot, until the host answers.
    dials: [Option<ConnId>; CONNS],
    /// `Up::Ended` went.
    reported: bool,
}

#[entry]
fn main() -> ! {
    let Some(mut core) = cortex_m::Peripherals::take() else {
        fail("the core's peripherals were already taken")
    };
    let mut board = Board {
        clock: Clock::start(core.SYST),
        uart: Uart::new(Uart::UART0),
        node: None,
        open: [const { None }; CONNS],
        dials: [None; CONNS],
        reported: false,
    };
    irq::unmask_uart0_rx(&mut core.NVIC);
    board.send(&Up::Booted {
        version: serial::VERSION,
    });
    let mut frames = CobsAccumulator::<FRAME_MAX>::new();
    loop {
        let mut busy = false;
        // Every byte the UART has, one at a time (it holds one).
        while board.uart.read_ready().unwrap_or(false) {
            busy = true;
            let mut byte = [0];
            let _ = board.uart.read(&mut byte);
            match frames.feed_ref::<Down>(&byte) {
                FeedResult::Consumed => {}
                FeedResult::Success { data, .. } => board.take(data),
                FeedResult::OverFull(_) => board.fault("a frame longer than FRAME_MAX"),
                FeedResult::DeserError(_) => board.fault("a frame that does not decode"),
            }
        }
        if board.node.is_none() && board.clock.now_ns() > BOOT_WAIT_NS {
            board.fault("no parameters came within 30 s of boot");
        }
        busy |= board.pump();
        if board.reported {
            out::str("stack peak=");
            out::num(stack::peak() as u64);
            out::str(" bytes; node sizes");
            sizes();
            out::str("\n");
            debug::exit(debug::EXIT_SUCCESS);
        }
        if !busy {
            // The node's next timeout or the next byte wakes it.
            let deadline = board.node.as_ref().and_then(|n| n.poll_timeout());
            let Board { clock, uart, .. } = &mut board;
            clock.sleep_until(deadline, || uart.read_ready().unwrap_or(false));
        }
    }
}

impl Board {
    /// Writes one frame to the host. A host that takes no byte for
    /// [`HOST_GONE_NS`] is gone (QEMU holds a byte it cannot hand to a
    /// closed socket): the board stops, rather than wait for ever.
    fn send(&mut self, frame: &Up) {
        let mut buf = [0; FRAME_MAX];
        let Some(bytes) = serial::encode(frame, &mut buf) else {
            fail("a frame longer than FRAME_MAX (a bug)")
        };
        for byte in bytes.iter() {
            let since = self.clock.now_ns();
            while !self.uart.write_ready().unwrap_or(false) {
                if self.clock.now_ns().saturating_sub(since) > HOST_GONE_NS {
                    fail("the bridge took no byte for 2 s: it is gone")
                }
            }
            let _ = self.uart.write(core::slice::from_ref(byte));
        }
    }

    /// Says why the board stops, and stops.
    fn fault(&mut self, why: &str) -> ! {
        self.send(&Up::Fault(why));
        fail(why)
    }

    /// Acts on one frame from the host.
    fn take(&mut self, frame: Down) {
        let now = self.clock.now_ns();
        let Some(node) = self.node.as_mut() else {
            let Down::Setup(setup) = frame else {
                self.fault("a frame before the node's parameters");
            };
            let refused = match setup.config().map(|c| slot::take(c, now)) {
                Some(Some(node)) => {
                    self.node = Some(node);
                    None
                }
                Some(None) => Some("the node refused its parameters"),
                None => Some("the machine's id is not below the run's machines"),
            };
            return self.send(&Up::Built { refused });
        };
        match frame {
            Down::Setup(_) => self.fault("a second set of parameters"),
            Down::Sync => {
                let now_ns = self.clock.now_ns();
                self.send(&Up::Time { now_ns });
            }
            Down::Start { at_ns, unix_ns } => {
                let refused = node
                    .handle_start(at_ns, unix_ns, now)
                    .err()
                    .map(|e| match e {
                        scalemodel_core::node::StartError::NotReady => "not ready",
                        scalemodel_core::node::StartError::InPast => "in the past",
                    });
                self.send(&Up::Started { refused });
            }
            Down::Connected { slot, line } => {
                if let Some(conn) = self.dials.get_mut(usize::from(slot)).and_then(Option::take) {
                    node.handle_connected(conn, now);
                    self.adopt(conn, line);
                }
            }
            Down::DialFailed { slot } => {
                if let Some(conn) = self.dials.get_mut(usize::from(slot)).and_then(Option::take) {
                    node.handle_closed(conn, now);
                }
            }
            Down::Accepted { line } => match node.handle_accepted(now) {
                Some(conn) => self.adopt(conn, line),
                None => self.send(&Up::Close { line }),
            },
            Down::Bytes { line, data } => {
                let Some(open) = self.by_line(line) else {
                    return; // for a line already closed: dropped with it
                };
                let room = open.rx.get_mut(open.rx_len..).unwrap_or_default();
                match room.get_mut(..data.len()) {
                    Some(to) => {
                        to.copy_from_slice(data);
                        open.rx_len += data.len();
                    }
                    None => self.fault("bytes beyond the board's credit"),
                }
            }
            Down::Closed { line } => {
                if let Some(open) = self.by_line(line) {
                    let conn = open.conn;
                    self.feed(conn, now);
                    self.open[conn.index()] = None;
                    if let Some(node) = self.node.as_mut() {
                        node.handle_closed(conn, now);
                    }
                }
            }
            Down::Credit { line, bytes } => {
                if let Some(open) = self.by_line(line) {
                    open.credit = open.credit.saturating_add(usize::from(bytes));
                }
            }
            Down::Stop => node.handle_stop(now),
        }
    }

    /// `line`'s connection, if it is open.
    fn by_line(&mut self, line: Line) -> Option<&mut Open> {
        self.open.iter_mut().flatten().find(|o| o.line == line)
    }

    /// Slot `conn` is now `line`: the host may send it a buffer's worth.
    fn adopt(&mut self, conn: ConnId, line: Line) {
        if let Some(slot) = self.open.get_mut(conn.index()) {
            *slot = Some(Open {
                conn,
                line,
                rx: [0; RX],
                rx_len: 0,
                credit: 0,
            });
            self.send(&Up::Credit {
                line,
                bytes: RX as u16,
            });
        }
    }

    /// Hands `conn`'s buffered bytes to the node; grants the host what it
    /// took.
    fn feed(&mut self, conn: ConnId, now: u64) {
        let (Some(node), Some(Some(open))) = (self.node.as_mut(), self.open.get_mut(conn.index()))
        else {
            return;
        };
        let have = open.rx.get(..open.rx_len).unwrap_or_default();
        if have.is_empty() {
            return;
        }
        let used = node.handle_bytes(conn, have, now).min(open.rx_len);
        open.rx.copy_within(used..open.rx_len, 0);
        open.rx_len -= used;
        let line = open.line;
        if used > 0 {
            self.send(&Up::Credit {
                line,
                bytes: used as u16,
            });
        }
    }

    /// Sends what the node has for `conn`, within the host's credit.
    fn transmit(&mut self, conn: ConnId, now: u64) -> bool {
        let mut sent = false;
        loop {
            let (Some(node), Some(Some(open))) =
                (self.node.as_mut(), self.open.get_mut(conn.index()))
            else {
                return sent;
            };
            let Some(bytes) = node.poll_transmit(conn) else {
                return sent;
            };
            let n = bytes.len().min(CHUNK).min(open.credit);
            if n == 0 {
                return sent;
            }
            let mut chunk = [0; CHUNK];
            chunk[..n].copy_from_slice(&bytes[..n]);
            node.transmitted(conn, n, now);
            open.credit -= n;
            let line = open.line;
            self.send(&Up::Bytes {
                line,
                data: &chunk[..n],
            });
            sent = true;
        }
    }

    /// One turn: timeouts, bytes in, events, bytes out. True if anything
    /// happened.
    fn pump(&mut self) -> bool {
        let now = self.clock.now_ns();
        let mut busy = false;
        if let Some(node) = self.node.as_mut()
            && node.poll_timeout().is_some_and(|t| t <= now)
        {
            node.handle_timeout(now);
            busy = true;
        }
        let conns: [Option<ConnId>; CONNS] =
            core::array::from_fn(|i| self.open[i].as_ref().map(|o| o.conn));
        for conn in conns.into_iter().flatten() {
            self.feed(conn, now);
        }
        while let Some(event) = self.node.as_mut().and_then(|n| n.poll_event()) {
            busy = true;
            self.event(event, now);
        }
        for conn in conns.into_iter().flatten() {
            busy |= self.transmit(conn, now);
        }
        if let Some(node) = self.node.as_ref()
            && !self.reported
            && node.status().is_some()
            && node.poll_timeout().is_none()
        {
            let report = node.report();
            self.send(&Up::Ended(report));
            self.reported = true;
        }
        busy
    }

    /// Acts on one of the node's events.
    fn event(&mut self, event: Event<3>, now: u64) {
        match event {
            Event::Record(record) => {
                let mut line = [0; LINE_MAX];
                self.send(&Up::Record(record.write_line(&mut line)));
            }
            Event::Dial(conn) => {
                let peer = self.node.as_ref().and_then(|n| n.dial_target(conn));
                match (self.dials.get_mut(conn.index()), peer) {
                    (Some(slot), Some(peer)) => {
                        *slot = Some(conn);
                        self.send(&Up::Dial {
                            slot: conn.index() as u8,
                            peer: peer.get(),
                        });
                    }
                    _ => fail("a dial of a slot the node does not dial (a bug)"),
                }
            }
            Event::Close(conn) => {
                // What the node still has to send goes first, as TCP sends
                // it before its FIN, and what came is handed in.
                self.transmit(conn, now);
                self.feed(conn, now);
                if let Some(open) = self.open.get_mut(conn.index()).and_then(Option::take) {
                    self.send(&Up::Close { line: open.line });
                }
                if let Some(node) = self.node.as_mut() {
                    node.handle_closed(conn, now);
                }
            }
            Event::Joined(peer) => self.send(&Up::Joined { peer }),
            Event::Rejected { reason, .. } => self.send(&Up::Rejected { reason }),
            Event::PeerLost {
                peer,
                at_model_ns,
                reason,
            } => self.send(&Up::PeerLost {
                peer,
                at_model_ns,
                reason,
            }),
            Event::Barrier => self.send(&Up::Ready),
            Event::Ended(_) => {}
        }
    }
}

/// The one node, in a static: built by value, a node and its temporaries
/// would sit on the stack several times over (7 KB each). As the
/// simulator firmware's `slot`: the static starts as zero bytes, which
/// rustc checks are a valid `BoardNode` when it evaluates the initialiser
/// (the simulator's static, which holds nodes, relies on the same), and
/// [`Node::reset`], safe code in the core, sets every field before anything
/// reads one; the `&'static mut` is handed out once, guarded by `TAKEN`.
#[allow(unsafe_code)]
mod slot {
    use core::sync::atomic::{AtomicBool, Ordering};

    use scalemodel_core::node::Config;

    use super::BoardNode;

    // SAFETY: all-zero bytes are a valid `BoardNode`, checked by rustc.
    static mut NODE: BoardNode = unsafe { core::mem::zeroed() };
    static TAKEN: AtomicBool = AtomicBool::new(false);

    /// The node, reset for `config` at `now_ns`; `None` when its
    /// parameters are refused or it was already taken.
    pub fn take(config: Config, now_ns: u64) -> Option<&'static mut BoardNode> {
        if TAKEN.swap(true, Ordering::Relaxed) {
            return None;
        }
        let ptr = &raw mut NODE;
        // SAFETY: the only reference to `NODE` ever made (`TAKEN` was
        // false), so it aliases nothing; the value is a valid node.
        let node = unsafe { &mut *ptr };
        node.reset(config, now_ns).ok()?;
        Some(node)
    }
}

/// Prints the bytes of a node of a few capacities on this target (three
/// machines, three slots), the board's among them: the memory table of
/// docs/EMBEDDING.md.
fn sizes() {
    fn one<const INBOX: usize, const OUT: usize>() {
        out::str(" Node<");
        out::num(INBOX as u64);
        out::str(",");
        out::num(OUT as u64);
        out::str(",3,3>=");
        out::num(core::mem::size_of::<Node<INBOX, OUT, 3, CONNS>>() as u64);
    }
    one::<16, 256>();
    one::<INBOX, OUT>();
    one::<256, 256>();
    one::<64, 1024>();
}

/// Says why on the semihosting console and exits 1.
fn fail(why: &str) -> ! {
    out::str("board: ");
    out::str(why);
    out::str("\n");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

/// Every interrupt but SysTick's: the UART's receive interrupt, whose
/// byte the main loop reads; cleared here so that `wfi` sleeps again.
#[allow(unsafe_code)]
#[exception]
unsafe fn DefaultHandler(_irq: i16) {
    Uart::clear_rx_interrupt(Uart::UART0);
}

/// The NVIC's mask: unmasking an interrupt is `unsafe` in cortex-m, since
/// its handler may break a critical section; this one's only clears the
/// UART's interrupt.
#[allow(unsafe_code)]
mod irq {
    use cortex_m::interrupt::InterruptNumber;
    use cortex_m::peripheral::NVIC;

    /// UART0's receive interrupt: line 0 of the MPS2 AN385/AN386's NVIC.
    #[derive(Clone, Copy)]
    struct Uart0Rx;

    // SAFETY: 0 is a valid interrupt number of the board.
    unsafe impl InterruptNumber for Uart0Rx {
        fn number(self) -> u16 {
            0
        }
    }

    pub fn unmask_uart0_rx(_nvic: &mut NVIC) {
        // SAFETY: its handler (`DefaultHandler`) only writes the UART's
        // INTCLEAR; no critical section depends on it being masked.
        unsafe { NVIC::unmask(Uart0Rx) }
    }
}

/// Prints where the panic happened and exits 1.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    out::panicked(info)
}

//! `--board FIRMWARE`: the machine runs as scalemodel-core's node on a
//! Cortex-M4 under QEMU (`mps2-an386`), and this process is its bridge.
//!
//! The bridge holds what a board has not: the TCP sockets, the log file and
//! the launcher. It talks to the board over the board's UART0, which QEMU
//! connects to a Unix socket in a private temporary folder, in
//! [`scalemodel_core::serial`]'s frames: the node's parameters (the key
//! among them: the socket is the board's private channel, never a command
//! line), the start, each connection's bytes within the other side's
//! credit, the log's lines and the node's report. Every decision is the
//! board's node's; the bridge only moves bytes, as the mio host does.
//!
//! QEMU is this process's child: killed by its id when the bridge stops
//! early. A bridge killed outright leaves it to end by the node's own
//! bounds (its set-up timeout, or the run's end and its `Bye` wait), after
//! which the firmware exits; a board that never gets its parameters exits
//! after [`BOOT_WAIT`].

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use postcard::accumulator::{CobsAccumulator, FeedResult};
use scalemodel_core::MachineId;
use scalemodel_core::node::{self, NodeReport};
use scalemodel_core::serial::{self, CHUNK, Down, FRAME_MAX, Line, Setup, Up};
use scalemodel_mio::{Host, Note, Start};

use crate::NodeHost;

/// The QEMU binary, looked up on `PATH`.
pub const QEMU: &str = "qemu-system-arm";
/// How long the board's firmware waits for its parameters after boot
/// before it exits (the firmware's own bound, for the docs).
pub const BOOT_WAIT: Duration = Duration::from_secs(30);
/// What the summary says the machine ran on.
pub const HOST: &str = "QEMU mps2-an386 (Cortex-M4), scalemodel-node-firmware";

const SERIAL: Token = Token(0);
const LISTENER: Token = Token(1);
const WAKER: Token = Token(2);
/// Tokens of lines: this plus the line's number.
const FIRST_LINE: usize = 16;

/// Bytes of a connection the bridge holds for the peer: the credit it
/// grants the board per line.
const CREDIT: usize = 4096;
/// How long QEMU may take to connect its UART to the bridge.
const BOOT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the board may take to exit once its node has reported.
const EXIT_WAIT: Duration = Duration::from_secs(5);
/// Bytes waiting for the board at most: credit-bounded bytes, one accept
/// at a time and a few control frames fit well within it.
const SERIAL_OUT_MAX: usize = 64 * 1024;

/// Readings of the board's clock taken to map it to Unix time.
const SYNC_SAMPLES: u32 = 16;

/// The map from the board's clock to Unix time: the least difference
/// between a reading's arrival here and the reading, over
/// [`SYNC_SAMPLES`] readings.
///
/// A reading leaves the board as it is taken (a UART's bytes go out as
/// they are written) and its arrival is stamped here, so each difference
/// is the true offset plus that reading's way up, never less; the least
/// is the true offset plus the shortest way up. The board's records then
/// carry Unix times at most that late, never early: a message from a Linux
/// node is never logged received before it was sent, and one from the
/// board is received after at least the same way up. QEMU runs the
/// board's timer on the host's clock, so the offset holds for the run.
#[derive(Debug)]
struct Sync {
    samples: u32,
    /// Unix ns minus board ns, the least seen.
    offset: i128,
    /// When the last `Sync` went.
    asked: Option<Instant>,
    /// The shortest round trip: a bound on how late the map is.
    best_rtt: Duration,
}

impl Default for Sync {
    fn default() -> Self {
        Self {
            samples: 0,
            offset: i128::MAX,
            asked: None,
            best_rtt: Duration::MAX,
        }
    }
}

impl Sync {
    /// Takes the board's reading `board_ns`, arriving now.
    fn sample(&mut self, board_ns: u64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let offset = i128::try_from(now).unwrap_or(i128::MAX) - i128::from(board_ns);
        if offset < self.offset {
            self.offset = offset;
        }
        if let Some(asked) = self.asked.take() {
            self.best_rtt = self.best_rtt.min(asked.elapsed());
        }
        self.samples += 1;
    }
}

/// What the launcher (or a signal) asks of the bridge.
pub(crate) enum Control {
    /// Model time 0 is this Unix time in ns.
    Start(u64),
    /// End the run now, cleanly.
    Stop,
}

/// Sends `Control`s to the bridge's loop, waking it.
#[derive(Clone)]
pub(crate) struct Handle {
    tx: Sender<Control>,
    waker: Arc<Waker>,
}

impl Handle {
    /// Asks the bridge for `c`; false once it is gone.
    pub(crate) fn send(&self, c: Control) -> bool {
        self.tx.send(c).is_ok() && self.waker.wake().is_ok()
    }
}

/// The board's link to the node's peers: one TCP connection.
struct Link {
    stream: TcpStream,
    /// The board's dial slot while the connect is on its way.
    dialing: Option<u8>,
    /// Bytes from the board for the peer (at most [`CREDIT`]).
    out: VecDeque<u8>,
    /// Bytes of the peer's the board can still take.
    board_credit: usize,
}

/// The bridge, between the board's serial line and the network.
pub(crate) struct Bridge<const M: usize> {
    poll: Poll,
    serial: UnixStream,
    serial_out: VecDeque<u8>,
    listener: TcpListener,
    links: HashMap<Line, Link>,
    next_line: Line,
    /// An accepted connection offered to the board, not yet answered.
    offered: Option<Line>,
    /// The board has built its node: connections may be offered.
    built: bool,
    peers: Vec<SocketAddr>,
    setup: Setup,
    id: MachineId,
    rx: Receiver<Control>,
    handle: Handle,
    qemu: QemuChild,
    /// The start, once known, and whether the board has passed the barrier.
    start: Option<u64>,
    ready: bool,
    start_sent: bool,
    sync: Sync,
    ended: Option<NodeReport<M>>,
    _dir: tempfile::TempDir,
}

/// QEMU, killed by its id if still running when dropped.
struct QemuChild(Child);

impl Drop for QemuChild {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Checks that QEMU and the firmware are there, naming what to install
/// or build.
pub fn check(firmware: &Path) -> Result<()> {
    if !firmware.is_file() {
        bail!(
            "no board firmware at {}: build it with `cargo build --release` in tests/firmware \
             (or `bash tests/firmware/check.sh`), then give \
             tests/firmware/target/thumbv7em-none-eabihf/release/scalemodel-node-firmware",
            firmware.display()
        );
    }
    let mut magic = [0; 4];
    let elf = std::fs::File::open(firmware).and_then(|mut f| f.read_exact(&mut magic));
    if elf.is_err() || magic != *b"\x7fELF" {
        bail!(
            "{} is not a firmware: expected the ELF file that tests/firmware builds \
             (scalemodel-node-firmware)",
            firmware.display()
        );
    }
    match Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        _ => bail!(
            "{QEMU} is needed to run a machine on the board: install QEMU's ARM system emulator \
             (Debian and Ubuntu: apt-get install qemu-system-arm)"
        ),
    }
}

impl<const M: usize> Bridge<M> {
    /// Starts QEMU with `firmware` and waits until its UART is connected.
    pub(crate) fn start(
        firmware: &Path,
        config: &node::Config,
        peers: Vec<SocketAddr>,
        listener: StdTcpListener,
    ) -> Result<Self> {
        check(firmware)?;
        let id = config.id;
        let poll = Poll::new()?;
        // Mode 0700: only this user reaches the board's line.
        let dir = tempfile::Builder::new()
            .prefix("scalemodel-board-")
            .tempdir()
            .context("cannot make the board's private folder")?;
        let path = dir.path().join("uart0");
        let mut unix = UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        let mut chardev = std::ffi::OsString::from("socket,id=line,path=");
        chardev.push(&path);
        let mut child = Command::new(QEMU)
            .args(["-machine", "mps2-an386", "-cpu", "cortex-m4"])
            .args([
                "-nodefaults",
                "-display",
                "none",
                "-monitor",
                "none",
                "-net",
                "none",
            ])
            .arg("-chardev")
            .arg(chardev)
            .args(["-serial", "chardev:line"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .arg("-kernel")
            .arg(firmware)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {QEMU}"))?;
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    // The board's built-in Ethernet has no network: the
                    // board uses none, and QEMU says so at every start.
                    if !line.contains("nic lan9118.0 has no peer") {
                        eprintln!("machine {id}: board: {line}");
                    }
                }
            });
        }
        let mut qemu = QemuChild(child);
        let mut serial = accept_serial(&mut unix, &mut qemu)?;
        poll.registry()
            .register(&mut serial, SERIAL, Interest::READABLE | Interest::WRITABLE)?;
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = mpsc::channel();
        Ok(Self {
            poll,
            serial,
            serial_out: VecDeque::new(),
            listener,
            links: HashMap::new(),
            next_line: 0,
            offered: None,
            built: false,
            peers,
            setup: Setup::of(config),
            id,
            rx,
            handle: Handle { tx, waker },
            qemu,
            start: None,
            ready: false,
            start_sent: false,
            sync: Sync::default(),
            ended: None,
            _dir: dir,
        })
    }

    /// Where the launcher's and the signals' requests go.
    pub(crate) fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Runs the board's node to its end: its report.
    pub(crate) fn run(
        mut self,
        host: &mut NodeHost,
        start: Start,
        bound: Duration,
    ) -> Result<NodeReport<M>> {
        if let Start::At(t) = start {
            self.start = Some(t);
        }
        let began = Instant::now();
        let mut frames = CobsAccumulator::<FRAME_MAX>::new();
        let mut events = Events::with_capacity(64);
        let mut buf = [0; 4096];
        while self.ended.is_none() {
            if began.elapsed() > bound {
                bail!(
                    "the board did not end within {bound:?}, the node's own bound: \
                     QEMU stopped, or the board is far too slow"
                );
            }
            self.poll
                .poll(&mut events, Some(Duration::from_millis(100)))
                .or_else(|e| {
                    if e.kind() == io::ErrorKind::Interrupted {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })?;
            let tokens: Vec<Token> = events.iter().map(mio::event::Event::token).collect();
            for token in tokens {
                match token {
                    SERIAL => self.read_serial(&mut frames, &mut buf, host)?,
                    LISTENER => self.accept()?,
                    WAKER => self.control()?,
                    Token(t) if t >= FIRST_LINE => {
                        let line = (t - FIRST_LINE) as Line;
                        self.connect_done(line)?;
                        self.pump_to_board(line)?;
                        self.pump_to_peer(line);
                    }
                    _ => {}
                }
            }
            self.flush_serial()?;
        }
        host.flush()?;
        self.wait_exit();
        self.ended
            .take()
            .context("the board's node ended without its report")
    }

    /// Waits up to [`EXIT_WAIT`] for QEMU to exit after the report; then
    /// it is killed (on drop).
    fn wait_exit(&mut self) {
        let deadline = Instant::now() + EXIT_WAIT;
        while Instant::now() < deadline {
            if !matches!(self.qemu.0.try_wait(), Ok(None)) {
                return;
            }
            let _ = self.poll.poll(
                &mut Events::with_capacity(1),
                Some(Duration::from_millis(20)),
            );
        }
        eprintln!(
            "machine {}: the board did not exit after its report: stopped",
            self.id
        );
    }

    /// Queues one frame for the board.
    fn send(&mut self, frame: &Down) -> Result<()> {
        let mut buf = [0; FRAME_MAX];
        let bytes = serial::encode(frame, &mut buf).context("a frame too long for the board")?;
        if self.serial_out.len() + bytes.len() > SERIAL_OUT_MAX {
            bail!("the board has not read its line for {SERIAL_OUT_MAX} bytes: it is stuck");
        }
        self.serial_out.extend(bytes.iter());
        Ok(())
    }

    /// Writes what waits for the board, as far as its line takes it.
    fn flush_serial(&mut self) -> Result<()> {
        while !self.serial_out.is_empty() {
            let (front, _) = self.serial_out.as_slices();
            match self.serial.write(front) {
                Ok(0) => bail!("the board's line closed"),
                Ok(n) => drop(self.serial_out.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("writing to the board's line"),
            }
        }
        Ok(())
    }

    /// Reads the board's frames and acts on each.
    fn read_serial(
        &mut self,
        frames: &mut CobsAccumulator<FRAME_MAX>,
        buf: &mut [u8],
        host: &mut NodeHost,
    ) -> Result<()> {
        loop {
            let n = match self.serial.read(buf) {
                Ok(0) => return Err(self.board_gone()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the board's line"),
            };
            let mut window = buf.get(..n).unwrap_or_default();
            while !window.is_empty() {
                window = match frames.feed_ref::<Up<'_, M>>(window) {
                    FeedResult::Consumed => break,
                    FeedResult::Success { data, remaining } => {
                        self.take(data, host)?;
                        remaining
                    }
                    FeedResult::OverFull(_) => {
                        bail!("the board sent a frame longer than {FRAME_MAX} B")
                    }
                    FeedResult::DeserError(_) => {
                        bail!("the board sent a frame that does not decode")
                    }
                };
            }
            if self.ended.is_some() {
                return Ok(());
            }
        }
    }

    /// The board's line closed before its report: why, from QEMU's exit.
    fn board_gone(&mut self) -> anyhow::Error {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut status = None;
        while status.is_none() && Instant::now() < deadline {
            status = self.qemu.0.try_wait().ok().flatten();
            if status.is_none() {
                let _ = self.poll.poll(
                    &mut Events::with_capacity(1),
                    Some(Duration::from_millis(20)),
                );
            }
        }
        match status {
            Some(s) => anyhow::anyhow!("the board stopped before its node ended ({QEMU} {s})"),
            None => anyhow::anyhow!("the board's line closed before its node ended"),
        }
    }

    /// Acts on one frame from the board.
    fn take(&mut self, frame: Up<'_, M>, host: &mut NodeHost) -> Result<()> {
        match frame {
            Up::Booted { version } => {
                if version != serial::VERSION {
                    bail!(
                        "the board's firmware speaks version {version} of the serial frames, \
                         this bridge {}: rebuild the firmware",
                        serial::VERSION
                    );
                }
                let setup = Down::Setup(self.setup.clone());
                self.send(&setup)?;
            }
            Up::Built { refused: Some(why) } => bail!("the board refused its node: {why}"),
            Up::Built { refused: None } => {
                self.built = true;
                self.ask_time()?;
                self.accept()?;
            }
            Up::Dial { slot, peer } => self.dial(slot, peer)?,
            Up::Credit { line, bytes } => {
                if self.offered == Some(line) {
                    self.offered = None;
                    self.accept()?;
                }
                if let Some(link) = self.links.get_mut(&line) {
                    link.board_credit += usize::from(bytes);
                }
                self.pump_to_board(line)?;
            }
            Up::Bytes { line, data } => {
                // The records before these bytes reach the log first, as a
                // Linux node flushes a send's record before its frame: a
                // bridge killed now leaves no message its log does not send.
                if host.unflushed_since.is_some() {
                    host.flush()?;
                }
                if let Some(link) = self.links.get_mut(&line) {
                    if link.out.len() + data.len() > CREDIT {
                        bail!("the board sent line {line} more than its credit");
                    }
                    link.out.extend(data.iter());
                }
                self.pump_to_peer(line);
            }
            Up::Close { line } => {
                if self.offered == Some(line) {
                    self.offered = None;
                }
                self.close(line);
                self.accept()?;
            }
            Up::Ready => {
                self.ready = true;
                host.ready();
                self.send_start()?;
            }
            Up::Time { now_ns } => {
                self.sync.sample(now_ns);
                if self.sync.samples < SYNC_SAMPLES {
                    self.ask_time()?;
                } else {
                    self.send_start()?;
                }
            }
            Up::Started { refused } => {
                if let Some(why) = refused {
                    bail!("the board refused the start: {why}");
                }
                let error_ns = u64::try_from(self.sync.best_rtt.as_nanos()).unwrap_or(u64::MAX);
                host.note(&Note::ClockMapped { error_ns });
            }
            Up::Record(line) => host.record_line(line)?,
            Up::Joined { peer } => host.note(&Note::Joined(peer)),
            Up::Rejected { reason } => host.note(&Note::Rejected { addr: None, reason }),
            Up::PeerLost {
                peer,
                at_model_ns,
                reason,
            } => host.note(&Note::PeerLost {
                peer,
                at_model_ns,
                reason,
            }),
            Up::Ended(report) => self.ended = Some(report),
            Up::Fault(why) => bail!("the board stopped: {why}"),
        }
        Ok(())
    }

    /// Asks the board for its clock.
    fn ask_time(&mut self) -> Result<()> {
        self.sync.asked = Some(Instant::now());
        self.send(&Down::Sync)
    }

    /// Hands the start to the board once it is ready, its clock mapped
    /// and the start known: model time 0 on the board's clock.
    fn send_start(&mut self) -> Result<()> {
        let mapped = self.sync.samples >= SYNC_SAMPLES;
        let (Some(at), true, true, false) = (self.start, self.ready, mapped, self.start_sent)
        else {
            return Ok(());
        };
        let at_ns = u64::try_from((i128::from(at) - self.sync.offset).max(0)).unwrap_or(u64::MAX);
        self.send(&Down::Start { at_ns, unix_ns: at })?;
        self.start_sent = true;
        Ok(())
    }

    /// The launcher's requests.
    fn control(&mut self) -> Result<()> {
        while let Ok(c) = self.rx.try_recv() {
            match c {
                Control::Start(t) => {
                    self.start = Some(t);
                    self.send_start()?;
                }
                Control::Stop => self.send(&Down::Stop)?,
            }
        }
        Ok(())
    }

    /// A new line's number.
    fn new_line(&mut self) -> Result<Line> {
        let line = self.next_line;
        self.next_line = line
            .checked_add(1)
            .context("the board's run took more connections than its lines number")?;
        Ok(line)
    }

    /// Dials `peer` for the board's slot `slot`.
    fn dial(&mut self, slot: u8, peer: u8) -> Result<()> {
        let Some(&addr) = self.peers.get(usize::from(peer)) else {
            bail!("the board dials machine {peer}, which the run does not have");
        };
        let Ok(stream) = TcpStream::connect(addr) else {
            return self.send(&Down::DialFailed { slot });
        };
        self.open_line(stream, Some(slot))?;
        Ok(())
    }

    /// A new line for `stream`, dialling for `dialing` or accepted.
    fn open_line(&mut self, mut stream: TcpStream, dialing: Option<u8>) -> Result<Line> {
        let line = self.new_line()?;
        self.poll.registry().register(
            &mut stream,
            Token(FIRST_LINE + usize::from(line)),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let _ = stream.set_nodelay(true);
        self.links.insert(
            line,
            Link {
                stream,
                dialing,
                out: VecDeque::new(),
                board_credit: 0,
            },
        );
        Ok(line)
    }

    /// A dial that finished: connected, or failed.
    fn connect_done(&mut self, line: Line) -> Result<()> {
        let Some(link) = self.links.get_mut(&line) else {
            return Ok(());
        };
        let Some(slot) = link.dialing else {
            return Ok(());
        };
        let failed = matches!(link.stream.take_error(), Ok(Some(_)) | Err(_));
        let connected = !failed && link.stream.peer_addr().is_ok();
        if connected {
            link.dialing = None;
            self.send(&Down::Connected { slot, line })?;
            self.send(&Down::Credit {
                line,
                bytes: CREDIT as u16,
            })?;
        } else if failed {
            self.close(line);
            self.send(&Down::DialFailed { slot })?;
        }
        Ok(())
    }

    /// Offers the next accepted connection to the board, one at a time.
    fn accept(&mut self) -> Result<()> {
        if self.offered.is_some() || !self.built {
            return Ok(());
        }
        let (stream, _addr) = match self.listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // A connection that failed before it was taken: the next one.
            Err(_) => return Ok(()),
        };
        let line = self.open_line(stream, None)?;
        self.offered = Some(line);
        self.send(&Down::Accepted { line })?;
        self.send(&Down::Credit {
            line,
            bytes: CREDIT as u16,
        })
    }

    /// Moves the peer's bytes to the board, within the board's credit; the
    /// peer closing is told.
    fn pump_to_board(&mut self, line: Line) -> Result<()> {
        let mut chunk = [0; CHUNK];
        loop {
            let Some(link) = self.links.get_mut(&line) else {
                return Ok(());
            };
            if link.dialing.is_some() || link.board_credit == 0 {
                return Ok(());
            }
            let want = link.board_credit.min(CHUNK);
            let n = match link.stream.read(&mut chunk[..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                self.close(line);
                return self.send(&Down::Closed { line });
            }
            link.board_credit -= n;
            self.send(&Down::Bytes {
                line,
                data: &chunk[..n],
            })?;
        }
    }

    /// Writes the board's bytes to the peer; grants the board what went.
    fn pump_to_peer(&mut self, line: Line) {
        let Some(link) = self.links.get_mut(&line) else {
            return;
        };
        if link.dialing.is_some() {
            return;
        }
        let mut went = 0;
        while !link.out.is_empty() {
            let (front, _) = link.out.as_slices();
            match link.stream.write(front) {
                Ok(0) => break,
                Ok(n) => {
                    link.out.drain(..n);
                    went += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if went > 0 {
            // At most CREDIT (4096) per turn: fits a u16.
            let _ = self.send(&Down::Credit {
                line,
                bytes: went as u16,
            });
        }
    }

    /// Closes `line`: what the board sent goes first (best effort), and
    /// what the peer still sent is read, so that it ends with a FIN, not a
    /// reset.
    fn close(&mut self, line: Line) {
        self.pump_to_peer(line);
        if let Some(mut link) = self.links.remove(&line) {
            let mut sink = [0; 4096];
            while matches!(link.stream.read(&mut sink), Ok(n) if n > 0) {}
            let _ = self.poll.registry().deregister(&mut link.stream);
        }
    }
}

/// Waits for QEMU to connect the board's UART.
fn accept_serial(unix: &mut UnixListener, qemu: &mut QemuChild) -> Result<UnixStream> {
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let mut events = Events::with_capacity(4);
    let mut poll_local = Poll::new()?;
    poll_local
        .registry()
        .register(unix, Token(0), Interest::READABLE)?;
    loop {
        match unix.accept() {
            Ok((stream, _)) => {
                poll_local.registry().deregister(unix)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("cannot take QEMU's connection of the board's UART"),
        }
        if let Ok(Some(status)) = qemu.0.try_wait() {
            bail!("{QEMU} exited ({status}) before it connected the board's UART");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("{QEMU} did not connect the board's UART within {BOOT_TIMEOUT:?}");
        }
        poll_local.poll(&mut events, Some(left.min(Duration::from_millis(100))))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix_now() -> i128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128
    }

    #[test]
    fn the_clock_map_keeps_the_earliest_arrival_and_is_never_early() {
        // A board whose clock reads `true_offset` behind Unix time: each
        // reading is taken, then arrives some way up later. The map is
        // the least of (arrival - reading), which can only be the true
        // offset plus the shortest way up: never below the true offset.
        let true_offset = unix_now() - 5_000_000_000;
        let mut sync = Sync::default();
        let mut ways_up = Vec::new();
        for _ in 0..SYNC_SAMPLES {
            let before = unix_now();
            let board_ns = u64::try_from(before - true_offset).unwrap();
            sync.asked = Some(Instant::now());
            sync.sample(board_ns);
            ways_up.push(unix_now() - before);
        }
        assert_eq!(sync.samples, SYNC_SAMPLES);
        let late = sync.offset - true_offset;
        assert!(late >= 0, "the map is {late} ns early");
        // No later than the shortest whole reading, taking to arrival.
        let shortest = *ways_up.iter().min().unwrap();
        assert!(late <= shortest, "late by {late} ns, beyond {shortest} ns");
        assert!(sync.best_rtt < Duration::MAX, "a round trip was measured");
    }
}

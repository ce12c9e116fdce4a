//! Wire codec: how [`Frame`]s travel between machines over a byte stream.
//!
//! Each frame is encoded with postcard (enum discriminant and integers as
//! LEB128 varints, `u8` as one raw byte), then COBS-encoded so that the
//! encoded bytes contain no `0x00`, and followed by a single `0x00`
//! delimiter. A receiver can therefore always find the next frame boundary,
//! even after corrupted or oversized input, by scanning for `0x00`.
//!
//! Encoding is [`encode`]; decoding a stream chunk by chunk is [`Decoder`];
//! [`FrameReader`] wraps a [`Decoder`] around an [`embedded_io::Read`].

use core::fmt;

mod clock;

/// The protocol version, carried in the handshake's first frame each way.
///
/// Version 3: `Hello` carries the caller's proof of the key over its own
/// challenge, so that an answerer tells a peer from a stranger at the first
/// frame (version 2's `Hello` proved nothing).
pub const PROTOCOL: u16 = 3;

/// Bytes of a handshake challenge.
pub const CHALLENGE_LEN: usize = 16;
/// Bytes of a handshake proof (a truncated MAC).
pub const PROOF_LEN: usize = 16;

/// A random challenge: the other side must prove the run's key over it.
pub type Challenge = [u8; CHALLENGE_LEN];
/// A proof of the run's key over both challenges; see `node::handshake`.
pub type Proof = [u8; PROOF_LEN];

/// One message on a link between two machines.
///
/// A link opens with a three-frame handshake: the connecting side sends
/// [`Frame::Hello`] (with a first proof of the key, over its own challenge,
/// which the answerer checks without a round trip), the accepting side
/// answers [`Frame::Welcome`] (proving the run's key over the caller's
/// challenge), and the caller answers [`Frame::Proof`] over the answerer's. Neither side says anything about the run before the other
/// has proved its key. Then [`Frame::Ready`] each way is the start barrier,
/// [`Frame::Clock`] frames carry the model's messages, and [`Frame::Bye`] ends
/// the link cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Frame {
    /// The caller's first frame: who it claims to be, its challenge, and its
    /// proof of the key over them (replayable, so it only ranks the
    /// connection; the link needs [`Frame::Proof`]).
    Hello {
        /// The caller's protocol version; see [`PROTOCOL`].
        protocol: u16,
        /// The machine id the caller claims.
        from: u8,
        /// The caller's challenge.
        challenge: Challenge,
        /// The caller's proof of the key over its id, the answerer's and
        /// its challenge.
        proof: Proof,
    },
    /// The answer to [`Frame::Hello`]: the answerer's id and challenge, and its
    /// proof of the key over both challenges.
    Welcome {
        /// The answerer's protocol version.
        protocol: u16,
        /// The answerer's machine id.
        from: u8,
        /// The answerer's challenge.
        challenge: Challenge,
        /// The answerer's proof over the caller's challenge.
        proof: Proof,
    },
    /// The caller's proof of the key over the answerer's challenge.
    Proof {
        /// The proof.
        proof: Proof,
    },
    /// Start barrier.
    Ready,
    /// The model's message; `seq` counts per directed link from 0.
    Clock {
        /// Machine id of the sender.
        from: u8,
        /// The sender's Lamport clock when it sent this message.
        clock: u64,
        /// Position of this frame among the Clock frames on this directed link.
        seq: u64,
    },
    /// Clean end, with how many Clock frames this side sent on the link.
    Bye {
        /// Number of Clock frames this side sent on the link.
        sent: u64,
    },
    /// The model's message in a run that keeps an HLC beside Lamport's
    /// clock (a node carrying [`crate::Hlc`] as its [`crate::Stamp`]): a [`Frame::Clock`] with the
    /// sender's HLC after the send. A node takes only its run's kind of the
    /// two, and counts either as a Clock frame (in `seq` and in `Bye`).
    /// (64-bit hosts: the firmware, which keeps Lamport's clock alone,
    /// refuses it as an unknown frame, as any node of an older version does.)
    #[cfg(target_pointer_width = "64")]
    HlcClock {
        /// Machine id of the sender.
        from: u8,
        /// The sender's Lamport clock when it sent this message.
        clock: u64,
        /// Position of this frame among the Clock frames on this directed link.
        seq: u64,
        /// The sender's HLC `l`.
        l: u64,
        /// The sender's HLC `c`.
        c: u32,
    },
    /// The model's message in a run that keeps a vector clock beside
    /// Lamport's (a node carrying [`crate::VectorClock`]): a
    /// [`Frame::Clock`] with the sender's vector after the send, one entry
    /// per machine of the run. Taken, counted and refused as
    /// [`Frame::HlcClock`] is. (64-bit hosts.)
    #[cfg(target_pointer_width = "64")]
    VectorClock {
        /// Machine id of the sender.
        from: u8,
        /// The sender's Lamport clock when it sent this message.
        clock: u64,
        /// Position of this frame among the Clock frames on this directed link.
        seq: u64,
        /// The sender's vector clock.
        vector: crate::VectorClock<{ crate::MACHINES_MAX as usize }>,
    },
}

impl Frame {
    /// The sender and `seq` of a model message (a `Clock` frame, or an
    /// `HlcClock`); `None` for any other frame.
    pub const fn message(&self) -> Option<(u8, u64)> {
        match *self {
            Self::Clock { from, seq, .. } => Some((from, seq)),
            #[cfg(target_pointer_width = "64")]
            Self::HlcClock { from, seq, .. } => Some((from, seq)),
            #[cfg(target_pointer_width = "64")]
            Self::VectorClock { from, seq, .. } => Some((from, seq)),
            _ => None,
        }
    }

    /// The frame's kind, without its fields.
    pub const fn kind(&self) -> FrameKind {
        match self {
            Self::Hello { .. } => FrameKind::Hello,
            Self::Welcome { .. } => FrameKind::Welcome,
            Self::Proof { .. } => FrameKind::Proof,
            Self::Ready => FrameKind::Ready,
            Self::Clock { .. } => FrameKind::Clock,
            Self::Bye { .. } => FrameKind::Bye,
            #[cfg(target_pointer_width = "64")]
            Self::HlcClock { .. } => FrameKind::HlcClock,
            #[cfg(target_pointer_width = "64")]
            Self::VectorClock { .. } => FrameKind::VectorClock,
        }
    }
}

/// The kinds of [`Frame`], for counting and for naming an unexpected one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum FrameKind {
    /// [`Frame::Hello`].
    Hello,
    /// [`Frame::Welcome`].
    Welcome,
    /// [`Frame::Proof`].
    Proof,
    /// [`Frame::Ready`].
    Ready,
    /// [`Frame::Clock`].
    Clock,
    /// [`Frame::Bye`].
    Bye,
    /// [`Frame::HlcClock`] (64-bit hosts).
    #[cfg(target_pointer_width = "64")]
    HlcClock,
    /// [`Frame::VectorClock`] (64-bit hosts).
    #[cfg(target_pointer_width = "64")]
    VectorClock,
}

impl fmt::Display for FrameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hello => "Hello",
            Self::Welcome => "Welcome",
            Self::Proof => "Proof",
            Self::Ready => "Ready",
            Self::Clock => "Clock",
            Self::Bye => "Bye",
            #[cfg(target_pointer_width = "64")]
            Self::HlcClock => "HlcClock",
            #[cfg(target_pointer_width = "64")]
            Self::VectorClock => "VectorClock",
        })
    }
}

/// Longest postcard varint of a `u64`: ceil(64 / 7) bytes.
const VARINT_U64: usize = 10;
/// Longest postcard varint of a `u16`: ceil(16 / 7) bytes.
const VARINT_U16: usize = 3;
/// The discriminant (0..=7) is a varint below 128: one byte.
const DISCRIMINANT: usize = 1;
/// postcard `Hello` and `Welcome`: discriminant, `u16` varint, raw `u8`, the
/// raw challenge, the raw proof.
const WELCOME_RAW: usize = DISCRIMINANT + VARINT_U16 + 1 + CHALLENGE_LEN + PROOF_LEN;
/// postcard `Clock`: discriminant, raw `u8`, two `u64` varints.
const CLOCK_RAW: usize = DISCRIMINANT + 1 + VARINT_U64 + VARINT_U64;
/// postcard `Bye`: discriminant, `u64` varint (`Ready` is the discriminant
/// only, `Proof` the discriminant and the proof).
const BYE_RAW: usize = DISCRIMINANT + VARINT_U64;
/// Longest postcard varint of a `u32`: ceil(32 / 7) bytes.
const VARINT_U32: usize = 5;
/// postcard `HlcClock`: a `Clock`'s fields, then `l` and `c` as varints (37
/// bytes, as long as a `Welcome`).
const HLC_CLOCK_RAW: usize = CLOCK_RAW + VARINT_U64 + VARINT_U32;

/// `max` usable in constant expressions.
const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// postcard `VectorClock`: a `Clock`'s fields, then the vector's length (a
/// varint below 128: one byte) and its entries as `u32` varints (103 bytes
/// for sixteen machines). (64-bit hosts: the firmware's frames stay short.)
#[cfg(target_pointer_width = "64")]
const VECTOR_CLOCK_RAW: usize = CLOCK_RAW + 1 + crate::MACHINES_MAX as usize * VARINT_U32;
#[cfg(not(target_pointer_width = "64"))]
const VECTOR_CLOCK_RAW: usize = 0;

/// Largest postcard encoding of a [`Frame`]: 103 bytes (a `VectorClock` of
/// sixteen machines) on 64-bit hosts, 37 (a `Hello` or a `Welcome`) on the
/// firmware.
const MAX_RAW: usize = max(
    max(max(max(WELCOME_RAW, CLOCK_RAW), BYE_RAW), HLC_CLOCK_RAW),
    VECTOR_CLOCK_RAW,
);
/// COBS adds one code byte per run of up to 254 non-zero bytes.
const MAX_COBS: usize = MAX_RAW + 1 + MAX_RAW / 254;

/// Longest encoded `Clock` frame, delimiter included: what one model message
/// costs in an outbox at most.
pub const CLOCK_FRAME_MAX: usize = CLOCK_RAW + 1 + CLOCK_RAW / 254 + 1;

/// Largest encoded frame in bytes, COBS overhead and the `0x00` delimiter
/// included; decoders reject anything longer.
pub const MAX_FRAME_LEN: usize = MAX_COBS + 1;

/// Largest encoded frame of the kinds of fixed length (every kind but a
/// vector clock's), COBS overhead and delimiter included: 39 bytes, a
/// `Hello` or a `Welcome`.
pub const FIXED_FRAME_MAX: usize = {
    let raw = max(max(max(WELCOME_RAW, CLOCK_RAW), BYE_RAW), HLC_CLOCK_RAW);
    raw + 1 + raw / 254 + 1
};

/// Largest encoded frame of a run of `machines` machines carrying a vector
/// clock (at least [`FIXED_FRAME_MAX`]). (64-bit hosts.)
#[cfg(target_pointer_width = "64")]
pub const fn vector_frame_max(machines: u8) -> usize {
    let raw = CLOCK_RAW + 1 + machines as usize * VARINT_U32;
    max(raw + 1 + raw / 254 + 1, FIXED_FRAME_MAX)
}

/// Largest COBS-encoded frame body, i.e. without its delimiter.
const MAX_BODY: usize = MAX_FRAME_LEN - 1;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DecodeError {
    /// The frame was longer than [`MAX_FRAME_LEN`] bytes, or than the
    /// decoder's limit ([`Decoder::with_limit`]).
    TooLong,
    /// The COBS encoding was invalid.
    BadCobs,
    /// postcard could not decode a [`Frame`] from the bytes.
    BadFrame,
    /// A [`Frame`] was decoded but bytes were left over after it.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong => f.write_str("frame longer than the longest a run sends"),
            Self::BadCobs => f.write_str("invalid cobs encoding"),
            Self::BadFrame => f.write_str("invalid frame encoding"),
            Self::TrailingBytes => f.write_str("trailing bytes after frame"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer cannot hold the encoded frame.
    BufferTooSmall,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall => f.write_str("buffer too small for encoded frame"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Writes `frame`, COBS-encoded and followed by one `0x00`, into `buf` and
/// returns the written prefix; a buffer of [`MAX_FRAME_LEN`] bytes always fits.
pub fn encode<'b>(frame: &Frame, buf: &'b mut [u8]) -> Result<&'b mut [u8], EncodeError> {
    // The running link's frame by hand (postcard's bytes, the tests check);
    // not on the firmware, whose flash the second encoder would pass.
    if cfg!(target_pointer_width = "64")
        && let Frame::Clock { from, clock, seq } = *frame
    {
        return clock::encode(from, clock, seq, buf).ok_or(EncodeError::BufferTooSmall);
    }
    // `to_slice_cobs` does postcard + COBS + the trailing 0x00 delimiter; the
    // only error it can hit for a `Frame` is running out of buffer.
    postcard::to_slice_cobs(frame, buf).map_err(|_| EncodeError::BufferTooSmall)
}

/// Decodes a COBS body `src` (no delimiter, no zero bytes) into `dst` and
/// returns the decoded length; decoding only ever shrinks, so `dst` of the
/// body's largest size always has room.
fn cobs_decode(src: &[u8], dst: &mut [u8; MAX_BODY]) -> Result<usize, DecodeError> {
    let len = src.len();
    let mut read = 0usize;
    let mut write = 0usize;
    while let Some(&code) = src.get(read) {
        if code == 0 {
            return Err(DecodeError::BadCobs);
        }
        let start = read + 1;
        let end = start + usize::from(code - 1);
        let (Some(group), Some(out)) =
            (src.get(start..end), dst.get_mut(write..write + end - start))
        else {
            return Err(DecodeError::BadCobs);
        };
        out.copy_from_slice(group);
        write += group.len();
        read = end;
        // Every group but the last and the full 254-byte ones stood for a zero.
        if code != 0xFF && read < len {
            if let Some(slot) = dst.get_mut(write) {
                *slot = 0;
            }
            write += 1;
        }
    }
    Ok(write)
}

/// The index of the first zero byte (a frame's delimiter) in `bytes`,
/// eight bytes at a time as `memchr` does: a word has a zero byte exactly
/// when `(w - 0x01..01) & !w & 0x80..80` is not zero, and its lowest set
/// bit marks the first one.
fn find_zero(bytes: &[u8]) -> Option<usize> {
    const LOW: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let w = u64::from_le_bytes(word.try_into().unwrap_or([1; 8]));
        let zeros = w.wrapping_sub(LOW) & !w & HIGH;
        if zeros != 0 {
            return Some(at + (zeros.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == 0)
        .map(|i| at + i)
}

/// The frame in a whole COBS body (its delimiter stripped).
fn decode_body(body: &[u8]) -> Result<Frame, DecodeError> {
    // The fast `Clock` path costs flash the firmware does not have.
    if cfg!(target_pointer_width = "64")
        && let Some(frame) = clock::decode_cobs(body)
    {
        return Ok(frame);
    }
    let mut buf = [0u8; MAX_BODY];
    let len = cobs_decode(body, &mut buf)?;
    let raw = buf.get(..len).ok_or(DecodeError::BadCobs)?;
    match postcard::take_from_bytes::<Frame>(raw) {
        Ok((frame, [])) => Ok(frame),
        Ok(_) => Err(DecodeError::TrailingBytes),
        Err(_) => Err(DecodeError::BadFrame),
    }
}

/// The `Clock` frame that `frame` (one whole encoded frame, its delimiter
/// last) holds, read the fast way; `None` when it is not one that the fast
/// way reads (then [`Decoder`] decides), and always on targets under 64 bits.
pub(crate) fn whole_clock(frame: &[u8]) -> Option<Frame> {
    if !cfg!(target_pointer_width = "64") {
        return None;
    }
    match frame.split_last() {
        // A zero inside would end the frame there for the decoder.
        Some((0, body)) if !body.contains(&0) => clock::decode_cobs(body),
        _ => None,
    }
}

/// The length of the `Clock` frame `(_, clock, seq)` as [`encode`] writes
/// it, delimiter included, without writing it. (64-bit hosts: the
/// simulator counts a frame it carries as numbers by it.)
#[cfg(target_pointer_width = "64")]
#[inline]
pub(crate) const fn clock_frame_len(clock: u64, seq: u64) -> usize {
    clock::frame_len(clock, seq)
}

/// postcard's variant index of [`Frame::HlcClock`].
#[cfg(target_pointer_width = "64")]
const HLC_CLOCK_TAG: u8 = 6;
/// postcard's variant index of [`Frame::VectorClock`].
#[cfg(target_pointer_width = "64")]
const VECTOR_CLOCK_TAG: u8 = 7;

/// True when `frame`, one whole frame that [`encode`] wrote, is a model
/// message (a `Clock`, or an `HlcClock`): only its variant byte is read
/// (the first byte after the COBS code, since the variant index is not
/// zero), so it says nothing of other bytes.
pub(crate) fn is_encoded_clock(frame: &[u8]) -> bool {
    #[cfg(target_pointer_width = "64")]
    let carried = |tag: u8| tag == HLC_CLOCK_TAG || tag == VECTOR_CLOCK_TAG;
    #[cfg(not(target_pointer_width = "64"))]
    let carried = |_: u8| false;
    matches!(frame, [code, tag, ..] if *code >= 2 && (*tag == clock::CLOCK_TAG || carried(*tag)))
}

/// What one call to `Decoder::feed` produced.
#[derive(Debug)]
pub struct Feed<'a> {
    /// The frame or error completed by this call, if any.
    pub event: Option<Result<Frame, DecodeError>>,
    /// The input not consumed by this call; feed it again.
    pub rest: &'a [u8],
}

/// Streaming frame decoder with a fixed buffer; never allocates.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// COBS body of the frame in progress. The delimiter is never stored, so
    /// the body of the longest valid frame fills it exactly.
    buf: heapless::Vec<u8, MAX_BODY>,
    /// Skipping an oversized frame up to its delimiter.
    discarding: bool,
    /// The longest body it takes: [`MAX_BODY`], or less for a run whose
    /// frames are all shorter ([`Decoder::with_limit`]). (64-bit hosts.)
    #[cfg(target_pointer_width = "64")]
    max_body: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// An empty decoder, between frames.
    pub const fn new() -> Self {
        Self {
            buf: heapless::Vec::new(),
            discarding: false,
            #[cfg(target_pointer_width = "64")]
            max_body: MAX_BODY,
        }
    }

    /// An empty decoder that takes frames of at most `frame_len` bytes,
    /// delimiter included (at least [`FIXED_FRAME_MAX`], at most
    /// [`MAX_FRAME_LEN`]): a node whose run sends nothing longer reports
    /// a longer frame as [`DecodeError::TooLong`] as soon as it passes
    /// its run's longest. (64-bit hosts.)
    #[cfg(target_pointer_width = "64")]
    pub const fn with_limit(frame_len: usize) -> Self {
        let len = if frame_len < FIXED_FRAME_MAX {
            FIXED_FRAME_MAX
        } else if frame_len > MAX_FRAME_LEN {
            MAX_FRAME_LEN
        } else {
            frame_len
        };
        Self {
            buf: heapless::Vec::new(),
            discarding: false,
            max_body: len - 1,
        }
    }

    /// The longest body it takes.
    #[inline(always)]
    const fn max_body(&self) -> usize {
        #[cfg(target_pointer_width = "64")]
        return self.max_body;
        #[cfg(not(target_pointer_width = "64"))]
        return MAX_BODY;
    }

    /// True while a partial frame is buffered or being discarded.
    pub fn is_mid_frame(&self) -> bool {
        self.discarding || !self.buf.is_empty()
    }

    /// Consumes `bytes` up to the first completed frame or error and returns
    /// it with the unconsumed input; buffers everything if nothing completes.
    ///
    /// On 64-bit hosts it works a run of bytes at a time, up to the next
    /// delimiter; on smaller targets (the firmware, whose flash budget the
    /// faster reading would pass) byte by byte. Both consume and report the
    /// same (the tests compare the two).
    pub fn feed<'a>(&mut self, bytes: &'a [u8]) -> Feed<'a> {
        if cfg!(target_pointer_width = "64") {
            self.feed_runs(bytes)
        } else {
            self.feed_bytes(bytes)
        }
    }

    /// [`Decoder::feed`] a byte at a time.
    fn feed_bytes<'a>(&mut self, bytes: &'a [u8]) -> Feed<'a> {
        let mut rest = bytes;
        while let Some((&byte, tail)) = rest.split_first() {
            rest = tail;
            if self.discarding {
                // The error was already reported; resynchronise silently.
                if byte == 0 {
                    self.discarding = false;
                }
            } else if byte == 0 {
                // An empty frame carries nothing; skip it.
                if !self.buf.is_empty() {
                    let event = Some(self.finish());
                    self.buf.clear();
                    return Feed { event, rest };
                }
            } else if self.buf.push(byte).is_err() {
                // Report as soon as the limit is passed, so hosts can react
                // without waiting for a delimiter that may never come.
                self.buf.clear();
                self.discarding = true;
                return Feed {
                    event: Some(Err(DecodeError::TooLong)),
                    rest,
                };
            }
        }
        Feed { event: None, rest }
    }

    /// [`Decoder::feed`] a run of bytes, up to the next delimiter, at a time.
    fn feed_runs<'a>(&mut self, bytes: &'a [u8]) -> Feed<'a> {
        let mut rest = bytes;
        loop {
            let (body, after, delimited) = match find_zero(rest) {
                Some(i) => (
                    rest.get(..i).unwrap_or_default(),
                    rest.get(i + 1..).unwrap_or_default(),
                    true,
                ),
                None => (rest, &[][..], false),
            };
            if self.discarding {
                // The error was already reported; resynchronise silently.
                if !delimited {
                    return Feed {
                        event: None,
                        rest: after,
                    };
                }
                self.discarding = false;
                rest = after;
                continue;
            }
            let room = self.max_body().saturating_sub(self.buf.len());
            if body.len() > room {
                // Report as soon as the limit is passed (at the first byte
                // past it), so hosts can react without waiting for a
                // delimiter that may never come.
                self.buf.clear();
                self.discarding = true;
                return Feed {
                    event: Some(Err(DecodeError::TooLong)),
                    rest: rest.get(room + 1..).unwrap_or_default(),
                };
            }
            if !(delimited && self.buf.is_empty()) && self.buf.extend_from_slice(body).is_err() {
                // Checked for room above; should it fail, drop the frame.
                self.buf.clear();
                self.discarding = true;
                return Feed {
                    event: Some(Err(DecodeError::TooLong)),
                    rest: after,
                };
            }
            if !delimited {
                return Feed {
                    event: None,
                    rest: after,
                };
            }
            rest = after;
            if self.buf.is_empty() && !body.is_empty() {
                // A whole frame in the input: read it where it lies.
                return Feed {
                    event: Some(decode_body(body)),
                    rest,
                };
            }
            // An empty frame carries nothing; skip it.
            if !self.buf.is_empty() {
                let event = Some(self.finish());
                self.buf.clear();
                return Feed { event, rest };
            }
        }
    }

    /// Decodes the buffered body of a complete frame.
    fn finish(&mut self) -> Result<Frame, DecodeError> {
        decode_body(&self.buf)
    }
}

/// Why [`FrameReader::next_frame`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError<E> {
    /// The underlying reader failed.
    Io(E),
    /// A frame was malformed; the next call continues with the next frame.
    Decode(DecodeError),
    /// The stream ended in the middle of a frame.
    Truncated,
}

impl<E: fmt::Display> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "read failed: {e}"),
            Self::Decode(e) => write!(f, "bad frame: {e}"),
            Self::Truncated => f.write_str("stream ended mid-frame"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ReadError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Decode(e) => Some(e),
            Self::Truncated => None,
        }
    }
}

/// Reads frames from an `embedded_io::Read` source.
#[derive(Debug)]
pub struct FrameReader<R> {
    reader: R,
    decoder: Decoder,
    /// Bytes read but not yet fed; `buf[start..end]` survives between calls.
    buf: [u8; 64],
    start: usize,
    end: usize,
}

impl<R: embedded_io::Read> FrameReader<R> {
    /// Wraps `reader`, starting between frames.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            decoder: Decoder::new(),
            buf: [0; 64],
            start: 0,
            end: 0,
        }
    }

    /// Next frame; Ok(None) on a clean end of stream between frames.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ReadError<R::Error>> {
        loop {
            let pending = self.buf.get(self.start..self.end).unwrap_or_default();
            if !pending.is_empty() {
                let feed = self.decoder.feed(pending);
                self.start = self.end.saturating_sub(feed.rest.len());
                match feed.event {
                    Some(Ok(frame)) => return Ok(Some(frame)),
                    Some(Err(e)) => return Err(ReadError::Decode(e)),
                    None => continue,
                }
            }
            self.start = 0;
            self.end = 0;
            let n = self.reader.read(&mut self.buf).map_err(ReadError::Io)?;
            if n == 0 {
                if self.decoder.is_mid_frame() {
                    // Report the truncation once; a further call sees a clean end.
                    self.decoder = Decoder::new();
                    return Err(ReadError::Truncated);
                }
                return Ok(None);
            }
            self.end = n.min(self.buf.len());
        }
    }

    /// Gives back the underlying reader; buffered bytes are dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const C: Challenge = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    /// Golden vectors, worked out by hand from the postcard and COBS specs.
    const GOLDEN: &[(Frame, &[u8])] = &[
        // raw 00 03 01 01..10 33*16: disc 0, protocol 3, from 1, the
        // challenge, the proof. COBS: the leading zero is an empty group
        // (01), then 34 bytes (23 ..).
        (
            Frame::Hello {
                protocol: 3,
                from: 1,
                challenge: C,
                proof: [0x33; 16],
            },
            &[
                0x01, 0x23, 0x03, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
                0x33, 0x33, 0x00,
            ],
        ),
        // raw 01 02 00 11*16 22*16: disc 1, protocol 2, from 0, challenge, proof.
        // COBS: 2 bytes then the zero (03 ..), then 32 bytes (21 ..).
        (
            Frame::Welcome {
                protocol: 2,
                from: 0,
                challenge: [0x11; 16],
                proof: [0x22; 16],
            },
            &[
                0x03, 0x01, 0x02, 0x21, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x00,
            ],
        ),
        // raw 02 ab*16: 17 bytes (12 ..).
        (
            Frame::Proof { proof: [0xAB; 16] },
            &[
                0x12, 0x02, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB,
                0xAB, 0xAB, 0xAB, 0xAB, 0x00,
            ],
        ),
        // raw 03.
        (Frame::Ready, &[0x02, 0x03, 0x00]),
        // raw 04 01 ac 02 00: disc 4, from 1, clock 300 = LEB128 ac 02, seq 0.
        // COBS: 4 bytes then the zero (05 ..), then an empty final group (01).
        (
            Frame::Clock {
                from: 1,
                clock: 300,
                seq: 0,
            },
            &[0x05, 0x04, 0x01, 0xAC, 0x02, 0x01, 0x00],
        ),
        // raw 05 05.
        (Frame::Bye { sent: 5 }, &[0x03, 0x05, 0x05, 0x00]),
        // raw 06 01 05 00 e8 07 02: disc 6, from 1, clock 5, seq 0, l 1000 =
        // LEB128 e8 07, c 2. COBS: 3 bytes then the zero (04 ..), then 3
        // bytes (04 ..).
        (
            Frame::HlcClock {
                from: 1,
                clock: 5,
                seq: 0,
                l: 1000,
                c: 2,
            },
            &[0x04, 0x06, 0x01, 0x05, 0x04, 0xE8, 0x07, 0x02, 0x00],
        ),
    ];

    const MAX_CLOCK: Frame = Frame::Clock {
        from: u8::MAX,
        clock: u64::MAX,
        seq: u64::MAX,
    };

    #[test]
    fn encoded_clock_told_by_its_variant_byte() {
        for (frame, bytes) in GOLDEN {
            let clock = matches!(frame, Frame::Clock { .. } | Frame::HlcClock { .. });
            assert_eq!(is_encoded_clock(bytes), clock, "{frame:?}");
            assert_eq!(frame.message().is_some(), clock, "{frame:?}");
        }
        let mut buf = [0u8; MAX_FRAME_LEN];
        assert!(is_encoded_clock(encode(&MAX_CLOCK, &mut buf).unwrap()));
        let max_hlc = Frame::HlcClock {
            from: u8::MAX,
            clock: u64::MAX,
            seq: u64::MAX,
            l: u64::MAX,
            c: u32::MAX,
        };
        let bytes = encode(&max_hlc, &mut buf).expect("the longest HlcClock fits");
        assert!(is_encoded_clock(bytes));
        assert_eq!(max_hlc.message(), Some((u8::MAX, u64::MAX)));
    }

    proptest! {
        #[test]
        fn encoded_frames_told_as_postcard_reads_them(
            from: u8, clock: u64, seq: u64, sent: u64, proof: [u8; 16], c: u32, pick in 0..5u8
        ) {
            let frame = match pick {
                0 => Frame::Clock { from, clock, seq },
                1 => Frame::Bye { sent },
                2 => Frame::Proof { proof },
                3 => Frame::HlcClock { from, clock, seq, l: sent, c },
                _ => Frame::Ready,
            };
            let mut buf = [0u8; MAX_FRAME_LEN];
            let bytes = encode(&frame, &mut buf).unwrap();
            let decoded = Decoder::new().feed(bytes).event.unwrap().unwrap();
            prop_assert_eq!(is_encoded_clock(bytes), decoded.message().is_some());
            prop_assert_eq!(decoded, frame);
        }
    }

    fn decode_all(dec: &mut Decoder, mut bytes: &[u8]) -> Vec<Result<Frame, DecodeError>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let f = dec.feed(bytes);
            assert!(f.rest.len() < bytes.len(), "feed must make progress");
            out.extend(f.event);
            bytes = f.rest;
        }
        out
    }

    fn decode_chunked(bytes: &[u8], chunks: &[usize]) -> Vec<Result<Frame, DecodeError>> {
        let mut dec = Decoder::new();
        let mut out = Vec::new();
        let mut rest = bytes;
        for &size in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
            out.extend(decode_all(&mut dec, chunk));
            assert!(dec.buf.len() <= MAX_FRAME_LEN);
            rest = tail;
        }
        out
    }

    fn encode_vec(frame: &Frame) -> Vec<u8> {
        let mut buf = [0u8; MAX_FRAME_LEN];
        encode(frame, &mut buf).unwrap().to_vec()
    }

    #[test]
    fn test_emit() {
        for (frame, bytes) in GOLDEN {
            assert_eq!(&encode_vec(frame)[..], *bytes, "{frame:?}");
        }
    }

    #[test]
    fn test_parse() {
        for (frame, bytes) in GOLDEN {
            assert_eq!(decode_all(&mut Decoder::new(), bytes), [Ok(*frame)]);
        }
    }

    #[test]
    fn max_frame_len_is_tight() {
        assert_eq!(FIXED_FRAME_MAX, 39);
        assert_eq!(encode_vec(&MAX_CLOCK).len(), CLOCK_FRAME_MAX);
        let welcome = Frame::Welcome {
            protocol: u16::MAX,
            from: u8::MAX,
            challenge: [0xFF; CHALLENGE_LEN],
            proof: [0xFF; PROOF_LEN],
        };
        assert_eq!(encode_vec(&welcome).len(), FIXED_FRAME_MAX);
        assert!(encode_vec(&Frame::Bye { sent: u64::MAX }).len() <= FIXED_FRAME_MAX);
        let mut small = [0u8; FIXED_FRAME_MAX - 1];
        assert_eq!(
            encode(&welcome, &mut small),
            Err(EncodeError::BufferTooSmall)
        );
        // The longest frame of all: a vector clock's of sixteen machines,
        // every number at its widest; each run's longest is its own.
        assert_eq!(MAX_FRAME_LEN, 105);
        for n in [0u8, 3, 5, 16] {
            let vector = Frame::VectorClock {
                from: u8::MAX,
                clock: u64::MAX,
                seq: u64::MAX,
                vector: crate::VectorClock::from_entries(&std::vec![u32::MAX; n.into()]).unwrap(),
            };
            let bytes = encode_vec(&vector);
            assert_eq!(bytes.len().max(FIXED_FRAME_MAX), vector_frame_max(n), "{n}");
            assert_eq!(decode_all(&mut Decoder::new(), &bytes), [Ok(vector)]);
        }
        assert_eq!(vector_frame_max(16), MAX_FRAME_LEN);
    }

    #[test]
    fn a_limited_decoder_refuses_a_frame_past_its_runs_longest() {
        let vector = Frame::VectorClock {
            from: 1,
            clock: u64::MAX,
            seq: u64::MAX,
            vector: crate::VectorClock::from_entries(&[u32::MAX; 5]).unwrap(),
        };
        let bytes = encode_vec(&vector);
        assert_eq!(bytes.len(), vector_frame_max(5));
        // A Lamport run's decoder: too long at its 39th body byte, whole or
        // a byte at a time, and back in step after the delimiter.
        let mut stream = bytes.clone();
        stream.extend(encode_vec(&MAX_CLOCK));
        for chunks in [&[usize::MAX][..], &[1]] {
            let mut lamport = Decoder::with_limit(0);
            let mut got = Vec::new();
            let mut rest = &stream[..];
            for &chunk in chunks.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (now, later) = rest.split_at(chunk.min(rest.len()));
                let mut feed = now;
                while !feed.is_empty() {
                    let f = lamport.feed(feed);
                    got.extend(f.event);
                    feed = f.rest;
                }
                rest = later;
            }
            assert_eq!(
                got,
                [Err(DecodeError::TooLong), Ok(MAX_CLOCK)],
                "{chunks:?}"
            );
        }
        // Its own run's decoder takes it; one of fewer machines does not.
        assert_eq!(
            decode_all(&mut Decoder::with_limit(vector_frame_max(5)), &bytes),
            [Ok(vector)]
        );
        assert_eq!(
            decode_all(&mut Decoder::with_limit(vector_frame_max(4)), &bytes),
            [Err(DecodeError::TooLong)]
        );
        assert_eq!(
            decode_all(&mut Decoder::new(), &encode_vec(&MAX_CLOCK)),
            [Ok(MAX_CLOCK)]
        );
    }

    #[test]
    fn byte_at_a_time_equals_whole() {
        let mut stream = Vec::new();
        for (_, bytes) in GOLDEN {
            stream.extend_from_slice(bytes);
            stream.push(0); // empty frames are skipped
        }
        stream.extend(encode_vec(&MAX_CLOCK));
        let whole = decode_all(&mut Decoder::new(), &stream);
        assert_eq!(whole.len(), GOLDEN.len() + 1);
        assert_eq!(decode_chunked(&stream, &[1]), whole);
    }

    #[test]
    fn resync_after_too_long() {
        let mut stream = std::vec![0xFF; MAX_FRAME_LEN * 3];
        stream.extend_from_slice(&[0x00, 0x02, 0x03, 0x00]);
        let mut dec = Decoder::new();
        let f = dec.feed(&stream);
        assert_eq!(f.event, Some(Err(DecodeError::TooLong)));
        assert!(dec.is_mid_frame());
        assert_eq!(decode_all(&mut dec, f.rest), [Ok(Frame::Ready)]);
        assert!(!dec.is_mid_frame());
        assert_eq!(
            decode_chunked(&stream, &[1]),
            [Err(DecodeError::TooLong), Ok(Frame::Ready)]
        );
    }

    #[test]
    fn errors_then_next_frame() {
        let cases: [(&[u8], DecodeError); 3] = [
            (&[0x02, 0x07, 0x00], DecodeError::BadFrame), // discriminant 7: none
            (&[0x03, 0x03, 0x05, 0x00], DecodeError::TrailingBytes), // Ready + 05
            (&[0x05, 0x01, 0x00], DecodeError::BadCobs),  // code points past end
        ];
        for (bad, err) in cases {
            let mut stream = bad.to_vec();
            stream.extend_from_slice(&[0x03, 0x05, 0x05, 0x00]);
            let got = decode_all(&mut Decoder::new(), &stream);
            assert_eq!(got, [Err(err), Ok(Frame::Bye { sent: 5 })]);
        }
        // Truncated postcard (Clock without its fields).
        assert_eq!(
            decode_all(&mut Decoder::new(), &[0x02, 0x04, 0x00]),
            [Err(DecodeError::BadFrame)]
        );
    }

    #[test]
    fn reader_reads_frames_then_none() {
        let mut stream = Vec::new();
        for _ in 0..10 {
            for (_, bytes) in GOLDEN {
                stream.extend_from_slice(bytes);
            }
        }
        let mut reader = FrameReader::new(&stream[..]);
        for _ in 0..10 {
            for (frame, _) in GOLDEN {
                assert_eq!(reader.next_frame(), Ok(Some(*frame)));
            }
        }
        assert_eq!(reader.next_frame(), Ok(None));
        assert!(reader.into_inner().is_empty());
    }

    #[test]
    fn reader_reports_decode_error_and_truncation() {
        let stream: &[u8] = &[0x02, 0x07, 0x00, 0x02, 0x03, 0x00, 0x05, 0x02];
        let mut reader = FrameReader::new(stream);
        assert_eq!(
            reader.next_frame(),
            Err(ReadError::Decode(DecodeError::BadFrame))
        );
        assert_eq!(reader.next_frame(), Ok(Some(Frame::Ready)));
        assert_eq!(reader.next_frame(), Err(ReadError::Truncated));
        assert_eq!(reader.next_frame(), Ok(None));
    }

    fn any_frame() -> impl Strategy<Value = Frame> {
        prop_oneof![
            (
                any::<u16>(),
                any::<u8>(),
                any::<Challenge>(),
                any::<Proof>()
            )
                .prop_map(|(protocol, from, challenge, proof)| Frame::Hello {
                    protocol,
                    from,
                    challenge,
                    proof
                }),
            (
                any::<u16>(),
                any::<u8>(),
                any::<Challenge>(),
                any::<Proof>()
            )
                .prop_map(|(protocol, from, challenge, proof)| Frame::Welcome {
                    protocol,
                    from,
                    challenge,
                    proof
                }),
            any::<Proof>().prop_map(|proof| Frame::Proof { proof }),
            Just(Frame::Ready),
            (any::<u8>(), any::<u64>(), any::<u64>()).prop_map(|(from, clock, seq)| Frame::Clock {
                from,
                clock,
                seq
            }),
            any::<u64>().prop_map(|sent| Frame::Bye { sent }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(
            frames in proptest::collection::vec(any_frame(), 1..20),
            chunks in proptest::collection::vec(1usize..40, 1..10),
        ) {
            let mut stream = Vec::new();
            for frame in &frames {
                let bytes = encode_vec(frame);
                prop_assert!(bytes.len() <= MAX_FRAME_LEN);
                prop_assert_eq!(decode_all(&mut Decoder::new(), &bytes), [Ok(*frame)]);
                stream.extend(bytes);
            }
            let expected: Vec<_> = frames.iter().copied().map(Ok).collect();
            prop_assert_eq!(decode_chunked(&stream, &chunks), expected);
        }

        #[test]
        fn arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            chunks in proptest::collection::vec(1usize..100, 1..10),
        ) {
            let events = decode_chunked(&bytes, &chunks);
            prop_assert_eq!(&events, &decode_chunked(&bytes, &[1]));
            for frame in events.into_iter().flatten() {
                let again = decode_all(&mut Decoder::new(), &encode_vec(&frame));
                prop_assert_eq!(again, [Ok(frame)]);
            }
        }
    }

    proptest! {
        #[test]
        fn find_zero_finds_the_first_zero(bytes in proptest::collection::vec(
            prop_oneof![3 => 1u8..=255, 1 => Just(0u8), 1 => Just(0x80u8), 1 => Just(1u8)], 0..40)) {
            prop_assert_eq!(find_zero(&bytes), bytes.iter().position(|&b| b == 0));
        }
    }

    proptest! {
        /// Runs of bytes (frames, garbage, zeros, overlong runs), fed in
        /// random pieces: the run-at-a-time reading consumes and reports
        /// exactly what the byte-by-byte one does.
        #[test]
        fn feed_matches_bytewise(
            parts in proptest::collection::vec(
                prop_oneof![
                    any::<(u8, u64, u64)>().prop_map(|(from, clock, seq)| {
                        let mut buf = [0u8; MAX_FRAME_LEN];
                        encode(&Frame::Clock { from, clock, seq }, &mut buf).unwrap().to_vec()
                    }),
                    proptest::collection::vec(any::<u8>(), 0..8),
                    proptest::collection::vec(1u8..=255, 0..3 * MAX_FRAME_LEN),
                    Just(std::vec![0u8]),
                ],
                0..12,
            ),
            cuts in proptest::collection::vec(1usize..64, 1..8),
        ) {
            let stream: Vec<u8> = parts.concat();
            let (mut fast, mut slow) = (Decoder::new(), Decoder::new());
            let mut pos = 0;
            for &cut in cuts.iter().cycle() {
                if pos >= stream.len() {
                    break;
                }
                let piece = &stream[pos..(pos + cut).min(stream.len())];
                pos += piece.len();
                let (mut a, mut b) = (piece, piece);
                loop {
                    let (fa, fb) = (fast.feed_runs(a), slow.feed_bytes(b));
                    prop_assert_eq!(fa.event, fb.event);
                    prop_assert_eq!(fa.rest, fb.rest);
                    prop_assert_eq!(fast.is_mid_frame(), slow.is_mid_frame());
                    if fa.rest.is_empty() {
                        break;
                    }
                    (a, b) = (fa.rest, fb.rest);
                }
            }
        }
    }
}

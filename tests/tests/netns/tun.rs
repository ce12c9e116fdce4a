//! TUN devices made by the test process: the one `ioctl` the namespace test
//! needs, and the only `unsafe` in the tests.
//!
//! A TUN device hands its owner every IP packet the kernel routes to it and
//! takes IP packets back as if they had arrived on it. Its file keeps
//! working after the device is moved into another network namespace, so the
//! wire in `wire.rs` can read and write the links of every namespace from
//! the test's own. The device goes away when its file is closed.

use std::ffi::c_int;
use std::fs::File;
use std::io;
use std::os::unix::fs::OpenOptionsExt;

/// `TUNSETIFF` from `<linux/if_tun.h>`: `_IOW('T', 202, int)`, though the
/// kernel reads and writes a whole `struct ifreq` through its pointer.
const TUNSETIFF: rustix::ioctl::Opcode = rustix::ioctl::opcode::write::<c_int>(b'T', 202);
/// A device of IP packets (not Ethernet frames).
const IFF_TUN: i16 = 0x0001;
/// No 4-byte packet-information header before each packet.
const IFF_NO_PI: i16 = 0x1000;
/// `IFNAMSIZ`: a device's name with its terminating NUL.
const IFNAMSIZ: usize = 16;

/// `struct ifreq` as `TUNSETIFF` uses it: the name, the flags, and the rest
/// of its union (40 bytes in all on 64-bit Linux, the largest it is).
#[repr(C)]
struct IfReq {
    name: [u8; IFNAMSIZ],
    flags: i16,
    rest: [u8; 22],
}

const _: () = assert!(std::mem::size_of::<IfReq>() == 40);

/// A new non-blocking TUN device of IP packets without a packet-information
/// header, named by the kernel (`tun0`, `tun1`, ...): its file and its name.
pub fn open() -> io::Result<(File, String)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open("/dev/net/tun")?;
    let mut req = IfReq {
        name: [0; IFNAMSIZ],
        flags: IFF_TUN | IFF_NO_PI,
        rest: [0; 22],
    };
    set_iff(&file, &mut req)?;
    let len = req.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
    let name = String::from_utf8_lossy(&req.name[..len]).into_owned();
    Ok((file, name))
}

/// `ioctl(file, TUNSETIFF, req)`: makes the device; the kernel writes the
/// name it chose into `req`.
#[allow(unsafe_code)]
fn set_iff(file: &File, req: &mut IfReq) -> io::Result<()> {
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `IfReq`
    // lays out at its full size; `req` is borrowed for the whole call, and
    // the kernel writes nothing else.
    unsafe {
        let op = rustix::ioctl::Updater::<TUNSETIFF, IfReq>::new(req);
        rustix::ioctl::ioctl(file, op)?;
    }
    Ok(())
}

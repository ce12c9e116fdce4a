//! Links the `scalemodel` binary as a position-dependent executable.
//!
//! A position-independent executable is relocated at every start: each page of
//! its read-only-after-relocation data (vtables, string and function tables)
//! is written, so it stays resident in every process. The nodes of a run are
//! long-lived and measured (peak RSS), and this binary also carries the
//! analysis and plotting code, so relocation alone would cost each node about
//! a megabyte. Linked at a fixed address, those pages stay clean and are read
//! in only when used. The price is that the executable itself (not its
//! libraries, stack or heap) is not address-randomised.
fn main() {
    println!("cargo::rustc-link-arg-bins=-no-pie");
}

//! Links `scalemodel-node` as a position-dependent executable, as the
//! `scalemodel` binary is (see its `build.rs`): a position-independent one
//! is relocated at every start, and each page of its relocated data then
//! stays resident in every node for the whole run.
fn main() {
    println!("cargo::rustc-link-arg-bins=-no-pie");
}

//! The handshake's proofs: HMAC-SHA256 over both challenges and both ids.
//!
//! The caller sends a challenge in `Hello`, with a first proof of the key
//! over its own challenge and both ids ([`Role::Hello`]); the answerer checks
//! it at once and proves the run's key over the caller's challenge in
//! `Welcome`, with its own challenge; the caller proves the key over that in
//! `Proof`. The `Welcome` and `Proof` proofs bind the role, both ids and both
//! challenges, so they cannot be replayed on another connection, reflected
//! back to their sender, or moved to another pair of machines. The `Hello`
//! proof cannot bind the answerer's challenge (it has none yet), so whoever
//! sees a `Hello` on the path can replay it: it only ranks a connection
//! above strangers' (see `conn`), it never binds an id. The key itself never
//! crosses the wire.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::MachineId;
use crate::wire::{Challenge, PROOF_LEN, Proof};

/// The run's shared secret: whoever proves it may join the run.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub [u8; 32]);

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the secret, not even in a debug dump.
        f.write_str("Key(..)")
    }
}

/// The answerer's challenge in a [`Role::Hello`] proof: the caller has not
/// seen one yet.
pub const NO_CHALLENGE: Challenge = [0; crate::wire::CHALLENGE_LEN];

/// Who a proof speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The caller in `Hello`, before it knows the answerer's challenge (the
    /// proof is made with [`NO_CHALLENGE`] in its place).
    Hello,
    /// The side that connected and sent `Hello`.
    Caller,
    /// The side that accepted and sent `Welcome`.
    Answerer,
}

/// The proof `role` gives: a MAC under `key` of the role, the caller's and the
/// answerer's ids and challenges, truncated to [`PROOF_LEN`] bytes.
pub fn prove(
    key: &Key,
    role: Role,
    caller: (MachineId, &Challenge),
    answerer: (MachineId, &Challenge),
) -> Proof {
    let label: &[u8] = match role {
        Role::Hello => b"scalemodel hello",
        Role::Caller => b"scalemodel caller",
        Role::Answerer => b"scalemodel answerer",
    };
    // HMAC takes keys of any length; 32 bytes never fails.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0) else {
        return [0; PROOF_LEN];
    };
    mac.update(label);
    mac.update(&[caller.0.get(), answerer.0.get()]);
    mac.update(caller.1);
    mac.update(answerer.1);
    let tag = mac.finalize().into_bytes();
    let mut proof = [0; PROOF_LEN];
    for (p, t) in proof.iter_mut().zip(tag.iter()) {
        *p = *t;
    }
    proof
}

/// True when `proof` is what `role` gives; compares in constant time.
pub fn verify(
    key: &Key,
    role: Role,
    caller: (MachineId, &Challenge),
    answerer: (MachineId, &Challenge),
    proof: &Proof,
) -> bool {
    let want = prove(key, role, caller, answerer);
    want.iter()
        .zip(proof.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_binds_key_role_ids_and_challenges() {
        let key = Key([7; 32]);
        let (a, b) = ([1; 16], [2; 16]);
        let (c, r) = (MachineId::ZERO, MachineId::ONE);
        let p = prove(&key, Role::Answerer, (c, &a), (r, &b));
        assert!(verify(&key, Role::Answerer, (c, &a), (r, &b), &p));
        assert!(!verify(&Key([8; 32]), Role::Answerer, (c, &a), (r, &b), &p));
        assert!(!verify(&key, Role::Caller, (c, &a), (r, &b), &p));
        assert!(!verify(&key, Role::Answerer, (r, &a), (c, &b), &p));
        assert!(!verify(&key, Role::Answerer, (c, &b), (r, &a), &p));
        assert_ne!(p, [0; PROOF_LEN]);
    }

    #[test]
    fn a_hello_proof_differs_from_a_callers() {
        let key = Key([7; 32]);
        let (a, none) = ([1; 16], NO_CHALLENGE);
        let (c, r) = (MachineId::TWO, MachineId::ZERO);
        let p = prove(&key, Role::Hello, (c, &a), (r, &none));
        assert!(verify(&key, Role::Hello, (c, &a), (r, &none), &p));
        assert!(!verify(&key, Role::Caller, (c, &a), (r, &none), &p));
        assert!(!verify(&key, Role::Hello, (c, &[2; 16]), (r, &none), &p));
    }

    #[test]
    fn the_key_never_prints() {
        assert_eq!(std::format!("{:?}", Key([1; 32])), "Key(..)");
    }
}

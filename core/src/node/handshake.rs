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

/// The run's key as HMAC's keyed state: the key's padded blocks hashed once
/// (two SHA-256 compressions), then cloned for each proof, which then costs
/// two compressions rather than four. A node makes it when it is made or
/// reset. On targets whose pointers are under 64 bits (the firmware, short
/// of flash, not of time) it holds nothing and each proof is made from the
/// key, as before: keeping the state there took 116 B of flash.
#[derive(Clone)]
pub struct Keyed {
    #[cfg(target_pointer_width = "64")]
    mac: Hmac<Sha256>,
}

impl Keyed {
    /// `key`'s keyed state.
    pub fn new(key: &Key) -> Self {
        #[cfg(target_pointer_width = "64")]
        return match <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0) {
            Ok(mac) => Self { mac },
            Err(_) => unreachable!("HMAC takes a key of any length"),
        };
        #[cfg(not(target_pointer_width = "64"))]
        {
            let _ = key;
            Self {}
        }
    }

    /// A MAC under `key` (the key this state was made from), before any
    /// message.
    fn mac(&self, key: &Key) -> Result<Hmac<Sha256>, hmac::digest::InvalidLength> {
        #[cfg(target_pointer_width = "64")]
        {
            // A node that changed its key without its state would prove
            // the old key: the tests and a debug swarm catch it here.
            debug_assert!(
                self.mac.clone().finalize() == Self::new(key).mac.finalize(),
                "a keyed state made from another key"
            );
            Ok(self.mac.clone())
        }
        #[cfg(not(target_pointer_width = "64"))]
        <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0)
    }

    /// The proof `role` gives: a MAC under `key` (the key this state was
    /// made from) of the role, the caller's and the answerer's ids and
    /// challenges, truncated to [`PROOF_LEN`] bytes.
    pub fn prove(
        &self,
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
        let Ok(mut mac) = self.mac(key) else {
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

    /// True when `proof` is what `role` gives under `key` (the key this
    /// state was made from); compares in constant time.
    pub fn verify(
        &self,
        key: &Key,
        role: Role,
        caller: (MachineId, &Challenge),
        answerer: (MachineId, &Challenge),
        proof: &Proof,
    ) -> bool {
        let want = self.prove(key, role, caller, answerer);
        want.iter()
            .zip(proof.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl core::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Derived from the secret: never printed either.
        f.write_str("Keyed(..)")
    }
}

/// The proof `role` gives under `key` (see [`Keyed::prove`], which a node
/// uses with its keyed state made once).
pub fn prove(
    key: &Key,
    role: Role,
    caller: (MachineId, &Challenge),
    answerer: (MachineId, &Challenge),
) -> Proof {
    Keyed::new(key).prove(key, role, caller, answerer)
}

/// True when `proof` is what `role` gives under `key` (see [`Keyed::verify`]).
pub fn verify(
    key: &Key,
    role: Role,
    caller: (MachineId, &Challenge),
    answerer: (MachineId, &Challenge),
    proof: &Proof,
) -> bool {
    Keyed::new(key).verify(key, role, caller, answerer, proof)
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
        assert_eq!(std::format!("{:?}", Keyed::new(&Key([1; 32]))), "Keyed(..)");
    }

    /// The keyed state, cloned per proof, gives the HMAC of the key made
    /// anew, for either role and after other proofs from the same state.
    #[test]
    fn a_kept_keyed_state_proves_as_the_key() {
        let key = Key(core::array::from_fn(|i| (i * 7) as u8));
        let keyed = Keyed::new(&key);
        let (c, r) = (MachineId::ONE, MachineId::TWO);
        for (role, a, b) in [
            (Role::Hello, [3; 16], NO_CHALLENGE),
            (Role::Caller, [4; 16], [5; 16]),
            (Role::Answerer, [4; 16], [5; 16]),
        ] {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.0).unwrap();
            let label: &[u8] = match role {
                Role::Hello => b"scalemodel hello",
                Role::Caller => b"scalemodel caller",
                Role::Answerer => b"scalemodel answerer",
            };
            for part in [label, &[c.get(), r.get()], &a, &b] {
                mac.update(part);
            }
            let tag = mac.finalize().into_bytes();
            let p = keyed.prove(&key, role, (c, &a), (r, &b));
            assert_eq!(p[..], tag[..PROOF_LEN], "{role:?}");
            assert_eq!(p, prove(&key, role, (c, &a), (r, &b)));
            assert!(keyed.verify(&key, role, (c, &a), (r, &b), &p));
        }
    }
}

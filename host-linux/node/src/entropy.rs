//! Entropy for the handshake: from the operating system, or a named error.
//!
//! A node's challenges must be unpredictable, or a stranger who saw one
//! handshake could answer the next one with a recorded proof. So their
//! generator is seeded from the operating system (`getrandom`), and a node
//! that gets no randomness refuses to start instead of falling back to the
//! time of day, which anyone can guess. (Seeds of the model are different:
//! they are printed and meant to be replayed, see `cli::random_u64`.)

/// The operating system gave no randomness.
#[derive(Debug, thiserror::Error)]
#[error("the operating system gave no randomness for the handshake's challenges")]
pub struct NoRandomness(#[source] pub getrandom::Error);

/// A fresh seed for the node's challenge generator, from the operating system.
pub fn challenge_seed() -> Result<u64, NoRandomness> {
    challenge_seed_from(getrandom::fill)
}

/// A seed for the challenge generator from the entropy source `fill` (the
/// operating system's in [`challenge_seed`]; another in tests).
pub fn challenge_seed_from(
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<u64, NoRandomness> {
    let mut bytes = [0; 8];
    fill(&mut bytes).map_err(NoRandomness)?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_what_the_source_gave() {
        let seed = challenge_seed_from(|b| {
            b.copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
            Ok(())
        });
        assert_eq!(seed.unwrap(), 0x0807_0605_0403_0201);
        // From the operating system: two draws differ (but for 2^-64).
        assert_ne!(challenge_seed().unwrap(), challenge_seed().unwrap());
    }

    #[test]
    fn a_source_that_fails_is_a_named_error_never_the_time() {
        let err = challenge_seed_from(|_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the operating system gave no randomness for the handshake's challenges"
        );
        assert_eq!(
            std::error::Error::source(&err).map(ToString::to_string),
            Some(getrandom::Error::UNSUPPORTED.to_string())
        );
    }
}

//! What the fuzz targets share: reading an input as chunk sizes and a
//! stream.

/// The most chunk sizes an input gives.
pub const CHUNK_SIZES_MAX: usize = 8;

/// Splits an input into chunk sizes and the stream: its first byte `n`,
/// then `1 + n % 8` chunk sizes (a byte `c` gives `c + 1` bytes; as many
/// as there are bytes left, and at least one size), then the stream.
pub fn split(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (vec![1], &[]);
    };
    let count = (usize::from(n) % CHUNK_SIZES_MAX + 1).min(rest.len());
    let (sizes, stream) = rest.split_at(count);
    let mut sizes: Vec<usize> = sizes.iter().map(|&c| usize::from(c) + 1).collect();
    if sizes.is_empty() {
        sizes.push(1);
    }
    (sizes, stream)
}

/// The input that [`split`] reads as `chunks` (each `c` feeds `c + 1`
/// bytes; 1 to [`CHUNK_SIZES_MAX`] of them) and `stream`.
///
/// # Panics
///
/// If `chunks` has no size or more than [`CHUNK_SIZES_MAX`]: a seed
/// generator's mistake.
pub fn join(chunks: &[u8], stream: &[u8]) -> Vec<u8> {
    assert!(
        (1..=CHUNK_SIZES_MAX).contains(&chunks.len()),
        "1 to {CHUNK_SIZES_MAX} chunk sizes, got {}",
        chunks.len()
    );
    let n = u8::try_from(chunks.len() - 1).expect("at most CHUNK_SIZES_MAX");
    let mut input = vec![n];
    input.extend_from_slice(chunks);
    input.extend_from_slice(stream);
    input
}

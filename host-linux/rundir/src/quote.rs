//! Quoting a bad line or value in an error or a report: short, on one line,
//! and safe to print whatever bytes it held.

/// Characters of a bad line or value shown in errors and reports.
pub const QUOTE_CHARS_MAX: usize = 60;

/// A bad line or value as errors and reports show it: in backticks, at most
/// [`QUOTE_CHARS_MAX`] characters (never split inside one), control
/// characters escaped, and when cut, `…` and the whole length in bytes.
pub fn quote(bytes: &[u8]) -> String {
    quote_prefix(bytes, bytes.len() as u64)
}

/// As [`quote`], for the first bytes of something `len` bytes long.
pub fn quote_prefix(bytes: &[u8], len: u64) -> String {
    // Enough bytes for QUOTE_CHARS_MAX characters of up to 4 bytes, and one more.
    let window = &bytes[..bytes.len().min(4 * QUOTE_CHARS_MAX + 4)];
    let text = String::from_utf8_lossy(window);
    let mut out = String::from("`");
    let mut chars = text.chars();
    for c in chars.by_ref().take(QUOTE_CHARS_MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('`');
    if chars.next().is_some() || window.len() as u64 != len {
        out.insert(out.len() - 1, '…');
        out.push_str(&format!(" ({len} bytes)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_short_and_cut_between_characters() {
        assert_eq!(quote(b"abc"), "`abc`");
        assert_eq!(quote(b"a\x1b[2Jb"), "`a\\u{1b}[2Jb`");
        let long = "é".repeat(1000);
        let q = quote(long.as_bytes());
        assert_eq!(
            q,
            format!("`{}…` (2000 bytes)", "é".repeat(QUOTE_CHARS_MAX))
        );
        let q = quote(&[b'x'; 10 << 20]);
        assert!(q.len() < 100 && q.ends_with("…` (10485760 bytes)"), "{q}");
        // A 3-byte character cut by the window is not half-shown.
        let q = quote("€".repeat(200).as_bytes());
        assert!(q.starts_with("`€€") && !q.contains('\u{fffd}'), "{q}");
    }
}

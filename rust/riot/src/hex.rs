//! Hex decoding of build-configuration secrets (`CONFIG_LWM2M_PSK_KEY`,
//! `CONFIG_LWM2M_SERVER_OSCORE`).

/// Decodes the hex text of a build-configuration secret into `out`;
/// returns its length, `None` for odd length, non-hex characters or a key too long.
pub(crate) fn hex(text: &str, out: &mut [u8]) -> Option<usize> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) || b.len() / 2 > out.len() {
        return None;
    }
    let nib = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let &[h, l] = pair else {
            return None;
        };
        *o = (nib(h)? << 4) | nib(l)?;
    }
    Some(b.len() / 2)
}

//! New API tokens, from the kernel's random source (`getrandom(2)`).

use crate::domain::access::TOKEN_PREFIX;

/// A new token: [`TOKEN_PREFIX`] and 32 random bytes in hex.
pub(crate) fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: the pointer and length describe the unfilled rest of `bytes`.
        let n = unsafe {
            libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0)
        };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
            continue;
        }
        filled += n as usize;
    }
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_tokens_are_prefixed_hex_and_differ() {
        let a = super::new_token().unwrap();
        let b = super::new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("wn_") && a.len() == 3 + 64, "{a}");
        assert!(a[3..].chars().all(|c| c.is_ascii_hexdigit()));
    }
}

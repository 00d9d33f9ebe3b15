//! Who may do what through the API: roles, and the tokens that carry them. A token is `wn_`
//! and 64 hex digits (256 random bits); only its SHA-256 is stored, and a presented token is
//! checked against every stored hash in constant time. Pure: a new token's randomness is
//! `platform::token`'s.

use sha2::{Digest, Sha256};

/// What a token may do: `viewer` reads everything; `operator` also changes schedules and
/// windows and sends; `admin` also manages tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const NAMES: [&'static str; 3] = ["viewer", "operator", "admin"];

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Role::NAMES[self as usize]
    }

    /// Whether this role may do what `needed` may.
    pub fn covers(self, needed: Role) -> bool {
        self >= needed
    }
}

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "wn_";

/// What is stored of a token: its SHA-256, in hex. (A fast hash is right here: the token is
/// 256 random bits, not a password that could be guessed.)
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal, in time that depends only on the lengths (hashes have one length).
pub fn same_hash(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// A token name: 1-64 of letters, digits, `.`, `_`, `-` (it appears in the audit trail).
pub fn valid_token_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_only_as_a_hash_compared_whole() {
        let a = format!("wn_{}", "ab".repeat(32));
        let b = format!("wn_{}", "cd".repeat(32));
        let hash = token_hash(&a);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&a[3..]));
        assert!(same_hash(&hash, &token_hash(&a)));
        assert!(!same_hash(&hash, &token_hash(&b)));
        assert!(!same_hash(&hash, "short"));
    }

    #[test]
    fn roles_cover_the_weaker_ones() {
        assert!(Role::Admin.covers(Role::Operator));
        assert!(Role::Operator.covers(Role::Viewer));
        assert!(!Role::Viewer.covers(Role::Operator));
        assert!(!Role::Operator.covers(Role::Admin));
        for name in Role::NAMES {
            assert_eq!(Role::parse(name).unwrap().as_str(), name);
        }
        assert!(valid_token_name("change-mgmt.bot_1"));
        assert!(!valid_token_name("") && !valid_token_name("a b") && !valid_token_name("x/y"));
    }
}

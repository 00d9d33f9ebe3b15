//! `SDK-HMAC-SHA256` request signing, exactly as Huawei's SDK does it.
//!
//! Pure: takes the parts of a request and returns strings. No clock (the `X-Sdk-Date` value is
//! an input), no network, no credentials lookup. The fake server in the integration tests uses
//! [`canonical_request`] on what it actually received, so "signed one thing, sent another"
//! cannot pass.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name that starts the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// The parts of a request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The path as it goes on the wire (it may be percent-encoded).
    pub path: &'a str,
    /// The raw query string without `?`, if any.
    pub query: Option<&'a str>,
    /// Every header that is sent, including `host` and `x-sdk-date`.
    pub headers: &'a [(&'a str, &'a str)],
    /// The exact body bytes that are sent.
    pub body: &'a [u8],
}

/// A canonical request and the `SignedHeaders` list it was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    pub request: String,
    pub signed_headers: String,
}

/// Builds the canonical request of docs/huawei-api.md "Authentication".
pub fn canonical_request(parts: &RequestParts<'_>) -> Canonical {
    let (header_block, signed_headers) = canonical_headers(parts.headers);
    let request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method.to_ascii_uppercase(),
        canonical_uri(parts.path),
        canonical_query(parts.query.unwrap_or("")),
        header_block,
        signed_headers,
        hex::encode(Sha256::digest(parts.body)),
    );
    Canonical {
        request,
        signed_headers,
    }
}

/// `SDK-HMAC-SHA256 \n date \n hex(sha256(canonical))`.
pub fn string_to_sign(sdk_date: &str, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// Lower-case hex HMAC-SHA256 of `string_to_sign`, keyed with the secret key's bytes.
pub fn signature(secret_key: &[u8], string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The value of the `Authorization` header for a request. `sdk_date` must be the value of the
/// `X-Sdk-Date` header that is in `parts.headers`.
pub fn authorization(
    parts: &RequestParts<'_>,
    access_key: &str,
    secret_key: &[u8],
    sdk_date: &str,
) -> String {
    let canonical = canonical_request(parts);
    let sig = signature(secret_key, &string_to_sign(sdk_date, &canonical.request));
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={sig}",
        canonical.signed_headers
    )
}

/// The path percent-decoded, each segment encoded again, and a `/` appended if missing: the
/// wire path has no trailing slash, the signed one does.
fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let mut uri = decoded
        .split('/')
        .map(encode_component)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.starts_with('/') {
        uri.insert(0, '/');
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// `key=value` pairs, decoded, sorted by key then value as the SDK does (on the decoded text,
/// which can order differently from the encoded one: `a|` < `aa` encoded, not decoded), then
/// each side encoded.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `name:value\n` block and the `;`-joined name list. Names with `_` are not signed, as in
/// the SDK; values are trimmed at both ends and otherwise kept.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut signed: Vec<(String, &str)> = headers
        .iter()
        .filter(|(name, _)| !name.contains('_'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    signed.sort();
    let block = signed
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect::<String>();
    let names = signed
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, names)
}

/// RFC 3986 encoding: unreserved `A-Za-z0-9-_.~` kept, every other UTF-8 byte as upper-case `%XX`.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` sequences; anything malformed is kept as it is. Invalid UTF-8 after decoding
/// is replaced, which can only happen for a path nobody could have meant.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            out.push(hex_value(bytes[i + 1]) << 4 | hex_value(bytes[i + 2]));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
#[path = "signer_tests.rs"]
mod tests;

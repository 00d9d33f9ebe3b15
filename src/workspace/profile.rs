//! The Huawei Cloud SDKs' credentials profile (`~/.huaweicloud/credentials`, or the file
//! `$HUAWEICLOUD_SDK_CREDENTIALS_FILE` names): its `[basic]` section's `ak`, `sk`,
//! `security_token` and `project_id`. The text read is a secret and cleared after use.

use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};

use super::credentials::{Credentials, CredentialsError, Found, incomplete, read_checked};

pub(super) fn from_profile(
    env: &dyn Fn(&str) -> Option<String>,
    tried: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Found, CredentialsError> {
    let path = match env("HUAWEICLOUD_SDK_CREDENTIALS_FILE").filter(|p| !p.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => match env("HOME").filter(|h| !h.is_empty()) {
            Some(home) => Path::new(&home).join(".huaweicloud/credentials"),
            None => {
                tried.push(
                    "SDK profile: neither $HUAWEICLOUD_SDK_CREDENTIALS_FILE nor $HOME is set"
                        .to_owned(),
                );
                return Ok(None);
            }
        },
    };
    tried.push(format!("SDK profile: [basic] ak, sk in {}", path.display()));
    if !path.exists() {
        return Ok(None);
    }
    let text = read_checked(&path, warnings)?;
    let basic = SecretPairs(ini_section(text.expose_secret(), "basic"));
    let get = |key: &str| {
        basic
            .0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let place = format!("SDK profile {} [basic]", path.display());
    let (ak, sk) = match (get("ak"), get("sk")) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err(incomplete(place, "ak", "sk")),
        (None, Some(_)) => return Err(incomplete(place, "sk", "ak")),
        (Some(ak), Some(sk)) => (ak, sk),
    };
    let credentials = Credentials::AkSk {
        access_key: ak,
        secret_key: SecretString::from(sk),
        security_token: get("security_token").map(SecretString::from),
    };
    Ok(Some((credentials, place, get("project_id"))))
}

/// A profile section's `key = value` pairs (the SK among them), cleared from memory when
/// dropped; what is kept goes into `SecretString`s.
struct SecretPairs(Vec<(String, String)>);

impl Drop for SecretPairs {
    fn drop(&mut self) {
        for (_, value) in &mut self.0 {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

/// `key = value` pairs of one `[section]` of an INI file; `#` and `;` start comments.
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut pairs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
        } else if current == section
            && let Some((k, v)) = line.split_once('=')
        {
            pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    pairs
}

//! The listener's TLS (`[api] tls_cert_file`, `tls_key_file`): a rustls server configuration
//! from PEM files, HTTP/1.1 only, the field's safe defaults (TLS 1.2 and 1.3). The key file is
//! read as a secret (bounded, cleared after use, a warning when others may read it); errors
//! name the file and the key, never what the file holds.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::ExposeSecret;
use std::path::Path;
use std::sync::Arc;

/// Why the files do not make a TLS configuration: the config key to blame, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub(crate) struct TlsError {
    pub key: &'static str,
    pub message: String,
}

/// The largest certificate chain file read.
const MAX_CHAIN: u64 = 1024 * 1024;

/// The server configuration of `cert` (a PEM chain, leaf first) and `key` (a PEM private key).
pub(crate) fn server_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(cert)?;
    let secret = crate::platform::secret_file::read(key).map_err(|err| TlsError {
        key: "api.tls_key_file",
        message: err.to_string(),
    })?;
    if let Some(warning) = crate::platform::secret_file::loose_permissions(key) {
        tracing::warn!("{warning}");
    }
    let private =
        PrivateKeyDer::from_pem_slice(secret.expose_secret().as_bytes()).map_err(|err| {
            TlsError {
                key: "api.tls_key_file",
                message: format!("{}: no PEM private key ({err})", key.display()),
            }
        })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsError {
            key: "api.tls_cert_file",
            message: err.to_string(),
        })?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|err| TlsError {
            key: "api.tls_key_file",
            message: format!(
                "{} does not go with the certificate {}: {err}",
                key.display(),
                cert.display()
            ),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificates of a PEM file (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let failed = |message: String| TlsError {
        key: "api.tls_cert_file",
        message: format!("{}: {message}", path.display()),
    };
    let size = std::fs::metadata(path)
        .map_err(|err| failed(format!("cannot read it: {err}")))?
        .len();
    if size > MAX_CHAIN {
        return Err(failed(format!(
            "{size} bytes; a certificate chain file holds at most {MAX_CHAIN}"
        )));
    }
    let text = std::fs::read(path).map_err(|err| failed(format!("cannot read it: {err}")))?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| failed(format!("not a PEM certificate chain ({err})")))?;
    if chain.is_empty() {
        return Err(failed("holds no PEM certificate".to_owned()));
    }
    Ok(chain)
}

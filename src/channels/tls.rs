//! TLS plumbing shared by the HTTP adapters and the sandbox providers.
//!
//! herald builds rustls with the `ring` provider only (reqwest's
//! `rustls-no-provider`), so the process-wide provider must be installed
//! before the first client or server config is built, or rustls panics:
//! [`ensure_crypto_provider`] does that once and is cheap to call again.
//! The PEM helpers read an operator's extra CA (`apns.ca_file`) and a
//! sandbox's server identity; their errors name the file, never its bytes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read CA file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The PEM text holds no certificate.
    #[error("{what} holds no PEM certificate")]
    NoCertificate {
        /// Which input (a file path or "server certificate").
        what: String,
    },
    /// The PEM text holds no private key.
    #[error("{what} holds no PEM private key")]
    NoKey {
        /// Which input.
        what: String,
    },
    /// The PEM text is malformed, or rustls refused the certificate or key.
    #[error("{what} is not usable: {reason}")]
    Invalid {
        /// Which input.
        what: String,
        /// rustls' or the PEM parser's reason.
        reason: String,
    },
}

/// Installs rustls' `ring` crypto provider as the process default, once.
/// Another provider installed first is left in place.
pub fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Parses every certificate in PEM text; `what` names the input in errors.
pub fn parse_certificates(
    pem: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Invalid {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what: what.to_owned(),
        });
    }
    Ok(certs)
}

/// Reads a CA file (PEM, one or more certificates) as reqwest trust roots,
/// for an endpoint with a private CA (`apns.ca_file`).
pub fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let what = format!("CA file {}", path.display());
    parse_certificates(&pem, &what)?
        .iter()
        .map(|der| {
            reqwest::Certificate::from_der(der).map_err(|e| TlsError::Invalid {
                what: what.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// A rustls server config from a PEM certificate chain and PEM private key,
/// offering HTTP/2 and HTTP/1.1 by ALPN. Used by the sandbox providers.
pub fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    ensure_crypto_provider();
    let certs = parse_certificates(cert_pem.as_bytes(), "server certificate")?;
    let key = parse_private_key(key_pem)?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Invalid {
            what: "server certificate and key".to_owned(),
            reason: e.to_string(),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Parses the first private key (PKCS#8, PKCS#1 or SEC1) in PEM text.
fn parse_private_key(pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = || "server private key".to_owned();
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|e| TlsError::Invalid {
            what: what(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| TlsError::NoKey { what: what() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_certificates_is_refused_by_name() {
        let err = parse_certificates(b"not pem", "CA file x.pem").unwrap_err();
        assert_eq!(err.to_string(), "CA file x.pem holds no PEM certificate");
    }

    #[test]
    fn a_missing_ca_file_names_the_path() {
        let err = load_ca_file(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn installing_the_provider_twice_is_harmless() {
        ensure_crypto_provider();
        ensure_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}

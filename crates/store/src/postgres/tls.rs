//! TLS to PostgreSQL with rustls, configured by libpq's URL parameters.
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | checked against `sslrootcert` when given, else not checked |
//! | `require` | always | as `prefer` |
//! | `verify-ca` | always | chain checked against `sslrootcert` (or the system's roots) |
//! | `verify-full` | always | chain and host name checked |
//!
//! As libpq: a `require` or `prefer` without `sslrootcert` encrypts but does not authenticate
//! the server. `sslrootcert=system` uses the operating system's roots. `sslcert` + `sslkey`
//! (PEM files) present a client certificate, for `clientcert=verify-full` in `pg_hba.conf`.
//! Channel binding is not offered (SCRAM without `-PLUS`).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::Socket;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{Error, Result};

/// `sslmode`, as libpq spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS parameters of a store URL (the driver understands only some of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) mode: Mode,
    root_cert: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            mode: Mode::Prefer,
            root_cert: None,
            cert: None,
            key: None,
        }
    }
}

/// Takes the TLS parameters out of a URL's query: the URL left for the driver (with `sslmode`
/// mapped onto the driver's `disable` / `prefer` / `require`) and the parameters.
pub(crate) fn split_url(url: &str) -> Result<(String, Params)> {
    let mut params = Params::default();
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), params));
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || percent_decode(v);
        match k {
            "sslmode" => {
                params.mode = match value()?.as_str() {
                    "disable" => Mode::Disable,
                    "allow" | "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(Error::Config(format!(
                            "invalid PostgreSQL store URL: sslmode `{other}` is not one of \
                             disable, prefer, require, verify-ca, verify-full"
                        )));
                    }
                };
            }
            "sslrootcert" => params.root_cert = Some(value()?),
            "sslcert" => params.cert = Some(PathBuf::from(value()?)),
            "sslkey" => params.key = Some(PathBuf::from(value()?)),
            _ => kept.push(pair),
        }
    }
    kept.push(match params.mode {
        Mode::Disable => "sslmode=disable",
        Mode::Prefer => "sslmode=prefer",
        Mode::Require | Mode::VerifyCa | Mode::VerifyFull => "sslmode=require",
    });
    Ok((format!("{base}?{}", kept.join("&")), params))
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::Config(
                        "invalid PostgreSQL store URL: a bad %-escape in a TLS parameter"
                            .to_owned(),
                    )
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        Error::Config("invalid PostgreSQL store URL: a TLS parameter is not UTF-8".to_owned())
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::Config(format!(
            "PostgreSQL TLS: cannot read {what} {}: {e}",
            path.display()
        ))
    })
}

fn certs_from(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read_file(path, what)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::Config(format!(
                "PostgreSQL TLS: {what} {} is not PEM certificates: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "PostgreSQL TLS: {what} {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The rustls connector for `params` (`None` for `sslmode=disable`).
pub(crate) fn connector(params: &Params) -> Result<Option<MakeRustls>> {
    if params.mode == Mode::Disable {
        return Ok(None);
    }
    let provider = provider();
    let roots: Option<Arc<RootCertStore>> = match params.root_cert.as_deref() {
        None | Some("system") => None,
        Some(path) => {
            let mut store = RootCertStore::empty();
            for c in certs_from(Path::new(path), "sslrootcert")? {
                store.add(c).map_err(|e| {
                    Error::Config(format!(
                        "PostgreSQL TLS: a certificate in sslrootcert {path} is unusable: {e}"
                    ))
                })?;
            }
            Some(Arc::new(store))
        }
    };
    let system = params.root_cert.as_deref() == Some("system");
    let platform = || -> Result<Arc<dyn ServerCertVerifier>> {
        let v = rustls_platform_verifier::Verifier::new(provider.clone())
            .map_err(|e| Error::Config(format!("PostgreSQL TLS: the system's roots: {e}")))?;
        Ok(Arc::new(v))
    };
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match (params.mode, roots) {
        (Mode::VerifyFull, Some(roots)) => {
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| Error::Config(format!("PostgreSQL TLS: sslrootcert: {e}")))?
        }
        // The system's verifier checks the host name too: verify-ca is verify-full there.
        (Mode::VerifyFull | Mode::VerifyCa, None) => platform()?,
        // verify-ca, and require/prefer with a root certificate (libpq: as verify-ca).
        (_, Some(roots)) => Arc::new(NoNameCheck {
            roots: Some(roots),
            algorithms,
        }),
        (_, None) if system => platform()?,
        (_, None) => Arc::new(NoNameCheck {
            roots: None,
            algorithms,
        }),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("PostgreSQL TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&params.cert, &params.key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = certs_from(cert, "sslcert")?;
            let pem = read_file(key, "sslkey")?;
            let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
                Error::Config(format!(
                    "PostgreSQL TLS: sslkey {} is not a PEM private key: {e}",
                    key.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Error::Config(format!(
                    "PostgreSQL TLS: sslcert {} and its key do not go together: {e}",
                    cert.display()
                ))
            })?
        }
        (Some(_), None) => {
            return Err(Error::Config(
                "PostgreSQL TLS: sslcert is given without sslkey".to_owned(),
            ));
        }
        (None, Some(_)) => {
            return Err(Error::Config(
                "PostgreSQL TLS: sslkey is given without sslcert".to_owned(),
            ));
        }
    };
    Ok(Some(MakeRustls {
        config: Arc::new(config),
    }))
}

/// The host name is not checked: the chain against `roots` when given (`verify-ca`, and
/// `prefer`/`require` with `sslrootcert`), else nothing — encryption without authenticating
/// the server (libpq's `prefer` and `require` without a root). The handshake's signatures are
/// always checked against the certificate the server sent.
#[derive(Debug)]
struct NoNameCheck {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The driver's TLS connector factory.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<rustls::ClientConfig>,
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = rustls::Error;

    fn make_tls_connect(
        &mut self,
        domain: &str,
    ) -> std::result::Result<RustlsConnect, Self::Error> {
        // Made for every connection, Unix sockets too (domain ""), where the server declines
        // TLS and no handshake happens: a name that is no host name fails the handshake only.
        Ok(RustlsConnect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name: ServerName::try_from(domain.to_owned()).map_err(|_| domain.to_owned()),
        })
    }
}

pub(crate) struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: std::result::Result<ServerName<'static>, String>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let name = self.name.map_err(|host| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{host}` is not a host name to check a certificate against"),
                )
            })?;
            let s = self.connector.connect(name, stream).await?;
            Ok(RustlsStream(Box::new(s)))
        })
    }
}

/// A TLS session over the driver's socket.
pub(crate) struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_leave_the_url_and_map_onto_the_driver() {
        let (url, p) = split_url(
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x\
             &sslcert=/c.pem&sslkey=/k.pem",
        )
        .unwrap();
        assert_eq!(url, "postgres://u@h/db?application_name=x&sslmode=require");
        assert_eq!(p.mode, Mode::VerifyFull);
        assert_eq!(p.root_cert.as_deref(), Some("/tmp/ca.pem"));
        assert_eq!(p.cert.as_deref(), Some(Path::new("/c.pem")));
        assert_eq!(p.key.as_deref(), Some(Path::new("/k.pem")));
        let (url, p) = split_url("postgres://u@h/db").unwrap();
        assert_eq!((url.as_str(), p.mode), ("postgres://u@h/db", Mode::Prefer));
        let e = split_url("postgres://u@h/db?sslmode=sometimes").unwrap_err();
        assert!(e.to_string().contains("sslmode `sometimes`"), "{e}");
    }

    #[test]
    fn bad_tls_files_are_one_line_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let not_pem = dir.path().join("x.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        for (params, wanted) in [
            (
                Params {
                    mode: Mode::VerifyFull,
                    root_cert: Some(missing.display().to_string()),
                    ..Params::default()
                },
                "cannot read sslrootcert",
            ),
            (
                Params {
                    mode: Mode::VerifyFull,
                    root_cert: Some(not_pem.display().to_string()),
                    ..Params::default()
                },
                "holds no certificate",
            ),
            (
                Params {
                    cert: Some(not_pem.clone()),
                    ..Params::default()
                },
                "sslcert is given without sslkey",
            ),
        ] {
            let Err(e) = connector(&params) else {
                panic!("{params:?} was accepted")
            };
            assert!(matches!(e, Error::Config(_)), "{e:?}");
            let text = e.to_string();
            assert!(text.contains(wanted), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
    }
}

//! TLS towards an OT Security appliance: the robot's client identity (cert.pem + key.pem),
//! pinning of the appliance's certificate by SHA-256, the HTTP client built from them, and
//! TLS failures turned into one line that says what to change.
//!
//! Without a pin the client uses reqwest's own options (identity, extra roots, "accept
//! invalid certificates"). With a pin it uses a rustls configuration of its own: a
//! [`PinVerifier`] that accepts exactly the pinned end-entity certificate (and still checks
//! the handshake signature with the provider's algorithms), plus the client certificate.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::header::HeaderMap;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tenax_source::SourceError;
use tenax_source::http::{HttpOptions, redact_url};

/// Marker of a pin mismatch inside a rustls error message (found again in reqwest's chain).
const PIN_MISMATCH: &str = "tenax-pin-mismatch";

/// The crypto provider of every OT connection: aws-lc-rs, the one reqwest's rustls uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A SHA-256 certificate fingerprint. Fingerprints are not secret: they are shown in errors.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// SHA-256 of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// Parses 64 hex digits, with or without `:` (or space) separators, any case, optionally
    /// prefixed `sha256:` / `SHA256 Fingerprint=` as `openssl x509 -fingerprint` prints it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let t = t
            .rsplit_once('=')
            .map(|(_, v)| v)
            .unwrap_or(t)
            .trim_start_matches("sha256:")
            .trim_start_matches("SHA256:");
        let hex: String = t.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
        let bad = || {
            format!(
                "server_cert_sha256 `{}`: not a SHA-256 fingerprint (64 hex digits, colons \
                 allowed; `openssl x509 -noout -fingerprint -sha256 -in cert.pem` prints one)",
                shorten(s.trim(), 100)
            )
        };
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Fingerprint {
    /// Uppercase, colon-separated (the `openssl x509 -fingerprint` spelling).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The kind of a private key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `-----BEGIN PRIVATE KEY-----` (what `openssl req -newkey -nodes` writes).
    Pkcs8,
    /// `-----BEGIN RSA PRIVATE KEY-----`.
    Pkcs1,
    /// `-----BEGIN EC PRIVATE KEY-----`.
    Sec1,
}

/// A robot's client certificate and private key, checked to belong together. `Debug` shows
/// the certificate fingerprint and the key kind, never the key.
pub struct ClientIdentity {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    kind: KeyKind,
    fingerprint: Fingerprint,
    not_after: Option<i64>,
    cert_file: PathBuf,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        Self {
            certs: self.certs.clone(),
            key: self.key.clone_key(),
            kind: self.kind,
            fingerprint: self.fingerprint,
            not_after: self.not_after,
            cert_file: self.cert_file.clone(),
        }
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_file", &self.cert_file)
            .field("certificate_sha256", &self.fingerprint)
            .field("key", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// SHA-256 of the end-entity certificate (what the appliance registers).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The private key's file format.
    pub fn key_kind(&self) -> KeyKind {
        self.kind
    }

    /// The certificate's `notAfter`, unix seconds.
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// The certificate chain, end-entity first.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// The certificate chain and key as one PEM text (reqwest's `Identity::from_pem`).
    fn pem(&self) -> Vec<u8> {
        let mut out = String::new();
        for c in &self.certs {
            pem_block(&mut out, "CERTIFICATE", c.as_ref());
        }
        let (label, der): (&str, &[u8]) = match &self.key {
            PrivateKeyDer::Pkcs8(k) => ("PRIVATE KEY", k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => ("RSA PRIVATE KEY", k.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(k) => ("EC PRIVATE KEY", k.secret_sec1_der()),
            _ => ("PRIVATE KEY", &[]),
        };
        pem_block(&mut out, label, der);
        out.into_bytes()
    }
}

fn pem_block(out: &mut String, label: &str, der: &[u8]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
}

/// Loads and checks `cert_file` + `key_file`: PEM certificate(s); a PKCS#8, PKCS#1 (RSA) or
/// SEC1 (EC) private key; the key must belong to the first certificate. Errors are one line
/// naming the setting and the file, never showing key material.
pub fn load_identity(cert_file: &Path, key_file: &Path) -> Result<ClientIdentity, String> {
    let cert_bytes = read(cert_file, "cert_file")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<_, _>>()
        .map_err(|_| {
            format!(
                "cert_file {}: not a readable PEM certificate file",
                cert_file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "cert_file {}: no `-----BEGIN CERTIFICATE-----` block in the file",
            cert_file.display()
        ));
    }
    let not_after = x509_parser::parse_x509_certificate(certs[0].as_ref())
        .map(|(_, c)| c.validity().not_after.timestamp())
        .map_err(|_| {
            format!(
                "cert_file {}: the first certificate is not a valid X.509 certificate",
                cert_file.display()
            )
        })?;

    let key_bytes = read(key_file, "key_file")?;
    let text = String::from_utf8_lossy(&key_bytes);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(format!(
            "key_file {}: the private key is encrypted; tenax needs an unencrypted key \
             (`openssl req … -nodes`, or `tenax ot cert`), kept with mode 0600",
            key_file.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| {
        format!(
            "key_file {}: no PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or \
             `EC PRIVATE KEY` block) in the file",
            key_file.display()
        )
    })?;
    let kind = match &key {
        PrivateKeyDer::Pkcs8(_) => KeyKind::Pkcs8,
        PrivateKeyDer::Pkcs1(_) => KeyKind::Pkcs1,
        PrivateKeyDer::Sec1(_) => KeyKind::Sec1,
        _ => {
            return Err(format!(
                "key_file {}: unsupported private key format",
                key_file.display()
            ));
        }
    };
    let p = provider();
    match rustls::sign::CertifiedKey::from_der(certs.clone(), key.clone_key(), &p) {
        Ok(_) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(format!(
                "key_file {} does not belong to cert_file {} (their public keys differ)",
                key_file.display(),
                cert_file.display()
            ));
        }
        Err(_) => {
            return Err(format!(
                "key_file {}: the private key is malformed or of an unsupported type \
                 (RSA or ECDSA P-256/P-384 expected)",
                key_file.display()
            ));
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(key_file)
            && m.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(key_file = %key_file.display(), mode = format!("{:o}", m.permissions().mode() & 0o777), "The robot's private key is readable by group or others; run `chmod 600` on it.");
        }
    }
    let fingerprint = Fingerprint::of(certs[0].as_ref());
    Ok(ClientIdentity {
        certs,
        key,
        kind,
        fingerprint,
        not_after: Some(not_after),
        cert_file: cert_file.to_owned(),
    })
}

fn read(path: &Path, field: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        };
        format!("{field} {}: cannot read: {why}", path.display())
    })
}

/// Accepts exactly one server certificate, by the SHA-256 of its DER, whatever its issuer,
/// name, validity or CA flag (an appliance's self-signed `CA:TRUE` certificate included). The
/// handshake signature is still verified with the provider's algorithms, so only the holder
/// of the pinned certificate's key can complete the handshake.
#[derive(Debug)]
pub struct PinVerifier {
    pin: Fingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinVerifier {
    /// A verifier for `pin`.
    pub fn new(pin: Fingerprint) -> Self {
        Self {
            pin,
            provider: provider(),
        }
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of(end_entity.as_ref());
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "{PIN_MISMATCH} expected {} presented {}",
                self.pin, presented
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// How the appliance's certificate is checked and which client certificate is presented.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Verify the server certificate against the system roots plus `ca_file`.
    pub verify_ssl: bool,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// Accept exactly this server certificate (replaces CA verification).
    pub pin: Option<Fingerprint>,
    /// The robot's client certificate.
    pub identity: Option<ClientIdentity>,
}

impl TlsOptions {
    /// How the server is verified, for `tenax check`.
    pub fn describe(&self) -> String {
        match (&self.pin, self.verify_ssl, &self.ca_file) {
            (Some(p), _, _) => format!("server certificate pinned (sha256 {p})"),
            (None, false, _) => "server certificate NOT verified (verify_ssl = false)".into(),
            (None, true, Some(f)) => format!("server certificate verified with {}", f.display()),
            (None, true, None) => "server certificate verified with the system roots".into(),
        }
    }
}

/// Builds the HTTP client: timeouts, user agent, proxy (HTTP CONNECT: TLS, mutual TLS
/// included, runs end to end through it), TLS per [`TlsOptions`], and `headers` on every
/// request. Errors are configuration errors naming the setting.
pub fn build_client(
    http: &HttpOptions,
    tls: &TlsOptions,
    headers: HeaderMap,
) -> Result<reqwest::Client, SourceError> {
    #[allow(clippy::disallowed_methods)]
    let mut b = reqwest::Client::builder()
        .timeout(http.timeout)
        .connect_timeout(http.connect_timeout)
        .user_agent(http.user_agent.clone())
        .pool_max_idle_per_host(8)
        .default_headers(headers);
    if let Some(pin) = tls.pin {
        let verifier = Arc::new(PinVerifier::new(pin));
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| SourceError::Config(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut cfg = match &tls.identity {
            Some(id) => builder
                .with_client_auth_cert(id.certs.clone(), id.key.clone_key())
                .map_err(|_| {
                    SourceError::Config(format!(
                        "cert_file {}: the client certificate cannot be used for TLS",
                        id.cert_file.display()
                    ))
                })?,
            None => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        b = b.tls_backend_preconfigured(cfg);
    } else {
        b = b.tls_danger_accept_invalid_certs(!tls.verify_ssl);
        if let Some(path) = &tls.ca_file {
            b = b.tls_certs_merge(read_ca_file(path)?);
        }
        if let Some(id) = &tls.identity {
            let identity = reqwest::Identity::from_pem(&id.pem()).map_err(|_| {
                SourceError::Config(format!(
                    "cert_file {}: the client certificate cannot be used for TLS",
                    id.cert_file.display()
                ))
            })?;
            b = b.identity(identity);
        }
    }
    if let Some(p) = &http.proxy {
        let proxy = reqwest::Proxy::all(p.as_str()).map_err(|_| {
            SourceError::Config(format!("proxy `{}`: not a valid URL", redact_url(p)))
        })?;
        b = b.proxy(proxy);
    }
    b.build()
        .map_err(|e| SourceError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Records the certificate a server presents and refuses it: used after a trust failure to
/// tell the user which fingerprint the appliance showed (to check on the appliance before
/// pinning it; it arrived over an unverified connection).
#[derive(Debug)]
struct CaptureVerifier {
    seen: std::sync::Mutex<Option<Fingerprint>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for CaptureVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(Fingerprint::of(end_entity.as_ref()));
        }
        Err(rustls::Error::General("certificate captured".into()))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The SHA-256 of the certificate the server at `url` presents (through the configured
/// proxy), without trusting it and without sending any request or credential: the
/// handshake is aborted as soon as the certificate arrives.
pub async fn presented_certificate(http: &HttpOptions, url: &reqwest::Url) -> Option<Fingerprint> {
    let verifier = Arc::new(CaptureVerifier {
        seen: std::sync::Mutex::new(None),
        provider: provider(),
    });
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    #[allow(clippy::disallowed_methods)]
    let mut b = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .tls_backend_preconfigured(cfg);
    if let Some(p) = &http.proxy {
        b = b.proxy(reqwest::Proxy::all(p.as_str()).ok()?);
    }
    let _ = b.build().ok()?.head(url.clone()).send().await;
    verifier.seen.lock().ok().and_then(|s| *s)
}

/// Accepts any server certificate: only for [`diagnose_handshake`], which sends no data.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Why the appliance dropped a mutual-TLS connection: with TLS 1.3 the appliance judges the
/// client certificate after the client considers the handshake done, and its alert can be
/// lost behind "connection closed" in the HTTP client. This repeats the handshake alone
/// (through the proxy's CONNECT when one is set), sends no data, and waits briefly for the
/// appliance's verdict. Returns the failure's text (e.g. `received fatal alert:
/// CertificateExpired`), or `None` when the handshake and the wait passed quietly.
pub async fn diagnose_handshake(
    tls: &TlsOptions,
    url: &reqwest::Url,
    proxy: Option<&str>,
) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default()?;
    let id = tls.identity.as_ref()?;
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer(provider())))
        .with_client_auth_cert(id.certs.clone(), id.key.clone_key())
        .ok()?;
    let deadline = std::time::Duration::from_secs(5);
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let work = async {
        let tcp = match proxy.and_then(|p| reqwest::Url::parse(p).ok()) {
            Some(p) => {
                let addr = format!("{}:{}", p.host_str()?, p.port_or_known_default()?);
                let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
                let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
                if !p.username().is_empty() {
                    use base64::Engine as _;
                    let cred = format!("{}:{}", p.username(), p.password().unwrap_or(""));
                    let b64 = base64::engine::general_purpose::STANDARD.encode(cred);
                    req.push_str(&format!("Proxy-Authorization: Basic {b64}\r\n"));
                }
                req.push_str("\r\n");
                s.write_all(req.as_bytes()).await.ok()?;
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if s.read(&mut b).await.ok()? == 0 {
                        return None;
                    }
                    head.push(b[0]);
                }
                let status = String::from_utf8_lossy(&head);
                if status.split_whitespace().nth(1) != Some("200") {
                    return None;
                }
                s
            }
            None => tokio::net::TcpStream::connect(&target).await.ok()?,
        };
        let _ = tcp.set_nodelay(true);
        let name = ServerName::try_from(host.clone()).ok()?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let mut stream = match connector.connect(name, tcp).await {
            Ok(s) => s,
            Err(e) => return Some(e.to_string()),
        };
        let mut buf = [0u8; 512];
        match tokio::time::timeout(std::time::Duration::from_secs(2), stream.read(&mut buf)).await {
            Ok(Err(e)) => Some(e.to_string()),
            _ => None,
        }
    };
    tokio::time::timeout(deadline, work).await.ok().flatten()
}

/// Reads a PEM CA bundle for `ca_file`.
pub fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, SourceError> {
    let pem = read(path, "ca_file").map_err(SourceError::Config)?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
        SourceError::Config(format!(
            "ca_file {}: not a PEM certificate bundle",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(SourceError::Config(format!(
            "ca_file {}: no certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// What the connection was configured with, so a TLS failure can say what to change.
#[derive(Debug, Clone, Default)]
pub struct TlsContext {
    /// Robot name, in robot mode.
    pub robot: Option<String>,
    /// A pin is configured.
    pub pinned: bool,
    /// A `ca_file` is configured.
    pub ca_file: bool,
}

/// Turns a TLS failure (the cause chain of a transport error, one line) into one line saying
/// what is wrong and what to change; `None` when the chain is not a TLS problem tenax knows.
pub fn explain(chain: &str, ctx: &TlsContext) -> Option<String> {
    if let Some(i) = chain.find(PIN_MISMATCH) {
        let rest = &chain[i + PIN_MISMATCH.len()..];
        let expected = word_after(rest, "expected ");
        let presented = word_after(rest, "presented ");
        return Some(format!(
            "server certificate does not match server_cert_sha256: expected {expected}, the \
             appliance presented {presented} (if the appliance's certificate was renewed, pin \
             the new one)"
        ));
    }
    let alert = chain
        .split("received fatal alert: ")
        .nth(1)
        .map(|s| s.split([' ', ':', ',', ')']).next().unwrap_or(""));
    let robot = ctx
        .robot
        .as_deref()
        .map(|r| format!("robot `{r}`"))
        .unwrap_or_else(|| "this connection".into());
    if let Some(a) = alert {
        let msg = match a {
            "CertificateRequired" => {
                if ctx.robot.is_some() {
                    "the appliance asked for a client certificate and did not get one (TLS alert \
                     certificate_required)"
                        .to_owned()
                } else {
                    "no client certificate: the appliance requires one (TLS alert \
                     certificate_required): use robot mode (robot, cert_file, key_file)"
                        .to_owned()
                }
            }
            "CertificateExpired" => format!(
                "client certificate of {robot} rejected as expired (TLS alert \
                 certificate_expired): generate a new one (`tenax ot cert`) and register it \
                 (`tenax ot robot create`)"
            ),
            "BadCertificate"
            | "UnknownCA"
            | "CertificateUnknown"
            | "AccessDenied"
            | "UnsupportedCertificate"
            | "CertificateRevoked" => format!(
                "client certificate of {robot} rejected by the appliance (TLS alert {}): is it \
                 the certificate registered for the robot (`tenax ot robot create`)?",
                snake(a)
            ),
            "HandshakeFailure" if ctx.robot.is_none() => "TLS handshake refused by the \
                appliance (TLS alert handshake_failure): it may require a client certificate \
                (robot mode)"
                .to_owned(),
            other => format!("TLS handshake failed (TLS alert {})", snake(other)),
        };
        return Some(msg);
    }
    let advice = "set ca_file to the appliance's CA certificate, or pin its certificate with \
        server_cert_sha256 = \"<sha256>\"";
    if chain.contains("CaUsedAsEndEntity") {
        return Some(format!(
            "server certificate not trusted: the appliance presents a self-signed certificate \
             marked CA:TRUE, which rustls refuses as a server certificate even with ca_file \
             (CaUsedAsEndEntity): pin it with server_cert_sha256 = \"<sha256>\" (`openssl \
             s_client -connect HOST:443 </dev/null | openssl x509 -noout -fingerprint \
             -sha256`){}",
            if ctx.ca_file {
                ""
            } else {
                "; appliances' self-signed certificates are usually like this"
            }
        ));
    }
    if chain.contains("UnknownIssuer") || chain.contains("invalid peer certificate") {
        let what = if chain.contains("UnknownIssuer") {
            "issuer unknown".to_owned()
        } else if chain.contains("Expired") || chain.contains("certificate expired") {
            "expired".to_owned()
        } else if chain.contains("NotValidForName") || chain.contains("not valid for name") {
            "not valid for this host name".to_owned()
        } else {
            chain
                .split("invalid peer certificate: ")
                .nth(1)
                .map(|s| shorten(s, 80))
                .unwrap_or_else(|| "rejected".into())
        };
        return Some(format!(
            "server certificate not trusted ({what}): {advice}; appliances' self-signed \
             certificates marked CA:TRUE are refused by rustls as end-entity certificates even \
             with ca_file: pin those"
        ));
    }
    None
}

fn word_after<'a>(s: &'a str, key: &str) -> &'a str {
    s.split(key)
        .nth(1)
        .and_then(|r| r.split([' ', ')', ',']).next())
        .unwrap_or("?")
}

/// `CertificateExpired` → `certificate_expired` (the RFC 8446 spelling).
fn snake(camel: &str) -> String {
    match camel {
        "UnknownCA" => return "unknown_ca".into(),
        "DecodeError" => return "decode_error".into(),
        _ => {}
    }
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_every_spelling() {
        let hex = "ab".repeat(32);
        let f = Fingerprint::parse(&hex).unwrap();
        assert_eq!(f.0, [0xab; 32]);
        let colons = f.to_string();
        assert_eq!(colons.len(), 95);
        assert!(colons.starts_with("AB:AB:"));
        assert_eq!(Fingerprint::parse(&colons).unwrap(), f);
        assert_eq!(Fingerprint::parse(&colons.to_lowercase()).unwrap(), f);
        assert_eq!(
            Fingerprint::parse(&format!("SHA256 Fingerprint={colons}")).unwrap(),
            f
        );
        assert_eq!(Fingerprint::parse(&format!(" sha256:{hex} ")).unwrap(), f);
        for bad in [
            "",
            "abc",
            &"ab".repeat(31),
            &"zz".repeat(32),
            &"ab".repeat(33),
        ] {
            let e = Fingerprint::parse(bad).unwrap_err();
            assert!(e.starts_with("server_cert_sha256 `"), "{e}");
            assert!(!e.contains('\n'));
        }
    }

    fn self_signed(ca: bool) -> (CertificateDer<'static>, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec!["appliance.local".into()]).unwrap();
        if ca {
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        let cert = p.self_signed(&key).unwrap();
        (cert.der().clone(), key)
    }

    #[test]
    fn pin_verifier_accepts_exactly_the_pinned_certificate() {
        let (good, _) = self_signed(true);
        let (other, _) = self_signed(false);
        let v = PinVerifier::new(Fingerprint::of(good.as_ref()));
        let name = ServerName::try_from("10.20.30.40").unwrap();
        let now = UnixTime::now();
        // A CA:TRUE self-signed certificate for another name: accepted, it is the pin.
        assert!(v.verify_server_cert(&good, &[], &name, &[], now).is_ok());
        let e = v
            .verify_server_cert(&other, &[], &name, &[], now)
            .unwrap_err()
            .to_string();
        assert!(e.contains(PIN_MISMATCH), "{e}");
        let msg = explain(
            &format!("error sending request: {e}"),
            &TlsContext::default(),
        )
        .unwrap();
        assert!(
            msg.contains(&format!("expected {}", Fingerprint::of(good.as_ref())))
                && msg.contains(&format!("presented {}", Fingerprint::of(other.as_ref()))),
            "{msg}"
        );
        assert!(!v.supported_verify_schemes().is_empty());
    }

    #[test]
    fn tls_failures_become_distinct_lines() {
        let robot = TlsContext {
            robot: Some("robot1".into()),
            ..TlsContext::default()
        };
        let key = TlsContext::default();
        let untrusted = explain(
            "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer",
            &key,
        )
        .unwrap();
        assert!(
            untrusted.starts_with("server certificate not trusted (issuer unknown)")
                && untrusted.contains("ca_file")
                && untrusted.contains("server_cert_sha256")
                && untrusted.contains("CA:TRUE"),
            "{untrusted}"
        );
        let ca_ee = explain(
            "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))",
            &key,
        )
        .unwrap();
        assert!(ca_ee.contains("CA:TRUE") && ca_ee.contains("server_cert_sha256"));
        let expired = explain("received fatal alert: CertificateExpired", &robot).unwrap();
        assert!(expired.contains("robot `robot1`") && expired.contains("certificate_expired"));
        let bad = explain("received fatal alert: BadCertificate", &robot).unwrap();
        assert!(bad.contains("rejected by the appliance (TLS alert bad_certificate)"));
        let none = explain("received fatal alert: CertificateRequired", &key).unwrap();
        assert!(none.starts_with("no client certificate"), "{none}");
        let lines = [&untrusted, &ca_ee, &expired, &bad, &none];
        for (i, a) in lines.iter().enumerate() {
            assert!(!a.contains('\n'));
            for b in &lines[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(explain("connection refused", &key), None);
    }
}

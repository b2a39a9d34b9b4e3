//! The OT listener's TLS side: a test CA and server certificate generated at start (or one
//! self-signed CA:TRUE certificate like real appliances), an optional-client-certificate
//! verifier that rejects malformed and expired client certificates in the handshake, and an
//! axum [`Listener`] that hands out only completed TLS connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::ServerCertMode;

/// The certificates the OT listener presents.
pub(crate) struct ServerIdentity {
    /// PEM of the certificate a client should trust: the test CA, or the self-signed
    /// server certificate itself in [`ServerCertMode::SelfSignedCa`].
    pub ca_pem: String,
    /// PEM of the server (leaf) certificate.
    pub cert_pem: String,
    /// DER of the server certificate.
    pub cert_der: CertificateDer<'static>,
    /// Chain presented in the handshake.
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

fn params(cn: &str, sans: Vec<String>) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(sans).map_err(|e| e.to_string())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "tenax simulator");
    let today = chrono::Utc::now().date_naive();
    let (y, m, d) = (
        chrono::Datelike::year(&today),
        chrono::Datelike::month(&today),
        chrono::Datelike::day(&today),
    );
    let midnight = rcgen::date_time_ymd(
        y,
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    );
    p.not_before = midnight - Duration::from_secs(86_400);
    p.not_after = midnight + Duration::from_secs(2 * 365 * 86_400);
    Ok(p)
}

/// Generates the server identity (ECDSA P-256 keys, a few milliseconds).
pub(crate) fn server_identity(mode: ServerCertMode) -> Result<ServerIdentity, String> {
    let sans = vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ];
    match mode {
        ServerCertMode::CaSigned => {
            let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
            let mut ca_params = params("tenax-sim OT test CA", Vec::new())?;
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca_params.key_usages = vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ];
            let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(|e| e.to_string())?;
            let key = KeyPair::generate().map_err(|e| e.to_string())?;
            let mut leaf = params("127.0.0.1", sans)?;
            leaf.is_ca = IsCa::ExplicitNoCa;
            leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            leaf.use_authority_key_identifier_extension = true;
            let cert = leaf.signed_by(&key, &ca).map_err(|e| e.to_string())?;
            Ok(ServerIdentity {
                ca_pem: ca.pem(),
                cert_pem: cert.pem(),
                cert_der: cert.der().clone(),
                chain: vec![cert.der().clone(), ca.der().clone()],
                key_der: key.serialize_der(),
            })
        }
        ServerCertMode::SelfSignedCa => {
            // What `openssl req -x509` makes and appliances present: self-signed, CA:TRUE.
            let key = KeyPair::generate().map_err(|e| e.to_string())?;
            let mut p = params("Tenable OT Security", sans)?;
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let cert = p.self_signed(&key).map_err(|e| e.to_string())?;
            Ok(ServerIdentity {
                ca_pem: cert.pem(),
                cert_pem: cert.pem(),
                cert_der: cert.der().clone(),
                chain: vec![cert.der().clone()],
                key_der: key.serialize_der(),
            })
        }
    }
}

/// Lowercase hex SHA-256 of some bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Client certificates are optional; a presented one must parse and be within its
/// validity period, and must prove possession of its key. Anything else (self-signed,
/// CA:TRUE, any issuer) is left to the HTTP layer (robot registry).
#[derive(Debug)]
struct OptionalClientCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let (_, cert) = x509_parser::parse_x509_certificate(end_entity.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let v = cert.validity();
        if now > v.not_after.timestamp() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        if now < v.not_before.timestamp() {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet,
            ));
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The rustls server configuration (HTTP/1.1 and HTTP/2 by ALPN).
pub(crate) fn server_config(id: &ServerIdentity) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(OptionalClientCert {
        algs: provider.signature_verification_algorithms,
    });
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone()));
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(id.chain.clone(), key)
        .map_err(|e| e.to_string())?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The client certificate chain of a connection (empty when none was presented), put
/// into every request's extensions as `ConnectInfo<PeerCerts>`.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerCerts {
    pub certs: Arc<Vec<CertificateDer<'static>>>,
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerCerts {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> PeerCerts {
        let certs = stream
            .io()
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
            .unwrap_or_default();
        PeerCerts {
            certs: Arc::new(certs),
        }
    }
}

/// Completed TLS connections, handshaken concurrently by [`spawn_acceptor`].
pub(crate) struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The acceptor is gone (shutdown): never yield another connection.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections and runs each TLS handshake in its own task (10 s limit); a
/// failed handshake (bad or expired client certificate, plain HTTP, …) only drops that
/// connection.
pub(crate) fn spawn_acceptor(
    tcp: TcpListener,
    cfg: Arc<rustls::ServerConfig>,
) -> Result<(TlsListener, JoinHandle<()>), std::io::Error> {
    let local = tcp.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(cfg);
    let task = tokio::spawn(async move {
        loop {
            let (sock, peer) = match tcp.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "OT accept failed.");
                    #[allow(clippy::disallowed_methods)]
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            };
            let _ = sock.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(sock)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "OT TLS handshake failed."),
                    Err(_) => tracing::debug!(%peer, "OT TLS handshake timed out."),
                }
            });
        }
    });
    Ok((TlsListener { rx, local }, task))
}

//! Robot enrollment: the robot's RSA-2048 key and self-signed certificate (what
//! `openssl req -x509 -newkey rsa:2048 -nodes` makes), and its registration with
//! `POST /v1/robots` followed by a read-only call over mutual TLS that proves it works.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::json;
use tenax_source::http::{HttpOptions, check_base_url, endpoint, join_path};
use tenax_source::secret::{ExposeSecret, SecretString};
use tenax_source::{Result, SourceError};

use crate::client::{OtClient, text_message};
use crate::config::OtConfig;
use crate::source::PROBE_QUERY;
use crate::tls::{Fingerprint, TlsOptions, build_client};

/// A generated key pair and certificate, PEM. `Debug` never shows the key.
pub struct GeneratedCert {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The PKCS#8 private key (PEM).
    pub key_pem: SecretString,
    /// SHA-256 of the certificate.
    pub fingerprint: Fingerprint,
}

impl std::fmt::Debug for GeneratedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedCert")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Generates an RSA-2048 key and a self-signed client certificate for `cn`, valid from
/// `not_before` to `not_after` (unix seconds).
pub fn generate(cn: &str, not_before: i64, not_after: i64) -> Result<GeneratedCert, String> {
    let cn = cn.trim();
    if cn.is_empty() {
        return Err("--cn: the common name is empty".into());
    }
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .map_err(|e| format!("cannot generate an RSA-2048 key: {e}"))?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let at = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs)
            .map_err(|_| format!("validity time {secs} is out of range"))
    };
    params.not_before = at(not_before)?;
    params.not_after = at(not_after)?;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("cannot sign the certificate: {e}"))?;
    Ok(GeneratedCert {
        cert_pem: cert.pem(),
        key_pem: SecretString::from(key.serialize_pem()),
        fingerprint: Fingerprint::of(cert.der().as_ref()),
    })
}

/// What `tenax ot cert` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenCert {
    /// `DIR/cert.pem`.
    pub cert_file: PathBuf,
    /// `DIR/key.pem` (mode 0600).
    pub key_file: PathBuf,
    /// SHA-256 of the certificate.
    pub fingerprint: Fingerprint,
    /// Expiry, unix seconds.
    pub not_after: i64,
}

/// `tenax ot cert`: writes `cert.pem` and `key.pem` (mode 0600) into `out_dir` (created if
/// missing); refuses to overwrite either file.
pub fn write_cert(out_dir: &Path, days: u32, cn: &str) -> Result<WrittenCert, String> {
    if days == 0 || days > 3650 {
        return Err(format!("--days {days}: must be 1..=3650"));
    }
    let cert_file = out_dir.join("cert.pem");
    let key_file = out_dir.join("key.pem");
    for f in [&cert_file, &key_file] {
        if f.exists() {
            return Err(format!(
                "{}: already exists; not overwriting it (choose another --out-dir, or remove \
                 the old files if they are no longer registered)",
                f.display()
            ));
        }
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("{}: cannot create: {e}", out_dir.display()))?;
    let now = chrono::Utc::now().timestamp();
    let not_after = now + i64::from(days) * 86_400;
    let g = generate(cn, now - 60, not_after)?;
    write_new(&key_file, g.key_pem.expose_secret().as_bytes(), 0o600)?;
    if let Err(e) = write_new(&cert_file, g.cert_pem.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&key_file);
        return Err(e);
    }
    Ok(WrittenCert {
        cert_file,
        key_file,
        fingerprint: g.fingerprint,
        not_after,
    })
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{}: already exists; not overwriting it", path.display())
        } else {
            format!("{}: cannot write: {e}", path.display())
        }
    })?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// The robot's role on the appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// `ReaderRole` (the default: tenax only reads).
    #[default]
    Reader,
    /// `AdminRole`.
    Admin,
}

impl Role {
    /// The appliance's name of the role.
    pub fn as_api(self) -> &'static str {
        match self {
            Role::Reader => "ReaderRole",
            Role::Admin => "AdminRole",
        }
    }
}

/// `tenax ot robot create`.
#[derive(Debug)]
pub struct RobotRequest {
    /// Appliance base URL.
    pub url: String,
    /// The support-issued token (`Authorization: Bearer`).
    pub token: SecretString,
    /// Robot name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The certificate to register.
    pub cert_file: PathBuf,
    /// Its key: when given, the registration is proven with a read over mutual TLS.
    pub key_file: Option<PathBuf>,
    /// Trust this CA for the appliance.
    pub ca_file: Option<PathBuf>,
    /// Or pin the appliance's certificate.
    pub server_cert_sha256: Option<String>,
    /// Or do not verify the appliance (loudly warned).
    pub insecure: bool,
    /// HTTP proxy.
    pub proxy: Option<tenax_source::http::ProxyUrl>,
}

/// Registers the robot (`POST {url}/v1/robots` with `{"name", "role", "cert"}`) and, with a
/// key, proves the certificate works with a one-asset GraphQL read over mutual TLS. Returns
/// the one line to print. The token never appears in an error.
pub async fn create_robot(r: &RobotRequest) -> Result<String> {
    let cfg_err = SourceError::Config;
    let base = check_base_url(&r.url).map_err(cfg_err)?;
    let name = r.name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(SourceError::Config(format!(
            "--name `{name}`: must be a non-empty name of printable ASCII characters"
        )));
    }
    let cert_pem = std::fs::read_to_string(&r.cert_file).map_err(|e| {
        SourceError::Config(format!(
            "--cert {}: cannot read: {e}",
            r.cert_file.display()
        ))
    })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<std::result::Result<_, _>>()
        .unwrap_or_default();
    let Some(first) = certs.first() else {
        return Err(SourceError::Config(format!(
            "--cert {}: no PEM certificate in the file",
            r.cert_file.display()
        )));
    };
    let fingerprint = Fingerprint::of(first.as_ref());
    // The config path checks the key against the certificate before anything is registered.
    let probe_cfg = {
        let mut c = OtConfig::new("robot-create", &r.url);
        c.verify_ssl = !r.insecure;
        c.ca_file = r.ca_file.clone();
        c.server_cert_sha256 = r.server_cert_sha256.clone();
        c.proxy = r.proxy.clone();
        c.timeout_secs = 60;
        match &r.key_file {
            Some(k) => {
                c.robot = Some(name.to_owned());
                c.cert_file = Some(r.cert_file.clone());
                c.key_file = Some(k.clone());
            }
            // Only the TLS settings matter for the registration call.
            None => c.api_key = Some("unused".into()),
        }
        c
    };
    let settings = probe_cfg.resolve().map_err(SourceError::Config)?;
    let tls = TlsOptions {
        identity: None,
        ..settings.tls.clone()
    };
    let mut headers = HeaderMap::new();
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", r.token.expose_secret()))
        .map_err(|_| SourceError::Config("the token contains invalid characters".into()))?;
    auth.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, auth);
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    let http = HttpOptions {
        timeout: Duration::from_secs(60),
        proxy: r.proxy.as_ref().map(|p| p.0.clone()),
        ..HttpOptions::default()
    };
    if r.insecure {
        tracing::warn!(
            "TLS verification is OFF (--insecure): the support token is sent to whoever answers at this address. Prefer --ca-file or --server-cert-sha256."
        );
    }
    let client = build_client(&http, &tls, headers)?;
    let ep = endpoint(&Method::POST, "/v1/robots");
    let body = json!({"name": name, "role": r.role.as_api(), "cert": cert_pem});
    let resp = client
        .post(join_path(&base, "/v1/robots"))
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            let err = SourceError::transport(&ep, &e);
            match &err {
                SourceError::Transport { message, .. } => {
                    match crate::tls::explain(message, &settings.tls_context()) {
                        Some(line) => SourceError::Config(format!("{ep}: {line}")),
                        None => err,
                    }
                }
                _ => err,
            }
        })?;
    let status = resp.status().as_u16();
    let said = text_message(&resp.bytes().await.unwrap_or_default());
    match status {
        200..=299 => {}
        401 | 403 => {
            return Err(SourceError::Unauthorized {
                endpoint: ep,
                status,
                hint: format!(
                    "the appliance refused the support token (it is issued by Tenable support \
                     and may have expired){}",
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(" (appliance: {said})")
                    }
                ),
            });
        }
        409 => {
            return Err(SourceError::Api {
                endpoint: ep,
                status,
                message: format!(
                    "a robot named `{name}` already exists{}",
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(" (appliance: {said})")
                    }
                ),
            });
        }
        _ => {
            return Err(SourceError::Api {
                endpoint: ep,
                status,
                message: if said.is_empty() {
                    "robot not created".into()
                } else {
                    format!("robot not created: {said}")
                },
            });
        }
    }
    let registered = format!(
        "robot `{name}` registered as {} on {} (certificate sha256 {fingerprint})",
        r.role.as_api(),
        base.as_str().trim_end_matches('/')
    );
    if r.key_file.is_none() {
        return Ok(format!(
            "{registered}; pass --key to prove the certificate works over mutual TLS"
        ));
    }
    let ot = OtClient::new(&settings)?;
    let page = ot
        .graphql("assets", PROBE_QUERY, json!({}))
        .await
        .map_err(SourceError::from)?;
    let n = page.connection().map(|c| c.nodes.len()).unwrap_or(0);
    Ok(format!(
        "{registered}; read over mutual TLS works ({})",
        if n > 0 {
            "assets are readable"
        } else {
            "no asset visible yet"
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_parseable_rsa_2048_pair_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("robot");
        let w = write_cert(&out, 30, "tenax-robot").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&w.key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let cert_pem = std::fs::read(&w.cert_file).unwrap();
        let der = CertificateDer::from_pem_slice(&cert_pem).unwrap();
        let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        let v = c.validity();
        let days = (v.not_after.timestamp() - v.not_before.timestamp()) / 86_400;
        assert_eq!(days, 30);
        assert_eq!(v.not_after.timestamp(), w.not_after);
        assert!(c.subject().to_string().contains("CN=tenax-robot"));
        let spki = c.public_key().parsed().unwrap();
        let x509_parser::public_key::PublicKey::RSA(rsa) = spki else {
            panic!("an RSA key")
        };
        assert_eq!(rsa.key_size(), 2048);
        assert_eq!(Fingerprint::of(der.as_ref()), w.fingerprint);
        let key_pem = std::fs::read_to_string(&w.key_file).unwrap();
        assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        // The pair loads as a robot identity (key matches the certificate).
        let id = crate::tls::load_identity(&w.cert_file, &w.key_file).unwrap();
        assert_eq!(id.fingerprint(), w.fingerprint);
        // Never overwrite.
        let e = write_cert(&out, 30, "again").unwrap_err();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(std::fs::read(&w.cert_file).unwrap(), cert_pem);
        std::fs::remove_file(&w.cert_file).unwrap();
        assert!(
            write_cert(&out, 30, "again")
                .unwrap_err()
                .contains("key.pem")
        );
        assert!(write_cert(&dir.path().join("x"), 0, "a").is_err());
        let g = generate("a", 0, 1).unwrap();
        assert!(!format!("{g:?}").contains("PRIVATE"));
    }
}

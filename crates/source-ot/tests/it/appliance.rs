//! A tiny OT appliance stand-in for TLS and paging tests: HTTPS (tokio-rustls, HTTP/1.1,
//! one request per connection), optional or mandatory client certificates, `X-Robot-Name` /
//! `X-APIKeys` checks, GraphQL Relay paging over a fixed data set, `plugin_hits`, and a
//! GraphQL error at a chosen page. The real simulator lives in `tenax-sim`; this one only
//! exists so the connector's TLS behaviour is tested on its own.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use serde_json::{Value, json};
use tenax_source_ot::Fingerprint;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A certificate and its key, PEM and DER.
#[allow(dead_code)]
pub struct Cert {
    pub der: CertificateDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
    pub key_der: Vec<u8>,
}

impl Cert {
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.der.as_ref())
    }
}

/// A self-signed certificate for 127.0.0.1; `ca` marks it CA:TRUE like appliances do.
pub fn self_signed(ca: bool) -> Cert {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
    if ca {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let cert = p.self_signed(&key).unwrap();
    Cert {
        der: cert.der().clone(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
    }
}

/// A CA and a server certificate for 127.0.0.1 it signed.
pub fn ca_and_leaf() -> (Cert, Cert) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "test appliance CA");
    let ca_cert = p.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(p, &ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let lp = rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).unwrap();
    let leaf = lp.signed_by(&leaf_key, &issuer).unwrap();
    (
        Cert {
            der: ca_cert.der().clone(),
            cert_pem: ca_cert.pem(),
            key_pem: ca_key.serialize_pem(),
            key_der: ca_key.serialize_der(),
        },
        Cert {
            der: leaf.der().clone(),
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
            key_der: leaf_key.serialize_der(),
        },
    )
}

/// What the appliance demands of clients.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Ask for a client certificate; refuse connections without one when `mandatory`.
    pub client_cert: bool,
    pub mandatory: bool,
    /// Accept only these client certificates (TLS alert unknown_ca otherwise).
    pub robots: Vec<(String, Fingerprint)>,
    /// The API key accepted (`X-APIKeys: key=<k>`), when API keys are allowed.
    pub api_key: Option<String>,
    /// The GraphQL `findings` field exists.
    pub findings: bool,
    /// Answer `root` page number `n` (1-based) with a GraphQL error.
    pub error_at: Option<(String, u64)>,
}

/// One request as the appliance saw it.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub client_cert: Option<Fingerprint>,
    pub robot: Option<String>,
    pub api_key: Option<String>,
    pub root: Option<String>,
}

#[derive(Default)]
pub struct Data {
    pub assets: Vec<Value>,
    pub plugins: Vec<Value>,
    pub findings: Vec<Value>,
    pub events: Vec<Value>,
}

#[allow(dead_code)]
pub struct Appliance {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub data: Arc<Mutex<Data>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Appliance {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Appliance {
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

#[derive(Debug)]
struct ClientCerts {
    rules: Rules,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for ClientCerts {
    fn offer_client_auth(&self) -> bool {
        self.rules.client_cert
    }
    fn client_auth_mandatory(&self) -> bool {
        self.rules.mandatory
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
        let (_, c) = x509_parser::parse_x509_certificate(end_entity.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        if c.validity().not_after.timestamp() < now.as_secs() as i64 {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        let f = Fingerprint::of(end_entity.as_ref());
        if self.rules.robots.iter().any(|(_, r)| *r == f) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
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

/// Starts the appliance on 127.0.0.1 with `server` as its certificate.
pub async fn start(server: &Cert, rules: Rules, data: Data) -> Appliance {
    let provider = tenax_source_ot::tls::provider();
    let verifier = Arc::new(ClientCerts {
        rules: rules.clone(),
        provider: provider.clone(),
    });
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server.der.clone()],
            PrivateKeyDer::try_from(server.key_der.clone()).unwrap(),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let data = Arc::new(Mutex::new(data));
    let rules = Arc::new(rules);
    let (s, d) = (seen.clone(), data.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, s, d, rules) = (acceptor.clone(), s.clone(), d.clone(), rules.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| Fingerprint::of(c.as_ref()));
                let Some((path, headers, body)) = read_request(&mut tls).await else {
                    return;
                };
                let (status, answer, root) =
                    respond(&rules, &d, &path, &headers, &body, client_cert);
                s.lock().unwrap().push(Seen {
                    path,
                    client_cert,
                    robot: header(&headers, "x-robot-name"),
                    api_key: header(&headers, "x-apikeys"),
                    root,
                });
                let text = answer.to_string();
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Appliance {
        addr,
        seen,
        data,
        task,
    }
}

fn header(h: &[(String, String)], name: &str) -> Option<String> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

async fn read_request<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = header(&headers, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((path, headers, body))
}

fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("arrayconnection:{offset}"))
}

fn offset_after(after: &Value) -> usize {
    after
        .as_str()
        .and_then(|c| base64::engine::general_purpose::STANDARD.decode(c).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("arrayconnection:")?.parse::<usize>().ok())
        .map_or(0, |o| o + 1)
}

fn respond(
    rules: &Rules,
    data: &Mutex<Data>,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    client_cert: Option<Fingerprint>,
) -> (u16, Value, Option<String>) {
    // Authentication: a registered client certificate (with the matching robot name when
    // one is sent), or the API key.
    let robot = header(headers, "x-robot-name");
    let by_cert = client_cert.and_then(|f| rules.robots.iter().find(|(_, r)| *r == f));
    let authed = match (by_cert, &robot) {
        (Some((name, _)), Some(sent)) if name != sent => {
            return (
                401,
                json!({"message": format!("robot {sent} is not the owner of this certificate")}),
                None,
            );
        }
        (Some(_), _) => true,
        (None, _) => {
            let key = header(headers, "x-apikeys");
            rules
                .api_key
                .as_ref()
                .is_some_and(|k| key.as_deref() == Some(&format!("key={k}")))
        }
    };
    if !authed {
        return (401, json!({"message": "unauthorized"}), None);
    }
    let d = data.lock().unwrap();
    if let Some(id) = path
        .strip_prefix("/v1/assets/")
        .and_then(|p| p.strip_suffix("/plugin_hits"))
    {
        let hits: Vec<Value> = d
            .findings
            .iter()
            .filter(|f| f["asset"]["id"] == id)
            .map(|f| json!({"pluginId": f["plugin"]["id"], "port": f["port"], "protocol": f["protocol"], "status": f["status"]}))
            .collect();
        return (200, Value::Array(hits), None);
    }
    if path != "/graphql" {
        return (404, json!({"message": "not found"}), None);
    }
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let query = req["query"].as_str().unwrap_or("");
    let vars = &req["variables"];
    let root = ["assets", "plugins", "findings", "events"]
        .into_iter()
        .find(|r| query.contains(&format!("{r}(")))
        .unwrap_or("assets");
    if root == "findings" && !rules.findings {
        return (
            400,
            json!({"errors": [{"message": "Cannot query field \"findings\" on type \"Query\".", "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}),
            Some(root.into()),
        );
    }
    let list: Vec<Value> = match root {
        "assets" => d.assets.clone(),
        "plugins" => d.plugins.clone(),
        "events" => d.events.clone(),
        _ => {
            let ids: Vec<&Value> = vars["filter"]["values"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            d.findings
                .iter()
                .filter(|f| ids.contains(&&f["asset"]["id"]))
                .cloned()
                .collect()
        }
    };
    let first = vars["first"]
        .as_u64()
        .unwrap_or(if query.contains("first: 1") { 1 } else { 100 }) as usize;
    let start = offset_after(&vars["after"]);
    let page_no = (start / first.max(1)) as u64 + 1;
    if let Some((r, n)) = &rules.error_at
        && r == root
        && *n == page_no
    {
        return (
            200,
            json!({"errors": [{"message": "request to http://127.0.0.1:8083/v1/assets/osinfo failed", "path": [root, "nodes", 0, "osDetails"], "extensions": {"code": "INTERNAL_SERVER_ERROR"}}], "data": {root: null}}),
            Some(root.into()),
        );
    }
    let nodes: Vec<Value> = list.iter().skip(start).take(first).cloned().collect();
    let end = start + nodes.len();
    let page = json!({
        "pageInfo": {
            "hasNextPage": end < list.len(),
            "endCursor": if nodes.is_empty() { Value::Null } else { json!(cursor(end - 1)) },
        },
        "totalCount": list.len(),
        "nodes": nodes,
    });
    (200, json!({"data": {root: page}}), Some(root.into()))
}

/// A data set: `n` assets, 3 plugins, two findings per asset, `n` events.
pub fn data(n: usize) -> Data {
    let mut d = Data::default();
    for p in 0..3 {
        d.plugins.push(json!({"id": 500_000 + p, "name": format!("Plugin {p}"), "family": "Tenable.ot",
            "severity": (["Low", "High", "Critical"][p]), "vprScore": 5.5,
            "details": {"refs": [{"name": "CVE", "value": format!("CVE-2024-000{p}")}], "cvssV3BaseScore": "9.8"}}));
    }
    for i in 0..n {
        let id = format!("00000000-0000-0000-0000-{i:012}");
        d.assets
            .push(json!({"id": id, "name": format!("PLC #{i}"), "type": "Plc",
            "lastUpdate": format!("2026-01-01T00:{:02}:{:02}.000001Z", (i / 60) % 60, i % 60),
            "ips": {"nodes": [format!("10.0.{}.{}", i / 250, i % 250 + 1)]}, "hidden": false}));
        for p in 0..2 {
            d.findings.push(json!({"id": format!("{i}-{p}"), "status": "Active", "port": 44818, "protocol": "TCP",
                "asset": {"id": id}, "plugin": {"id": 500_000 + p}}));
        }
        d.events.push(
            json!({"id": format!("e-{i}"), "type": "OpenPort", "severity": "Medium",
            "time": format!("2026-01-02T00:{:02}:{:02}Z", (i / 60) % 60, i % 60),
            "srcAssets": {"nodes": [{"id": id}]}}),
        );
    }
    d
}

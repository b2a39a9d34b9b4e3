//! TLS to PostgreSQL: a throwaway server that accepts only TLS connections with a client
//! certificate (`hostssl … clientcert=verify-full`), reached with libpq's URL parameters.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tenax_store::{Error, PgStore};

struct Pki {
    /// CA, server cert (SAN `localhost` only) and key, client cert (CN `postgres`) and key.
    dir: PathBuf,
    port: u16,
}

fn issuer(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().expect("key")).expect("CA")
}

fn leaf(
    ca: &CertifiedIssuer<'static, KeyPair>,
    cn: &str,
    sans: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(sans).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![usage];
    p.use_authority_key_identifier_extension = true;
    let cert = p.signed_by(&key, ca).expect("sign");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

/// The TLS server, started once per test process (`None`: no PostgreSQL binaries, and the
/// run allows skipping).
fn server() -> Option<&'static Pki> {
    static PKI: OnceLock<Option<Pki>> = OnceLock::new();
    PKI.get_or_init(|| {
        crate::harness::base_url()?;
        let dir = tempfile::tempdir().expect("tmp").keep();
        let ca = issuer("tenax test CA");
        let (srv_cert, srv_key) = leaf(
            &ca,
            "localhost",
            vec!["localhost".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (cli_cert, cli_key) = leaf(
            &ca,
            "postgres",
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        write(&dir, "ca.pem", &ca.pem());
        write(&dir, "client.pem", &cli_cert);
        write(&dir, "client.key", &cli_key);
        write(&dir, "other-ca.pem", &issuer("someone else's CA").pem());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let settings = "-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=server.crt \
                        -c ssl_key_file=server.key -c ssl_ca_file=root.crt";
        let ca_pem = ca.pem();
        crate::harness::start_cluster(port, settings, |data| {
            write(data, "server.crt", &srv_cert);
            write(data, "server.key", &srv_key);
            write(data, "root.crt", &ca_pem);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .map_err(|e| e.to_string())?;
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust clientcert=verify-full\n",
            )
            .map_err(|e| e.to_string())
        })
        .expect("TLS server");
        Some(Pki { dir, port })
    })
    .as_ref()
}

impl Pki {
    fn url(&self, host: &str, params: &str) -> String {
        let f = |n: &str| self.dir.join(n).display().to_string();
        format!(
            "postgres://postgres@{host}:{}/postgres?{}",
            self.port,
            params
                .replace("CA", &f("ca.pem"))
                .replace("OTHER", &f("other-ca.pem"))
                .replace("CERT", &f("client.pem"))
                .replace("KEY", &f("client.key"))
        )
    }
}

fn refused(url: &str, wanted: &str) {
    let e = PgStore::open_url(url).expect_err("connection refused");
    let text = e.to_string();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert!(text.contains(wanted), "wanted `{wanted}` in: {text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn verified_tls_with_a_client_certificate() {
    let Some(pki) = server() else { return };
    // Over TCP the server takes nothing but TLS with a client certificate it trusts: that the
    // store opens (and migrates) is the proof.
    let store = PgStore::open_url(&pki.url(
        "localhost",
        "sslmode=verify-full&sslrootcert=CA&sslcert=CERT&sslkey=KEY",
    ))
    .expect("verify-full");
    assert_eq!(
        store.schema_version().expect("version"),
        PgStore::SCHEMA_VERSION
    );
    // verify-ca checks the chain but not the name: the certificate names only `localhost`.
    PgStore::open_url(&pki.url(
        "127.0.0.1",
        "sslmode=verify-ca&sslrootcert=CA&sslcert=CERT&sslkey=KEY",
    ))
    .expect("verify-ca by address");
    // require without a root certificate: encrypted, server not authenticated (as libpq).
    PgStore::open_url(&pki.url("127.0.0.1", "sslmode=require&sslcert=CERT&sslkey=KEY"))
        .expect("require");
}

#[test]
fn wrong_certificates_and_modes_are_refused_in_one_line() {
    let Some(pki) = server() else { return };
    // The name in the certificate is checked by verify-full.
    refused(
        &pki.url(
            "127.0.0.1",
            "sslmode=verify-full&sslrootcert=CA&sslcert=CERT&sslkey=KEY",
        ),
        "TLS",
    );
    // A server certificate from another CA.
    refused(
        &pki.url(
            "localhost",
            "sslmode=verify-full&sslrootcert=OTHER&sslcert=CERT&sslkey=KEY",
        ),
        "TLS",
    );
    // No client certificate: the server says no.
    refused(
        &pki.url("localhost", "sslmode=verify-full&sslrootcert=CA"),
        "certificate",
    );
    // No TLS at all: no pg_hba.conf line lets it in.
    refused(&pki.url("localhost", "sslmode=disable"), "pg_hba.conf");
    // Files that are not there or not PEM.
    refused(
        &pki.url(
            "localhost",
            "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        ),
        "cannot read sslrootcert /nonexistent/ca.pem",
    );
    refused(
        &pki.url(
            "localhost",
            "sslmode=verify-full&sslrootcert=CA&sslcert=CERT&sslkey=CA",
        ),
        "sslkey",
    );
}

//! Robot identities: every key format the field uses loads; every bad input is one distinct
//! line naming the setting and the file, without key material.

use std::path::{Path, PathBuf};

use tenax_source_ot::OtConfig;
use tenax_source_ot::tls::{KeyKind, load_identity};

/// One DER TLV: (tag, contents, rest).
fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = b[0];
    let (len, hdr) = if b[1] < 0x80 {
        (b[1] as usize, 2)
    } else {
        let n = (b[1] & 0x7f) as usize;
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | b[2 + i] as usize;
        }
        (len, 2 + n)
    };
    (tag, &b[hdr..hdr + len], &b[hdr + len..])
}

/// The inner key of a PKCS#8 `PrivateKeyInfo` (PKCS#1 for RSA, SEC1 for EC).
fn pkcs8_inner(der: &[u8]) -> Vec<u8> {
    let (_, seq, _) = tlv(der);
    let (_, _version, rest) = tlv(seq);
    let (_, _alg, rest) = tlv(rest);
    let (tag, key, _) = tlv(rest);
    assert_eq!(tag, 0x04, "privateKey OCTET STRING");
    key.to_vec()
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

struct Pair {
    cert: PathBuf,
    key: PathBuf,
    key_text: String,
}

fn write_pair(dir: &Path, name: &str, cert_pem: &str, key_pem: &str) -> Pair {
    let cert = dir.join(format!("{name}.cert.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    Pair {
        cert,
        key,
        key_text: key_pem.to_owned(),
    }
}

fn rcgen_pair(alg: &'static rcgen::SignatureAlgorithm) -> (String, rcgen::KeyPair) {
    let key = if alg == &rcgen::PKCS_RSA_SHA256 {
        rcgen::KeyPair::generate_rsa_for(alg, rcgen::RsaKeySize::_2048).unwrap()
    } else {
        rcgen::KeyPair::generate_for(alg).unwrap()
    };
    let params = rcgen::CertificateParams::new(vec!["robot1".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key)
}

/// A base64 run from the middle of a key's PEM: must never appear in a message.
fn key_fragment(key_pem: &str) -> String {
    key_pem.lines().nth(2).unwrap_or_default()[..40].to_owned()
}

#[test]
fn pkcs8_pkcs1_and_sec1_keys_load() {
    let dir = tempfile::tempdir().unwrap();
    let (rsa_cert, rsa_key) = rcgen_pair(&rcgen::PKCS_RSA_SHA256);
    let (ec_cert, ec_key) = rcgen_pair(&rcgen::PKCS_ECDSA_P256_SHA256);

    let p = write_pair(dir.path(), "rsa8", &rsa_cert, &rsa_key.serialize_pem());
    let id = load_identity(&p.cert, &p.key).unwrap();
    assert_eq!(id.key_kind(), KeyKind::Pkcs8);

    let pkcs1 = pem("RSA PRIVATE KEY", &pkcs8_inner(&rsa_key.serialize_der()));
    let p = write_pair(dir.path(), "rsa1", &rsa_cert, &pkcs1);
    let id = load_identity(&p.cert, &p.key).unwrap();
    assert_eq!(id.key_kind(), KeyKind::Pkcs1);
    let shown = format!("{id:?}");
    assert!(
        !shown.contains(&key_fragment(&p.key_text)) && shown.contains("Pkcs1"),
        "{shown}"
    );

    let p = write_pair(dir.path(), "ec8", &ec_cert, &ec_key.serialize_pem());
    assert_eq!(
        load_identity(&p.cert, &p.key).unwrap().key_kind(),
        KeyKind::Pkcs8
    );

    let sec1 = pem("EC PRIVATE KEY", &pkcs8_inner(&ec_key.serialize_der()));
    let p = write_pair(dir.path(), "sec1", &ec_cert, &sec1);
    assert_eq!(
        load_identity(&p.cert, &p.key).unwrap().key_kind(),
        KeyKind::Sec1
    );
}

#[test]
fn an_openssl_req_x509_pair_loads() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("skipping: openssl is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let st = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
        ])
        .args(["-subj", "/CN=robot1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let id = load_identity(&cert, &key).unwrap();
    assert_eq!(id.key_kind(), KeyKind::Pkcs8);
    // And the legacy `-traditional` PKCS#1 form of the same key.
    let k1 = dir.path().join("key1.pem");
    let st = std::process::Command::new("openssl")
        .args(["rsa", "-traditional", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&k1)
        .output()
        .unwrap();
    assert!(st.status.success());
    assert_eq!(
        load_identity(&cert, &k1).unwrap().key_kind(),
        KeyKind::Pkcs1
    );
}

#[test]
fn bad_inputs_are_distinct_lines_without_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a) = rcgen_pair(&rcgen::PKCS_ECDSA_P256_SHA256);
    let (cert_b, _) = rcgen_pair(&rcgen::PKCS_ECDSA_P256_SHA256);
    let key_pem = key_a.serialize_pem();
    let frag = key_fragment(&key_pem);

    let mismatched = write_pair(dir.path(), "mismatch", &cert_b, &key_pem);
    let garbage_key = write_pair(dir.path(), "garbage", &cert_a, "not a key\n");
    let key_in_cert = write_pair(dir.path(), "swapped", &key_pem, &key_pem);
    let encrypted = write_pair(
        dir.path(),
        "enc",
        &cert_a,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let broken_b64 = write_pair(
        dir.path(),
        "b64",
        &cert_a,
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
    );
    let bad_cert = write_pair(
        dir.path(),
        "badcert",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        &key_pem,
    );
    let missing = dir.path().join("missing.pem");
    let cases = [
        (
            load_identity(&mismatched.cert, &mismatched.key),
            format!(
                "key_file {} does not belong to cert_file {} (their public keys differ)",
                mismatched.key.display(),
                mismatched.cert.display()
            ),
        ),
        (
            load_identity(&garbage_key.cert, &garbage_key.key),
            format!(
                "key_file {}: no PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC \
                 PRIVATE KEY` block) in the file",
                garbage_key.key.display()
            ),
        ),
        (
            load_identity(&key_in_cert.cert, &key_in_cert.key),
            format!(
                "cert_file {}: no `-----BEGIN CERTIFICATE-----` block in the file",
                key_in_cert.cert.display()
            ),
        ),
        (
            load_identity(&encrypted.cert, &encrypted.key),
            format!(
                "key_file {}: the private key is encrypted; tenax needs an unencrypted key \
                 (`openssl req … -nodes`, or `tenax ot cert`), kept with mode 0600",
                encrypted.key.display()
            ),
        ),
        (
            load_identity(&broken_b64.cert, &broken_b64.key),
            format!(
                "key_file {}: no PEM private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC \
                 PRIVATE KEY` block) in the file",
                broken_b64.key.display()
            ),
        ),
        (
            load_identity(&bad_cert.cert, &bad_cert.key),
            format!(
                "cert_file {}: the first certificate is not a valid X.509 certificate",
                bad_cert.cert.display()
            ),
        ),
        (
            load_identity(&missing, &garbage_key.key),
            format!("cert_file {}: cannot read: no such file", missing.display()),
        ),
        (
            load_identity(&garbage_key.cert, &missing),
            format!("key_file {}: cannot read: no such file", missing.display()),
        ),
    ];
    for (got, want) in &cases {
        let got = got.as_ref().map(|_| ()).unwrap_err();
        assert_eq!(got, want);
        assert!(!got.contains('\n') && !got.contains(&frag), "{got}");
    }
}

#[test]
fn robot_config_resolves_and_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = rcgen_pair(&rcgen::PKCS_ECDSA_P256_SHA256);
    let key_pem = key.serialize_pem();
    let p = write_pair(dir.path(), "robot", &cert, &key_pem);
    let text = format!(
        "name = 'plant-a'\nurl = 'https://10.20.30.40'\nrobot = 'robot1'\ncert_file = '{}'\nkey_file = '{}'\n",
        p.cert.display(),
        p.key.display()
    );
    let c: OtConfig = toml::from_str(&text).unwrap();
    let s = c.resolve().unwrap();
    assert_eq!(s.auth.robot(), Some("robot1"));
    assert!(s.tls.identity.is_some());
    let shown = format!("{c:?} {s:?}");
    assert!(!shown.contains(&key_fragment(&key_pem)), "{shown}");
    assert!(c.secret_fields().is_empty());
}

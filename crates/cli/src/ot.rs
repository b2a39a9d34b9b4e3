//! `tenax ot cert` and `tenax ot robot create`: one line of result on stdout, one line of
//! error on stderr; the support token and the private key are never printed.

use tenax_source::secret::SecretString;
use tenax_source_ot::enroll::{self, RobotRequest, Role};

use crate::Failure;
use crate::args::{OtCmd, RobotCmd, RobotRole};

pub async fn run(cmd: &OtCmd) -> Result<u8, Failure> {
    match cmd {
        OtCmd::Cert { out_dir, days, cn } => {
            let w = enroll::write_cert(out_dir, *days, cn).map_err(Failure::config)?;
            let until = chrono::DateTime::<chrono::Utc>::from_timestamp(w.not_after, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            println!(
                "wrote {} and {} (RSA-2048, mode 0600), valid until {until}, certificate sha256 {}",
                w.cert_file.display(),
                w.key_file.display(),
                w.fingerprint
            );
            Ok(0)
        }
        OtCmd::Robot {
            cmd: RobotCmd::Create(a),
        } => {
            let token = match std::env::var(&a.token_env) {
                Ok(t) if !t.trim().is_empty() => SecretString::from(t.trim().to_owned()),
                Ok(_) => {
                    return Err(Failure::config(format!(
                        "--token-env {}: the environment variable is empty",
                        a.token_env
                    )));
                }
                Err(_) => {
                    return Err(Failure::config(format!(
                        "--token-env {}: the environment variable is not set (export the \
                         support-issued token in it)",
                        a.token_env
                    )));
                }
            };
            let req = RobotRequest {
                url: a.url.clone(),
                token,
                name: a.name.clone(),
                role: match a.role {
                    RobotRole::Reader => Role::Reader,
                    RobotRole::Admin => Role::Admin,
                },
                cert_file: a.cert.clone(),
                key_file: a.key.clone(),
                ca_file: a.ca_file.clone(),
                server_cert_sha256: a.server_cert_sha256.clone(),
                insecure: a.insecure,
                proxy: a.proxy.as_deref().map(Into::into),
            };
            match enroll::create_robot(&req).await {
                Ok(line) => {
                    println!("{line}");
                    Ok(0)
                }
                Err(e) if e.is_config() => Err(Failure::config(e.to_string())),
                Err(e) => Err(Failure::fatal(e.to_string())),
            }
        }
    }
}

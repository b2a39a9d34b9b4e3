//! `tenax`: pull Tenable asset and vulnerability data into one store, and look at it.

mod args;
mod cmd;
mod ot;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// A failure that ends the command: one line on stderr and an exit code
/// (1 partial, 2 usage/config, 3 every source failed or the store failed).
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Usage or configuration error (exit 2).
    pub fn config(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// Store or total failure (exit 3).
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }
}

impl From<tenax_store::Error> for Failure {
    fn from(e: tenax_store::Error) -> Self {
        match e {
            tenax_store::Error::Config(_) => Failure::config(e.to_string()),
            other => Failure::fatal(other.to_string()),
        }
    }
}

impl From<tenax_sync::ConfigError> for Failure {
    fn from(e: tenax_sync::ConfigError) -> Self {
        Failure::config(e.0)
    }
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    cmd::init_logging(&cli);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tenax: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match rt.block_on(cmd::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            if f.message.contains("Broken pipe") {
                return ExitCode::SUCCESS;
            }
            eprintln!("tenax: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

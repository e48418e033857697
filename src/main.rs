use std::process::ExitCode;

use clap::{Parser, Subcommand};

use educoin::config::{self, Config};
use educoin::ops::{env_example, systemd};
use educoin::{api, healthcheck, serve};

/// The EduCoin (Quokki) backend. Configuration comes from the environment; see README.md.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations, then exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Exit 0 when the local server is ready (for container HEALTHCHECKs).
    Healthcheck {
        /// host:port to probe instead of the configured one.
        #[arg(long)]
        address: Option<std::net::SocketAddr>,
    },
    /// Validate the configuration and print it with secrets redacted.
    CheckConfig,
    /// Print the example environment file (.env.example, or .env.production.example).
    EnvExample {
        /// Production: secrets as `<from the secrets manager>` placeholders.
        #[arg(long)]
        production: bool,
    },
    /// Print the README's configuration table (generated from the settings' declarations).
    ConfigTable {
        /// Write it between the README's config-table markers instead.
        #[arg(long)]
        write: bool,
    },
}

fn load_config() -> Result<Config, ExitCode> {
    Config::from_env().map_err(|e| {
        eprintln!("educoin: {e}");
        ExitCode::from(2)
    })
}

/// The configuration, with logging set up from it: how every command that runs the app starts.
fn logging_config() -> Result<Config, ExitCode> {
    let config = load_config()?;
    educoin::telemetry::logs::install(
        config.environment,
        &config.log_level,
        &config.observability.log_format,
        Vec::new(),
    );
    Ok(config)
}

/// Threads for blocking work (SQLite writes and scans, password hashing, file I/O). SQLite has one
/// writer and hashing has its own slots, so more threads would only queue on their locks; the
/// default (512) let a burst of list requests grow the process to hundreds of threads.
const MAX_BLOCKING_THREADS: usize = 64;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", api::spec_json());
            ExitCode::SUCCESS
        }
        Command::EnvExample { production } => {
            print!("{}", env_example::render(production));
            ExitCode::SUCCESS
        }
        Command::ConfigTable { write: false } => {
            print!("{}", config::table::render());
            ExitCode::SUCCESS
        }
        Command::ConfigTable { write: true } => {
            match config::table::write(std::path::Path::new("README.md")) {
                Ok(changed) => {
                    let what = if changed {
                        "updated"
                    } else {
                        "already current"
                    };
                    eprintln!("README.md configuration table {what}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("educoin: README.md: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckConfig => match load_config() {
            Ok(config) => {
                for line in config.redacted_lines() {
                    println!("{line}");
                }
                for off in config.disabled_integrations() {
                    println!(
                        "integration {}: disabled (set {}); {}",
                        off.name, off.settings, off.effect
                    );
                }
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Healthcheck { address } => {
            let addr = match address {
                Some(a) => a,
                None => match load_config() {
                    Ok(config) => healthcheck::local_address(&config),
                    Err(code) => return code,
                },
            };
            match healthcheck::probe(addr) {
                Ok(200) => ExitCode::SUCCESS,
                Ok(status) => {
                    eprintln!("educoin healthcheck: {addr} answered {status}");
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("educoin healthcheck: {addr}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate => {
            let config = match logging_config() {
                Ok(c) => c,
                Err(code) => return code,
            };
            match runtime()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(serve::migrate(config)))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "migration failed");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => {
            let config = match load_config() {
                Ok(c) => c,
                Err(code) => return code,
            };
            // Logs, and traces and error reports when configured; flushed when this returns.
            let mut telemetry = educoin::telemetry::init(&config);
            // Taken before the runtime starts any thread, and exactly once.
            let sockets = match systemd::activated_sockets() {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "socket activation failed");
                    return ExitCode::FAILURE;
                }
            };
            match runtime()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(serve::run(config, sockets)))
            {
                Ok(()) => {
                    telemetry.shutdown(std::time::Duration::from_secs(2));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::error!(error = %e, "server failed");
                    eprintln!("educoin: {e:#}");
                    telemetry.shutdown(std::time::Duration::from_secs(2));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

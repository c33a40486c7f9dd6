//! `oracle`: the service an oracle operator runs.
//!
//! Data enters as signed beacon and witness reports from MQTT; it leaves as stored verdicts,
//! signed epoch reward commitments submitted on chain, and the explorer API. This binary holds
//! the command line; the oracle's own key is an ed25519 key file like a hotspot's.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hexproof_proto::Keypair;

#[derive(Parser, Debug)]
#[command(version, about = "hexproof oracle")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the oracle's signing key (Solana CLI keypair format, mode 0600); prints its key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            key.write_new_file(&out)
                .with_context(|| "writing the new oracle key")?;
            println!("{}", key.public());
        }
    }
    Ok(())
}

//! `hotspot-agent`: the daemon a hotspot owner runs next to a LoRa concentrator.
//!
//! Data enters from the radio (beacons it hears) and from the oracle's entropy topic; it leaves
//! as signed `BeaconReport`s and `WitnessReport`s published over MQTT. This binary holds the
//! command line; key handling and signing come from `hexproof-proto`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hexproof_proto::Keypair;

#[derive(Parser, Debug)]
#[command(version, about = "hexproof hotspot agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new hotspot key (Solana CLI keypair format, mode 0600) and print its public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key (base58) of a key file.
    Info {
        #[arg(long)]
        key: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { out } => {
            let key = Keypair::generate();
            key.write_new_file(&out)
                .with_context(|| "writing the new hotspot key")?;
            println!("{}", key.public());
        }
        Command::Info { key } => {
            let key = Keypair::read_file(&key)?;
            println!("pubkey: {}", key.public());
        }
    }
    Ok(())
}

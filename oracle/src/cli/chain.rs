//! `oracle chain …`: the program's instructions from the command line, against any RPC URL
//! (a local validator, devnet). Keys are Solana CLI keypair files.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use h3o::CellIndex;
use hexproof_client::{Chain, Signer, instructions, read};
use hexproof_poc::rewards::epoch::ClosedEpoch;
use hexproof_proto::{Keypair, PublicKey};
use oracle::{
    chain::{self, pubkey, solana_keypair},
    config::Config,
    store::Store,
};

#[derive(Subcommand, Debug)]
pub enum ChainCommand {
    /// Create the configuration and reward mint (the program's upgrade authority pays and
    /// signs). Emission schedule, epoch clock, deployment value and antenna bounds from the
    /// oracle config ([rewards], [clock], [validation]).
    Init {
        /// The program's upgrade authority (it becomes the admin).
        #[arg(long)]
        admin: PathBuf,
        /// An oracle key allowed to sign epochs (repeat, up to 7).
        #[arg(long = "oracle", required = true)]
        oracles: Vec<PublicKey>,
        /// Distinct oracle signatures an epoch needs.
        #[arg(long, default_value_t = 1)]
        threshold: u8,
        /// How long admin changes wait, seconds (at least a day).
        #[arg(long, default_value_t = 86_400)]
        change_delay_secs: i64,
        /// The windowed mint limit (default: twice an epoch's emission per epoch).
        #[arg(long)]
        mint_window_limit: Option<u64>,
        /// Lamports every onboarding pays into the treasury (0, or 0.001 to 1,000 SOL).
        #[arg(long, default_value_t = chain::DEFAULT_ONBOARDING_FEE)]
        onboarding_fee: u64,
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Propose a new oracle set (the admin signs); it may be applied after the delay.
    ProposeOracles {
        #[arg(long)]
        admin: PathBuf,
        #[arg(long = "oracle", required = true)]
        oracles: Vec<PublicKey>,
        #[arg(long)]
        threshold: u8,
    },
    /// Sign the pending oracle set's approval with a current member's key, once it is exactly
    /// the set and threshold you expect; prints `ORACLE_KEY:SIGNATURE` for
    /// `apply-oracles --approval`.
    ApproveOracles {
        /// A member of the current oracle set.
        #[arg(long)]
        key: PathBuf,
        /// A key you expect in the proposed set (repeat for each; order matters).
        #[arg(long = "oracle", required = true)]
        oracles: Vec<PublicKey>,
        /// The threshold you expect the proposal to set.
        #[arg(long)]
        threshold: u8,
    },
    /// Apply a proposed oracle set whose delay has passed, with the approvals of at least the
    /// current threshold of current members (anyone may send it; the payer signs).
    ApplyOracles {
        #[arg(long)]
        payer: PathBuf,
        /// A current member's approval, `ORACLE_KEY:SIGNATURE` (from `approve-oracles`).
        #[arg(long = "approval")]
        approvals: Vec<String>,
    },
    /// Propose a new admin (the admin signs); the new admin accepts after the delay.
    ProposeAdmin {
        #[arg(long)]
        admin: PathBuf,
        #[arg(long)]
        new_admin: PublicKey,
    },
    /// Take over as admin once the delay has passed (the proposed admin signs).
    AcceptAdmin {
        #[arg(long)]
        new_admin: PathBuf,
    },
    /// Register a hotspot (its key and its owner sign; the owner pays).
    Onboard {
        #[arg(long)]
        hotspot_key: PathBuf,
        #[arg(long)]
        owner: PathBuf,
        #[command(flatten)]
        site: Site,
    },
    /// Move a hotspot or change its antenna (the owner signs).
    Assert {
        #[arg(long)]
        owner: PathBuf,
        /// The hotspot's key file: it does not sign, but only it derives the salt of the
        /// commitment the chain keeps in place of the exact cell.
        #[arg(long)]
        hotspot_key: PathBuf,
        #[command(flatten)]
        site: Site,
    },
    /// Offer a hotspot to a new owner (the owner signs); nothing changes hands until the new
    /// owner accepts.
    Transfer {
        #[arg(long)]
        owner: PathBuf,
        #[arg(long)]
        hotspot: PublicKey,
        #[arg(long)]
        to: PublicKey,
    },
    /// Take a hotspot offered to you (you sign and pay for your token account if missing).
    AcceptTransfer {
        #[arg(long)]
        new_owner: PathBuf,
        #[arg(long)]
        hotspot: PublicKey,
    },
    /// Retire a hotspot (rent back to the owner; its claim ledger stays).
    Decommission {
        #[arg(long)]
        owner: PathBuf,
        #[arg(long)]
        hotspot: PublicKey,
    },
    /// Create an org of the packet path (the admin signs and pays): its OUI, owner, payer and
    /// the DevAddr ranges its routes may claim.
    CreateOrg {
        #[arg(long)]
        admin: PathBuf,
        #[arg(long)]
        oui: u64,
        #[arg(long)]
        owner: PublicKey,
        /// Who pays for its packets (default: the owner).
        #[arg(long)]
        payer: Option<PublicKey>,
        /// A DevAddr range, `START-END` in hex (repeat, up to 4).
        #[arg(long = "devaddr", value_parser = parse_range)]
        devaddrs: Vec<(u32, u32)>,
    },
    /// Enable or disable an org and set its DevAddr ranges (the admin signs).
    SetOrg {
        #[arg(long)]
        admin: PathBuf,
        #[arg(long)]
        oui: u64,
        /// Disable it: its routes buy nothing.
        #[arg(long)]
        disabled: bool,
        /// Its DevAddr ranges from now on (repeat); without any it keeps those it has.
        #[arg(long = "devaddr", value_parser = parse_range)]
        devaddrs: Vec<(u32, u32)>,
    },
    /// Create or change a route from a JSON file (`id`, `oui`, `max_copies`, `dev_addrs`,
    /// `euis`, `lns`, `active`, as in the routes file); its org's owner signs and pays. Session
    /// keys are never put on chain.
    SetRoute {
        #[arg(long)]
        owner: PathBuf,
        #[arg(long)]
        route: PathBuf,
    },
    /// Remove a route (its org's owner signs; the rent comes back).
    RemoveRoute {
        #[arg(long)]
        owner: PathBuf,
        #[arg(long)]
        oui: u64,
        #[arg(long)]
        id: u64,
    },
    /// Print the routing table on chain (orgs and routes, as the router reads it) as JSON.
    Routes,
    /// Burn reward tokens for an org's data credits (the buyer signs and pays: anyone may top
    /// up any org), at the deployment's price.
    BuyCredits {
        /// The buyer's key file (its associated token account is burned from).
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        oui: u64,
        /// Token base units to burn (10^6 a token).
        #[arg(long)]
        amount: u64,
    },
    /// Print every org's data credits as JSON: balance, bought, tokens burned, charges settled
    /// and any charged beyond the balance.
    Credits,
    /// Submit a closed epoch from the oracle's database with its signature and others'.
    Submit {
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        /// The epoch (default: the newest closed).
        #[arg(long)]
        epoch: Option<u64>,
        /// Another oracle's signature over the same epoch: `ORACLE_KEY:SIGNATURE` (base58).
        #[arg(long = "signature")]
        signatures: Vec<String>,
    },
    /// Claim for every hotspot of the newest closed epoch with unclaimed rewards (the payer
    /// pays the fees; tokens go to each registered owner).
    Claim {
        #[arg(long, env = "ORACLE_CONFIG")]
        config: Option<PathBuf>,
        #[arg(long)]
        epoch: Option<u64>,
    },
    /// Print the configuration, or one hotspot with its ledger and owner balance, as JSON.
    Show {
        #[arg(long)]
        hotspot: Option<PublicKey>,
    },
}

/// Where a hotspot stands and its antenna (onboard, assert).
#[derive(clap::Args, Debug)]
pub struct Site {
    /// H3 resolution-12 cell (hex). The chain keeps its resolution-8 parent and a commitment;
    /// the hotspot's reports reveal it to the oracles.
    #[arg(long)]
    location: CellIndex,
    /// Antenna gain, dBi x 10.
    #[arg(long, default_value_t = 30)]
    gain_ddbi: i32,
    /// Antenna height above ground, metres.
    #[arg(long, default_value_t = 0)]
    elevation_m: i32,
}

impl Site {
    /// The location as the chain keeps it, for the hotspot whose key file is `hotspot_key`.
    fn placed(&self, hotspot_key: &std::path::Path) -> anyhow::Result<instructions::Location> {
        let h = Keypair::read_file(hotspot_key)
            .with_context(|| format!("reading the keypair {}", hotspot_key.display()))?;
        instructions::Location::of(&h, self.location)
            .with_context(|| format!("{} is not a resolution-12 cell", self.location))
    }
}

fn key(path: &std::path::Path) -> anyhow::Result<hexproof_client::Keypair> {
    Ok(solana_keypair(&Keypair::read_file(path).with_context(
        || format!("reading the keypair {}", path.display()),
    )?))
}

fn parse_range(s: &str) -> anyhow::Result<(u32, u32)> {
    let (a, b) = s
        .split_once('-')
        .context("a DevAddr range is START-END in hex, e.g. 48000000-48ffffff")?;
    let hex = |x: &str| {
        u32::from_str_radix(x.trim_start_matches("0x"), 16)
            .with_context(|| format!("not a hex DevAddr: {x}"))
    };
    let (start, end) = (hex(a)?, hex(b)?);
    anyhow::ensure!(start <= end, "the range {s} ends before it starts");
    Ok((start, end))
}

fn parse_signature(s: &str) -> anyhow::Result<(PublicKey, [u8; 64])> {
    let (k, sig) = s
        .split_once(':')
        .context("a signature is ORACLE_KEY:SIGNATURE")?;
    let bytes = bs58::decode(sig)
        .into_vec()
        .with_context(|| format!("not base58: {sig}"))?;
    let sig: [u8; 64] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("a signature is 64 bytes"))?;
    Ok((k.parse()?, sig))
}

async fn closed(config: &Config, which: Option<u64>) -> anyhow::Result<ClosedEpoch> {
    let store = Store::connect(&config.database).await?;
    super::closed_epoch(&store, which).await
}

fn payer(config: &Config) -> anyhow::Result<hexproof_client::Keypair> {
    key(config.chain.payer.as_ref().unwrap_or(&config.key))
}

pub async fn run(rpc_url: &str, priority_fee: u64, command: ChainCommand) -> anyhow::Result<()> {
    let chain = Chain::rpc(rpc_url).with_priority_fee(priority_fee);
    match command {
        ChainCommand::Init {
            admin,
            oracles,
            threshold,
            change_delay_secs,
            mint_window_limit,
            onboarding_fee,
            config,
        } => {
            let config = Config::load(config.as_deref())?;
            let mut args = chain::init_args(
                &oracles,
                threshold,
                &config.rewards,
                &config.clock,
                &config.validation,
            );
            args.change_delay_secs = change_delay_secs;
            args.onboarding_fee = onboarding_fee;
            if let Some(limit) = mint_window_limit {
                args.mint_window_limit = limit;
            }
            let chosen = args.deployment == [0; 32];
            if chosen {
                // A value of this deployment's own: no other cluster accepts its epochs.
                args.deployment = rand::random();
            }
            chain::initialize(&chain, &key(&admin)?, args.clone()).await?;
            println!("initialized: config {}", hexproof_client::pda::config());
            if chosen {
                println!(
                    "deployment {}: set [rewards] deployment = \"{}\" in every oracle's config",
                    hex::encode(args.deployment),
                    hex::encode(args.deployment)
                );
            }
        }
        ChainCommand::ProposeOracles {
            admin,
            oracles,
            threshold,
        } => {
            let a = key(&admin)?;
            let ix = instructions::propose_oracles(
                &a.pubkey(),
                oracles.iter().map(pubkey).collect(),
                threshold,
            );
            println!("{}", chain.send(&[ix], &a, &[]).await?);
        }
        ChainCommand::ApproveOracles {
            key: path,
            oracles,
            threshold,
        } => {
            let c = read::config(&chain)
                .await?
                .context("the program is not initialized")?;
            anyhow::ensure!(!c.pending_oracles.is_empty(), "no oracle set is pending");
            let proposed: Vec<String> = c.pending_oracles.iter().map(|k| k.to_string()).collect();
            eprintln!(
                "pending: oracles {proposed:?}, threshold {}, applicable from {} (lapses a week later)",
                c.pending_threshold, c.pending_oracles_at
            );
            let expected: Vec<hexproof_client::Pubkey> = oracles.iter().map(pubkey).collect();
            anyhow::ensure!(
                c.pending_oracles == expected && c.pending_threshold == threshold,
                "the pending proposal is not the set and threshold you expect: not signed"
            );
            let k = Keypair::read_file(&path)?;
            anyhow::ensure!(
                c.oracles.contains(&pubkey(&k.public())),
                "{} is not a member of the current set: its approval would not count",
                k.public()
            );
            let message = instructions::oracle_set_approval(&c);
            let signature = k.sign(&message);
            println!("{}:{}", k.public(), bs58::encode(signature).into_string());
        }
        ChainCommand::ApplyOracles { payer, approvals } => {
            let p = key(&payer)?;
            let c = read::config(&chain)
                .await?
                .context("the program is not initialized")?;
            let approvals = approvals
                .iter()
                .map(|s| parse_signature(s).map(|(k, sig)| (pubkey(&k), sig)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let message = instructions::oracle_set_approval(&c);
            let ixs = instructions::apply_oracles(&message, &approvals);
            println!("{}", chain.send(&ixs, &p, &[]).await?);
        }
        ChainCommand::ProposeAdmin { admin, new_admin } => {
            let a = key(&admin)?;
            let ix = instructions::propose_admin(&a.pubkey(), &pubkey(&new_admin));
            println!("{}", chain.send(&[ix], &a, &[]).await?);
        }
        ChainCommand::AcceptAdmin { new_admin } => {
            let n = key(&new_admin)?;
            let ix = instructions::accept_admin(&n.pubkey());
            println!("{}", chain.send(&[ix], &n, &[]).await?);
        }
        ChainCommand::Onboard {
            hotspot_key,
            owner,
            site,
        } => {
            let (h, o) = (key(&hotspot_key)?, key(&owner)?);
            let ix = instructions::onboard_hotspot(
                &h.pubkey(),
                &o.pubkey(),
                site.placed(&hotspot_key)?,
                site.gain_ddbi,
                site.elevation_m,
            );
            println!("{}", chain.send(&[ix], &o, &[&h]).await?);
        }
        ChainCommand::Assert {
            owner,
            hotspot_key,
            site,
        } => {
            let o = key(&owner)?;
            let ix = instructions::assert_location(
                &o.pubkey(),
                &key(&hotspot_key)?.pubkey(),
                site.placed(&hotspot_key)?,
                site.gain_ddbi,
                site.elevation_m,
            );
            println!("{}", chain.send(&[ix], &o, &[]).await?);
        }
        ChainCommand::Transfer { owner, hotspot, to } => {
            let o = key(&owner)?;
            let ix = instructions::transfer_hotspot(&o.pubkey(), &pubkey(&hotspot), &pubkey(&to));
            println!("{}", chain.send(&[ix], &o, &[]).await?);
        }
        ChainCommand::AcceptTransfer { new_owner, hotspot } => {
            let n = key(&new_owner)?;
            let ix = instructions::accept_hotspot(&n.pubkey(), &pubkey(&hotspot));
            println!("{}", chain.send(&[ix], &n, &[]).await?);
        }
        ChainCommand::Decommission { owner, hotspot } => {
            let o = key(&owner)?;
            let ix = instructions::decommission_hotspot(&o.pubkey(), &pubkey(&hotspot));
            println!("{}", chain.send(&[ix], &o, &[]).await?);
        }
        ChainCommand::Submit {
            config,
            epoch,
            signatures,
        } => {
            let config = Config::load(config.as_deref())?;
            let e = closed(&config, epoch).await?;
            let others = signatures
                .iter()
                .map(|s| parse_signature(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let sig = chain::submit_epoch(&chain, &payer(&config)?, &e, &others).await?;
            println!("epoch {} submitted: {sig}", e.epoch);
        }
        ChainCommand::Claim { config, epoch } => {
            let config = Config::load(config.as_deref())?;
            let e = closed(&config, epoch).await?;
            let done = chain::claim_all(&chain, &payer(&config)?, &e).await?;
            println!("{}", serde_json::to_string(&done)?);
        }
        ChainCommand::CreateOrg {
            admin,
            oui,
            owner,
            payer,
            devaddrs,
        } => {
            let a = key(&admin)?;
            chain::create_org(&chain, &a, oui, &owner, &payer.unwrap_or(owner), &devaddrs).await?;
            println!("org {oui}: {}", hexproof_client::pda::org(oui));
        }
        ChainCommand::SetOrg {
            admin,
            oui,
            disabled,
            devaddrs,
        } => {
            let a = key(&admin)?;
            let ranges = if devaddrs.is_empty() {
                // Without --devaddr the org keeps its ranges.
                chain
                    .program_account::<hexproof_client::Org>(&hexproof_client::pda::org(oui))
                    .await?
                    .with_context(|| format!("org {oui} does not exist"))?
                    .dev_addrs
            } else {
                devaddrs
                    .iter()
                    .map(|&(start, end)| hexproof_client::DevAddrRange { start, end })
                    .collect()
            };
            let ix = instructions::set_org(&a.pubkey(), oui, !disabled, ranges);
            println!("{}", chain.send(&[ix], &a, &[]).await?);
        }
        ChainCommand::SetRoute { owner, route } => {
            let o = key(&owner)?;
            let text = std::fs::read_to_string(&route)
                .with_context(|| format!("reading {}", route.display()))?;
            let r: hexproof_poc::packets::Route = serde_json::from_str(&text)
                .with_context(|| format!("a route in {}", route.display()))?;
            chain::set_route(&chain, &o, &r).await?;
            println!("route {}: {}", r.id, hexproof_client::pda::route(r.id));
        }
        ChainCommand::RemoveRoute { owner, oui, id } => {
            let o = key(&owner)?;
            let ix = instructions::remove_route(&o.pubkey(), oui, id);
            println!("{}", chain.send(&[ix], &o, &[]).await?);
        }
        ChainCommand::Routes => {
            let table = oracle::router::chain_table::read(&chain, &Default::default()).await?;
            let file = oracle::router::RoutesFile {
                orgs: table.orgs().values().cloned().collect(),
                routes: table.routes().to_vec(),
            };
            println!("{}", serde_json::to_string_pretty(&file)?);
        }
        ChainCommand::BuyCredits {
            key: file,
            oui,
            amount,
        } => {
            let buyer = key(&file)?;
            let balance = chain::buy_credits(&chain, &buyer, oui, amount).await?;
            println!("org {oui}: {balance} data credits");
        }
        ChainCommand::Credits => {
            let mut orgs = read::orgs(&chain).await?;
            orgs.sort_by_key(|o| o.oui);
            let json: Vec<_> = orgs
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "oui": o.oui,
                        "enabled": o.enabled,
                        "dc_balance": o.dc_balance,
                        "dc_bought": o.dc_bought,
                        "tokens_burned": o.tokens_burned,
                        "dc_settled": o.dc_settled,
                        "dc_unpaid": o.dc_unpaid,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        ChainCommand::Show { hotspot } => match hotspot {
            None => {
                let c = read::config(&chain)
                    .await?
                    .context("the program is not initialized")?;
                let keys = |v: &[hexproof_client::Pubkey]| {
                    v.iter().map(ToString::to_string).collect::<Vec<_>>()
                };
                let json = serde_json::json!({
                    "admin": c.admin.to_string(),
                    "pending_admin": c.pending_admin.to_string(),
                    "pending_admin_at": c.pending_admin_at,
                    "oracles": keys(&c.oracles),
                    "threshold": c.threshold,
                    "pending_oracles": keys(&c.pending_oracles),
                    "pending_threshold": c.pending_threshold,
                    "pending_oracles_at": c.pending_oracles_at,
                    "change_delay_secs": c.change_delay_secs,
                    "mint": c.mint.to_string(),
                    "deployment": hex::encode(c.deployment),
                    "genesis_ts": c.genesis_ts,
                    "epoch_secs": c.epoch_secs,
                    "epoch": c.epoch,
                    "root": hex::encode(c.root),
                    "lifetime_total": c.lifetime_total,
                    "minted": c.minted,
                    "dc_per_token": c.dc_per_token,
                    "mint_window": {"window_secs": c.breaker.window_secs, "limit": c.breaker.limit},
                    "paused": c.paused,
                });
                println!("{json:#}");
            }
            Some(h) => {
                let key = pubkey(&h);
                // A decommissioned key has no record but keeps its ledger: who claims pay and
                // what was paid.
                let ledger = read::ledger(&chain, &key)
                    .await?
                    .context("hotspot never onboarded")?;
                let mut json = serde_json::json!({
                    "hotspot": h.to_string(),
                    "registered": false,
                    "owner": ledger.owner.to_string(),
                    "claimed": ledger.claimed,
                    "overpaid": ledger.excess,
                    "owner_balance": read::token_balance(&chain, &ledger.owner).await?,
                });
                if let Some(r) = read::hotspot(&chain, &key).await? {
                    json["registered"] = true.into();
                    json["location"] = format!("{:x}", r.location).into();
                    json["location_commitment"] = hex::encode(r.location_commitment).into();
                    json["gain_ddbi"] = r.gain_ddbi.into();
                    json["elevation_m"] = r.elevation_m.into();
                    json["asserted_at_slot"] = r.asserted_at_slot.into();
                    if r.pending_owner != hexproof_client::Pubkey::default() {
                        json["offered_to"] = r.pending_owner.to_string().into();
                        json["offer_until"] = r.pending_owner_until.into();
                    }
                }
                println!("{json:#}");
            }
        },
    }
    Ok(())
}

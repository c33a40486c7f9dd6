//! The settings of the recorded net-25 reports (`fixtures/reports/net-25.jsonl`) and their
//! golden epoch 1: one definition for every test that replays them.

use hexproof_poc::{
    Limits,
    rewards::{DeploymentId, RewardConfig},
};

/// When the recording starts, and a second, in ns.
pub const T0: u64 = 1_800_000_000_000_000_000;
pub const SEC: u64 = 1_000_000_000;

/// Hour-long epochs, epoch 1 starting just before the recording, closed without delay.
pub fn rewards() -> RewardConfig {
    RewardConfig {
        epoch_secs: 3_600,
        genesis_ns: T0 - 10 * SEC,
        close_delay_secs: 0,
        initial_emission: 1_000_000_000,
        deployment: DeploymentId([0x60; 32]),
        ..RewardConfig::default()
    }
}

/// The hotspots were asserted at time 0: no minimum age.
pub fn limits() -> Limits {
    Limits {
        location_min_age_secs: 0,
        ..Limits::default()
    }
}

/// Writes `dir/oracle.toml` for commands that replay the recording: the network's first oracle
/// key (written to `dir/oracle-key.json`), `database`, the network's registry file, the golden
/// reward settings. Returns the config's path.
pub fn write_oracle_config(
    dir: &std::path::Path,
    network_file: &std::path::Path,
    database: &str,
) -> std::path::PathBuf {
    let network = hexproof_fixtures::Network::load(network_file).unwrap();
    let key = dir.join("oracle-key.json");
    network.oracles[0]
        .keypair()
        .unwrap()
        .write_new_file(&key)
        .unwrap();
    let config = oracle::config::Config {
        key,
        database: database.to_string(),
        registry_file: hexproof_fixtures::network::registry_path(network_file),
        rewards: rewards(),
        ..Default::default()
    };
    let path = dir.join("oracle.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    path
}

/// The program in an embedded Solana runtime, deployed and initialized (a set of one, the
/// golden reward settings) by the net-25 network's first oracle key, which is funded to pay
/// for the chain duty. Returns the chain and that key.
pub async fn deployed() -> (hexproof_client::Chain, hexproof_proto::Keypair) {
    use hexproof_client::Signer;
    let network = hexproof_fixtures::network("net-25").unwrap();
    let oracle_key = network.oracles[0].keypair().unwrap();
    let payer = oracle::chain::solana_keypair(&oracle_key);
    let chain = hexproof_client::Chain::embedded(&payer.pubkey()).await;
    chain.fund(&payer.pubkey(), 10_000_000_000).await.unwrap();
    let args = oracle::chain::init_args(
        &[oracle_key.public()],
        1,
        &rewards(),
        &oracle::config::ClockConfig::default(),
        &limits(),
    );
    oracle::chain::initialize(&chain, &payer, args)
        .await
        .unwrap();
    (chain, oracle_key)
}

/// A member's view from scratch: `lines` judged with `registry` into a fresh SQLite database
/// (kept in the returned directory), and every epoch ready at the end of epoch 1 closed with
/// `key`.
pub async fn judge_and_close(
    lines: &[oracle::audit::Line],
    registry: std::sync::Arc<dyn oracle::registry::Registry>,
    key: &hexproof_proto::Keypair,
) -> (
    Vec<hexproof_poc::rewards::epoch::ClosedEpoch>,
    oracle::store::Store,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        oracle::store::Store::connect(&format!("sqlite://{}", dir.path().join("m.db").display()))
            .await
            .unwrap();
    oracle::audit::judge_into(&store, lines, registry.clone(), limits(), &[])
        .await
        .unwrap();
    let closed =
        oracle::epochs::close_ready(&store, registry.as_ref(), &rewards(), key, T0 + 3_600 * SEC)
            .await
            .unwrap();
    (closed, store, dir)
}

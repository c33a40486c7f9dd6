//! The epoch and rewards commands of the `oracle` binary, on the golden recorded reports:
//! `epoch close`, `epoch show`, `rewards replay`, `rewards proof`.

mod common;

use std::{process::Command, sync::Arc};

use hexproof_commitment::{leaf, verify_proof};
use hexproof_fixtures::fixtures_dir;
use hexproof_poc::Limits;
use oracle::{audit, registry::StaticRegistry, store::Store};

const T0: u64 = 1_800_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

fn oracle(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oracle"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epoch_and_rewards_commands() {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("oracle.db").display());
    let store = Store::connect(&database).await.unwrap();
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    let registry = Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    audit::judge_into(
        &store,
        &lines,
        registry,
        Limits {
            location_min_age_secs: 0,
            ..Limits::default()
        },
        &[],
    )
    .await
    .unwrap();
    drop(store);

    let config = common::golden::write_oracle_config(
        dir.path(),
        &fixtures_dir().join("networks/net-25.json"),
        &database,
    );
    let config = config.to_str().unwrap();
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("golden/net-25-epoch-1.json")).unwrap(),
    )
    .unwrap();

    // Nothing is ready before the epoch ends.
    let (ok, out, err) = oracle(&[
        "epoch",
        "close",
        "--config",
        config,
        "--at-ns",
        &(T0 + 60 * SEC).to_string(),
    ]);
    assert!(
        ok && out.is_empty() && err.contains("no epoch is ready"),
        "{out}{err}"
    );

    let (ok, out, err) = oracle(&[
        "epoch",
        "close",
        "--config",
        config,
        "--at-ns",
        &(T0 + 3_600 * SEC).to_string(),
        "--json",
    ]);
    assert!(ok, "{err}");
    let closed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(closed["merkle_root"], golden["merkle_root"]);
    assert_eq!(closed["paid"], golden["paid"]);

    let (ok, out, err) = oracle(&["epoch", "show", "1", "--config", config]);
    assert!(ok, "{err}");
    assert!(
        out.contains(golden["merkle_root"].as_str().unwrap())
            && out.contains("emission 1000000000"),
        "{out}"
    );

    let (ok, out, err) = oracle(&["rewards", "replay", "--epoch", "1", "--config", config]);
    assert!(ok && out.contains("MATCH"), "{out}{err}");

    let hotspot = golden["rewards"][3]["hotspot"].as_str().unwrap();
    let lifetime = golden["rewards"][3]["lifetime"].as_u64().unwrap();
    let (ok, out, err) = oracle(&[
        "rewards",
        "proof",
        "--epoch",
        "1",
        "--hotspot",
        hotspot,
        "--config",
        config,
        "--json",
    ]);
    assert!(ok, "{err}");
    let proof: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(proof["lifetime_amount"], lifetime);
    let root: [u8; 32] = hex::decode(proof["merkle_root"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let siblings: Vec<[u8; 32]> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let key: hexproof_proto::PublicKey = hotspot.parse().unwrap();
    assert!(verify_proof(
        &root,
        &leaf(key.as_bytes(), lifetime),
        &siblings
    ));

    let (ok, _, err) = oracle(&["epoch", "show", "2", "--config", config]);
    assert!(!ok && err.contains("epoch 2 is not closed"), "{err}");
    let (ok, _, err) = oracle(&[
        "rewards",
        "proof",
        "--epoch",
        "1",
        "--hotspot",
        "11111111111111111111111111111111",
        "--config",
        config,
    ]);
    assert!(!ok && err.contains("has no reward"), "{err}");
}

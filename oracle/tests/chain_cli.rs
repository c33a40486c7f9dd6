//! `oracle chain …` end to end through JSON-RPC: the real `solana-rpc-client` inside the
//! oracle binary talks to a small JSON-RPC front (this file) of the embedded bank — the real
//! runtime with SPL Token and the program; no Solana validator can be installed here. The
//! front answers the calls the client makes (getLatestBlockhash, sendTransaction,
//! getSignatureStatuses, isBlockhashValid, getAccountInfo, getProgramAccounts, getSlot,
//! requestAirdrop, getVersion) from the bank.
#![allow(deprecated)] // solana-program-test's API

mod common;

use std::{
    collections::BTreeSet,
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
};

use anchor_lang::prelude::Pubkey;
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hexproof_client::Signer;
use hexproof_fixtures::fixtures_dir;
use hexproof_poc::Limits;
use oracle::{audit, config::Config, epochs, registry::StaticRegistry, store::Store};
use serde_json::{Value, json};
use solana_program_test::ProgramTestContext;
use solana_transaction::Transaction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T0: u64 = 1_800_000_000_000_000_000;
const SEC: u64 = 1_000_000_000;

struct Bank {
    ctx: tokio::sync::Mutex<ProgramTestContext>,
    /// Accounts any processed transaction named: what getProgramAccounts scans.
    seen: Mutex<BTreeSet<Pubkey>>,
}

fn account_json(a: &solana_account::Account) -> Value {
    json!({
        "lamports": a.lamports,
        "data": [B64.encode(&a.data), "base64"],
        "owner": a.owner.to_string(),
        "executable": a.executable,
        "rentEpoch": 0,
        "space": a.data.len(),
    })
}

impl Bank {
    async fn process(&self, tx: Transaction) -> Result<String, String> {
        let signature = tx.signatures[0].to_string();
        {
            let mut seen = self.seen.lock().unwrap();
            seen.extend(tx.message.account_keys.iter().copied());
        }
        let ctx = self.ctx.lock().await;
        ctx.banks_client
            .process_transaction(tx)
            .await
            .map(|()| signature)
            .map_err(|e| e.to_string())
    }

    async fn call(&self, method: &str, params: &Value) -> Result<Value, String> {
        let slot = self
            .ctx
            .lock()
            .await
            .banks_client
            .get_root_slot()
            .await
            .map_err(|e| e.to_string())?;
        let with_context = |value: Value| json!({ "context": { "slot": slot }, "value": value });
        let key = |i: usize| -> Result<Pubkey, String> {
            params[i]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("{method}: bad pubkey"))
        };
        match method {
            "getVersion" => Ok(json!({ "solana-core": "3.1.12", "feature-set": 0 })),
            "getSlot" => Ok(json!(slot)),
            "getLatestBlockhash" => {
                let hash = self
                    .ctx
                    .lock()
                    .await
                    .banks_client
                    .get_latest_blockhash()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(with_context(
                    json!({ "blockhash": hash.to_string(), "lastValidBlockHeight": slot + 150 }),
                ))
            }
            "isBlockhashValid" => Ok(with_context(json!(true))),
            "sendTransaction" => {
                let bytes = B64
                    .decode(
                        params[0]
                            .as_str()
                            .ok_or("sendTransaction: no transaction")?,
                    )
                    .map_err(|e| e.to_string())?;
                let tx: Transaction = bincode::deserialize(&bytes).map_err(|e| e.to_string())?;
                self.process(tx).await.map(Value::from)
            }
            // Transactions are processed synchronously: a signature we returned is final.
            "getSignatureStatuses" => {
                let n = params[0].as_array().map_or(0, Vec::len);
                let status = json!({ "slot": slot, "confirmations": null, "err": null,
                    "status": { "Ok": null }, "confirmationStatus": "finalized" });
                Ok(with_context(json!(vec![status; n])))
            }
            "getAccountInfo" => {
                let account = self
                    .ctx
                    .lock()
                    .await
                    .banks_client
                    .get_account(key(0)?)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(with_context(
                    account.as_ref().map_or(Value::Null, account_json),
                ))
            }
            "getProgramAccounts" => {
                let program = key(0)?;
                let memcmp = &params[1]["filters"][0]["memcmp"];
                let bytes = memcmp["bytes"].as_str().unwrap_or("");
                let prefix: Vec<u8> = if memcmp["encoding"] == "base64" {
                    B64.decode(bytes).map_err(|e| e.to_string())?
                } else {
                    bs58::decode(bytes).into_vec().map_err(|e| e.to_string())?
                };
                let keys: Vec<Pubkey> = self.seen.lock().unwrap().iter().copied().collect();
                let ctx = self.ctx.lock().await;
                let mut out = Vec::new();
                for k in keys {
                    let account = ctx
                        .banks_client
                        .get_account(k)
                        .await
                        .map_err(|e| e.to_string())?;
                    if let Some(a) =
                        account.filter(|a| a.owner == program && a.data.starts_with(&prefix))
                    {
                        out.push(json!({ "pubkey": k.to_string(), "account": account_json(&a) }));
                    }
                }
                Ok(json!(out))
            }
            "requestAirdrop" => {
                let to = key(0)?;
                let lamports = params[1].as_u64().ok_or("requestAirdrop: no amount")?;
                let tx = {
                    let ctx = self.ctx.lock().await;
                    let hash = ctx
                        .banks_client
                        .get_latest_blockhash()
                        .await
                        .map_err(|e| e.to_string())?;
                    Transaction::new_signed_with_payer(
                        &[anchor_lang::solana_program::system_instruction::transfer(
                            &ctx.payer.pubkey(),
                            &to,
                            lamports,
                        )],
                        Some(&ctx.payer.pubkey()),
                        &[&ctx.payer],
                        hash,
                    )
                };
                self.process(tx).await.map(Value::from)
            }
            other => Err(format!("method {other} is not served by this test front")),
        }
    }
}

/// Serves JSON-RPC over HTTP/1.1 (one request per connection is enough for reqwest, which
/// reuses connections: the loop keeps reading requests until the peer closes).
async fn serve(bank: Arc<Bank>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let bank = bank.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            loop {
                // Headers.
                let header_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    let mut chunk = [0u8; 8192];
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < header_end + length {
                    let mut chunk = [0u8; 8192];
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body: Value = serde_json::from_slice(&buf[header_end..header_end + length])
                    .unwrap_or(Value::Null);
                buf.drain(..header_end + length);
                let reply = match bank
                    .call(body["method"].as_str().unwrap_or(""), &body["params"])
                    .await
                {
                    Ok(result) => json!({ "jsonrpc": "2.0", "id": body["id"], "result": result }),
                    Err(message) => json!({ "jsonrpc": "2.0", "id": body["id"],
                        "error": { "code": -32002, "message": message } }),
                };
                let text = reply.to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                    text.len()
                );
                if socket.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn oracle(rpc: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_oracle"))
        .args(["chain", "--rpc-url", rpc])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "oracle chain {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_commands_work_over_json_rpc() {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let oracle_key = network.oracles[0].keypair().unwrap();
    // The oracle's key deployed the program: the upgrade authority, which may initialize it.
    let authority = oracle::chain::solana_keypair(&oracle_key).pubkey();
    let ctx = hexproof_client::chain::program_test(&authority)
        .start_with_context()
        .await;
    let bank = Arc::new(Bank {
        ctx: tokio::sync::Mutex::new(ctx),
        seen: Mutex::new(BTreeSet::new()),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rpc = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(bank.clone(), listener));

    let dir = tempfile::tempdir().unwrap();
    let config = common::golden::write_oracle_config(
        dir.path(),
        &fixtures_dir().join("networks/net-25.json"),
        &format!("sqlite://{}", dir.path().join("oracle.db").display()),
    );
    // A fresh deployment: no value chosen yet (`chain init` draws one).
    let mut unset = Config::load(Some(&config)).unwrap();
    unset.rewards.deployment = Default::default();
    std::fs::write(&config, toml::to_string(&unset).unwrap()).unwrap();
    let config = config.to_str().unwrap();
    bank.call(
        "requestAirdrop",
        &json!([
            oracle::chain::pubkey(&oracle_key.public()).to_string(),
            10_000_000_000u64
        ]),
    )
    .await
    .unwrap();
    let key_file = dir.path().join("oracle-key.json");
    let key_file = key_file.to_str().unwrap();

    let blocking = |args: Vec<String>| {
        let rpc = rpc.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            oracle(&rpc, &args)
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    // init (the oracle key is admin and the one oracle), then the fixture network.
    let out = blocking(s(&[
        "init",
        "--admin",
        key_file,
        "--oracle",
        &oracle_key.public().to_string(),
        "--threshold",
        "1",
        "--config",
        config,
    ]))
    .await
    .unwrap();
    assert!(out.contains("initialized"), "{out}");
    // The config left the deployment unset: `init` drew one, and every oracle is told to use it.
    let drawn = out
        .split_whitespace()
        .skip_while(|w| *w != "deployment")
        .nth(1)
        .unwrap_or_else(|| panic!("no deployment printed: {out}"));
    let mut c = Config::load(Some(Path::new(config))).unwrap();
    assert_eq!(c.rewards.deployment.0, [0; 32], "the config had none");
    c.rewards.deployment = drawn.trim_end_matches(':').parse().unwrap();
    assert_ne!(c.rewards.deployment.0, [0; 32]);
    std::fs::write(config, toml::to_string(&c).unwrap()).unwrap();
    // The fixture network's owners onboard their hotspots (their test keys sign).
    let chain = hexproof_client::Chain::rpc(&rpc);
    let added = hexproof_demo::chain::onboard_network(&chain, &network, 1_000_000_000)
        .await
        .unwrap();
    assert_eq!(added, 25);
    let shown: Value = serde_json::from_str(&blocking(s(&["show"])).await.unwrap()).unwrap();
    assert_eq!(shown["threshold"], 1);
    assert_eq!(shown["oracles"][0], oracle_key.public().to_string());

    // The oracle's database: the recorded reports judged, epoch 1 closed.
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("oracle.db").display()
    ))
    .await
    .unwrap();
    let registry = Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    let limits = Limits {
        location_min_age_secs: 0,
        ..Limits::default()
    };
    audit::judge_into(&store, &lines, registry.clone(), limits, &[])
        .await
        .unwrap();
    let rewards = Config::load(Some(Path::new(config))).unwrap().rewards;
    let closed = epochs::close_ready(
        &store,
        registry.as_ref(),
        &rewards,
        &oracle_key,
        T0 + 3_600 * SEC,
    )
    .await
    .unwrap();
    let e = &closed[0];

    // The cluster's clock passes the end of epoch 1 (the recording's time).
    {
        let ctx = bank.ctx.lock().await;
        let mut clock: anchor_lang::prelude::Clock = ctx.banks_client.get_sysvar().await.unwrap();
        clock.unix_timestamp = ((T0 + 3_600 * SEC) / SEC) as i64;
        ctx.set_sysvar(&clock);
    }

    // submit, then claim for every owner, then read a hotspot back.
    let out = blocking(s(&["submit", "--config", config])).await.unwrap();
    assert!(out.contains("epoch 1 submitted"), "{out}");
    let shown: Value = serde_json::from_str(&blocking(s(&["show"])).await.unwrap()).unwrap();
    assert_eq!(shown["epoch"], 1);
    assert_eq!(shown["root"], hex::encode(e.root));
    let claims: Value = serde_json::from_str(
        blocking(s(&["claim", "--config", config]))
            .await
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(claims["claims"], e.rows.len());
    assert_eq!(claims["minted"], e.paid);
    let row = &e.rows[0];
    let hotspot: Value = serde_json::from_str(
        &blocking(s(&["show", "--hotspot", &row.hotspot.to_string()]))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(hotspot["claimed"], row.lifetime);
    assert_eq!(
        hotspot["owner"],
        network.hotspot(&row.hotspot).unwrap().owner.to_string()
    );
    // The same epoch again is refused by the program, with a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_oracle"))
        .args(["chain", "--rpc-url", &rpc, "submit", "--config", config])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

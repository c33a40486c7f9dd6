//! The explorer over the recorded net-25 reports (judged, epoch 1 closed): every gRPC call
//! through a tonic client, with its error cases; a standard gRPC client nobody here wrote
//! (Python grpc-requests, through server reflection); and the web map in headless Chromium.
//!
//! The Python and Chromium parts need what `scripts/test` installs: a virtualenv with
//! grpc-requests (`HEXPROOF_PYTHON`, default `~/.cache/hexproof-venv/bin/python`), Debian's
//! chromium and `npm ci` in `oracle/web/tests`.

mod common;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use common::golden::{SEC, T0, limits, rewards};

use hexproof_fixtures::fixtures_dir;
use hexproof_poc::{Kind, Status, rewards::epoch};
use hexproof_proto::v1::{self, explorer_client::ExplorerClient};
use oracle::{
    audit, epochs,
    explorer::{Explorer, ExplorerConfig, grpc, web},
    registry::{Registry, StaticRegistry},
    store::Store,
};
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};

struct Served {
    store: Store,
    explorer: Arc<Explorer>,
    network: hexproof_fixtures::Network,
    grpc: u16,
    http: u16,
    closed: epoch::ClosedEpoch,
    _dir: tempfile::TempDir,
    _stop: tokio_util::sync::DropGuard,
}

/// Judges the recorded reports, closes epoch 1, serves the explorer on free ports.
async fn serve() -> Served {
    serve_with(ExplorerConfig::default()).await
}

/// [`serve`] with the limits of `config` (its addresses are not used).
async fn serve_with(explorer_config: ExplorerConfig) -> Served {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let registry: Arc<dyn Registry> =
        Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("x.db").display()))
        .await
        .unwrap();
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    audit::judge_into(&store, &lines, registry.clone(), limits(), &[])
        .await
        .unwrap();
    let config = rewards();
    let key = network.oracles[0].keypair().unwrap();
    let closed = epochs::close_ready(&store, registry.as_ref(), &config, &key, T0 + 3_600 * SEC)
        .await
        .unwrap()
        .remove(0);
    let stop = CancellationToken::new();
    let (explorer, verdicts) =
        Explorer::load_with(store.clone(), registry, explorer_config, stop.clone())
            .await
            .unwrap();
    tokio::spawn(explorer.clone().follow(verdicts, stop.clone()));
    let g = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let h = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (grpc_port, http_port) = (
        g.local_addr().unwrap().port(),
        h.local_addr().unwrap().port(),
    );
    tokio::spawn(grpc::serve(explorer.clone(), g, stop.clone()));
    tokio::spawn(web::serve(explorer.clone(), h, stop.clone()));
    Served {
        store,
        explorer,
        network,
        grpc: grpc_port,
        http: http_port,
        closed,
        _dir: dir,
        _stop: stop.drop_guard(),
    }
}

async fn client(port: u16) -> ExplorerClient<Channel> {
    ExplorerClient::connect(format!("http://127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// A channel to the explorer on `port` whose connections come from the loopback address
/// `from` (another client to the explorer).
async fn channel_from(from: [u8; 4], port: u16) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| async move {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(std::net::SocketAddr::from((from, 0)))?;
            let tcp = socket
                .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                .await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tcp))
        }))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_from_the_stored_verdicts() {
    let s = serve().await;
    let mut c = client(s.grpc).await;
    let judged = s.store.judged_reports().await.unwrap();
    let some = &s.network.hotspots[3];
    let key = some.key.pubkey.to_string();

    // GetHotspot: the registry's record and the lifetime reward of epoch 1.
    let h = c
        .get_hotspot(v1::GetHotspotRequest {
            pubkey: key.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(h.owner, some.owner.to_string());
    // The location at the public resolution (8), never the exact cell.
    let exact: h3o::CellIndex = some.asserted_location.parse().unwrap();
    assert_eq!(
        h.location,
        exact.parent(h3o::Resolution::Eight).unwrap().to_string()
    );
    let row = s.closed.rows.iter().find(|r| r.hotspot == some.key.pubkey);
    assert_eq!(h.lifetime_reward, row.map_or(0, |r| r.lifetime));

    // ListHotspots: pages of 10 cover all 25 once, in key order.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_hotspots(v1::ListHotspotsRequest {
                cell: String::new(),
                page_size: 10,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.hotspots.len() <= 10);
        seen.extend(page.hotspots.into_iter().map(|h| h.pubkey));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut expected: Vec<String> = s
        .network
        .hotspots
        .iter()
        .map(|h| h.key.pubkey.to_string())
        .collect();
    expected.sort_by_key(|k| k.parse::<hexproof_proto::PublicKey>().unwrap());
    assert_eq!(seen, expected);

    // Filter by a resolution-5 cell around one hotspot: exactly the hotspots asserted in it.
    let cell: h3o::CellIndex = some.asserted_location.parse().unwrap();
    let parent = cell.parent(h3o::Resolution::Five).unwrap();
    let in_parent: Vec<String> = s
        .network
        .hotspots
        .iter()
        .filter(|h| {
            h.asserted_location
                .parse::<h3o::CellIndex>()
                .unwrap()
                .parent(h3o::Resolution::Five)
                == Some(parent)
        })
        .map(|h| h.key.pubkey.to_string())
        .collect();
    let listed = c
        .list_hotspots(v1::ListHotspotsRequest {
            cell: parent.to_string(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.hotspots.len(), in_parent.len());
    assert!(
        listed
            .hotspots
            .iter()
            .all(|h| in_parent.contains(&h.pubkey))
    );

    // GetHex: the counts an independent pass over the stored verdicts gives.
    let hex = c
        .get_hex(v1::GetHexRequest {
            cell: parent.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mine = |r: &&oracle::store::JudgedReport| in_parent.contains(&r.report.hotspot);
    let count = |kind, status| {
        judged
            .iter()
            .filter(mine)
            .filter(|r| r.report.kind == kind && r.status == status)
            .count() as u64
    };
    assert_eq!(hex.valid_beacons, count(Kind::Beacon, Status::Valid));
    assert_eq!(hex.valid_witnesses, count(Kind::Witness, Status::Valid));
    assert_eq!(
        hex.invalid_reports,
        judged
            .iter()
            .filter(mine)
            .filter(|r| r.status == Status::Invalid)
            .count() as u64
    );
    assert!(hex.valid_witnesses > 0, "a populated hex");
    assert!(hex.rssi_min_ddbm <= hex.rssi_median_ddbm && hex.rssi_median_ddbm <= hex.rssi_max_ddbm);
    assert!(hex.rssi_max_ddbm < 0);
    assert_eq!(hex.resolution, 5);
    let expected_reward: u64 = s
        .closed
        .rows
        .iter()
        .filter(|r| in_parent.contains(&r.hotspot.to_string()))
        .map(|r| r.lifetime)
        .sum();
    assert_eq!(hex.lifetime_reward, expected_reward);

    // ListReports: pages of 7 give every report of the hotspot once, in time order, with
    // verdicts; a time window narrows them.
    let mut reports = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_reports(v1::ListReportsRequest {
                hotspot: key.clone(),
                since_ns: 0,
                until_ns: 0,
                page_size: 7,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        reports.extend(page.reports);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let stored: Vec<_> = judged.iter().filter(|r| r.report.hotspot == key).collect();
    assert_eq!(reports.len(), stored.len());
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
    );
    for r in &reports {
        let j = stored
            .iter()
            .find(|j| j.report.id.as_slice() == r.id.as_slice())
            .unwrap();
        assert_eq!(r.valid, j.status == Status::Valid);
        assert_eq!(r.selected, j.selected);
        if !r.valid {
            assert_eq!(Some(&r.reason), j.reason.as_ref());
        }
        if r.kind == v1::ReportKind::Witness as i32 && r.valid {
            assert!(!r.beaconer.is_empty() && r.rssi_ddbm < 0);
        }
    }
    let cut = reports[reports.len() / 2].timestamp_ns;
    let late = c
        .list_reports(v1::ListReportsRequest {
            hotspot: key.clone(),
            since_ns: cut,
            until_ns: 0,
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        late.reports.len(),
        reports.iter().filter(|r| r.timestamp_ns >= cut).count()
    );

    // GetEpoch (0: newest), GetRewards, GetRewardProof (verifies against the root).
    let e = c
        .get_epoch(v1::GetEpochRequest { epoch: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (e.epoch, e.merkle_root.as_slice()),
        (1, s.closed.root.as_slice())
    );
    assert_eq!(e.epoch_total + e.dust, s.closed.emission);
    assert_eq!(e.signatures.len(), 1);
    let earner = &s.closed.rows[0];
    let r = c
        .get_rewards(v1::GetRewardsRequest {
            hotspot: earner.hotspot.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.lifetime, earner.lifetime);
    assert_eq!(r.epochs.len(), 1);
    assert_eq!(r.epochs[0].total, earner.beacon + earner.witness);
    let p = c
        .get_reward_proof(v1::GetRewardProofRequest {
            hotspot: earner.hotspot.to_string(),
            epoch: 1,
        })
        .await
        .unwrap()
        .into_inner();
    let siblings: Vec<[u8; 32]> = p
        .siblings
        .iter()
        .map(|s| s.as_slice().try_into().unwrap())
        .collect();
    assert!(hexproof_commitment::verify_proof(
        &s.closed.root,
        &hexproof_commitment::leaf(earner.hotspot.as_bytes(), p.lifetime_amount),
        &siblings
    ));

    // GetNetworkStats: the database's own summary.
    let stats = c
        .get_network_stats(v1::GetNetworkStatsRequest {})
        .await
        .unwrap()
        .into_inner();
    let summary = s.store.verdict_summary().await.unwrap();
    type Tally = (Kind, Status, Option<String>, u64);
    let sum =
        |f: &dyn Fn(&Tally) -> bool| summary.iter().filter(|r| f(r)).map(|r| r.3).sum::<u64>();
    assert_eq!(stats.hotspots, 25);
    assert_eq!(stats.reports, judged.len() as u64);
    assert_eq!(
        stats.valid_witnesses,
        sum(&|r| r.0 == Kind::Witness && r.1 == Status::Valid)
    );
    assert_eq!(stats.invalid_reports, sum(&|r| r.1 == Status::Invalid));
    let by_reason: BTreeMap<String, u64> = stats.invalid_by_reason.into_iter().collect();
    assert_eq!(by_reason.values().sum::<u64>(), stats.invalid_reports);
    assert_eq!(
        (stats.latest_epoch, stats.lifetime_rewards),
        (1, s.closed.lifetime_total)
    );
}

/// The status code of a call (Ok when it succeeded); errors must explain themselves.
fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(status) => {
            assert!(!status.message().is_empty());
            status.code()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_proper_status_codes() {
    let s = serve().await;
    let mut c = client(s.grpc).await;
    let get = |pubkey: &str| v1::GetHotspotRequest {
        pubkey: pubkey.into(),
    };
    assert_eq!(code(c.get_hotspot(get("")).await), Code::InvalidArgument);
    assert_eq!(
        code(c.get_hotspot(get("not-a-key")).await),
        Code::InvalidArgument
    );
    let stranger = hexproof_proto::Keypair::from_secret([42; 32])
        .public()
        .to_string();
    assert_eq!(code(c.get_hotspot(get(&stranger)).await), Code::NotFound);
    let list = |cell: &str, page_size, token: &str| v1::ListHotspotsRequest {
        cell: cell.into(),
        page_size,
        page_token: token.into(),
    };
    assert_eq!(
        code(c.list_hotspots(list("zzz", 0, "")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.list_hotspots(list("", 5000, "")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.list_hotspots(list("", 10, "%%")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            c.get_hex(v1::GetHexRequest {
                cell: "8c2a1072b59fffx".into(),
                ..Default::default()
            })
            .await
        ),
        Code::InvalidArgument
    );
    let key = s.network.hotspots[0].key.pubkey.to_string();
    let reports = |since_ns, until_ns, token: &str| v1::ListReportsRequest {
        hotspot: key.clone(),
        since_ns,
        until_ns,
        page_size: 10,
        page_token: token.into(),
    };
    assert_eq!(
        code(c.list_reports(reports(10, 5, "")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.list_reports(reports(0, 0, "x.y")).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(c.get_epoch(v1::GetEpochRequest { epoch: 99 }).await),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_rewards(v1::GetRewardsRequest {
                hotspot: stranger.clone()
            })
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.get_reward_proof(v1::GetRewardProofRequest {
                hotspot: stranger,
                epoch: 0
            })
            .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            c.watch_verdicts(v1::WatchVerdictsRequest {
                hotspot: String::new(),
                cell: "nope".into()
            })
            .await
        ),
        Code::InvalidArgument
    );
    // Still serving after all that.
    assert_eq!(code(c.get_hotspot(get(&key)).await), Code::Ok);
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A client nobody here wrote: Python's grpc-requests lists the services through server
/// reflection and calls GetHotspot with a JSON request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_reflection_client_calls_get_hotspot() {
    let s = serve().await;
    let python = std::env::var("HEXPROOF_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/hexproof-venv/bin/python",
            std::env::var("HOME").unwrap()
        )
    });
    let key = s.network.hotspots[0].key.pubkey.to_string();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reflection.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(format!("127.0.0.1:{}", s.grpc))
        .arg(&key)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{python}: {e} (scripts/test installs the virtualenv)"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let services: Vec<&str> = answer["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(services.contains(&"hexproof.v1.Explorer"), "{services:?}");
    assert_eq!(answer["hotspot"]["pubkey"], key);
    assert_eq!(
        answer["hotspot"]["owner"],
        s.network.hotspots[0].owner.to_string()
    );
}

/// Runs `oracle/web/tests/{script}.mjs` (headless Chromium through playwright-core) against
/// `url`; its screenshot goes to `test-artifacts/{script}.png`. Returns the JSON it prints.
async fn browse(script: &str, url: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("web/tests/{script}.mjs"));
    let shot = artifacts().join(format!("{script}.png"));
    let _ = std::fs::remove_file(&shot);
    let out = tokio::process::Command::new("node")
        .arg(&path)
        .arg(url)
        .arg(&shot)
        .output()
        .await
        .expect("node (scripts/test installs playwright-core in oracle/web/tests)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

/// The map in headless Chromium: hexes drawn over the outlines, a click on the busiest hex
/// lists its hotspots, a click on a hotspot lists its verdicts; a screenshot is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_draws_hexes_and_shows_a_hotspots_verdicts() {
    let s = serve().await;
    let r = browse("map", &format!("http://127.0.0.1:{}/", s.http)).await;
    // net-25's hotspots sit in a handful of cities: several hexes, some with coverage.
    assert!(r["hexes"].as_u64().unwrap() >= 2, "{r}");
    assert!(r["filled"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["hotspots"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["verdicts"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(
        r["packetTitles"], r["hexes"],
        "every hex counts its device packets"
    );
    assert_eq!(
        r["dataTitles"], r["hexes"],
        "every hex counts the data credits it carried"
    );
    let reasons: Vec<&str> = r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().all(|x| *x == "valid" || x.contains('_')),
        "{reasons:?}"
    );
    let shot = artifacts().join("map.png");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    println!("screenshot: {}", shot.display());

    // The JSON the page uses, for scripts.
    let stats: serde_json::Value =
        serde_json::from_str(&common::http_get(s.http, "/api/stats").unwrap()).unwrap();
    assert_eq!(stats["hotspots"], 25);
    let missing = common::http_get(s.http, "/api/hotspots/nope").unwrap();
    assert!(missing.contains("error"), "{missing}");
}

/// The owner's page in headless Chromium: a hotspot with rejected reports and a finding
/// against it shows its earnings per epoch, the suspension, and every verdict and finding in
/// plain words; its glossary explains every code there is. The screenshot is kept
/// (`test-artifacts/owner.png`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_page_explains_every_verdict_and_finding_in_words() {
    use hexproof_poc::detect::{Code as Finding, Finding as Found};
    let s = serve().await;
    let judged = s.store.judged_reports().await.unwrap();
    // The hotspot with the most rejected reports.
    let mut invalid: BTreeMap<String, usize> = BTreeMap::new();
    for r in judged.iter().filter(|r| r.status == Status::Invalid) {
        *invalid.entry(r.report.hotspot.clone()).or_default() += 1;
    }
    let (key, _) = invalid.iter().max_by_key(|(_, n)| **n).unwrap();
    let pubkey: hexproof_proto::PublicKey = key.parse().unwrap();
    s.store
        .save_findings(
            s.closed.epoch,
            &[
                Found {
                    hotspot: pubkey,
                    code: Finding::NoReciprocity,
                    evidence: "witnessed 9 beacons validly but 6 partners heard none of its 12"
                        .into(),
                },
                Found {
                    hotspot: pubkey,
                    code: Finding::OneRadioManyKeys,
                    evidence: "as witnesses, it and another key agree to 0.0 dB".into(),
                },
            ],
        )
        .await
        .unwrap();
    let url = format!("http://127.0.0.1:{}/owner?key={key}", s.http);
    let r = browse("owner", &url).await;
    let shot = artifacts().join("owner.png");
    // Every code there is, explained in the glossary.
    let glossary: Vec<&str> = r["glossary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = hexproof_poc::explain::all()
        .iter()
        .map(|e| e.code)
        .collect();
    assert_eq!(glossary, all);
    // Every verdict it got, with what happened and what to do, in words.
    let expected: std::collections::BTreeSet<String> = judged
        .iter()
        .filter(|j| j.report.hotspot == *key)
        .map(|j| match j.status {
            Status::Valid => "valid".to_string(),
            _ => j.reason.clone().unwrap_or_default(),
        })
        .collect();
    let rows = r["codeRows"].as_array().unwrap();
    let shown: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|row| row["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, expected);
    assert!(expected.len() >= 2, "{expected:?}");
    for row in rows {
        let code = row["code"].as_str().unwrap();
        let words = hexproof_poc::explain::code(code).unwrap();
        assert_eq!(row["explanation"], words.what, "{code}");
        assert_eq!(row["action"], words.action, "{code}");
    }
    let verdicts = r["verdictRows"].as_array().unwrap();
    assert!(!verdicts.is_empty());
    assert!(
        verdicts
            .iter()
            .all(|v| !v["explanation"].as_str().unwrap().is_empty()),
        "{verdicts:?}"
    );
    // The findings, their words and the suspension one of them cost.
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    for code in [Finding::NoReciprocity, Finding::OneRadioManyKeys] {
        let words = hexproof_poc::explain::finding(code);
        assert!(
            findings
                .iter()
                .any(|f| f.as_str().unwrap().contains(words.what)
                    && f.as_str().unwrap().contains(words.action)),
            "{code}: {findings:?}"
        );
    }
    assert!(r["banner"].as_str().unwrap().contains("Suspended"), "{r}");
    // A bar per epoch it earned in.
    let mut c = client(s.grpc).await;
    let earned = c
        .get_rewards(v1::GetRewardsRequest {
            hotspot: key.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r["bars"].as_u64().unwrap() as usize, earned.epochs.len());
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);

    // `hotspot-agent status` asks the same explorer and prints the same words.
    let status = hotspot_agent::status::fetch(&format!("http://127.0.0.1:{}", s.http), key)
        .await
        .unwrap();
    let page = hotspot_agent::status::render(&status);
    println!("{page}");
    assert!(page.contains("Suspended in epoch 1"), "{page}");
    for code in &expected {
        let words = hexproof_poc::explain::code(code).unwrap();
        assert!(
            page.contains(&format!("{code} ×")) && page.contains(words.what),
            "{code}:\n{page}"
        );
        assert!(page.contains(words.action), "{code}:\n{page}");
    }
    for code in [Finding::NoReciprocity, Finding::OneRadioManyKeys] {
        assert!(
            page.contains(hexproof_poc::explain::finding(code).what),
            "{page}"
        );
    }
    let earned_line = format!("{:.2} tokens in all", earned.lifetime as f64 / 1e6);
    assert!(page.contains(&earned_line), "{page}");
    // An unknown key is a clear refusal, not a panic or an empty page.
    let stranger = hexproof_proto::Keypair::from_secret([44; 32])
        .public()
        .to_string();
    let e = hotspot_agent::status::fetch(&format!("http://127.0.0.1:{}", s.http), &stranger)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("404") && e.contains("not registered"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_are_served_with_their_evidence_to_the_owner() {
    use hexproof_poc::detect::{Code as Finding, Finding as Found};
    let s = serve().await;
    // The honest golden network: detection found nothing.
    let mut c = client(s.grpc).await;
    let none = c
        .list_findings(v1::ListFindingsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(none.findings.is_empty(), "{:?}", none.findings);

    let (a, b) = (
        s.network.hotspots[1].key.pubkey,
        s.network.hotspots[2].key.pubkey,
    );
    let found = [
        Found {
            hotspot: a,
            code: Finding::OneRadioManyKeys,
            evidence: "as witnesses, it and … agree to 0.0 dB".into(),
        },
        Found {
            hotspot: b,
            code: Finding::NoReciprocity,
            evidence: "witnessed 9 beacons validly but …".into(),
        },
    ];
    s.store.save_findings(1, &found).await.unwrap();
    s.store.save_findings(1, &found).await.unwrap(); // stored once

    let mine = c
        .list_findings(v1::ListFindingsRequest {
            hotspot: a.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.findings.len(), 1);
    let f = &mine.findings[0];
    assert_eq!(
        (f.epoch, f.code.as_str(), f.suspended),
        (1, "one_radio_many_keys", true)
    );
    assert!(f.evidence.starts_with("as witnesses"));
    let epoch = c
        .list_findings(v1::ListFindingsRequest {
            epoch: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(epoch.findings.len(), 2);
    assert!(
        epoch
            .findings
            .iter()
            .any(|f| f.code == "no_reciprocity" && !f.suspended)
    );
    assert_eq!(
        code(
            c.list_findings(v1::ListFindingsRequest {
                hotspot: "not-a-key".into(),
                ..Default::default()
            })
            .await
        ),
        Code::InvalidArgument
    );

    // The same over HTTP.
    let body: serde_json::Value = serde_json::from_str(
        &common::http_get(s.http, &format!("/api/findings?hotspot={b}")).unwrap(),
    )
    .unwrap();
    assert_eq!(body["findings"][0]["code"], "no_reciprocity");
    assert_eq!(body["findings"][0]["epoch"], 1);
}

// The explorer's limits ([explorer]): each test fails without the limit it names.

/// Opens `/api/events`: its status code, and the connection (the stream is open while it is).
async fn open_events(port: u16) -> (u16, tokio::net::TcpStream) {
    open_events_from([127, 0, 0, 1], port).await
}

/// [`open_events`] from the loopback address `from` (another client to the explorer).
async fn open_events_from(from: [u8; 4], port: u16) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    let mut s = socket
        .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap();
    s.write_all(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).await.unwrap(),
            1,
            "the answer ended early"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, s)
}

async fn watch(
    c: &mut ExplorerClient<Channel>,
) -> Result<tonic::Streaming<v1::VerdictEvent>, Code> {
    c.watch_verdicts(v1::WatchVerdictsRequest::default())
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| s.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watcher_past_max_watchers_is_refused_until_one_goes() {
    let s = serve_with(ExplorerConfig {
        max_watchers: 2,
        ..Default::default()
    })
    .await;
    let mut c = client(s.grpc).await;
    let first = watch(&mut c).await.unwrap();
    let (code, events) = open_events(s.http).await;
    assert_eq!(code, 200);

    // Both kinds of live stream share the places: a third of either is refused.
    assert_eq!(watch(&mut c).await.err(), Some(Code::ResourceExhausted));
    let (code, body) = common::http_status(s.http, "/api/events").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("live streams"), "{body}");

    // A watcher that goes frees its place.
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        if let Ok(w) = watch(&mut c).await {
            again = Some(w);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some(),
        "the place of a closed watcher is free again"
    );
    drop(events);
    let mut reopened = false;
    for _ in 0..50 {
        if open_events(s.http).await.0 == 200 {
            reopened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reopened, "the place of a closed event stream is free again");
}

/// One client (an address) cannot take every live-stream place: past its share it is refused
/// while another address is still served, over both kinds of stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_every_watcher_place() {
    let s = serve_with(ExplorerConfig {
        max_watchers: 10,
        max_watchers_per_client: 3,
        ..Default::default()
    })
    .await;
    let greedy = [127, 0, 0, 2];
    let mut held = Vec::new();
    for _ in 0..2 {
        let (code, stream) = open_events_from(greedy, s.http).await;
        assert_eq!(code, 200);
        held.push(stream);
    }
    let mut greedy_grpc = ExplorerClient::new(channel_from(greedy, s.grpc).await);
    let _third = watch(&mut greedy_grpc)
        .await
        .expect("its third stream, over gRPC");
    let (code, mut refused) = open_events_from(greedy, s.http).await;
    assert_eq!(code, 503, "a fourth stream from the same address");
    let mut body = vec![0u8; 4096];
    use tokio::io::AsyncReadExt;
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), refused.read(&mut body))
        .await
        .expect("the refusal has a body")
        .unwrap();
    let body = String::from_utf8_lossy(&body[..n]);
    assert!(body.contains("your address"), "{body}");
    assert_eq!(
        watch(&mut greedy_grpc).await.err(),
        Some(Code::ResourceExhausted),
        "nor over gRPC"
    );

    // Other addresses are served, over either kind of stream.
    let (code, _other) = open_events_from([127, 0, 0, 3], s.http).await;
    assert_eq!(code, 200, "another client is not held up by the greedy one");
    let mut other = ExplorerClient::new(channel_from([127, 0, 0, 4], s.grpc).await);
    let _w = watch(&mut other)
        .await
        .expect("a gRPC watcher from another address");

    // The greedy client gets a place back when it closes a stream.
    drop(held.pop());
    let mut again = false;
    for _ in 0..50 {
        if open_events_from(greedy, s.http).await.0 == 200 {
            again = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again, "a closed stream gives its client's share back");
}

/// Calls whose bodies never come hold a server place until they time out: one address may
/// hold only `max_concurrent_per_client` of them, so the server's other places stay free
/// for everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_stalling_its_requests_cannot_take_every_place() {
    let s = serve_with(ExplorerConfig {
        max_concurrent: 4,
        max_concurrent_per_client: 3,
        request_timeout_ms: 30_000,
        ..Default::default()
    })
    .await;
    let greedy = channel_from([127, 0, 0, 2], s.grpc).await;
    // A unary call sent as a stream that never yields its message: the server waits for it.
    let stalled = |channel: Channel| async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        grpc.client_streaming::<_, v1::GetNetworkStatsRequest, v1::NetworkStats, _>(
            tonic::Request::new(futures_util::stream::pending()),
            "/hexproof.v1.Explorer/GetNetworkStats".parse().unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .map(|_| ())
        .map_err(|s| (s.code(), s.message().to_string()))
    };
    let held: Vec<_> = (0..3)
        .map(|_| tokio::spawn(stalled(greedy.clone())))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(held.iter().all(|h| !h.is_finished()), "the three are held");
    let (code, message) =
        tokio::time::timeout(std::time::Duration::from_secs(5), stalled(greedy.clone()))
            .await
            .expect("refused at once, not held")
            .unwrap_err();
    assert_eq!(code, Code::ResourceExhausted, "{message}");
    assert!(message.contains("your address"), "{message}");

    // Another address is answered: the greedy one holds three places of four, not all.
    let mut other = ExplorerClient::new(channel_from([127, 0, 0, 3], s.grpc).await);
    other
        .get_network_stats(v1::GetNetworkStatsRequest::default())
        .await
        .expect("another client is served");
    for h in held {
        h.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coarse_hex_and_the_finest_hexes_come_in_pages() {
    let s = serve().await;
    let mut c = client(s.grpc).await;
    let registry = StaticRegistry::from_file(&s.network.registry(0)).unwrap();
    let located: Vec<_> = registry
        .all()
        .into_iter()
        .filter_map(|h| h.location.map(|l| (h.pubkey, l)))
        .collect();

    // GetHex of a resolution-0 cell: pages of 10 hotspots, each with the whole cell's summary.
    let cell = located[0].1.parent(h3o::Resolution::Zero).unwrap();
    let mut expected: Vec<hexproof_proto::PublicKey> = located
        .iter()
        .filter(|(_, l)| l.parent(h3o::Resolution::Zero) == Some(cell))
        .map(|(k, _)| *k)
        .collect();
    expected.sort();
    assert!(expected.len() > 10, "more than a page: {}", expected.len());
    let (mut seen, mut token, mut summaries) = (
        Vec::<hexproof_proto::PublicKey>::new(),
        String::new(),
        Vec::new(),
    );
    loop {
        let h = c
            .get_hex(v1::GetHexRequest {
                cell: cell.to_string(),
                page_size: 10,
                page_token: token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(h.hotspots.len() <= 10);
        assert_eq!(h.hotspot_count, expected.len() as u64);
        seen.extend(
            h.hotspots
                .iter()
                .map(|k| k.parse::<hexproof_proto::PublicKey>().unwrap()),
        );
        summaries.push((h.valid_beacons, h.valid_witnesses, h.lifetime_reward));
        if h.next_page_token.is_empty() {
            break;
        }
        token = h.next_page_token;
    }
    assert_eq!(
        seen, expected,
        "every hotspot of the cell once, in key order"
    );
    assert!(summaries.len() > 1 && summaries.iter().all(|s| *s == summaries[0]));
    assert!(summaries[0].0 > 0, "the summary covers the whole cell");

    // /api/hexes?res=8 (the public resolution): pages of 3 cells, every occupied cell once.
    let mut cells: Vec<String> = located
        .iter()
        .map(|(_, l)| l.parent(h3o::Resolution::Eight).unwrap().to_string())
        .collect();
    cells.sort();
    cells.dedup();
    assert!(cells.len() > 3, "{} cells", cells.len());
    let (mut listed, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let (code, body) = common::http_status(
            s.http,
            &format!("/api/hexes?res=8&page_size=3&page_token={token}"),
        )
        .await;
        assert_eq!(code, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        let hexes = page["hexes"].as_array().unwrap();
        assert!(hexes.len() <= 3);
        listed.extend(
            hexes
                .iter()
                .map(|h| h["cell"].as_str().unwrap().to_string()),
        );
        pages += 1;
        token = page["next_page_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert!(pages > 1);
    listed.sort();
    assert_eq!(listed, cells);
    // A page larger than the most one may ask for is refused.
    let (_, body) = common::http_status(s.http, "/api/hexes?res=8&page_size=1001").await;
    assert!(body.contains("error"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reward_proof_for_a_key_without_reward_builds_no_tree() {
    let s = serve().await;
    let mut c = client(s.grpc).await;
    let stranger = hexproof_proto::Keypair::from_secret([42; 32])
        .public()
        .to_string();
    let proof = |hotspot: String| v1::GetRewardProofRequest { hotspot, epoch: 1 };
    for _ in 0..3 {
        assert_eq!(
            code(c.get_reward_proof(proof(stranger.clone())).await),
            Code::NotFound
        );
    }
    assert_eq!(
        s.explorer.cached_epochs(),
        0,
        "no epoch read for a stranger"
    );

    // The first real proof reads and builds epoch 1 once; every later answer comes from it.
    for row in s.closed.rows.iter().take(3) {
        let p = c
            .get_reward_proof(proof(row.hotspot.to_string()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(p.lifetime_amount, row.lifetime);
        assert_eq!(s.explorer.cached_epochs(), 1);
    }
    assert_eq!(
        code(c.get_reward_proof(proof(stranger)).await),
        Code::NotFound
    );
    c.get_epoch(v1::GetEpochRequest { epoch: 0 }).await.unwrap();
    assert_eq!(s.explorer.cached_epochs(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_queries_past_max_heavy_are_refused_and_lookups_are_not() {
    let s = serve_with(ExplorerConfig {
        max_heavy: 0,
        ..Default::default()
    })
    .await;
    let mut c = client(s.grpc).await;
    let key = s.network.hotspots[3].key.pubkey.to_string();
    let status = c
        .list_reports(v1::ListReportsRequest {
            hotspot: key.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        code(
            c.get_rewards(v1::GetRewardsRequest {
                hotspot: key.clone()
            })
            .await
        ),
        Code::ResourceExhausted
    );
    let (code_, _) = common::http_status(s.http, &format!("/api/hotspots/{key}/reports")).await;
    assert_eq!(code_, 503);
    // What memory answers is served.
    c.get_hotspot(v1::GetHotspotRequest { pubkey: key })
        .await
        .unwrap();
    let cell: h3o::CellIndex = s.network.hotspots[3].asserted_location.parse().unwrap();
    c.get_hex(v1::GetHexRequest {
        cell: cell.parent(h3o::Resolution::Eight).unwrap().to_string(),
        ..Default::default()
    })
    .await
    .unwrap();
}

fn report(i: u8, hotspot: String) -> oracle::store::NewReport {
    oracle::store::NewReport {
        id: [i; 32],
        kind: Kind::Beacon,
        hotspot,
        packet_hash: Some([i; 32]),
        timestamp_ns: T0,
        received_ns: T0,
        payload: vec![0; 8],
        status: Status::Invalid,
        reason: Some(hexproof_poc::Reason::BeaconUnknownHotspot),
        detail: None,
        rssi_ddbm: None,
        snr_ddb: None,
        frequency_hz: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_stats_count_the_reports_at_most_once_per_ttl() {
    let s = serve_with(ExplorerConfig {
        stats_ttl_ms: 600_000,
        ..Default::default()
    })
    .await;
    let mut c = client(s.grpc).await;
    let stats = || v1::GetNetworkStatsRequest {};
    let before = c.get_network_stats(stats()).await.unwrap().into_inner();
    let stranger = hexproof_proto::Keypair::from_secret([43; 32]).public();
    s.store
        .insert_reports(&[report(201, stranger.to_string())])
        .await
        .unwrap();
    let cached = c.get_network_stats(stats()).await.unwrap().into_inner();
    assert_eq!(cached.reports, before.reports, "counted once per ttl");
    assert_eq!(s.store.count_reports().await.unwrap(), before.reports + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_keys_get_no_index_entry() {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let registry: Arc<dyn Registry> =
        Arc::new(StaticRegistry::from_file(&network.registry(0)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("x.db").display()))
        .await
        .unwrap();
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    audit::judge_into(&store, &lines, registry.clone(), limits(), &[])
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let load = || Explorer::load(store.clone(), registry.clone(), stop.clone());
    let (honest, _) = load().await.unwrap();
    let invented: Vec<_> = (0..100u8)
        .map(|i| {
            let key = hexproof_proto::Keypair::from_secret([i; 32]).public();
            report(i, key.to_string())
        })
        .collect();
    store.insert_reports(&invented).await.unwrap();
    let (after, _) = load().await.unwrap();
    assert_eq!(after.indexed_hotspots(), honest.indexed_hotspots());
    assert!(after.indexed_hotspots() <= network.hotspots.len());
    let stats = after.network_stats().await.unwrap();
    assert_eq!(
        stats.invalid_by_reason["beacon_unknown_hotspot"],
        honest
            .network_stats()
            .await
            .unwrap()
            .invalid_by_reason
            .get("beacon_unknown_hotspot")
            .copied()
            .unwrap_or(0)
            + 100,
        "counted in the totals all the same"
    );
}

/// The data of the next server-sent event on an open `/api/events` stream.
async fn read_event(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(i) = text.find("data: ")
            && let Some(j) = text[i..].find('\n')
        {
            return text[i + 6..i + j].to_string();
        }
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("an event within 10 s")
            .unwrap();
        assert!(n > 0, "the stream ended");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Every H3 cell written in `text` finer than resolution 8.
fn fine_cells(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for i in 0..bytes.len().saturating_sub(14) {
        let word = &text[i..i + 15];
        let edge = |j: usize| bytes.get(j).is_none_or(|b| !b.is_ascii_hexdigit());
        if word.bytes().all(|b| b.is_ascii_hexdigit())
            && (i == 0 || edge(i - 1))
            && edge(i + 15)
            && let Ok(cell) = word.parse::<h3o::CellIndex>()
            && cell.resolution() > h3o::Resolution::Eight
        {
            out.push(word.to_string());
        }
    }
    out
}

/// Location privacy: no public answer, over every gRPC call and HTTP path and both live
/// streams, holds a cell finer than the public resolution (8); a query for a finer cell is
/// refused everywhere one can be named; live verdicts carry no signal (RSSI, SNR, frequency)
/// and a report's signal is served only once its epoch has closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_public_answer_locates_a_hotspot_finer_than_the_public_resolution() {
    let s = serve().await;
    let mut c = client(s.grpc).await;
    let some = &s.network.hotspots[3];
    let key = some.key.pubkey.to_string();
    let exact: h3o::CellIndex = some.asserted_location.parse().unwrap();
    assert_eq!(exact.resolution(), h3o::Resolution::Twelve);
    let coarse = exact.parent(h3o::Resolution::Eight).unwrap().to_string();
    let epoch = s.closed.epoch;

    // The hex's signal summary before a live reception (closed epochs' signal only).
    let hex_signal = |h: &v1::Hex| {
        (
            h.rssi_min_ddbm,
            h.rssi_median_ddbm,
            h.rssi_max_ddbm,
            h.snr_median_ddb,
        )
    };
    let hex_request = || v1::GetHexRequest {
        cell: coarse.clone(),
        ..Default::default()
    };
    let before = c.get_hex(hex_request()).await.unwrap().into_inner();
    assert!(before.rssi_max_ddbm < 0, "closed epochs' signal is served");

    // Live streams open before a new verdict arrives.
    let mut watcher = c
        .watch_verdicts(v1::WatchVerdictsRequest {
            hotspot: key.clone(),
            cell: coarse.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let (code, mut events) = open_events(s.http).await;
    assert_eq!(code, 200);
    // A reception with a signal, after the closed epoch.
    let mut new = report(77, key.clone());
    new.kind = Kind::Witness;
    new.status = Status::Valid;
    new.reason = None;
    new.timestamp_ns = s.closed.end_ns + SEC;
    new.received_ns = new.timestamp_ns;
    // A signal unlike any other (a new maximum, were it counted) and a detail with the
    // numbers a rule writes.
    new.rssi_ddbm = Some(-200);
    new.detail = Some("RSSI -20.0 dBm at 263 m from the beaconer".into());
    new.snr_ddb = Some(55);
    new.frequency_hz = Some(904_100_000);
    s.store.insert_reports(&[new]).await.unwrap();

    let mut answers: Vec<(String, String)> = Vec::new();
    let event = tokio::time::timeout(std::time::Duration::from_secs(10), watcher.message())
        .await
        .expect("a live verdict")
        .unwrap()
        .unwrap();
    let live = event.verdict.unwrap();
    assert_eq!(live.id, vec![77; 32]);
    assert_eq!((live.rssi_ddbm, live.snr_ddb, live.frequency_hz), (0, 0, 0));
    answers.push(("WatchVerdicts".into(), format!("{live:?}")));
    let sse = read_event(&mut events).await;
    let sse: serde_json::Value = serde_json::from_str(&sse).unwrap();
    assert_eq!(sse["hotspot"], key.as_str());
    assert!(
        sse["rssi_ddbm"].is_null() && sse["snr_ddb"].is_null() && sse["frequency_hz"].is_null(),
        "{sse}"
    );
    assert_eq!(sse["detail"], "", "{sse}");
    assert!(live.detail.is_empty(), "{live:?}");
    // Nor does the hex summary move with it.
    let after = c.get_hex(hex_request()).await.unwrap().into_inner();
    assert_eq!(hex_signal(&after), hex_signal(&before));
    assert_eq!(after.valid_witnesses, before.valid_witnesses + 1);
    assert_eq!(sse["cell"], coarse.as_str());
    answers.push(("/api/events".into(), sse.to_string()));

    // Every call that answers with hotspots, cells or reports.
    let g = |what: &str, v: String| (what.to_string(), v);
    answers.push(g(
        "GetHotspot",
        format!(
            "{:?}",
            c.get_hotspot(v1::GetHotspotRequest {
                pubkey: key.clone()
            })
            .await
            .unwrap()
        ),
    ));
    answers.push(g(
        "ListHotspots",
        format!(
            "{:?}",
            c.list_hotspots(v1::ListHotspotsRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
        ),
    ));
    answers.push(g(
        "GetHex",
        format!(
            "{:?}",
            c.get_hex(v1::GetHexRequest {
                cell: coarse.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
        ),
    ));
    let reports = c
        .list_reports(v1::ListReportsRequest {
            hotspot: key.clone(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // The new report's signal waits for its epoch to close; the closed epoch's are served.
    let fresh = reports
        .reports
        .iter()
        .find(|r| r.id == vec![77; 32])
        .unwrap();
    assert_eq!((fresh.rssi_ddbm, fresh.snr_ddb), (0, 0));
    // No rule's detail (distances, signal) in any public answer.
    assert!(reports.reports.iter().all(|r| r.detail.is_empty()));
    assert!(
        reports
            .reports
            .iter()
            .any(|r| r.timestamp_ns < s.closed.end_ns && r.rssi_ddbm != 0),
        "reports of the closed epoch keep their signal"
    );
    answers.push(g("ListReports", format!("{reports:?}")));
    answers.push(g(
        "GetEpoch",
        format!(
            "{:?}",
            c.get_epoch(v1::GetEpochRequest { epoch }).await.unwrap()
        ),
    ));
    answers.push(g(
        "GetRewards",
        format!(
            "{:?}",
            c.get_rewards(v1::GetRewardsRequest {
                hotspot: key.clone()
            })
            .await
        ),
    ));
    answers.push(g(
        "GetRewardProof",
        format!(
            "{:?}",
            c.get_reward_proof(v1::GetRewardProofRequest {
                hotspot: key.clone(),
                epoch,
            })
            .await
        ),
    ));
    answers.push(g(
        "GetNetworkStats",
        format!(
            "{:?}",
            c.get_network_stats(v1::GetNetworkStatsRequest {}).await
        ),
    ));
    answers.push(g(
        "ListFindings",
        format!(
            "{:?}",
            c.list_findings(v1::ListFindingsRequest::default()).await
        ),
    ));
    answers.push(g(
        "GetHotspotPackets",
        format!(
            "{:?}",
            c.get_hotspot_packets(v1::GetHotspotPacketsRequest {
                pubkey: key.clone()
            })
            .await
        ),
    ));
    answers.push(g(
        "ListRoutePackets",
        format!(
            "{:?}",
            c.list_route_packets(v1::ListRoutePacketsRequest {}).await
        ),
    ));
    answers.push(g(
        "ListOrgs",
        format!("{:?}", c.list_orgs(v1::ListOrgsRequest {}).await),
    ));
    for path in [
        "/api/stats".to_string(),
        "/api/hexes?res=8&page_size=1000".into(),
        format!("/api/hex/{coarse}"),
        "/api/hotspots?page_size=1000".into(),
        format!("/api/hotspots/{key}"),
        format!("/api/hotspots/{key}/reports?page_size=1000"),
        format!("/api/hotspots/{key}/rewards"),
        format!("/api/hotspots/{key}/packets"),
        format!("/api/hotspots/{key}/proof"),
        "/api/routes".into(),
        "/api/orgs".into(),
        format!("/api/epochs/{epoch}"),
        "/api/findings".into(),
    ] {
        let (code, body) = common::http_status(s.http, &path).await;
        assert_eq!(code, 200, "{path}: {body}");
        answers.push((path, body));
    }
    for (what, answer) in &answers {
        assert_eq!(fine_cells(answer), Vec::<String>::new(), "{what}");
    }
    // The scan does see cells: the hotspot's public cell is in its answers.
    assert!(answers.iter().any(|(_, a)| a.contains(&coarse)));

    // A finer cell is refused wherever a cell is asked for.
    let nine = exact.parent(h3o::Resolution::Nine).unwrap().to_string();
    for cell in [nine.as_str(), some.asserted_location.as_str()] {
        let e = c
            .list_hotspots(v1::ListHotspotsRequest {
                cell: cell.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("public resolution"), "{}", e.message());
        let e = c
            .get_hex(v1::GetHexRequest {
                cell: cell.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        let e = c
            .watch_verdicts(v1::WatchVerdictsRequest {
                cell: cell.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        for path in [
            format!("/api/hex/{cell}"),
            format!("/api/hotspots?cell={cell}"),
        ] {
            let (code, body) = common::http_status(s.http, &path).await;
            assert_eq!(code, 400, "{path}: {body}");
        }
    }
    for res in [9, 12, 15] {
        let (code, body) = common::http_status(s.http, &format!("/api/hexes?res={res}")).await;
        assert_eq!(code, 400, "res {res}: {body}");
    }
    // A page token finer than the page's resolution is refused, not read as the start.
    let (code, body) = common::http_status(
        s.http,
        &format!("/api/hexes?res=8&page_token={}", some.asserted_location),
    )
    .await;
    assert_eq!(code, 400, "{body}");
}

/// A public resolution past 15 (a typo) is served as the coarsest, never as no limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impossible_public_resolution_fails_closed() {
    let s = serve_with(ExplorerConfig {
        public_resolution: 16,
        ..Default::default()
    })
    .await;
    let mut c = client(s.grpc).await;
    let some = &s.network.hotspots[3];
    let h = c
        .get_hotspot(v1::GetHotspotRequest {
            pubkey: some.key.pubkey.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let cell: h3o::CellIndex = h.location.parse().unwrap();
    assert_eq!(cell.resolution(), h3o::Resolution::Zero);
}

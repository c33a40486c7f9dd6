//! The oracle binary as a real process, for end-to-end tests.
#![allow(dead_code)]

pub mod golden;

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use hexproof_fixtures::Network;

pub struct OracleProcess {
    child: Option<Child>,
    pub dir: PathBuf,
    pub config: PathBuf,
    /// The explorer's gRPC and web ports (free loopback ports picked at start).
    pub grpc_port: u16,
    pub http_port: u16,
}

pub struct OracleSetup<'a> {
    pub dir: &'a Path,
    pub network_file: &'a Path,
    pub network: &'a Network,
    pub database: &'a str,
    pub broker: &'a str,
    pub speed: u32,
    pub origin_ns: u64,
    pub metrics_port: u16,
    pub validation: hexproof_poc::Limits,
}

/// Validation windows for live runs on an accelerated clock: beacons every 300 network seconds,
/// witnesses joining within 300 (2.5 s of real time at 120×, room for a loaded CI machine),
/// locations usable at once.
pub fn simulation_limits() -> hexproof_poc::Limits {
    hexproof_poc::Limits {
        beacon_interval_secs: 300,
        witness_wait_secs: 300,
        location_min_age_secs: 0,
        ..hexproof_poc::Limits::default()
    }
}

impl OracleSetup<'_> {
    /// The oracle's configuration as a value (explorer on free loopback ports, fast reconnects).
    pub fn config(&self) -> oracle::config::Config {
        let mut config = oracle::config::Config {
            key: self.dir.join("oracle-key.json"),
            database: self.database.to_string(),
            registry_file: hexproof_fixtures::network::registry_path(self.network_file),
            metrics_listen: Some(([127, 0, 0, 1], self.metrics_port).into()),
            validation: self.validation.clone(),
            ..Default::default()
        };
        config.mqtt.url = self.broker.to_string();
        config.mqtt.reconnect_min_ms = 100;
        config.mqtt.reconnect_max_ms = 500;
        config.clock.speed = self.speed;
        config.clock.origin_ns = Some(self.origin_ns);
        // A deployment value of this run's own (the program refuses zeros).
        config.rewards.deployment = hexproof_demo::run::demo_deployment(self.origin_ns);
        config.explorer.grpc_listen =
            Some(([127, 0, 0, 1], hexproof_fixtures::servers::free_port()).into());
        config.explorer.http_listen =
            Some(([127, 0, 0, 1], hexproof_fixtures::servers::free_port()).into());
        config
    }
}

impl OracleProcess {
    pub fn start(s: &OracleSetup<'_>) -> OracleProcess {
        Self::start_with(s.dir, s.network, s.config())
    }

    /// Starts `oracle run` with `config` (written to `dir/oracle.toml`), its key the network's
    /// first oracle key.
    pub fn start_with(
        dir: &Path,
        network: &Network,
        config: oracle::config::Config,
    ) -> OracleProcess {
        if !config.key.exists() {
            network.oracles[0]
                .keypair()
                .unwrap()
                .write_new_file(&config.key)
                .unwrap();
        }
        let path = dir.join("oracle.toml");
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        let port = |a: Option<std::net::SocketAddr>| a.map_or(0, |a| a.port());
        let mut p = OracleProcess {
            child: None,
            dir: dir.to_path_buf(),
            config: path,
            grpc_port: port(config.explorer.grpc_listen),
            http_port: port(config.explorer.http_listen),
        };
        p.restart();
        p
    }

    pub fn restart(&mut self) {
        self.restart_with_env(&[]);
    }

    /// Restarts with extra environment variables (e.g. [`oracle::crash::VARIABLE`]).
    pub fn restart_with_env(&mut self, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("oracle.log"))
            .unwrap();
        self.child = Some(
            Command::new(env!("CARGO_BIN_EXE_oracle"))
                .arg("run")
                .arg("--config")
                .arg(&self.config)
                .env("RUST_LOG", "info,oracle=debug,sqlx=warn")
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for the process to stop by itself.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
    }

    /// Waits up to `within` for the process to end by itself; whether it did.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if !self.is_running() {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("oracle.log")).unwrap_or_default()
    }
}

impl Drop for OracleProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// GET http://127.0.0.1:port/path, the body.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

/// GET `path` on the web port: the status code and the body.
pub async fn http_status(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (code, body)
}

pub async fn wait_until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A swarm of every hotspot of `network` through `broker` on the accelerated clock, beaconing
/// every 300 network seconds (±60).
pub fn swarm_config(
    network: &Network,
    broker: &str,
    state_dir: &Path,
    clock: hexproof_proto::clock::Clock,
    medium_seed: u64,
) -> hotspot_agent::swarm::SwarmConfig {
    let mut config = hotspot_agent::swarm::SwarmConfig {
        medium_seed,
        ..hotspot_agent::swarm::SwarmConfig::simulated(
            network.clone(),
            broker,
            state_dir.to_path_buf(),
            clock,
            300,
        )
    };
    // Tests assert every outbox is empty after the swarm stops: give the last reports (made
    // just before the stop, behind a broker still busy with a restarted oracle's backlog) time
    // to be acknowledged. A link that holds nothing stops at once.
    config.mqtt.flush_on_shutdown_ms = 10_000;
    config
}

/// The first owner (with its balance and what it should hold) whose token balance is not the
/// sum of its hotspots' lifetime amounts in `e`; `None` when every owner holds exactly that.
pub async fn owner_balances_mismatch(
    chain: &hexproof_client::Chain,
    network: &Network,
    e: &hexproof_poc::rewards::epoch::ClosedEpoch,
) -> Option<(hexproof_proto::PublicKey, u64, u64)> {
    let mut per_owner: std::collections::BTreeMap<hexproof_proto::PublicKey, u64> =
        Default::default();
    for r in &e.rows {
        let owner = network.hotspot(&r.hotspot)?.owner;
        *per_owner.entry(owner).or_default() += r.lifetime;
    }
    for (owner, expected) in per_owner {
        let balance = hexproof_client::read::token_balance(chain, &oracle::chain::pubkey(&owner))
            .await
            .ok()?;
        if balance != expected {
            return Some((owner, balance, expected));
        }
    }
    None
}

//! Helpers for the agent's integration tests: the agent binary as a real process, a fake
//! Semtech packet forwarder speaking raw GWMP datagrams, signed oracle entropy.
#![allow(dead_code)]

use std::{
    net::UdpSocket,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use hexproof_proto::{Keypair, PublicKey, Signed, v1::Entropy};
use prost::Message;

pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub fn oracle() -> Keypair {
    Keypair::from_secret([0x0A; 32])
}

/// Signed entropy, published now, valid for `ttl_secs`.
pub fn entropy(key: &Keypair, id: u64, ttl_secs: u32) -> Vec<u8> {
    Entropy {
        id,
        data: vec![id as u8 ^ 0x5A; 32],
        timestamp_ns: now_ns(),
        ttl_secs,
        ..Default::default()
    }
    .signed(key)
    .encode_to_vec()
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The agent binary running as its own process.
pub struct AgentProcess {
    child: Option<Child>,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub pubkey: PublicKey,
    env: Vec<(String, String)>,
}

pub struct AgentSetup<'a> {
    pub dir: &'a Path,
    pub broker: &'a str,
    pub udp_port: u16,
    pub oracles: Vec<PublicKey>,
    pub beacon_interval_secs: u64,
    pub beacon_enabled: bool,
}

impl AgentProcess {
    /// Writes a key (once) and a config into `dir`, then starts the agent.
    pub fn start(setup: &AgentSetup<'_>) -> AgentProcess {
        Self::start_with_env(setup, &[])
    }

    /// As [`AgentProcess::start`], with extra environment variables for the process.
    pub fn start_with_env(setup: &AgentSetup<'_>, env: &[(&str, String)]) -> AgentProcess {
        let key_path = setup.dir.join("hotspot.json");
        if !key_path.exists() {
            Keypair::generate().write_new_file(&key_path).unwrap();
        }
        let pubkey = Keypair::read_file(&key_path).unwrap().public();
        let oracles: Vec<String> = setup.oracles.iter().map(|k| format!("\"{k}\"")).collect();
        let config = setup.dir.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                r#"key = "{key}"
region = "EU868"
gain_ddbi = 30
oracles = [{oracles}]
[mqtt]
url = "{broker}"
reconnect_min_ms = 100
reconnect_max_ms = 500
[beacon]
enabled = {enabled}
interval_secs = {interval}
jitter_secs = 0
[outbox]
dir = "{outbox}"
[radio]
listen = "127.0.0.1:{port}"
tx_timeout_ms = 2000
"#,
                key = key_path.display(),
                oracles = oracles.join(", "),
                broker = setup.broker,
                enabled = setup.beacon_enabled,
                interval = setup.beacon_interval_secs,
                outbox = setup.dir.join("outbox").display(),
                port = setup.udp_port,
            ),
        )
        .unwrap();
        let mut agent = AgentProcess {
            child: None,
            dir: setup.dir.to_path_buf(),
            config,
            pubkey,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        agent.restart();
        agent
    }

    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("agent.log"))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_hotspot-agent"))
            .arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info,hotspot_agent=debug")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// SIGKILL, as a power cut would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("agent.log")).unwrap_or_default()
    }

    pub fn outbox_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("outbox"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "msg"));
        files.sort();
        files
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub const GATEWAY_MAC: [u8; 8] = [0xAA, 0x55, 0x5A, 0x00, 0x00, 0x00, 0x01, 0x01];

/// A fake Semtech packet forwarder: raw GWMP (protocol version 2) datagrams.
pub struct Forwarder {
    socket: UdpSocket,
    token: u16,
}

impl Forwarder {
    pub fn connect(agent_port: u16) -> Forwarder {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(("127.0.0.1", agent_port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Forwarder { socket, token: 1 }
    }

    fn header(&mut self, kind: u8) -> Vec<u8> {
        self.token = self.token.wrapping_add(1);
        let [hi, lo] = self.token.to_be_bytes();
        vec![2, hi, lo, kind]
    }

    pub fn send_raw(&self, bytes: &[u8]) {
        let _ = self.socket.send(bytes);
    }

    /// PULL_DATA until the agent answers PULL_ACK (it may still be starting).
    pub fn pull_data(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 65_535];
        while Instant::now() < deadline {
            let mut packet = self.header(2);
            packet.extend_from_slice(&GATEWAY_MAC);
            self.send_raw(&packet);
            if let Ok(n) = self.socket.recv(&mut buf)
                && n >= 4
                && buf[3] == 4
            {
                return;
            }
        }
        panic!("the agent never answered PULL_DATA");
    }

    /// PUSH_DATA with one rxpk (a JSON object).
    pub fn push_rxpk(&mut self, rxpk: &serde_json::Value) {
        let mut packet = self.header(0);
        packet.extend_from_slice(&GATEWAY_MAC);
        packet.extend_from_slice(serde_json::json!({ "rxpk": [rxpk] }).to_string().as_bytes());
        self.send_raw(&packet);
    }

    /// Waits for a PULL_RESP; returns its token and txpk.
    pub fn recv_pull_resp(&self, within: Duration) -> Option<([u8; 2], serde_json::Value)> {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 65_535];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf)
                && n > 4
                && buf[3] == 3
            {
                let json: serde_json::Value = serde_json::from_slice(&buf[4..n]).unwrap();
                return Some(([buf[1], buf[2]], json["txpk"].clone()));
            }
        }
        None
    }

    /// TX_ACK for a PULL_RESP token; `error` is "NONE" for success. Sent after 100 ms, as a
    /// concentrator takes a moment to schedule a packet: semtech-udp registers a downlink only
    /// once its own send has completed, and drops an acknowledgement that comes before that.
    pub fn tx_ack(&self, token: [u8; 2], error: &str) {
        std::thread::sleep(Duration::from_millis(100));
        let mut packet = vec![2, token[0], token[1], 5];
        packet.extend_from_slice(&GATEWAY_MAC);
        packet.extend_from_slice(
            serde_json::json!({ "txpk_ack": { "error": error } })
                .to_string()
                .as_bytes(),
        );
        self.send_raw(&packet);
    }
}

/// An rxpk as `lora_pkt_fwd` writes it.
pub fn rxpk(payload: &[u8], freq_mhz: f64, rssi: i32, lsnr: f64) -> serde_json::Value {
    use base64::Engine;
    serde_json::json!({
        "tmst": 3_512_348_611u32, "chan": 2, "rfch": 0, "freq": freq_mhz, "stat": 1,
        "modu": "LORA", "datr": "SF9BW125", "codr": "4/5", "rssi": rssi, "lsnr": lsnr,
        "size": payload.len(),
        "data": base64::engine::general_purpose::STANDARD.encode(payload),
    })
}

/// Beacon-shaped bytes (what a neighbour's beacon looks like on air).
pub fn beacon_packet(seed: u8) -> Vec<u8> {
    hexproof_proto::beacon::derive_packet(
        u64::from(seed),
        &[seed; 32],
        &[seed; 8],
        &PublicKey::from([seed; 32]),
    )
    .to_vec()
}

pub fn b64decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

//! Footprint benchmark (not a test): the release binary's size, stripped and not, and the
//! agent's resident memory while idle and while witnessing 100 beacons a second through the
//! Semtech UDP path to a real mosquitto.
//!
//! Run: `cargo bench -p hotspot-agent --bench footprint` (prints the figures).
//! Targets: stripped binary under 12 MB, RSS under 12 MB.

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use common::*;
use hexproof_fixtures::servers::{Mosquitto, Subscriber};

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let binary = env!("CARGO_BIN_EXE_hotspot-agent");
    let size = std::fs::metadata(binary).unwrap().len();
    let dir = tempfile::tempdir().unwrap();
    let stripped = dir.path().join("hotspot-agent.stripped");
    std::fs::copy(binary, &stripped).unwrap();
    let strip_ok = Command::new("strip")
        .arg(&stripped)
        .status()
        .is_ok_and(|s| s.success());
    let stripped_size = std::fs::metadata(&stripped).unwrap().len();

    let broker = Mosquitto::start().unwrap();
    let sub = Subscriber::start(&broker, "hexproof/v1/witnesses/#").unwrap();
    let port = free_udp_port();
    let agent = AgentProcess::start(&AgentSetup {
        dir: dir.path(),
        broker: &broker.url(),
        udp_port: port,
        oracles: vec![oracle().public()],
        beacon_interval_secs: 3600,
        beacon_enabled: false,
    });
    let pid = agent_pid(&agent);
    let mut fwd = Forwarder::connect(port);
    fwd.pull_data(Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    let idle = rss_kib(pid, "VmRSS:");

    // 100 beacons a second for 10 seconds.
    let rate = 100u32;
    let seconds = 10u32;
    let start = Instant::now();
    let mut peak = idle;
    for i in 0..rate * seconds {
        let due = start + Duration::from_secs(1) * i / rate;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let mut packet = beacon_packet((i % 251) as u8);
        packet[3..7].copy_from_slice(&i.to_le_bytes());
        fwd.push_rxpk(&rxpk(&packet, 868.1, -100, 3.0));
        if i % rate == 0 {
            peak = peak.max(rss_kib(pid, "VmRSS:"));
        }
    }
    let sent = start.elapsed();
    let total = (rate * seconds) as usize;
    let arrived = sub
        .wait_for(Duration::from_secs(30), |m| m.len() >= total)
        .len();
    let drained = start.elapsed();
    peak = peak.max(rss_kib(pid, "VmRSS:"));
    let hwm = rss_kib(pid, "VmHWM:");

    println!("hotspot-agent footprint (release build, x86_64)");
    println!("  binary                 {:>7.2} MiB", mib(size));
    if strip_ok {
        println!(
            "  binary, stripped       {:>7.2} MiB   (target < 12 MB)",
            mib(stripped_size)
        );
    } else {
        println!("  binary, stripped       strip(1) not available");
    }
    println!(
        "  RSS idle               {:>7.2} MiB   (target < 12 MB)",
        idle as f64 / 1024.0
    );
    println!(
        "  RSS witnessing {rate}/s    {:>7.2} MiB   peak sampled; VmHWM {:.2} MiB",
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "  witnesses published    {arrived}/{total} (sent over {:.1} s, all acknowledged after {:.1} s; outbox fsync on)",
        sent.as_secs_f64(),
        drained.as_secs_f64()
    );
}

fn agent_pid(agent: &AgentProcess) -> u32 {
    agent.pid().expect("agent running")
}

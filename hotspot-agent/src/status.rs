//! `hotspot-agent status`: what the network thinks of this hotspot, in plain words, for its
//! owner. Reads the explorer's public JSON API (`/api/hotspots/{key}`, its rewards, reports and
//! findings) over HTTP/1.1 ([`fetch`], the only I/O) and writes a page of text ([`render`],
//! pure): earnings by epoch, whether it is suspended and why, and each verdict code it got with
//! what happened and what to do (the words come with the explorer's answers: the same table the
//! owner's page shows).

use std::time::Duration;

use serde::Deserialize;

pub use crate::http::HttpError as StatusError;
use crate::http::Service;

/// The hotspot as the explorer shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Hotspot {
    pub pubkey: String,
    #[serde(default)]
    pub name: String,
    pub owner: String,
    /// At the explorer's public resolution.
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub lifetime_reward: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EpochEarning {
    pub epoch: u64,
    pub beacon_amount: u64,
    pub witness_amount: u64,
    pub data_amount: u64,
    #[serde(default)]
    pub dc: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rewards {
    pub lifetime: u64,
    pub epochs: Vec<EpochEarning>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub kind: String,
    pub timestamp_ns: u64,
    pub reason: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub explanation: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct NewestEpoch {
    start_ns: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct Reports {
    reports: Vec<Report>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    pub epoch: u64,
    pub code: String,
    pub evidence: String,
    pub suspended: bool,
    #[serde(default)]
    pub explanation: String,
    #[serde(default)]
    pub action: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Findings {
    findings: Vec<Finding>,
}

/// Everything `status` shows.
#[derive(Debug, Clone)]
pub struct Status {
    pub hotspot: Hotspot,
    pub rewards: Rewards,
    /// Oldest first (the explorer's first page).
    pub reports: Vec<Report>,
    pub findings: Vec<Finding>,
}

/// Asks the explorer at `explorer` (`http://host:port`) about hotspot `key` (base58).
pub async fn fetch(explorer: &str, key: &str) -> Result<Status, StatusError> {
    let explorer = Service::new("the explorer", explorer)?;
    let key = encode(key);
    // One at a time: the explorer gives each client two database reads at once.
    let hotspot = explorer.get(&format!("/api/hotspots/{key}")).await?;
    let rewards = explorer
        .get(&format!("/api/hotspots/{key}/rewards"))
        .await?;
    // Reports come oldest first: from the newest closed epoch's start (all before any).
    let since = match explorer.get::<NewestEpoch>("/api/epochs/0").await {
        Ok(e) => e.start_ns,
        Err(StatusError::Refused { status: 404, .. }) => 0,
        Err(e) => return Err(e),
    };
    Ok(Status {
        hotspot,
        rewards,
        reports: explorer
            .get::<Reports>(&format!(
                "/api/hotspots/{key}/reports?page_size=1000&since_ns={since}"
            ))
            .await?
            .reports,
        findings: explorer
            .get::<Findings>(&format!("/api/findings?hotspot={key}"))
            .await?
            .findings,
    })
}

/// Base58 needs no escaping, but a mistyped key must not become another path: every byte
/// but ASCII letters and digits percent-encoded (UTF-8).
pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn tokens(base_units: u64) -> String {
    format!("{:.2}", base_units as f64 / 1e6)
}

/// The page `status` prints.
pub fn render(s: &Status) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let h = &s.hotspot;
    let _ = writeln!(out, "Hotspot {} ({})", h.pubkey, h.name);
    let _ = writeln!(out, "Owner:  {}", h.owner);
    let _ = writeln!(
        out,
        "Area:   {} (the explorer shows locations no finer than this)",
        if h.location.is_empty() {
            "no location asserted"
        } else {
            &h.location
        }
    );
    let _ = writeln!(
        out,
        "\nEarnings: {} tokens in all.",
        tokens(s.rewards.lifetime)
    );
    for e in s.rewards.epochs.iter().rev().take(10) {
        let _ = writeln!(
            out,
            "  epoch {:>6}: {:>12} tokens (coverage {}, data {} for {} credits carried)",
            e.epoch,
            tokens(
                e.beacon_amount
                    .saturating_add(e.witness_amount)
                    .saturating_add(e.data_amount)
            ),
            tokens(e.beacon_amount.saturating_add(e.witness_amount)),
            tokens(e.data_amount),
            e.dc
        );
    }
    if s.rewards.epochs.is_empty() {
        let _ = writeln!(out, "  none yet: rewards appear once an epoch closes.");
    }
    let suspended: std::collections::BTreeSet<u64> = s
        .findings
        .iter()
        .filter(|f| f.suspended)
        .map(|f| f.epoch)
        .collect();
    if suspended.is_empty() {
        let _ = writeln!(out, "\nSuspended: no.");
    } else {
        let list: Vec<String> = suspended.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "\nSuspended in epoch {}: a suspended hotspot earns nothing that epoch. Why:",
            list.join(", ")
        );
    }
    for f in &s.findings {
        let _ = writeln!(
            out,
            "  epoch {} · {}{}\n    {}\n    Evidence: {}\n    What to do: {}",
            f.epoch,
            f.code,
            if f.suspended { " (suspended)" } else { "" },
            f.explanation,
            f.evidence,
            f.action
        );
    }
    // Verdict codes, most frequent first, each once with its words.
    let mut codes: Vec<(String, usize, &Report)> = Vec::new();
    for r in &s.reports {
        match codes.iter_mut().find(|(c, _, _)| *c == r.reason) {
            Some(entry) => entry.1 += 1,
            None => codes.push((r.reason.clone(), 1, r)),
        }
    }
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let _ = writeln!(
        out,
        "\nVerdicts of its {} reports since the newest closed epoch began:",
        s.reports.len()
    );
    for (code, n, r) in &codes {
        let _ = writeln!(
            out,
            "  {code} ×{n}\n    {}\n    What to do: {}",
            r.explanation
                .as_deref()
                .unwrap_or("(this agent's explorer gave no explanation for this code)"),
            r.action.as_deref().unwrap_or("-")
        );
    }
    if codes.is_empty() {
        let _ = writeln!(out, "  none yet.");
    }
    let pending = s.reports.iter().filter(|r| r.reason == "pending").count();
    if pending > 0 {
        let _ = writeln!(out, "\n{pending} reports are not judged yet.");
    }
    if let Some(r) = s
        .reports
        .iter()
        .rev()
        .find(|r| r.reason != "valid" && r.reason != "pending")
    {
        let at = std::time::UNIX_EPOCH + Duration::from_nanos(r.timestamp_ns);
        let _ = writeln!(
            out,
            "\nLatest rejected report: {} at {}: {}{}",
            r.kind,
            humantime::format_rfc3339_seconds(at),
            r.reason,
            if r.detail.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.detail)
            }
        );
    }
    // What the explorer said goes to the owner's terminal: no control characters but lines.
    out.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspended_hotspot_is_told_why_and_what_to_do() {
        let s = Status {
            hotspot: Hotspot {
                pubkey: "K".into(),
                name: "eager-lilac-heron".into(),
                owner: "O".into(),
                location: "88283082b1fffff".into(),
                lifetime_reward: 21_140_000,
            },
            rewards: Rewards {
                lifetime: 21_140_000,
                epochs: vec![EpochEarning {
                    epoch: 1,
                    beacon_amount: 1_000_000,
                    witness_amount: 20_140_000,
                    data_amount: 0,
                    dc: 0,
                }],
            },
            reports: vec![
                Report {
                    kind: "witness".into(),
                    timestamp_ns: 5_000_000_000,
                    reason: "witness_too_close".into(),
                    detail: "263 m from the beaconer".into(),
                    explanation: Some("Too close.".into()),
                    action: Some("Nothing to do.".into()),
                },
                Report {
                    kind: "witness".into(),
                    timestamp_ns: 6_000_000_000,
                    reason: "valid".into(),
                    detail: String::new(),
                    explanation: Some("Counted.".into()),
                    action: Some("Nothing to do.".into()),
                },
            ],
            findings: vec![Finding {
                epoch: 1,
                code: "one_radio_many_keys".into(),
                evidence: "agree to 0.0 dB".into(),
                suspended: true,
                explanation: "One radio, several keys.".into(),
                action: "Run one key per radio.".into(),
            }],
        };
        let page = render(&s);
        for words in [
            "Earnings: 21.14 tokens in all.",
            "Suspended in epoch 1",
            "One radio, several keys.",
            "What to do: Run one key per radio.",
            "witness_too_close ×1\n    Too close.",
            "valid ×1",
            "Latest rejected report: witness at 1970-01-01T00:00:05Z: witness_too_close (263 m from the beaconer)",
        ] {
            assert!(page.contains(words), "{words:?} in\n{page}");
        }
    }

    #[test]
    fn a_hostile_answer_neither_panics_nor_drives_the_terminal() {
        let mut s = Status {
            hotspot: Hotspot {
                pubkey: "K".into(),
                name: "x\u{1b}]52;c;evil\u{7}\u{1b}[2J".into(),
                owner: "O".into(),
                location: String::new(),
                lifetime_reward: 0,
            },
            rewards: Rewards {
                lifetime: u64::MAX,
                epochs: vec![EpochEarning {
                    epoch: 1,
                    beacon_amount: u64::MAX,
                    witness_amount: 1,
                    data_amount: u64::MAX,
                    dc: 0,
                }],
            },
            reports: Vec::new(),
            findings: Vec::new(),
        };
        let page = render(&s);
        assert!(
            !page.contains('\u{1b}') && !page.contains('\u{7}'),
            "{page:?}"
        );
        // A report not judged yet is not a rejected one.
        s.reports.push(Report {
            kind: "witness".into(),
            timestamp_ns: 1,
            reason: "pending".into(),
            detail: String::new(),
            explanation: None,
            action: None,
        });
        let page = render(&s);
        assert!(page.contains("1 reports are not judged yet"), "{page}");
        assert!(!page.contains("Latest rejected report"), "{page}");
    }

    #[tokio::test]
    async fn an_endless_answer_is_cut_off() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
                .await;
            let zeros = vec![b'0'; 1 << 16];
            while socket.write_all(&zeros).await.is_ok() {}
        });
        let e = fetch(&format!("http://{addr}"), "K").await.unwrap_err();
        assert!(matches!(e, StatusError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn only_plain_http_addresses_are_asked() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for bad in ["https://x:1", "x:1", "http://", "http://x:1/api"] {
            assert!(matches!(
                rt.block_on(fetch(bad, "K")),
                Err(StatusError::BadUrl { .. })
            ));
        }
        assert_eq!(encode("ab/../c"), "ab%2F%2E%2E%2Fc");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(encode("\u{12f}"), "%C4%AF");
    }
}

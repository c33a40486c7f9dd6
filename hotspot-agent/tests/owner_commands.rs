//! The owner's commands as the owner runs them: the `hotspot-agent` binary against a maker that
//! answers over HTTP. A dishonest maker's message is refused before any key signs (nothing is
//! sent back), and a maker's refusal reaches the owner in words, with a failing exit status.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    process::Command,
    sync::{Arc, Mutex},
};

use hexproof_proto::{
    Keypair,
    maker::{Prepared, Refusal, RefusalCode, encode_hex},
};

/// What a fake maker was asked: each request's path and body.
type Asked = Arc<Mutex<Vec<(String, String)>>>;

/// A maker that answers every `/v1/prepare` with `answer` (status and JSON) and records the
/// paths and bodies it was asked; returns its address and the record.
fn fake_maker(status: u16, answer: String) -> (String, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let record = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            record
                .lock()
                .unwrap()
                .push((path, String::from_utf8_lossy(&body).into_owned()));
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (format!("http://{addr}"), asked)
}

/// A legacy Solana message with `keys` (the first pays, all sign) and no instruction.
fn message(keys: &[[u8; 32]]) -> String {
    let mut m = vec![keys.len() as u8, 0, 0, keys.len() as u8];
    for k in keys {
        m.extend_from_slice(k);
    }
    m.extend_from_slice(&[0; 32]);
    m.push(0);
    encode_hex(&m)
}

fn onboard(maker: &str, dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hotspot-agent"))
        .args(["onboard", "--location", "52.52,13.405", "--maker", maker])
        .arg("--key")
        .arg(dir.join("hotspot.json"))
        .arg("--owner-keypair")
        .arg(dir.join("owner.json"))
        .output()
        .unwrap()
}

fn keys(dir: &std::path::Path) -> (Keypair, Keypair) {
    let (hotspot, owner) = (Keypair::generate(), Keypair::generate());
    hotspot.write_new_file(&dir.join("hotspot.json")).unwrap();
    owner.write_new_file(&dir.join("owner.json")).unwrap();
    (hotspot, owner)
}

#[test]
fn a_message_making_the_owner_pay_is_refused_before_any_key_signs() {
    let dir = tempfile::tempdir().unwrap();
    let (hotspot, owner) = keys(dir.path());
    // The owner as fee payer: it would pay the onboarding fee and the rent.
    let prepared = Prepared {
        message: message(&[owner.public().to_bytes(), hotspot.public().to_bytes()]),
        fee_payer: owner.public(),
        signers: vec![hotspot.public(), owner.public()],
        cost_lamports: 0,
    };
    let (maker, asked) = fake_maker(200, serde_json::to_string(&prepared).unwrap());
    let out = onboard(&maker, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("the maker's message was not signed") && stderr.contains("fee payer"),
        "{stderr}"
    );
    // Nothing signed went back.
    let asked = asked.lock().unwrap().clone();
    assert_eq!(
        asked.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        vec!["/v1/prepare"]
    );
    // The maker learnt the resolution-8 cell and a commitment, never the exact cell.
    let exact = h3o::LatLng::new(52.52, 13.405)
        .unwrap()
        .to_cell(h3o::Resolution::Twelve);
    let public = exact.parent(h3o::Resolution::Eight).unwrap();
    let body = &asked[0].1;
    assert!(
        body.contains(&format!("\"location\":\"{public}\"")),
        "{body}"
    );
    assert!(body.contains("\"commitment\":\""), "{body}");
    assert!(!body.contains(&exact.to_string()), "{body}");
    // And the agent told its owner which setting reveals it to the oracles.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("location = \"{exact}\"")),
        "{stdout}"
    );
}

#[test]
fn a_makers_refusal_reaches_the_owner_in_words() {
    let dir = tempfile::tempdir().unwrap();
    keys(dir.path());
    let refusal = Refusal {
        code: RefusalCode::NotEntitled,
        error: "this maker did not make hotspot X: ask the maker of your hardware\u{202E}".into(),
    };
    let (maker, _) = fake_maker(403, serde_json::to_string(&refusal).unwrap());
    let out = onboard(&maker, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("NotEntitled") && stderr.contains("ask the maker of your hardware"),
        "{stderr}"
    );
    // A bidirectional override from the service never reaches the owner's terminal.
    assert!(!stderr.contains('\u{202E}'), "{stderr}");
}

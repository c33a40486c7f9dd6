//! Key files: the Solana CLI keypair format, mode 0600, clear errors for bad files.

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use hexproof_proto::{Keypair, keys::KeyFileError};

fn write(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn written_key_loads_with_the_same_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/hotspot.json");
    let key = Keypair::generate();
    key.write_new_file(&path).unwrap();

    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let loaded = Keypair::read_file(&path).unwrap();
    assert_eq!(loaded.public(), key.public());
    assert_eq!(loaded.secret(), key.secret());
}

#[test]
fn file_text_is_the_solana_cli_format() {
    // The Solana CLI writes serde_json of the 64 bytes: "[a,b,...]" with no spaces.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let key = Keypair::from_secret([3; 32]);
    key.write_new_file(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let numbers: Vec<String> = key
        .to_keypair_bytes()
        .iter()
        .map(|b| b.to_string())
        .collect();
    assert_eq!(text, format!("[{}]", numbers.join(",")));

    // And a file written by that tool (pretty-printed too) loads.
    let pretty = dir.path().join("pretty.json");
    write(
        &pretty,
        &serde_json::to_string_pretty(&key.to_keypair_bytes().to_vec()).unwrap(),
        0o600,
    );
    assert_eq!(Keypair::read_file(&pretty).unwrap().public(), key.public());
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.json");
    let first = Keypair::generate();
    first.write_new_file(&path).unwrap();
    let err = Keypair::generate().write_new_file(&path).unwrap_err();
    assert!(
        matches!(err.kind(), KeyFileError::Io(e) if e.kind() == std::io::ErrorKind::AlreadyExists)
    );
    assert_eq!(Keypair::read_file(&path).unwrap().public(), first.public());
}

#[test]
fn bad_key_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let good = Keypair::from_secret([4; 32]).to_keypair_bytes().to_vec();

    write(
        &p("short"),
        &serde_json::to_string(&good[..63]).unwrap(),
        0o600,
    );
    let err = Keypair::read_file(&p("short")).unwrap_err();
    assert!(matches!(err.kind(), KeyFileError::Length(63)));
    assert!(err.to_string().contains("short"), "names the file: {err}");
    assert!(
        err.to_string().contains("64 bytes"),
        "says what is expected: {err}"
    );

    write(&p("notjson"), "hello", 0o600);
    assert!(matches!(
        Keypair::read_file(&p("notjson")).unwrap_err().kind(),
        KeyFileError::Json(_)
    ));

    let mut big = good.iter().map(|&b| b as u32).collect::<Vec<_>>();
    big[0] = 256;
    write(&p("big"), &serde_json::to_string(&big).unwrap(), 0o600);
    assert!(matches!(
        Keypair::read_file(&p("big")).unwrap_err().kind(),
        KeyFileError::Json(_)
    ));

    let mut mismatched = good.clone();
    mismatched[40] ^= 1;
    write(
        &p("mismatch"),
        &serde_json::to_string(&mismatched).unwrap(),
        0o600,
    );
    assert!(matches!(
        Keypair::read_file(&p("mismatch")).unwrap_err().kind(),
        KeyFileError::Mismatch
    ));

    write(&p("open"), &serde_json::to_string(&good).unwrap(), 0o644);
    let err = Keypair::read_file(&p("open")).unwrap_err();
    assert!(matches!(err.kind(), KeyFileError::Permissions(0o644)));
    assert!(err.to_string().contains("chmod 600"), "{err}");

    write(&p("huge"), &" ".repeat(10_000), 0o600);
    assert!(matches!(
        Keypair::read_file(&p("huge")).unwrap_err().kind(),
        KeyFileError::TooLarge(10_000)
    ));

    let err = Keypair::read_file(&p("missing")).unwrap_err();
    assert!(matches!(err.kind(), KeyFileError::Io(e) if e.kind() == std::io::ErrorKind::NotFound));
}

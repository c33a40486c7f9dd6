//! Storage against both databases: SQLite (a file) and a real PostgreSQL server started for the
//! test. Same schema, same migrations, same behaviour.

use hexproof_fixtures::servers::Postgres;
use hexproof_poc::{EntropyRecord, Kind, Reason, Status, Verdict};
use oracle::store::{NewReport, Store};

fn report(n: u8, kind: Kind, status: Status) -> NewReport {
    NewReport {
        id: [n; 32],
        kind,
        hotspot: format!("hotspot-{}", n % 3),
        packet_hash: Some([n / 2; 32]),
        timestamp_ns: 1_000 + u64::from(n),
        received_ns: 2_000 + u64::from(n),
        payload: vec![n; 10],
        status,
        reason: (status == Status::Invalid).then_some(Reason::BadSignature),
        detail: None,
        rssi_ddbm: Some(-1000),
        snr_ddb: Some(-20),
        frequency_hz: Some(868_100_000),
    }
}

async fn exercise(store: Store) {
    let reports: Vec<NewReport> = (0..10u8)
        .map(|n| {
            report(
                n,
                if n % 2 == 0 {
                    Kind::Beacon
                } else {
                    Kind::Witness
                },
                Status::Pending,
            )
        })
        .chain([report(50, Kind::Undecodable, Status::Invalid)])
        .collect();
    assert_eq!(store.insert_reports(&reports).await.unwrap(), 11);
    // Idempotent: the same reports again add nothing.
    assert_eq!(store.insert_reports(&reports).await.unwrap(), 0);
    assert_eq!(store.count_reports().await.unwrap(), 11);

    let beacons = store.pending_beacons(3_000, 100).await.unwrap();
    assert_eq!(beacons.len(), 5);
    assert!(
        beacons
            .windows(2)
            .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
    );
    assert_eq!(beacons[0].payload, vec![0; 10]);
    // Beacon 2 and witness 3 share packet hash [1; 32].
    let witnesses = store.pending_witnesses_of(&[[1; 32]]).await.unwrap();
    assert_eq!(
        witnesses.iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![[3; 32]]
    );

    store
        .save_verdicts(&[
            (Verdict::valid([2; 32], None), 5_000),
            (
                Verdict {
                    id: [3; 32],
                    status: Status::Invalid,
                    reason: Some(Reason::WitnessTooFar),
                    detail: "far".into(),
                    beacon_id: Some([2; 32]),
                    selected: false,
                    cell: None,
                },
                5_000,
            ),
        ])
        .await
        .unwrap();
    let judged = store
        .judged_beacons_with(&[[1; 32], [9; 32]])
        .await
        .unwrap();
    assert_eq!(
        judged
            .iter()
            .map(|b| (b.packet_hash, b.id, b.valid))
            .collect::<Vec<_>>(),
        vec![([1; 32], [2; 32], true)]
    );
    // Beacon 2 (timestamp 1002) belongs to hotspot-2.
    let times = store
        .valid_beacon_times(&["hotspot-1".into(), "hotspot-2".into()], 0, 2_000)
        .await
        .unwrap();
    assert_eq!(times.get("hotspot-2"), Some(&vec![1_002]));
    assert_eq!(times.get("hotspot-1"), None);
    assert_eq!(store.pending_beacons(3_000, 100).await.unwrap().len(), 4);

    let summary = store.verdict_summary().await.unwrap();
    assert!(summary.contains(&(
        Kind::Witness,
        Status::Invalid,
        Some("witness_too_far".into()),
        1
    )));
    assert!(summary.contains(&(
        Kind::Undecodable,
        Status::Invalid,
        Some("bad_signature".into()),
        1
    )));

    let e = EntropyRecord {
        id: 4,
        data: vec![7; 32],
        timestamp_ns: 99,
        ttl_secs: 180,
    };
    store.insert_entropy(&e, b"signed").await.unwrap();
    store.insert_entropy(&e, b"signed").await.unwrap();
    assert_eq!(store.entropy(4).await.unwrap(), Some(e.clone()));
    assert_eq!(
        store.latest_entropy().await.unwrap(),
        Some((e, b"signed".to_vec()))
    );
    assert_eq!(store.entropy(5).await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("oracle.db").display());
    exercise(Store::connect(&url).await.unwrap()).await;
    // Reopening runs no migration twice and keeps the data.
    assert_eq!(
        Store::connect(&url)
            .await
            .unwrap()
            .count_reports()
            .await
            .unwrap(),
        11
    );
}

#[tokio::test]
async fn postgres_store() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_database("oracle").unwrap();
    exercise(Store::connect(&url).await.unwrap()).await;
    assert_eq!(
        Store::connect(&url)
            .await
            .unwrap()
            .count_reports()
            .await
            .unwrap(),
        11
    );
}

#[tokio::test]
async fn bad_database_urls_are_clear_errors() {
    let err = Store::connect("mysql://nope").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("neither sqlite:// nor postgres://"),
        "{err}"
    );
}

//! The committed default scenario (`fixtures/scenarios/default.toml`: one city, 32 % adversaries
//! of every kind the simulator plays) through the whole pipeline, with and without its
//! adversaries: the scorecard meets the scenario's bounds (adversaries under 2 % of rewards,
//! honest hotspots losing under 2 %, honest false positives under 1 %), every adversary kind
//! is caught with its code, no honest neighbour of an adversary is hit, and the wash trader gets
//! back at most what its credits cost.
//!
//! Each kind also has a test of its own where its rule or detection lives (a synthetic epoch
//! per kind in `hexproof_poc::detect::tests`, the per-report rules in `hexproof_poc::rules`).

use hexproof_fixtures::{Scenario, fixtures_dir};
use tokio_util::sync::CancellationToken;

/// The code each kind must be caught with: a finding (`finding/…`) or a rejection of its own
/// reports (`kind/reason`).
const CAUGHT_WITH: &[(&str, &[&str])] = &[
    (
        "near_spoofer",
        &[
            "finding/signal_inconsistent_with_location",
            "finding/beacons_louder_than_claimed",
            "finding/hears_beyond_range",
        ],
    ),
    ("witness_only", &["finding/no_reciprocity"]),
    ("griefer", &["finding/beacons_louder_than_claimed"]),
    ("delayed_beaconer", &["beacon/beacon_late"]),
    ("forging_relay", &["finding/hears_beyond_range"]),
    ("key_farm", &["finding/one_radio_many_keys"]),
    ("ring", &["finding/missing_expected_witnesses"]),
    ("location_spoofer", &["witness/witness_too_far"]),
    ("beacon_replayer", &["witness/witness_time_window"]),
];

/// Kinds with nothing to catch: the oracle must store nothing of them, and pay them nothing
/// (dormant keys never run; the gate refuses the MQTT-only farm the beacon topics, so it never
/// sees a beacon to copy). Dormant keys sit in honest hotspots' cells: the honest-loss bound
/// says they did not cut those hotspots' density scale.
const INERT: &[&str] = &["dormant", "mqtt_witness_farm"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_scenario_meets_its_bounds_and_every_kind_is_caught() {
    let scenario = Scenario::load(&fixtures_dir().join("scenarios/default.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let card = hexproof_demo::scorecard::run(
        &scenario,
        dir.path().to_path_buf(),
        false,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    hexproof_demo::scorecard::print(&card);

    assert_eq!(card.epochs.len() as u64, scenario.run.epochs);
    assert!(card.paid > 0, "nothing was paid");
    assert!(
        card.adversary_share_bps < scenario.bounds.max_adversary_share_bps,
        "adversaries took {} bps",
        card.adversary_share_bps
    );
    assert!(
        card.honest_loss_bps < scenario.bounds.max_honest_loss_bps as i64,
        "honest hotspots lost {} bps",
        card.honest_loss_bps
    );
    assert!(
        card.false_positive_bps < scenario.bounds.max_false_positive_bps,
        "false positives: {:?}",
        card.false_positives
    );
    assert!(
        card.neighbours > 0,
        "the scenario puts honest hotspots next to adversaries"
    );
    assert_eq!(
        card.neighbour_false_positives, 0,
        "{:?}",
        card.false_positives
    );
    assert!(card.pass);
    assert_eq!(
        card.onboarding_fee_lamports,
        oracle::chain::DEFAULT_ONBOARDING_FEE,
        "the demo's deployment charges the default fee"
    );

    // The wash trader (issue 30): its owner burned what it earned for credits and spent them on
    // devices beside its hotspots; the data pool paid its hotspots at most what those credits
    // cost. Its radios are honest coverage, so the bounds above hold with it.
    let wash = card
        .kinds
        .iter()
        .find(|k| k.kind == "wash_trader")
        .expect("the default scenario has a wash trader");
    let r = wash
        .return_on_credits
        .expect("the wash trader spent credits");
    assert!(wash.data_paid > 0 && r > 0.0, "{wash:?}");
    assert!(
        r <= 1.0,
        "the wash trader got back more than it burned: {wash:?}"
    );

    // Every kind of the scenario, every key of it, caught with its code.
    assert_eq!(card.kinds.len(), CAUGHT_WITH.len() + INERT.len() + 1);
    for kind in INERT {
        let k = card
            .kinds
            .iter()
            .find(|k| k.kind == *kind)
            .unwrap_or_else(|| panic!("{kind} is not in the scenario"));
        assert_eq!((k.inert, k.paid), (k.keys, 0), "{kind}: {k:?}");
    }
    for (kind, codes) in CAUGHT_WITH {
        let k = card
            .kinds
            .iter()
            .find(|k| k.kind == *kind)
            .unwrap_or_else(|| panic!("{kind} is not in the scenario"));
        assert_eq!(k.caught, k.keys, "{kind}: {k:?}");
        assert!(
            codes.iter().any(|c| k.codes.contains_key(*c)),
            "{kind} was not caught with {codes:?}: {:?}",
            k.codes
        );
        assert!(k.epochs_to_detection.is_some(), "{kind}");
        assert!(k.rent_lamports > 0, "{kind}: onboarding costs rent");
        assert_eq!(
            k.fee_lamports,
            k.keys as u64 * card.onboarding_fee_lamports,
            "{kind}: every key paid the onboarding fee"
        );
        assert_eq!(
            k.return_over_honest,
            Some(0.0),
            "{kind} earned nothing for what it spent"
        );
    }
}

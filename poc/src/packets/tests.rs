//! The router's rules against the attacks a hotspot or a device's neighbour would try. Frames
//! are real LoRaWAN (built by `hexproof_fixtures::devices` with ChirpStack's codec).

use hexproof_fixtures::devices::Device;
use hexproof_proto::{Keypair, PublicKey};
use proptest::prelude::*;

use super::*;

const SEC: u64 = 1_000_000_000;
const BASE: u32 = 0x4800_0000;

fn key(n: u8) -> PublicKey {
    Keypair::from_secret([n; 32]).public()
}

fn org(oui: u64) -> Org {
    Org {
        oui,
        owner: key(200),
        payer: key(201),
        enabled: true,
        credits: None,
    }
}

fn route(id: u64, oui: u64, max_copies: u32, range: (u32, u32)) -> Route {
    Route {
        id,
        oui,
        max_copies,
        dev_addrs: vec![range],
        euis: vec![],
        session_keys: vec![],
        lns: format!("lns-{id}"),
        active: true,
    }
}

fn table(routes: Vec<Route>) -> RoutingTable {
    RoutingTable::new([org(1), org(2)], routes).unwrap()
}

fn device(n: u32) -> Device {
    Device::derive("router-tests", BASE, n)
}

/// Offers one frame from hotspots 1..=n at 10 ms intervals: how many copies each route bought.
fn offer_from(
    router: &mut Router,
    t: &RoutingTable,
    frame: &[u8],
    n: u8,
    at: u64,
) -> Vec<Result<Vec<Bought>, Drop>> {
    (1..=n)
        .map(|h| router.offer(t, key(h), frame, at + u64::from(h) * 10_000_000))
        .collect()
}

#[test]
fn copies_are_bought_up_to_max_copies_one_per_hotspot() {
    let t = table(vec![route(7, 1, 3, (BASE, BASE + 100))]);
    let mut r = Router::new(RouterLimits::default());
    let frame = device(1).uplink(0, 1, b"hello", false);
    let out = offer_from(&mut r, &t, &frame, 5, 0);
    let copies: Vec<u32> = out
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .flat_map(|b| b.iter().map(|b| b.copy))
        .collect();
    assert_eq!(
        copies,
        [1, 2, 3],
        "three copies for a route of max_copies 3"
    );
    assert_eq!(out[3], Err(Drop::CopiesFull));
    assert_eq!(out[4], Err(Drop::CopiesFull));
    // The same hotspot offering the same packet again (its own duplicate, or a replay).
    assert_eq!(
        r.offer(&t, key(1), &frame, 100_000_000),
        Err(Drop::Duplicate)
    );
    let bought = out[0].as_ref().unwrap()[0];
    assert_eq!((bought.route, bought.oui), (7, 1));
    assert_eq!(
        bought.uplink,
        Uplink::Data {
            dev_addr: BASE + 1,
            fcnt: 0,
            confirmed: false
        }
    );
}

#[test]
fn a_packet_two_routes_take_is_bought_for_each() {
    let t = table(vec![
        route(7, 1, 1, (BASE, BASE + 100)),
        route(8, 2, 2, (BASE + 1, BASE + 1)),
    ]);
    let mut r = Router::new(RouterLimits::default());
    let frame = device(1).uplink(0, 1, b"x", false);
    let first = r.offer(&t, key(1), &frame, 0).unwrap();
    assert_eq!(first.iter().map(|b| b.route).collect::<Vec<_>>(), [7, 8]);
    let second = r.offer(&t, key(2), &frame, SEC / 10).unwrap();
    assert_eq!(second.iter().map(|b| b.route).collect::<Vec<_>>(), [8]);
    assert_eq!(r.offer(&t, key(3), &frame, SEC / 5), Err(Drop::CopiesFull));
}

#[test]
fn late_copies_and_replays_within_memory_are_not_bought() {
    let t = table(vec![route(7, 1, 10, (BASE, BASE + 100))]);
    let limits = RouterLimits::default();
    let mut r = Router::new(limits.clone());
    let frame = device(1).uplink(0, 1, b"x", false);
    assert!(r.offer(&t, key(1), &frame, 0).is_ok());
    assert!(r.offer(&t, key(2), &frame, limits.dedupe_window_ns).is_ok());
    // Past the window: a late copy, or the frame captured and sent again by anyone.
    assert_eq!(
        r.offer(&t, key(3), &frame, limits.dedupe_window_ns + 1),
        Err(Drop::Late)
    );
    assert_eq!(r.offer(&t, key(9), &frame, 300 * SEC), Err(Drop::Late));
    // Past the memory the hash is forgotten: only a route holding the device's session key
    // (below) still refuses it; the network server refuses its counter.
    assert!(r.offer(&t, key(9), &frame, limits.memory_ns + SEC).is_ok());
}

#[test]
fn packets_no_route_takes_and_disabled_orgs_buy_nothing() {
    let mut disabled = org(2);
    disabled.enabled = false;
    let mut inactive = route(9, 1, 1, (BASE + 500, BASE + 500));
    inactive.active = false;
    let t = RoutingTable::new(
        [org(1), disabled],
        [
            route(7, 1, 1, (BASE, BASE + 100)),
            route(8, 2, 1, (BASE + 200, BASE + 300)),
            inactive,
        ],
    )
    .unwrap();
    let mut r = Router::new(RouterLimits::default());
    let outside = Device::derive("router-tests", 0x2600_0000, 1).uplink(0, 1, b"x", false);
    assert_eq!(r.offer(&t, key(1), &outside, 0), Err(Drop::NoRoute));
    assert_eq!(
        r.offer(&t, key(2), &outside, 1),
        Err(Drop::NoRoute),
        "every copy"
    );
    let of_disabled = device(250).uplink(0, 1, b"x", false);
    assert_eq!(r.offer(&t, key(1), &of_disabled, 2), Err(Drop::OrgDisabled));
    let of_inactive = device(500).uplink(0, 1, b"x", false);
    assert_eq!(r.offer(&t, key(1), &of_inactive, 3), Err(Drop::OrgDisabled));
}

#[test]
fn junk_downlinks_and_oversized_frames_are_dropped_by_reason() {
    let t = table(vec![route(7, 1, 1, (0, u32::MAX))]);
    let mut r = Router::new(RouterLimits::default());
    assert_eq!(r.offer(&t, key(1), &[0u8; 256], 0), Err(Drop::Oversized));
    assert_eq!(r.offer(&t, key(1), b"short", 1), Err(Drop::Undecodable));
    // An unconfirmed data down (MType 011) with a valid-looking header.
    let mut down = device(1).uplink(0, 1, b"x", false);
    down[0] = 0x60;
    assert_eq!(r.offer(&t, key(1), &down, 2), Err(Drop::NotUplink));
    // A join request from a device in no route's EUIs.
    let mut join = vec![0x00];
    join.extend_from_slice(&[1; 8]);
    join.extend_from_slice(&[2; 8]);
    join.extend_from_slice(&[3, 0, 9, 9, 9, 9]);
    assert_eq!(r.offer(&t, key(1), &join, 3), Err(Drop::NoRoute));
}

#[test]
fn join_requests_are_routed_by_eui_pairs() {
    let mut by_eui = route(7, 1, 2, (1, 0x10));
    by_eui.euis = vec![(0x0101_0101_0101_0101, 0)];
    let t = table(vec![by_eui]);
    let mut r = Router::new(RouterLimits::default());
    let join = |join_eui: u8, dev_nonce: u8| {
        let mut j = vec![0x00];
        j.extend_from_slice(&[join_eui; 8]);
        j.extend_from_slice(&[2; 8]);
        j.extend_from_slice(&[dev_nonce, 0, 9, 9, 9, 9]);
        j
    };
    let bought = r.offer(&t, key(1), &join(1, 1), 0).unwrap();
    assert!(matches!(
        bought[0].uplink,
        Uplink::Join {
            join_eui: 0x0101_0101_0101_0101,
            dev_eui: 0x0202_0202_0202_0202,
            dev_nonce: 1
        }
    ));
    assert_eq!(r.offer(&t, key(1), &join(9, 1), 1), Err(Drop::NoRoute));
}

fn with_session(device: &Device) -> RoutingTable {
    let mut r = route(7, 1, 2, (BASE, BASE + 100));
    r.session_keys = vec![SessionKey {
        dev_addr: device.dev_addr,
        nwk_s_key: device.nwk_s_key,
        last_fcnt: None,
    }];
    table(vec![r])
}

/// A hotspot inventing frames for a device whose route holds its session key: not bought.
#[test]
fn a_hotspot_cannot_invent_frames_for_a_checked_device() {
    let d = device(1);
    let t = with_session(&d);
    let mut r = Router::new(RouterLimits::default());
    assert!(
        r.offer(&t, key(1), &d.uplink(0, 1, b"real", false), 0)
            .is_ok()
    );
    // The same DevAddr under keys the hotspot made up.
    let impostor = Device {
        nwk_s_key: [9; 16],
        ..d.clone()
    };
    let forged = impostor.uplink(1, 1, b"pay me", false);
    assert_eq!(r.offer(&t, key(1), &forged, SEC), Err(Drop::BadMic));
    assert_eq!(
        r.offer(&t, key(2), &forged, SEC + 1),
        Err(Drop::BadMic),
        "nor from another hotspot"
    );
    // A bit flipped in a real frame.
    let mut flipped = d.uplink(1, 1, b"real", false);
    flipped[9] ^= 0x80;
    assert_eq!(r.offer(&t, key(1), &flipped, 2 * SEC), Err(Drop::BadMic));
    // The forgeries did not move the device's counter: its next frame is bought.
    assert!(
        r.offer(&t, key(1), &d.uplink(1, 1, b"real", false), 3 * SEC)
            .is_ok()
    );
}

/// A frame recorded and sent again after the router forgot its hash: its counter is used.
#[test]
fn a_checked_devices_old_frame_sent_again_is_refused_by_its_counter() {
    let d = device(1);
    let t = with_session(&d);
    let limits = RouterLimits {
        memory_ns: 10 * SEC,
        ..Default::default()
    };
    let mut r = Router::new(limits);
    let old = d.uplink(0, 1, b"a", false);
    assert!(r.offer(&t, key(1), &old, 0).is_ok());
    for fcnt in 1..5 {
        assert!(
            r.offer(
                &t,
                key(1),
                &d.uplink(fcnt, 1, b"a", false),
                u64::from(fcnt) * SEC
            )
            .is_ok()
        );
    }
    assert_eq!(r.offer(&t, key(2), &old, 60 * SEC), Err(Drop::FcntReused));
    // Counters go on past 16 bits.
    for fcnt in [65_534, 65_535, 65_536, 65_537] {
        assert!(
            r.offer(
                &t,
                key(1),
                &d.uplink(fcnt, 1, b"a", false),
                100 * SEC + u64::from(fcnt)
            )
            .is_ok(),
            "fcnt {fcnt}"
        );
    }
}

#[test]
fn a_flooding_hotspot_is_held_to_its_rate_and_others_are_not() {
    let t = table(vec![route(7, 1, 5, (BASE, BASE + 100_000))]);
    let limits = RouterLimits {
        hotspot_burst: 20,
        hotspot_per_sec: 5,
        ..Default::default()
    };
    let mut r = Router::new(limits);
    let mut bought = 0;
    let mut limited = 0;
    for n in 0..200u32 {
        match r.offer(&t, key(66), &device(n).uplink(0, 1, b"x", false), 0) {
            Ok(_) => bought += 1,
            Err(Drop::RateLimited) => limited += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        (bought, limited),
        (20, 180),
        "the burst, then nothing at once"
    );
    // A second later, five more; another hotspot was never held up.
    let later: usize = (200..220u32)
        .filter(|n| {
            r.offer(&t, key(66), &device(*n).uplink(0, 1, b"x", false), SEC)
                .is_ok()
        })
        .count();
    assert_eq!(later, 5);
    assert!(
        r.offer(&t, key(1), &device(0).uplink(0, 1, b"x", false), SEC)
            .is_ok()
    );
}

#[test]
fn memory_is_bounded() {
    let t = table(vec![route(7, 1, 1, (0, u32::MAX))]);
    let limits = RouterLimits {
        max_packets: 100,
        hotspot_burst: 10_000,
        ..Default::default()
    };
    let mut r = Router::new(limits);
    for n in 0..1_000u32 {
        let _ = r.offer(
            &t,
            key(1),
            &device(n).uplink(0, 1, b"x", false),
            u64::from(n),
        );
    }
    assert!(r.remembered() <= 100, "{}", r.remembered());
}

#[test]
fn a_table_with_a_route_that_buys_nothing_or_names_no_org_is_refused() {
    assert_eq!(
        RoutingTable::new([org(1)], [route(7, 1, 0, (0, 1))]).unwrap_err(),
        TableError::NoCopies(7)
    );
    assert_eq!(
        RoutingTable::new([org(1)], [route(7, 3, 1, (0, 1))]).unwrap_err(),
        TableError::UnknownOrg { route: 7, oui: 3 }
    );
    assert!(matches!(
        RoutingTable::new([org(1)], [route(7, 1, 1, (5, 1))]),
        Err(TableError::BackwardsRange { .. })
    ));
    assert_eq!(
        RoutingTable::new([org(1)], [route(7, 1, 1, (0, 1)), route(7, 1, 1, (2, 3))]).unwrap_err(),
        TableError::DuplicateRoute(7)
    );
}

/// A real frame re-sent with the MHDR's reserved bits set: the same frame to the codec (its
/// MIC still holds) but a new hash; not bought as another packet.
#[test]
fn a_frame_in_another_encoding_is_not_another_packet() {
    let t = table(vec![route(7, 1, 10, (BASE, BASE + 100))]);
    let mut r = Router::new(RouterLimits::default());
    let frame = device(1).uplink(0, 1, b"x", false);
    assert!(r.offer(&t, key(1), &frame, 0).is_ok());
    for rfu in 1..8u8 {
        let mut variant = frame.clone();
        variant[0] |= rfu << 2;
        assert_eq!(
            r.offer(&t, key(2), &variant, 1),
            Err(Drop::Undecodable),
            "RFU bits {rfu:03b}"
        );
    }
}

/// Copies bought before a restart count: a report redelivered afterwards, and other hotspots'
/// copies, buy nothing beyond max_copies.
#[test]
fn copies_bought_before_a_restart_count_against_max_copies() {
    let t = table(vec![route(7, 1, 2, (BASE, BASE + 100))]);
    let frame = device(1).uplink(0, 1, b"x", false);
    let mut before = Router::new(RouterLimits::default());
    assert!(before.offer(&t, key(1), &frame, 0).is_ok());
    assert!(before.offer(&t, key(2), &frame, 1).is_ok());
    // The restarted router knows only what the store holds.
    let mut after = Router::new(RouterLimits::default());
    after.remember(&t, key(1), &frame, 7, 0);
    after.remember(&t, key(2), &frame, 7, 1);
    assert_eq!(after.offer(&t, key(1), &frame, 5), Err(Drop::Duplicate));
    assert_eq!(after.offer(&t, key(3), &frame, 6), Err(Drop::CopiesFull));
}

/// A device already past 65,535 frames when the router starts: its route says where its
/// counter stands, and its frames are bought.
#[test]
fn a_checked_device_past_16_bit_counters_is_bought_from_its_known_counter() {
    let d = device(1);
    let mut with_counter = with_session(&d);
    let mut fresh = with_session(&d);
    let mut routes: Vec<Route> = with_counter.routes().to_vec();
    routes[0].session_keys[0].last_fcnt = Some(70_000);
    with_counter = RoutingTable::new([org(1), org(2)], routes).unwrap();
    let frame = d.uplink(70_001, 1, b"x", false);
    let mut r = Router::new(RouterLimits::default());
    assert!(r.offer(&with_counter, key(1), &frame, 0).is_ok());
    // Without it, the router cannot tell the counter's high bits.
    let mut r = Router::new(RouterLimits::default());
    fresh = RoutingTable::new([org(1), org(2)], fresh.routes().to_vec()).unwrap();
    assert_eq!(r.offer(&fresh, key(1), &frame, 0), Err(Drop::BadMic));
}

#[test]
fn every_drop_has_a_distinct_code() {
    let mut codes: Vec<&str> = Drop::ALL.iter().map(|d| d.code()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), Drop::ALL.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]
    /// Any bytes a hotspot sends: a decision, never a panic; real frames with bytes flipped
    /// or cut, too.
    #[test]
    fn any_bytes_get_a_decision(bytes in proptest::collection::vec(any::<u8>(), 0..300),
                                cut in 0usize..40, flip in 0usize..40) {
        let d = device(1);
        let t = with_session(&d);
        let mut r = Router::new(RouterLimits { hotspot_burst: 100_000, ..Default::default() });
        let _ = r.offer(&t, key(1), &bytes, 0);
        let mut real = d.uplink(3, 1, &bytes[..bytes.len().min(50)], bytes.len() % 2 == 0);
        if flip < real.len() { real[flip] ^= 0x5a; }
        let _ = r.offer(&t, key(1), &real, 1);
        real.truncate(real.len().saturating_sub(cut));
        let _ = r.offer(&t, key(2), &real, 2);
    }
}

/// An org pays for every copy: without credits for the next copy it gets none, a copy another
/// org's route takes is still bought for that route, and a top-up (a newer table) buys again.
#[test]
fn an_org_without_credits_buys_nothing_until_topped_up() {
    let with_credits = |balance: u64, settled: u64| {
        let mut poor = org(1);
        poor.credits = Some(Credits { balance, settled });
        RoutingTable::new(
            [poor, org(2)],
            vec![
                route(7, 1, 3, (BASE, BASE + 100)),
                route(8, 2, 1, (BASE + 50, BASE + 100)),
            ],
        )
        .unwrap()
    };
    // A 5-byte payload frame is 18 bytes: one credit a copy. 2 credits, 0 settled.
    let t = with_credits(2, 0);
    let mut r = Router::new(RouterLimits::default());
    let frame = device(1).uplink(0, 1, b"hello", false);
    let out = offer_from(&mut r, &t, &frame, 3, 0);
    assert_eq!(out[0].as_ref().map(Vec::len), Ok(1));
    assert_eq!(out[1].as_ref().map(Vec::len), Ok(1));
    assert_eq!(
        out[2],
        Err(Drop::NoCredit),
        "the third copy is beyond 2 credits"
    );
    assert_eq!(r.charged(1), 2);
    // A device in both orgs' ranges: org 2 (not charged) still gets its copy.
    let shared = device(60).uplink(0, 1, b"x", false);
    let got = r.offer(&t, key(1), &shared, SEC).unwrap();
    assert_eq!(got.iter().map(|b| b.oui).collect::<Vec<_>>(), [2]);
    // Top-up: 10 credits bought, nothing settled yet: 12 − 2 charged = 10 left.
    let t = with_credits(12, 0);
    let next = device(2).uplink(0, 1, b"hello", false);
    let out = offer_from(&mut r, &t, &next, 3, 2 * SEC);
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    assert_eq!(r.charged(1), 5);
    // Settled on chain: the 5 charged taken from 12 leaves 7, the same as the router's view.
    assert_eq!(
        Credits {
            balance: 7,
            settled: 5
        }
        .available(r.charged(1)),
        7
    );
    // A router restarted with what its receipts charged counts them again.
    let mut restarted = Router::new(RouterLimits::default());
    restarted.set_charged([(1, 12)]);
    let t = with_credits(12, 0);
    let third = device(3).uplink(0, 1, b"hello", false);
    assert_eq!(restarted.offer(&t, key(1), &third, 0), Err(Drop::NoCredit));
    // Larger frames cost more: 60 bytes of payload (73-byte frame) is 4 credits.
    let t = with_credits(3, 0);
    let mut r = Router::new(RouterLimits::default());
    let big = device(4).uplink(0, 1, &[7; 60], false);
    assert_eq!(r.offer(&t, key(1), &big, 0), Err(Drop::NoCredit));
    assert_eq!(r.charged(1), 0);
}

/// A router that knows fewer charges than the chain settled (a fresh store, or charges another
/// router made) counts from what was settled: it spends the balance, not the balance plus
/// the settled charges.
#[test]
fn a_router_never_counts_fewer_charges_than_were_settled() {
    let mut poor = org(1);
    poor.credits = Some(Credits {
        balance: 10,
        settled: 100,
    });
    let t = RoutingTable::new([poor, org(2)], vec![route(7, 1, 1, (BASE, BASE + 100))]).unwrap();
    let mut r = Router::new(RouterLimits::default());
    r.set_charged([]);
    let bought = (0..20)
        .filter(|&n| {
            let frame = device(n).uplink(0, 1, b"hello", false);
            r.offer(&t, key(1), &frame, u64::from(n) * SEC).is_ok()
        })
        .count();
    assert_eq!(bought, 10, "one credit a copy, 10 credits left");
    assert_eq!(r.charged(1), 110);
}

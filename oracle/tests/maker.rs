//! The owner's journey through the agent and the maker alone, in a real Solana runtime (the
//! embedded bank with SPL Token): a new key whose owner holds no SOL is onboarded, judged and
//! paid, claims to its owner's wallet, moves and changes hands; the maker pays for every step,
//! refuses keys it did not make, and alarms when its budget or its balance runs out. A
//! dishonest maker cannot make the owner sign anything but what the owner asked for.

mod common;

use std::{net::SocketAddr, sync::Arc};

use common::golden::{SEC, T0};
use hexproof_client::{Chain, Pubkey, SendFault, Signer, Transaction, instructions, pda, read};
use hexproof_demo::chain::onboard_network;
use hexproof_fixtures::fixtures_dir;
use hexproof_proto::{
    Keypair, PublicKey,
    maker::{self, Action, MessageError, RefusalCode, Site, check_message, encode_hex},
};
use hotspot_agent::{
    http::Service,
    owner::{self, Outcome, OwnerError},
};
use oracle::{
    audit,
    chain::{self, pubkey, solana_keypair},
    explorer::{Explorer, ExplorerConfig, web},
    maker::{AlarmReason, Limits, Maker, MakerConfig},
    registry::{Registry, chain::ChainRegistry},
};
use tokio_util::sync::{CancellationToken, DropGuard};

/// The program initialized by the net-25 oracle's key (`common::golden::deployed`).
async fn deployed() -> (Arc<Chain>, hexproof_proto::Keypair) {
    let (chain, key) = common::golden::deployed().await;
    (Arc::new(chain), key)
}

/// A maker serving on a free port: its wallet funded with `funds` lamports, having made `made`.
struct RunningMaker {
    maker: Arc<Maker>,
    api: Service,
    _stop: DropGuard,
}

async fn start_maker(
    chain: &Arc<Chain>,
    funds: u64,
    made: Vec<PublicKey>,
    limits: Limits,
) -> RunningMaker {
    let wallet = solana_keypair(&Keypair::generate());
    if funds > 0 {
        chain.fund(&wallet.pubkey(), funds).await.unwrap();
    }
    let config = MakerConfig {
        limits,
        metrics_listen: None,
        ..MakerConfig::default()
    };
    let maker = Arc::new(Maker::new(chain.clone(), wallet, made, config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(oracle::maker::service::serve(
        maker.clone(),
        listener,
        stop.clone(),
    ));
    RunningMaker {
        maker,
        api: Service::new("the maker", &format!("http://{addr}")).unwrap(),
        _stop: stop.drop_guard(),
    }
}

fn refused(r: Result<Outcome, OwnerError>) -> (RefusalCode, String) {
    match r {
        Err(OwnerError::Maker { code, error }) => (code, error),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn lamports(chain: &Chain, key: &PublicKey) -> u64 {
    chain.balance(&pubkey(key)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_key_with_no_sol_is_onboarded_paid_moved_and_sold_through_the_maker_alone() {
    let network = hexproof_fixtures::network("net-25").unwrap();
    let (chain, oracle_key) = deployed().await;
    // Every hotspot but one is onboarded by its owner, as before.
    let ours = &network.hotspots[3];
    let mut rest = network.clone();
    rest.hotspots.remove(3);
    onboard_network(&chain, &rest, 1_000_000_000).await.unwrap();

    // The maker made our hotspot; it holds 1 SOL and alarms under 0.9 SOL.
    let m = start_maker(
        &chain,
        1_000_000_000,
        vec![ours.key.pubkey],
        Limits {
            low_balance_lamports: 900_000_000,
            ..Limits::default()
        },
    )
    .await;
    let hotspot = ours.key.keypair().unwrap();
    let owner = Keypair::generate();
    let exact: h3o::CellIndex = ours.asserted_location.parse().unwrap();
    let site = site_at(&hotspot, exact, ours.gain_ddbi, ours.elevation_m);
    let onboard = Action::Onboard {
        hotspot: hotspot.public(),
        owner: owner.public(),
        site,
    };

    // A key the maker did not make is refused, in words, and costs it nothing.
    let stranger = Keypair::generate();
    let (code, words) = refused(
        owner::act(
            &m.api,
            &Action::Onboard {
                hotspot: stranger.public(),
                owner: owner.public(),
                site,
            },
            &[&stranger, &owner],
        )
        .await,
    );
    assert_eq!(code, RefusalCode::NotEntitled);
    assert!(words.contains("did not make"), "{words}");
    assert_eq!(
        lamports(&chain, &m.maker.status().await.unwrap().payer).await,
        1_000_000_000
    );

    // Onboarded by the agent and the maker: the owner holds no SOL, before or after.
    assert_eq!(lamports(&chain, &owner.public()).await, 0);
    let sent = owner::act(&m.api, &onboard, &[&hotspot, &owner])
        .await
        .unwrap();
    assert!(matches!(sent, Outcome::Sent { .. }), "{sent:?}");
    let record = read::hotspot(&chain, &pubkey(&hotspot.public()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.owner, pubkey(&owner.public()));
    // The chain holds the resolution-8 cell and the commitment, never the exact cell.
    assert_eq!(
        (record.location, record.location_commitment),
        (site.location, site.commitment)
    );
    assert_eq!(
        Some(h3o::CellIndex::try_from(record.location).unwrap()),
        exact.parent(h3o::Resolution::Eight)
    );
    assert_eq!(lamports(&chain, &owner.public()).await, 0);
    // Asked again (a lost reply, an impatient owner): done already, nothing spent.
    let spent = m.maker.status().await.unwrap().spent_today;
    let again = owner::act(&m.api, &onboard, &[&hotspot, &owner])
        .await
        .unwrap();
    assert!(matches!(again, Outcome::AlreadyDone(_)), "{again:?}");
    assert_eq!(m.maker.status().await.unwrap().spent_today, spent);
    // The onboarding fee took the maker under its low mark: an alarm, before it runs dry.
    let status = m.maker.status().await.unwrap();
    assert!(status.balance < 900_000_000, "{status:?}");
    assert!(
        status
            .alarms
            .iter()
            .any(|a| a.reason == AlarmReason::LowBalance),
        "{status:?}"
    );

    // It earns: the recorded reports judged with the registry read from the chain give the
    // golden epoch (the key onboarded through the maker is judged like any other).
    let registry =
        Arc::new(ChainRegistry::new(None, hexproof_proto::clock::Clock::system()).unwrap());
    assert_eq!(registry.refresh(&chain).await.unwrap(), 25);
    let lines = audit::read_lines(&fixtures_dir().join("reports/net-25.jsonl")).unwrap();
    let as_registry: Arc<dyn Registry> = registry.clone();
    let (mut closed, store, _dir) =
        common::golden::judge_and_close(&lines, as_registry.clone(), &oracle_key).await;
    let closed = closed.remove(0);
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures_dir().join("golden/net-25-epoch-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(closed.root),
        golden["merkle_root"].as_str().unwrap()
    );
    let earned = closed
        .rows
        .iter()
        .find(|r| r.hotspot == hotspot.public())
        .unwrap()
        .lifetime;
    assert!(earned > 0);
    chain
        .warp_clock(((T0 + 3_600 * SEC) / SEC) as i64)
        .await
        .unwrap();
    chain::submit_epoch(&chain, &solana_keypair(&oracle_key), &closed, &[])
        .await
        .unwrap();

    // It claims to its owner's wallet with the explorer's proof, through the maker.
    let stop = CancellationToken::new();
    let (explorer, _verdicts) = Explorer::load_with(
        store.clone(),
        as_registry,
        ExplorerConfig::default(),
        stop.clone(),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let explorer_api = Service::new(
        "the explorer",
        &format!("http://{}", listener.local_addr().unwrap()),
    )
    .unwrap();
    tokio::spawn(web::serve(explorer, listener, stop.clone()));
    let _stop = stop.drop_guard();
    let (proof, outcome) = owner::claim(&m.api, &explorer_api, &hotspot.public())
        .await
        .unwrap();
    assert_eq!((proof.epoch, proof.lifetime), (1, earned));
    assert!(matches!(outcome, Outcome::Sent { .. }), "{outcome:?}");
    let owner_tokens = read::token_balance(&chain, &pubkey(&owner.public()))
        .await
        .unwrap();
    assert_eq!(owner_tokens, earned);
    let (_, again) = owner::claim(&m.api, &explorer_api, &hotspot.public())
        .await
        .unwrap();
    assert!(matches!(again, Outcome::AlreadyDone(_)), "{again:?}");

    // It moves, while the cluster refuses the first signing for its blockhash: the agent
    // prepares and signs again, and the move is made once.
    let moved = site_at(
        &hotspot,
        exact.grid_disk::<Vec<_>>(3).into_iter().last().unwrap(),
        50,
        12,
    );
    chain.inject_faults(&[SendFault::BlockhashExpired]);
    let assert = Action::Assert {
        hotspot: hotspot.public(),
        owner: owner.public(),
        site: moved,
    };
    let sent = owner::act(&m.api, &assert, &[&owner]).await.unwrap();
    assert!(matches!(sent, Outcome::Sent { .. }), "{sent:?}");
    let record = read::hotspot(&chain, &pubkey(&hotspot.public()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            record.location,
            record.location_commitment,
            record.gain_ddbi,
            record.elevation_m
        ),
        (moved.location, moved.commitment, 50, 12)
    );

    // It is sold to a buyer who holds no SOL either; the offer's confirmation is lost on the
    // way back (applied once, sent again, the cluster has it: done).
    let buyer = Keypair::generate();
    chain.inject_faults(&[SendFault::ReplyLost]);
    let offer = Action::Transfer {
        hotspot: hotspot.public(),
        owner: owner.public(),
        new_owner: buyer.public(),
    };
    let sent = owner::act(&m.api, &offer, &[&owner]).await.unwrap();
    assert!(matches!(sent, Outcome::Sent { .. }), "{sent:?}");
    // The seller cannot take it for the buyer: the agent holds no key the message needs.
    let wrong = owner::act(
        &m.api,
        &Action::Accept {
            hotspot: hotspot.public(),
            new_owner: buyer.public(),
        },
        &[&owner],
    )
    .await;
    assert!(
        matches!(wrong, Err(OwnerError::UnexpectedSigner(k)) if k == buyer.public()),
        "{wrong:?}"
    );
    let accept = Action::Accept {
        hotspot: hotspot.public(),
        new_owner: buyer.public(),
    };
    let sent = owner::act(&m.api, &accept, &[&buyer]).await.unwrap();
    assert!(matches!(sent, Outcome::Sent { .. }), "{sent:?}");
    let record = read::hotspot(&chain, &pubkey(&hotspot.public()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.owner, pubkey(&buyer.public()));
    assert!(
        chain
            .account(&pda::owner_tokens(&pubkey(&buyer.public())))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(lamports(&chain, &owner.public()).await, 0);
    assert_eq!(lamports(&chain, &buyer.public()).await, 0);

    // Decommissioned (the record's rent goes back to its owner) and onboarded again: the maker
    // pays for a key's first onboarding only, or one buyer could cycle its budget away.
    let funder = solana_keypair(&oracle_key);
    let retire =
        instructions::decommission_hotspot(&pubkey(&buyer.public()), &pubkey(&hotspot.public()));
    chain
        .send(&[retire], &funder, &[&solana_keypair(&buyer)])
        .await
        .unwrap();
    let spent = m.maker.status().await.unwrap().spent_today;
    let (code, words) = refused(
        owner::act(
            &m.api,
            &Action::Onboard {
                hotspot: hotspot.public(),
                owner: buyer.public(),
                site,
            },
            &[&hotspot, &buyer],
        )
        .await,
    );
    assert_eq!(code, RefusalCode::Refused);
    assert!(words.contains("first onboarding only"), "{words}");
    assert_eq!(m.maker.status().await.unwrap().spent_today, spent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_or_an_empty_wallet_is_an_alarm_and_words_not_silence() {
    let (chain, _) = deployed().await;
    let hotspot = Keypair::generate();
    let owner = Keypair::generate();
    let onboard = Action::Onboard {
        hotspot: hotspot.public(),
        owner: owner.public(),
        site: site_at(
            &hotspot,
            h3o::LatLng::new(52.52, 13.405)
                .unwrap()
                .to_cell(h3o::Resolution::Twelve),
            30,
            5,
        ),
    };
    // A budget smaller than one onboarding (its 0.25 SOL fee).
    let poor = start_maker(
        &chain,
        5_000_000_000,
        vec![hotspot.public()],
        Limits {
            daily_budget_lamports: 100_000_000,
            ..Limits::default()
        },
    )
    .await;
    let (code, words) = refused(owner::act(&poor.api, &onboard, &[&hotspot, &owner]).await);
    assert_eq!(code, RefusalCode::BudgetSpent);
    assert!(
        words.contains("budget") && words.contains("alarmed"),
        "{words}"
    );
    let status = poor.maker.status().await.unwrap();
    assert!(
        status
            .alarms
            .iter()
            .any(|a| a.reason == AlarmReason::BudgetSpent),
        "{status:?}"
    );
    assert_eq!(status.spent_today, 0);

    // A wallet that cannot pay: refused before anything is signed, and alarmed.
    let dry = start_maker(&chain, 0, vec![hotspot.public()], Limits::default()).await;
    let (code, words) = refused(owner::act(&dry.api, &onboard, &[&hotspot, &owner]).await);
    assert_eq!(code, RefusalCode::OutOfFunds);
    assert!(words.contains("holds 0 lamports"), "{words}");
    assert!(
        dry.maker
            .status()
            .await
            .unwrap()
            .alarms
            .iter()
            .any(|a| a.reason == AlarmReason::OutOfFunds)
    );
    assert!(
        read::hotspot(&chain, &pubkey(&hotspot.public()))
            .await
            .unwrap()
            .is_none()
    );

    // Per-key rate: a key's signed transactions of the day run out; a stranger's requests about
    // the key (claims for a key with nothing to claim) use none of them.
    let limited = start_maker(
        &chain,
        5_000_000_000,
        vec![hotspot.public()],
        Limits {
            per_key_per_day: 1,
            ..Limits::default()
        },
    )
    .await;
    for _ in 0..3 {
        let stranger = owner::act(
            &limited.api,
            &Action::Claim {
                hotspot: hotspot.public(),
                lifetime: 1,
                proof: vec![],
            },
            &[],
        )
        .await;
        assert!(stranger.is_err(), "{stranger:?}");
    }
    let sent = owner::act(&limited.api, &onboard, &[&hotspot, &owner])
        .await
        .unwrap();
    assert!(matches!(sent, Outcome::Sent { .. }), "{sent:?}");
    let (code, _) = refused(
        owner::act(
            &limited.api,
            &Action::Assert {
                hotspot: hotspot.public(),
                owner: owner.public(),
                site: Site {
                    gain_ddbi: 40,
                    ..match onboard {
                        Action::Onboard { site, .. } => site,
                        _ => unreachable!(),
                    }
                },
            },
            &[&owner],
        )
        .await,
    );
    assert_eq!(code, RefusalCode::RateLimited);
}

/// The messages a dishonest maker could return, built with the client's own instruction
/// builders: each is refused by the agent before any key signs.
#[test]
fn a_maker_cannot_make_an_owner_sign_anything_but_what_was_asked() {
    // The agent's copy of the program's address and derivations are the program's.
    assert_eq!(maker::PROGRAM_ID, hexproof_client::PROGRAM_ID.to_string());
    let hotspot = Keypair::generate();
    let owner = Keypair::generate();
    let other = Keypair::generate();
    let evil = Keypair::generate();
    let k = |key: &Keypair| pubkey(&key.public());
    assert_eq!(
        maker::find_program_address(
            &[b"hotspot", hotspot.public().as_bytes()],
            &hexproof_client::PROGRAM_ID.to_bytes()
        ),
        Some(pda::hotspot(&k(&hotspot)).to_bytes())
    );
    let maker_key = k(&evil);
    let message = |ixs: &[hexproof_client::Instruction], payer: &Pubkey| {
        encode_hex(&Transaction::new_with_payer(ixs, Some(payer)).message_data())
    };
    let site = site_at(
        &hotspot,
        h3o::CellIndex::try_from(0x08c1_f1a6_d4c6_bbff).unwrap(),
        30,
        5,
    );
    let here = instructions::Location {
        cell: site.location,
        commitment: site.commitment,
    };
    let onboard = Action::Onboard {
        hotspot: hotspot.public(),
        owner: owner.public(),
        site,
    };
    let signers = [hotspot.public(), owner.public()];
    let honest =
        instructions::onboard_hotspot_paid_by(&k(&hotspot), &k(&owner), &maker_key, here, 30, 5);
    let fee = instructions::priority_fee(1_000);
    check_message(
        &message(&[fee.clone(), honest.clone()], &maker_key),
        &onboard,
        &signers,
    )
    .unwrap();

    type Expected = fn(&MessageError) -> bool;
    let cases: Vec<(&str, String, Expected)> = vec![
        (
            "the owner as fee payer",
            message(std::slice::from_ref(&honest), &k(&owner)),
            |e| matches!(e, MessageError::OwnerPays(_)),
        ),
        (
            "the owner paying the fee and rent inside the instruction",
            message(
                &[instructions::onboard_hotspot_paid_by(
                    &k(&hotspot),
                    &k(&owner),
                    &k(&owner),
                    here,
                    30,
                    5,
                )],
                &maker_key,
            ),
            |e| matches!(e, MessageError::WrongAccounts(_)),
        ),
        (
            "another location",
            message(
                &[instructions::onboard_hotspot_paid_by(
                    &k(&hotspot),
                    &k(&owner),
                    &maker_key,
                    instructions::Location {
                        cell: u64::from(
                            h3o::CellIndex::try_from(here.cell)
                                .unwrap()
                                .grid_disk::<Vec<_>>(1)[1],
                        ),
                        ..here
                    },
                    30,
                    5,
                )],
                &maker_key,
            ),
            |e| matches!(e, MessageError::NotTheAction(_)),
        ),
        (
            "another commitment (an exact cell the owner did not choose)",
            message(
                &[instructions::onboard_hotspot_paid_by(
                    &k(&hotspot),
                    &k(&owner),
                    &maker_key,
                    instructions::Location {
                        commitment: [9; 32],
                        ..here
                    },
                    30,
                    5,
                )],
                &maker_key,
            ),
            |e| matches!(e, MessageError::NotTheAction(_)),
        ),
        (
            "the hotspot offered to the maker in the same transaction",
            message(
                &[
                    honest.clone(),
                    instructions::transfer_hotspot(&k(&owner), &k(&hotspot), &maker_key),
                ],
                &maker_key,
            ),
            |e| matches!(e, MessageError::NotTheAction(_)),
        ),
        (
            "the owner's SOL sent to the maker",
            message(
                &[
                    honest.clone(),
                    anchor_lang::solana_program::system_instruction::transfer(
                        &k(&owner),
                        &maker_key,
                        1,
                    ),
                ],
                &maker_key,
            ),
            |e| matches!(e, MessageError::ForeignProgram(_)),
        ),
        (
            "a previous owner's backlog taken over",
            message(
                &[instructions::reonboard_hotspot(
                    &k(&hotspot),
                    &k(&owner),
                    Some(&k(&other)),
                    here,
                    30,
                    5,
                )],
                &maker_key,
            ),
            |e| {
                matches!(
                    e,
                    MessageError::WrongAccounts(_) | MessageError::OwnerPays(_)
                )
            },
        ),
    ];
    for (what, m, expected) in &cases {
        let e = check_message(m, &onboard, &signers).unwrap_err();
        assert!(expected(&e), "{what}: {e}");
    }

    // An assertion for another hotspot of the same owner.
    let assert = Action::Assert {
        hotspot: hotspot.public(),
        owner: owner.public(),
        site,
    };
    let other_hotspot = instructions::assert_location(&k(&owner), &k(&other), here, 30, 5);
    let e = check_message(
        &message(&[other_hotspot], &maker_key),
        &assert,
        &[owner.public()],
    )
    .unwrap_err();
    assert!(matches!(e, MessageError::WrongAccounts(_)), "{e}");
    // Taking a hotspot without the maker creating the token account: the buyer would pay.
    let accept = Action::Accept {
        hotspot: hotspot.public(),
        new_owner: owner.public(),
    };
    let bare = instructions::accept_hotspot(&k(&owner), &k(&hotspot));
    let e = check_message(
        &message(std::slice::from_ref(&bare), &maker_key),
        &accept,
        &[owner.public()],
    )
    .unwrap_err();
    assert!(matches!(e, MessageError::RentNotPaidByMaker), "{e}");
    let paid = instructions::create_owner_tokens(&maker_key, &k(&owner));
    check_message(
        &message(&[paid, bare.clone()], &maker_key),
        &accept,
        &[owner.public()],
    )
    .unwrap();
    let by_owner = instructions::create_owner_tokens(&k(&owner), &k(&owner));
    let e = check_message(
        &message(&[by_owner, bare.clone()], &maker_key),
        &accept,
        &[owner.public()],
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            MessageError::RentNotPaidByMaker | MessageError::OwnerPays(_)
        ),
        "{e}"
    );
    // A token account the maker pays for, but someone else's: the buyer would pay its own.
    let others = instructions::create_owner_tokens(&maker_key, &k(&other));
    let e = check_message(
        &message(&[others, bare.clone()], &maker_key),
        &accept,
        &[owner.public()],
    )
    .unwrap_err();
    assert!(matches!(e, MessageError::RentNotPaidByMaker), "{e}");

    // Priority fees of Solana's shape only, once each: no bytes of the maker's choosing for the
    // keys to sign, and nothing larger than a transaction.
    let mut padded = instructions::priority_fee(1_000);
    padded.data.extend_from_slice(&[0x41; 200]);
    let twice = vec![fee.clone(), fee.clone(), honest.clone()];
    let shapes: Vec<(&str, String)> = vec![
        (
            "a padded priority fee",
            message(&[padded, honest.clone()], &maker_key),
        ),
        ("two priority fees", message(&twice, &maker_key)),
    ];
    for (what, m) in &shapes {
        let e = check_message(m, &onboard, &signers).unwrap_err();
        assert!(matches!(e, MessageError::BadComputeBudget), "{what}: {e}");
    }
    let mut huge = honest.clone();
    huge.accounts.extend((0..40).map(|_| {
        anchor_lang::solana_program::instruction::AccountMeta::new_readonly(
            Pubkey::new_unique(),
            false,
        )
    }));
    let e = check_message(&message(&[huge], &maker_key), &onboard, &signers).unwrap_err();
    assert!(matches!(e, MessageError::TooLarge(_)), "{e}");
}

/// A site as the agent's `onboard`/`assert` make it: the resolution-8 cell and `hotspot`'s
/// commitment to the exact `cell`.
fn site_at(hotspot: &Keypair, cell: h3o::CellIndex, gain_ddbi: i32, elevation_m: i32) -> Site {
    let placed = hexproof_proto::location::placement(hotspot, cell).unwrap();
    Site {
        location: u64::from(placed.public_cell),
        commitment: placed.commitment,
        gain_ddbi,
        elevation_m,
    }
}

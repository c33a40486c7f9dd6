//! The program in a real Solana runtime: solana-program-test's bank with the real SPL Token and
//! Associated Token programs, ours loaded as a native program (the SBF toolchain cannot be
//! installed here). Epochs and proofs come from the oracle crate's own code.
#![allow(deprecated)]

use std::collections::BTreeMap;

use anchor_lang::{
    InstructionData, ToAccountMetas,
    prelude::{AccountInfo, Pubkey},
    solana_program::{entrypoint::ProgramResult, instruction::Instruction},
};
use hexproof_commitment::epoch_message;
use hexproof_program::{
    accounts, instruction,
    state::{CONFIG_SEED, HOTSPOT_SEED, MINT_SEED},
};
use hexproof_proto::PublicKey;
use oracle::rewards::{self, Activity, EpochRewards};
use solana_keypair::Keypair;
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_signer::Signer;
use solana_transaction::Transaction;

/// Anchor's entry takes one lifetime for the slice and its items; the runtime keeps both alive
/// for the call.
fn entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    #[allow(unsafe_code)]
    let accounts: &[AccountInfo<'_>] = unsafe { std::mem::transmute(accounts) };
    hexproof_program::entry(program_id, accounts, data)
}

struct Net {
    ctx: ProgramTestContext,
    oracles: Vec<ed25519_dalek::SigningKey>,
    admin: Keypair,
    mint: Pubkey,
    config: Pubkey,
}

fn pda(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &hexproof_program::ID).0
}

async fn send(
    ctx: &mut ProgramTestContext,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    let mut all: Vec<&Keypair> = vec![&ctx.payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(
        ixs,
        Some(&ctx.payer.pubkey()),
        &all,
        ctx.last_blockhash,
    );
    ctx.banks_client.process_transaction(tx).await
}

const EMISSION: u64 = 1_000_000;

/// The program's error code a failed transaction carries (Anchor: 6000 + the variant's index).
fn code(result: Result<(), BanksClientError>) -> Option<u32> {
    let shown = format!("{:?}", result.err()?.unwrap());
    let start = shown.find("Custom(")? + "Custom(".len();
    shown[start..].split(')').next()?.parse().ok()
}

const STALE_EPOCH: Option<u32> = Some(6003);
const OVER_EMISSION_CAP: Option<u32> = Some(6004);
const NOT_ENOUGH_ORACLE_SIGNATURES: Option<u32> = Some(6006);
const BAD_PROOF: Option<u32> = Some(6007);
const NOTHING_TO_CLAIM: Option<u32> = Some(6008);
const PAUSED: Option<u32> = Some(6000);

async fn start(threshold: u8) -> Net {
    let mut pt = ProgramTest::new("hexproof_program", hexproof_program::ID, processor!(entry));
    pt.prefer_bpf(false);
    let mut ctx = pt.start_with_context().await;
    let oracles: Vec<ed25519_dalek::SigningKey> = (1..=3u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let admin = Keypair::new();
    let config = pda(&[CONFIG_SEED]);
    let mint = pda(&[MINT_SEED]);
    fund(&mut ctx, &admin.pubkey()).await;
    let ix = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Initialize {
            admin: admin.pubkey(),
            config,
            mint,
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: instruction::Initialize {
            oracles: oracles
                .iter()
                .map(|k| Pubkey::new_from_array(k.verifying_key().to_bytes()))
                .collect(),
            threshold,
            initial_emission: EMISSION,
            halving_interval: 100,
        }
        .data(),
    };
    send(&mut ctx, &[ix], &[&admin]).await.unwrap();
    Net {
        ctx,
        oracles,
        admin,
        mint,
        config,
    }
}

async fn fund(ctx: &mut ProgramTestContext, to: &Pubkey) {
    let ix = anchor_lang::solana_program::system_instruction::transfer(
        &ctx.payer.pubkey(),
        to,
        1_000_000_000,
    );
    send(ctx, &[ix], &[]).await.unwrap();
}

fn res12() -> u64 {
    u64::from(
        h3o::LatLng::new(52.52, 13.405)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    )
}

async fn onboard(
    net: &mut Net,
    hotspot: &Keypair,
    owner: &Keypair,
) -> Result<(), BanksClientError> {
    fund(&mut net.ctx, &owner.pubkey()).await;
    let ix = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::OnboardHotspot {
            config: net.config,
            hotspot_key: hotspot.pubkey(),
            owner: owner.pubkey(),
            hotspot: pda(&[HOTSPOT_SEED, hotspot.pubkey().as_ref()]),
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: instruction::OnboardHotspot {
            location: res12(),
            gain_ddbi: 30,
            elevation_m: 5,
        }
        .data(),
    };
    send(&mut net.ctx, &[ix], &[hotspot, owner]).await
}

/// The Ed25519 precompile instructions of the given oracles over an epoch message.
fn signatures(oracles: &[&ed25519_dalek::SigningKey], message: &[u8]) -> Vec<Instruction> {
    use ed25519_dalek::Signer as _;
    oracles
        .iter()
        .map(|k| {
            let ix = solana_ed25519_program::new_ed25519_instruction_with_signature(
                message,
                &k.sign(message).to_bytes(),
                &k.verifying_key().to_bytes(),
            );
            Instruction {
                program_id: ix.program_id,
                accounts: vec![],
                data: ix.data,
            }
        })
        .collect()
}

fn submit_ix(
    epoch: u64,
    root: [u8; 32],
    total: u64,
    submitter: &Pubkey,
    config: Pubkey,
) -> Instruction {
    Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::SubmitEpoch {
            config,
            instructions: anchor_lang::prelude::pubkey!(
                "Sysvar1nstructions1111111111111111111111111"
            ),
            submitter: *submitter,
        }
        .to_account_metas(None),
        data: instruction::SubmitEpoch {
            epoch,
            root,
            lifetime_total: total,
        }
        .data(),
    }
}

async fn submit(
    net: &mut Net,
    epoch: u64,
    root: [u8; 32],
    total: u64,
    by: &[usize],
) -> Result<(), BanksClientError> {
    let message = epoch_message(&hexproof_program::ID.to_bytes(), epoch, &root, total);
    let keys: Vec<&ed25519_dalek::SigningKey> = by.iter().map(|&i| &net.oracles[i]).collect();
    let mut ixs = signatures(&keys, &message);
    let payer = net.ctx.payer.pubkey();
    ixs.push(submit_ix(epoch, root, total, &payer, net.config));
    send(&mut net.ctx, &ixs, &[]).await
}

fn ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address(owner, mint)
}

fn claim_ix(
    net: &Net,
    hotspot: &Pubkey,
    owner: &Pubkey,
    amount: u64,
    proof: Vec<[u8; 32]>,
) -> Instruction {
    Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Claim {
            config: net.config,
            hotspot: pda(&[HOTSPOT_SEED, hotspot.as_ref()]),
            owner: *owner,
            mint: net.mint,
            owner_tokens: ata(owner, &net.mint),
            payer: net.ctx.payer.pubkey(),
            token_program: anchor_spl::token::ID,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: instruction::Claim {
            lifetime_amount: amount,
            proof,
        }
        .data(),
    }
}

async fn balance(net: &mut Net, owner: &Pubkey) -> u64 {
    let account = net
        .ctx
        .banks_client
        .get_account(ata(owner, &net.mint))
        .await
        .unwrap()
        .expect("token account");
    // SPL token account layout: mint (32), owner (32), amount (u64 LE).
    u64::from_le_bytes(account.data[64..72].try_into().unwrap())
}

/// An epoch's leaves as the oracle computes them.
fn oracle_epoch(
    previous: &BTreeMap<PublicKey, u64>,
    beacons: &[(Pubkey, u64)],
    emission: u64,
) -> (BTreeMap<PublicKey, u64>, EpochRewards) {
    let activity = Activity {
        beacons: beacons
            .iter()
            .map(|(k, n)| (PublicKey::from(k.to_bytes()), *n))
            .collect(),
        ..Activity::default()
    };
    let r = rewards::compute(emission, &activity, 10_000);
    (rewards::accumulate(previous, &r), r)
}

#[tokio::test]
async fn onboard_submit_claim_then_claim_only_the_difference() {
    let mut net = start(2).await;
    let (h1, o1) = (Keypair::new(), Keypair::new());
    let (h2, o2) = (Keypair::new(), Keypair::new());
    onboard(&mut net, &h1, &o1).await.unwrap();
    onboard(&mut net, &h2, &o2).await.unwrap();

    // Epoch 1: h1 beaconed 3 times, h2 once.
    let (lifetime, _) = oracle_epoch(
        &BTreeMap::new(),
        &[(h1.pubkey(), 3), (h2.pubkey(), 1)],
        EMISSION,
    );
    let (tree, keys) = rewards::tree(&lifetime);
    let total: u64 = lifetime.values().sum();
    submit(&mut net, 1, tree.root(), total, &[0, 2])
        .await
        .unwrap();

    let k1 = PublicKey::from(h1.pubkey().to_bytes());
    let i1 = keys.iter().position(|k| *k == k1).unwrap();
    let ix = claim_ix(
        &net,
        &h1.pubkey(),
        &o1.pubkey(),
        lifetime[&k1],
        tree.proof(i1).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net, &o1.pubkey()).await, lifetime[&k1]);
    assert_eq!(lifetime[&k1], 750_000);

    // Epoch 2: only h1 beacons; its lifetime grows, the claim mints the difference.
    let (lifetime2, _) = oracle_epoch(&lifetime, &[(h1.pubkey(), 1)], EMISSION);
    let (tree2, keys2) = rewards::tree(&lifetime2);
    submit(&mut net, 2, tree2.root(), lifetime2.values().sum(), &[1, 2])
        .await
        .unwrap();
    let i1 = keys2.iter().position(|k| *k == k1).unwrap();
    let ix = claim_ix(
        &net,
        &h1.pubkey(),
        &o1.pubkey(),
        lifetime2[&k1],
        tree2.proof(i1).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net, &o1.pubkey()).await, lifetime2[&k1]);
    assert_eq!(lifetime2[&k1], 1_750_000);

    // h2 never claimed in epoch 1 and loses nothing: its epoch-2 leaf still holds its amount.
    let k2 = PublicKey::from(h2.pubkey().to_bytes());
    let i2 = keys2.iter().position(|k| *k == k2).unwrap();
    let ix = claim_ix(
        &net,
        &h2.pubkey(),
        &o2.pubkey(),
        lifetime2[&k2],
        tree2.proof(i2).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net, &o2.pubkey()).await, 250_000);
    let _ = &net.admin;
}

#[tokio::test]
async fn too_few_duplicated_or_wrong_signatures_are_refused() {
    let mut net = start(2).await;
    let root = [7u8; 32];
    // M-1 signatures.
    assert_eq!(
        code(submit(&mut net, 1, root, 10, &[0]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // The same oracle twice does not count twice.
    assert_eq!(
        code(submit(&mut net, 1, root, 10, &[1, 1]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // Signatures over another epoch.
    let message = epoch_message(&hexproof_program::ID.to_bytes(), 9, &root, 10);
    let mut ixs = signatures(&[&net.oracles[0], &net.oracles[1]], &message);
    let payer = net.ctx.payer.pubkey();
    ixs.push(submit_ix(1, root, 10, &payer, net.config));
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // A key that is not an oracle.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let message = epoch_message(&hexproof_program::ID.to_bytes(), 1, &root, 10);
    let mut ixs = signatures(&[&net.oracles[0], &stranger], &message);
    ixs.push(submit_ix(1, root, 10, &payer, net.config));
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    // A forged signature: the Ed25519 precompile itself fails the transaction.
    let message = epoch_message(&hexproof_program::ID.to_bytes(), 1, &root, 10);
    let mut ixs = signatures(&[&net.oracles[0], &net.oracles[1]], &message);
    ixs[1].data[16 + 32] ^= 1;
    ixs.push(submit_ix(1, root, 10, &payer, net.config));
    let forged = send(&mut net.ctx, &ixs, &[]).await;
    // It fails in instruction 1, the precompile, before our program runs.
    assert!(
        format!("{forged:?}").contains("InstructionError(1, "),
        "{forged:?}"
    );
    // Over the emission cap.
    assert_eq!(
        code(submit(&mut net, 1, root, EMISSION + 1, &[0, 1]).await),
        OVER_EMISSION_CAP
    );
    // Finally a good one, then the same epoch again is stale.
    submit(&mut net, 1, root, 10, &[0, 1]).await.unwrap();
    assert_eq!(
        code(submit(&mut net, 1, [8; 32], 20, &[0, 1]).await),
        STALE_EPOCH
    );
}

#[tokio::test]
async fn claims_need_a_proof_go_once_and_stop_while_paused() {
    let mut net = start(2).await;
    let (h, o) = (Keypair::new(), Keypair::new());
    onboard(&mut net, &h, &o).await.unwrap();
    let (lifetime, _) = oracle_epoch(&BTreeMap::new(), &[(h.pubkey(), 1)], EMISSION);
    let (tree, _) = rewards::tree(&lifetime);
    submit(&mut net, 1, tree.root(), lifetime.values().sum(), &[0, 1])
        .await
        .unwrap();
    let amount = lifetime[&PublicKey::from(h.pubkey().to_bytes())];
    let proof = tree.proof(0).unwrap();

    // A tampered amount does not prove.
    let ix = claim_ix(&net, &h.pubkey(), &o.pubkey(), amount + 1, proof.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), BAD_PROOF);
    // Tokens only go to the registered owner: naming another owner account fails.
    let thief = Keypair::new();
    let ix = claim_ix(&net, &h.pubkey(), &thief.pubkey(), amount, proof.clone());
    // Anchor's has_one constraint: ConstraintHasOne (2001).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(2001));

    // Paused: no claims.
    let pause = |paused| Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Admin {
            config: net.config,
            admin: net.admin.pubkey(),
        }
        .to_account_metas(None),
        data: instruction::SetPaused { paused }.data(),
    };
    let (on, off) = (pause(true), pause(false));
    let admin = net.admin.insecure_clone();
    send(&mut net.ctx, &[on], &[&admin]).await.unwrap();
    let ix = claim_ix(&net, &h.pubkey(), &o.pubkey(), amount, proof.clone());
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), PAUSED);
    send(&mut net.ctx, &[off], &[&admin]).await.unwrap();
    // (The same claim again needs a new blockhash, or the bank answers from its cache.)
    net.ctx.get_new_latest_blockhash().await.unwrap();

    // Claimed once; the same claim again has nothing left.
    let ix = claim_ix(&net, &h.pubkey(), &o.pubkey(), amount, proof.clone());
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net, &o.pubkey()).await, amount);
    net.ctx.get_new_latest_blockhash().await.unwrap();
    let ix = claim_ix(&net, &h.pubkey(), &o.pubkey(), amount, proof);
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), NOTHING_TO_CLAIM);
    assert_eq!(balance(&mut net, &o.pubkey()).await, amount);
}

#[tokio::test]
async fn a_fake_instructions_sysvar_is_refused() {
    let mut net = start(1).await;
    let payer = net.ctx.payer.pubkey();
    let mut ix = submit_ix(1, [1; 32], 10, &payer, net.config);
    // Point the instructions account at an ordinary account.
    ix.accounts[1].pubkey = payer;
    let result = send(&mut net.ctx, &[ix], &[]).await;
    // Anchor's address constraint: ConstraintAddress (2012).
    assert_eq!(code(result), Some(2012));
}

#[tokio::test]
async fn sealevel_pitfalls_are_closed() {
    let mut net = start(2).await;
    let (h, o) = (Keypair::new(), Keypair::new());
    fund(&mut net.ctx, &o.pubkey()).await;

    // Missing signer: onboarding without the hotspot key's signature.
    let mut ix = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::OnboardHotspot {
            config: net.config,
            hotspot_key: h.pubkey(),
            owner: o.pubkey(),
            hotspot: pda(&[HOTSPOT_SEED, h.pubkey().as_ref()]),
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: instruction::OnboardHotspot {
            location: res12(),
            gain_ddbi: 30,
            elevation_m: 5,
        }
        .data(),
    };
    ix.accounts[1].is_signer = false;
    // AccountNotSigner (3010).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[&o]).await), Some(3010));
    onboard(&mut net, &h, &o).await.unwrap();

    // Re-initialization: the config exists already.
    let again = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Initialize {
            admin: net.admin.pubkey(),
            config: net.config,
            mint: net.mint,
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: instruction::Initialize {
            oracles: vec![Pubkey::new_unique()],
            threshold: 1,
            initial_emission: 1,
            halving_interval: 1,
        }
        .data(),
    };
    let admin = net.admin.insecure_clone();
    assert!(send(&mut net.ctx, &[again], &[&admin]).await.is_err());

    // Type cosplay: a Hotspot account passed where the Config belongs.
    let hotspot_pda = pda(&[HOTSPOT_SEED, h.pubkey().as_ref()]);
    let mut ix = submit_ix(1, [1; 32], 10, &net.ctx.payer.pubkey(), net.config);
    ix.accounts[0].pubkey = hotspot_pda;
    // AccountDiscriminatorMismatch (3002).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3002));

    // Arbitrary CPI: a claim naming another "token program".
    let (lifetime, _) = oracle_epoch(&BTreeMap::new(), &[(h.pubkey(), 1)], EMISSION);
    let (tree, _) = rewards::tree(&lifetime);
    submit(&mut net, 1, tree.root(), lifetime.values().sum(), &[0, 1])
        .await
        .unwrap();
    let amount = lifetime[&PublicKey::from(h.pubkey().to_bytes())];
    let mut ix = claim_ix(
        &net,
        &h.pubkey(),
        &o.pubkey(),
        amount,
        tree.proof(0).unwrap(),
    );
    let token_program = ix
        .accounts
        .iter()
        .position(|m| m.pubkey == anchor_spl::token::ID)
        .unwrap();
    ix.accounts[token_program].pubkey = anchor_lang::system_program::ID;
    // InvalidProgramId (3008).
    assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3008));

    // Non-canonical PDA: a hotspot account at another bump of the same seeds is refused.
    let (_, canonical) =
        Pubkey::find_program_address(&[HOTSPOT_SEED, h.pubkey().as_ref()], &hexproof_program::ID);
    if let Some(other) = (0..canonical).rev().find_map(|b| {
        Pubkey::create_program_address(
            &[HOTSPOT_SEED, h.pubkey().as_ref(), &[b]],
            &hexproof_program::ID,
        )
        .ok()
    }) {
        let mut ix = claim_ix(
            &net,
            &h.pubkey(),
            &o.pubkey(),
            amount,
            tree.proof(0).unwrap(),
        );
        ix.accounts[1].pubkey = other;
        // The account does not exist: AccountNotInitialized (3012).
        assert_eq!(code(send(&mut net.ctx, &[ix], &[]).await), Some(3012));
    }
    // The real claim still works.
    let ix = claim_ix(
        &net,
        &h.pubkey(),
        &o.pubkey(),
        amount,
        tree.proof(0).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net, &o.pubkey()).await, amount);
}

#[tokio::test]
async fn owners_move_and_transfer_admins_rotate_oracles() {
    let mut net = start(2).await;
    let (h, o, new_owner) = (Keypair::new(), Keypair::new(), Keypair::new());
    onboard(&mut net, &h, &o).await.unwrap();
    let hotspot = pda(&[HOTSPOT_SEED, h.pubkey().as_ref()]);
    let read = |data: Vec<u8>| -> hexproof_program::state::Hotspot {
        anchor_lang::AccountDeserialize::try_deserialize(&mut data.as_slice()).unwrap()
    };

    // Only the owner asserts a new location; the slot is recorded.
    let moved = u64::from(
        h3o::LatLng::new(52.6, 13.5)
            .unwrap()
            .to_cell(h3o::Resolution::Twelve),
    );
    let assert_ix = |owner: Pubkey, location| Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::AssertLocation {
            config: net.config,
            owner,
            hotspot,
        }
        .to_account_metas(None),
        data: instruction::AssertLocation {
            location,
            gain_ddbi: 58,
            elevation_m: 12,
        }
        .data(),
    };
    let stranger = Keypair::new();
    assert_eq!(
        code(
            send(
                &mut net.ctx,
                &[assert_ix(stranger.pubkey(), moved)],
                &[&stranger]
            )
            .await
        ),
        Some(2001)
    );
    // Not a resolution-12 cell: BadLocation (6002).
    assert_eq!(
        code(send(&mut net.ctx, &[assert_ix(o.pubkey(), moved >> 1)], &[&o]).await),
        Some(6002)
    );
    net.ctx.warp_to_slot(500).unwrap();
    send(&mut net.ctx, &[assert_ix(o.pubkey(), moved)], &[&o])
        .await
        .unwrap();
    let state = read(
        net.ctx
            .banks_client
            .get_account(hotspot)
            .await
            .unwrap()
            .unwrap()
            .data,
    );
    assert_eq!(
        (state.location, state.gain_ddbi, state.elevation_m),
        (moved, 58, 12)
    );
    assert!(state.asserted_at_slot >= 500);

    // Transfer: the new owner receives future claims.
    let transfer = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::TransferHotspot {
            config: net.config,
            owner: o.pubkey(),
            hotspot,
        }
        .to_account_metas(None),
        data: instruction::TransferHotspot {
            new_owner: new_owner.pubkey(),
        }
        .data(),
    };
    send(&mut net.ctx, &[transfer], &[&o]).await.unwrap();
    let state = read(
        net.ctx
            .banks_client
            .get_account(hotspot)
            .await
            .unwrap()
            .unwrap()
            .data,
    );
    assert_eq!(state.owner, new_owner.pubkey());

    // Rotating the oracle set: only the admin may; afterwards the old oracles no longer count.
    let fresh: Vec<ed25519_dalek::SigningKey> = (10..12u8)
        .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i; 32]))
        .collect();
    let rotate = |admin: Pubkey| Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Admin {
            config: net.config,
            admin,
        }
        .to_account_metas(None),
        data: instruction::SetOracles {
            oracles: fresh
                .iter()
                .map(|k| Pubkey::new_from_array(k.verifying_key().to_bytes()))
                .collect(),
            threshold: 2,
        }
        .data(),
    };
    assert_eq!(
        code(send(&mut net.ctx, &[rotate(stranger.pubkey())], &[&stranger]).await),
        Some(2001)
    );
    let admin = net.admin.insecure_clone();
    send(&mut net.ctx, &[rotate(admin.pubkey())], &[&admin])
        .await
        .unwrap();
    assert_eq!(
        code(submit(&mut net, 1, [3; 32], 10, &[0, 1]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );
    net.oracles = fresh;
    submit(&mut net, 1, [3; 32], 10, &[0, 1]).await.unwrap();

    // A bad oracle set is refused: a threshold above the set.
    let bad = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Admin {
            config: net.config,
            admin: admin.pubkey(),
        }
        .to_account_metas(None),
        data: instruction::SetOracles {
            oracles: vec![Pubkey::new_unique()],
            threshold: 2,
        }
        .data(),
    };
    assert_eq!(
        code(send(&mut net.ctx, &[bad], &[&admin]).await),
        Some(6001)
    );

    // Transferring admin: the old admin loses the power.
    let next = Keypair::new();
    let hand_over = Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Admin {
            config: net.config,
            admin: admin.pubkey(),
        }
        .to_account_metas(None),
        data: instruction::TransferAdmin {
            new_admin: next.pubkey(),
        }
        .data(),
    };
    send(&mut net.ctx, &[hand_over], &[&admin]).await.unwrap();
    let pause = |by: Pubkey| Instruction {
        program_id: hexproof_program::ID,
        accounts: accounts::Admin {
            config: net.config,
            admin: by,
        }
        .to_account_metas(None),
        data: instruction::SetPaused { paused: true }.data(),
    };
    assert_eq!(
        code(send(&mut net.ctx, &[pause(admin.pubkey())], &[&admin]).await),
        Some(2001)
    );
    send(&mut net.ctx, &[pause(next.pubkey())], &[&next])
        .await
        .unwrap();
}

/// Epochs exactly as the oracle closes and signs them (`oracle::rewards::epoch::build`) are
/// accepted, and their proofs claim; a signature bound to another program id is not.
#[tokio::test]
async fn epochs_signed_by_the_oracle_crate_are_accepted() {
    let mut net = start(2).await;
    let (h, o) = (Keypair::new(), Keypair::new());
    onboard(&mut net, &h, &o).await.unwrap();
    let oracle_keys: Vec<hexproof_proto::Keypair> = (1..=3u8)
        .map(|i| hexproof_proto::Keypair::from_secret([i; 32]))
        .collect();
    let activity = Activity {
        beacons: [(PublicKey::from(h.pubkey().to_bytes()), 2)].into(),
        ..Activity::default()
    };
    let config = rewards::RewardConfig {
        program_id: PublicKey::from(hexproof_program::ID.to_bytes()),
        initial_emission: EMISSION,
        halving_interval: 100,
        ..rewards::RewardConfig::default()
    };
    let by = |key: &hexproof_proto::Keypair, config: &rewards::RewardConfig| {
        oracle::rewards::epoch::build(1, config, &activity, &BTreeMap::new(), key)
    };
    let (a, b) = (by(&oracle_keys[0], &config), by(&oracle_keys[2], &config));
    assert_eq!((a.root, a.lifetime_total), (b.root, b.lifetime_total));
    let precompile = |e: &oracle::rewards::epoch::ClosedEpoch| {
        let ix = solana_ed25519_program::new_ed25519_instruction_with_signature(
            &e.message(),
            &e.signature,
            e.oracle.as_bytes(),
        );
        Instruction {
            program_id: ix.program_id,
            accounts: vec![],
            data: ix.data,
        }
    };

    // Bound to another deployment: the message differs, the signatures do not count.
    let elsewhere = rewards::RewardConfig {
        program_id: PublicKey::from([9; 32]),
        ..config.clone()
    };
    let (x, y) = (
        by(&oracle_keys[0], &elsewhere),
        by(&oracle_keys[2], &elsewhere),
    );
    let payer = net.ctx.payer.pubkey();
    let ixs = vec![
        precompile(&x),
        precompile(&y),
        submit_ix(1, x.root, x.lifetime_total, &payer, net.config),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );

    // Over another root than the one signed.
    let ixs = vec![
        precompile(&a),
        precompile(&b),
        submit_ix(1, [0xAB; 32], a.lifetime_total, &payer, net.config),
    ];
    assert_eq!(
        code(send(&mut net.ctx, &ixs, &[]).await),
        NOT_ENOUGH_ORACLE_SIGNATURES
    );

    let ixs = vec![
        precompile(&a),
        precompile(&b),
        submit_ix(1, a.root, a.lifetime_total, &payer, net.config),
    ];
    send(&mut net.ctx, &ixs, &[]).await.unwrap();
    let row = a
        .rows
        .iter()
        .position(|r| r.hotspot.as_bytes() == &h.pubkey().to_bytes())
        .unwrap();
    let ix = claim_ix(
        &net,
        &h.pubkey(),
        &o.pubkey(),
        a.rows[row].lifetime,
        a.tree().proof(row).unwrap(),
    );
    send(&mut net.ctx, &[ix], &[]).await.unwrap();
    assert_eq!(balance(&mut net, &o.pubkey()).await, a.rows[row].lifetime);
    assert_eq!(a.rows[row].lifetime, a.paid);
}

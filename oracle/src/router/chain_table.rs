//! The routing table read from the chain: the program's orgs and routes (created and changed by
//! their owners, `programs/hexproof`), turned into [`hexproof_poc::packets`]' table and kept
//! fresh. Session keys are not on chain (a MIC key published there would let anyone forge
//! frames): they come from the routes file, by route id.
//!
//! Each org comes with its data credits (balance, and lifetime charges settled), which the
//! router's rules charge copies against.
//!
//! What the chain holds is taken as it is, with two checks of the router's own: a route's
//! DevAddr ranges are clipped to its org's (the program checks them when they are set; the
//! admin may shrink an org's ranges later), and a route of an org that does not exist, or
//! buying no copies, is left out.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use hexproof_client::{self as program, Chain, ChainError, read};
use hexproof_poc::packets::{Credits, Org, Route, RoutingTable, SessionKey};
use hexproof_proto::PublicKey;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The table the program's accounts describe, with `session_keys` (by route id) added.
pub fn table_of(
    orgs: &[program::Org],
    routes: &[program::Route],
    session_keys: &BTreeMap<u64, Vec<SessionKey>>,
) -> RoutingTable {
    let by_oui: BTreeMap<u64, &program::Org> = orgs.iter().map(|o| (o.oui, o)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let routes: Vec<Route> = routes
        .iter()
        .filter(|r| {
            let usable =
                r.max_copies > 0 && program::route_id_in_org(r.id, r.oui) && seen.insert(r.id);
            if !usable {
                tracing::warn!(
                    route = r.id,
                    oui = r.oui,
                    "router: a route on chain left out"
                );
            }
            usable
        })
        .filter_map(|r| {
            let Some(org) = by_oui.get(&r.oui) else {
                tracing::warn!(
                    route = r.id,
                    oui = r.oui,
                    "router: a route of no org left out"
                );
                return None;
            };
            Some(Route {
                id: r.id,
                oui: r.oui,
                max_copies: u32::from(r.max_copies),
                dev_addrs: clipped(&r.dev_addrs, &org.dev_addrs),
                euis: r.euis.iter().map(|p| (p.join_eui, p.dev_eui)).collect(),
                session_keys: session_keys.get(&r.id).cloned().unwrap_or_default(),
                lns: r.lns.clone(),
                active: r.active,
            })
        })
        .collect();
    let orgs = orgs.iter().map(|o| Org {
        oui: o.oui,
        owner: PublicKey::from(o.owner.to_bytes()),
        payer: PublicKey::from(o.payer.to_bytes()),
        enabled: o.enabled,
        credits: Some(Credits {
            balance: o.dc_balance,
            settled: o.dc_settled,
        }),
    });
    // Every check `RoutingTable::new` makes was made above; should one still fail, nothing
    // is routed rather than something wrongly.
    RoutingTable::new(orgs, routes).unwrap_or_else(|e| {
        tracing::error!(%e, "router: the chain's routing table; routing nothing");
        RoutingTable::default()
    })
}

/// The parts of `ranges` inside `allowed` (both ends included).
fn clipped(ranges: &[program::DevAddrRange], allowed: &[program::DevAddrRange]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for r in ranges.iter().filter(|r| r.start <= r.end) {
        for a in allowed {
            let (start, end) = (r.start.max(a.start), r.end.min(a.end));
            if start <= end {
                out.push((start, end));
            }
        }
    }
    out
}

/// Reads the table from the chain.
pub async fn read(
    chain: &Chain,
    session_keys: &BTreeMap<u64, Vec<SessionKey>>,
) -> Result<RoutingTable, ChainError> {
    let orgs = read::orgs(chain).await?;
    let routes = read::routes(chain).await?;
    Ok(table_of(&orgs, &routes, session_keys))
}

/// Each org's credits as the program holds them, as the store records them.
pub fn credits_of(orgs: &[program::Org], read_ns: u64) -> Vec<crate::store::OrgCredits> {
    orgs.iter()
        .map(|o| crate::store::OrgCredits {
            oui: o.oui,
            tokens_burned: o.tokens_burned,
            dc_bought: o.dc_bought,
            dc_balance: o.dc_balance,
            dc_settled: o.dc_settled,
            dc_unpaid: o.dc_unpaid,
            read_ns,
        })
        .collect()
}

/// Reads the table every `every` and publishes it when it changed, until `shutdown`; a failed
/// read keeps the last table. With a `store`, each read's org credits are recorded there (what
/// the explorer shows of purchases).
pub async fn keep_fresh(
    chain: Arc<Chain>,
    session_keys: BTreeMap<u64, Vec<SessionKey>>,
    tables: watch::Sender<RoutingTable>,
    every: Duration,
    store: Option<crate::store::Store>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
        let read = async {
            let orgs = read::orgs(&chain).await?;
            let routes = read::routes(&chain).await?;
            Ok::<_, ChainError>((table_of(&orgs, &routes, &session_keys), orgs))
        };
        match read.await {
            Ok((table, orgs)) => {
                if let Some(store) = &store {
                    let now = hexproof_proto::clock::Clock::system().now_ns();
                    if let Err(e) = store.save_org_credits(&credits_of(&orgs, now)).await {
                        tracing::warn!(%e, "router: recording orgs' credits");
                    }
                }
                tables.send_if_modified(|current| {
                    let changed =
                        current.routes() != table.routes() || current.orgs() != table.orgs();
                    if changed {
                        tracing::info!(
                            routes = table.routes().len(),
                            "router: routing table changed on chain"
                        );
                        *current = table;
                    }
                    changed
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "router: reading routes from the chain; keeping the last table")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hexproof_client::Pubkey;

    fn org(oui: u64, ranges: &[(u32, u32)], enabled: bool) -> program::Org {
        program::Org {
            oui,
            owner: Pubkey::new_from_array([1; 32]),
            payer: Pubkey::new_from_array([2; 32]),
            dev_addrs: ranges
                .iter()
                .map(|&(start, end)| program::DevAddrRange { start, end })
                .collect(),
            enabled,
            dc_balance: 0,
            dc_bought: 0,
            tokens_burned: 0,
            dc_settled: 0,
            dc_unpaid: 0,
            bump: 255,
        }
    }

    fn route(n: u32, oui: u64, ranges: &[(u32, u32)], max_copies: u8) -> program::Route {
        program::Route {
            id: program::route_id_of(oui, n),
            oui,
            max_copies,
            dev_addrs: ranges
                .iter()
                .map(|&(start, end)| program::DevAddrRange { start, end })
                .collect(),
            euis: vec![program::EuiPair {
                join_eui: 5,
                dev_eui: 0,
            }],
            lns: format!("udp://127.0.0.1:{}", 1_700 + n),
            active: true,
            bump: 255,
        }
    }

    /// A route reaching past its org's ranges (the admin shrank them) buys only inside them;
    /// a route of no org, a duplicate id, an id in another org's space and a route buying
    /// nothing are left out; session keys join their route by id.
    #[test]
    fn routes_are_clipped_to_their_orgs_ranges_and_bad_ones_left_out() {
        let orgs = [
            org(1, &[(0x100, 0x1ff), (0x400, 0x4ff)], true),
            org(2, &[(0x200, 0x2ff)], false),
        ];
        let routes = [
            route(7, 1, &[(0x180, 0x47f), (0x800, 0x8ff)], 2),
            route(7, 1, &[(0x100, 0x1ff)], 3),
            route(8, 2, &[(0x200, 0x2ff)], 1),
            route(9, 3, &[(0x100, 0x1ff)], 1),
            route(10, 1, &[(0x100, 0x1ff)], 0),
        ];
        let (seven, eight) = (program::route_id_of(1, 7), program::route_id_of(2, 8));
        // A route whose id is in another org's space (not on chain: the program refuses it).
        let mut squatter = route(9, 2, &[(0x200, 0x2ff)], 1);
        squatter.id = program::route_id_of(1, 9);
        let routes = [routes.as_slice(), &[squatter]].concat();
        let keys = BTreeMap::from([(
            seven,
            vec![SessionKey {
                dev_addr: 0x180,
                nwk_s_key: [3; 16],
                last_fcnt: None,
            }],
        )]);
        let table = table_of(&orgs, &routes, &keys);
        let ids: Vec<u64> = table.routes().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![seven, eight]);
        let seven = table.route(seven).unwrap();
        assert_eq!(seven.dev_addrs, vec![(0x180, 0x1ff), (0x400, 0x47f)]);
        assert_eq!(seven.max_copies, 2, "the first of a duplicated id");
        assert_eq!(seven.euis, vec![(5, 0)]);
        assert_eq!(seven.session_keys.len(), 1);
        assert!(table.route(eight).unwrap().session_keys.is_empty());
        assert!(!table.org(2).unwrap().enabled);
    }
}

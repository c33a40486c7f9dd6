//! The live follower: turns each final verdict the store announces into an update of the
//! in-memory index and an event for watchers; every two seconds re-reads the registry and,
//! after a new epoch, the rewards.

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{Explorer, LiveVerdict, hotspots::Hotspots, index::Index};

impl Explorer {
    /// Follows final verdicts until `shutdown`: updates the index and tells watchers; every
    /// two seconds re-reads the registry and, after a new epoch, the rewards.
    pub async fn follow(
        self: Arc<Self>,
        mut verdicts: broadcast::Receiver<[u8; 32]>,
        shutdown: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let list = Hotspots::public(self.registry.all());
                    if list != self.hotspots().list {
                        self.registry_changed(Hotspots::from_list(list)).await;
                    }
                    if let Err(e) = self.refresh_rewards().await {
                        tracing::warn!(%e, "explorer: reading rewards");
                    }
                    continue;
                }
                got = verdicts.recv() => got,
            };
            let mut ids = match first {
                Ok(id) => vec![id],
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "explorer fell behind the verdicts; re-reading the index"
                    );
                    verdicts = self.store.subscribe_verdicts();
                    match self.store.verdict_counts().await {
                        Ok(counts) => {
                            let hotspots = self.hotspots();
                            *self.index.write().unwrap_or_else(|e| e.into_inner()) =
                                Index::from_counts(&counts, |k| hotspots.get(k).is_some())
                        }
                        Err(e) => tracing::warn!(%e, "explorer: re-reading the index"),
                    }
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            while ids.len() < 512 {
                match verdicts.try_recv() {
                    Ok(id) => ids.push(id),
                    Err(_) => break,
                }
            }
            let views = match self.store.report_views(&ids).await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(%e, "explorer: reading verdicts");
                    continue;
                }
            };
            let hotspots = self.hotspots();
            {
                let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
                for v in &views {
                    index.apply(v, hotspots.get(&v.hotspot).is_some());
                }
            }
            for view in views {
                let location = hotspots.get(&view.hotspot).and_then(|h| h.location);
                let public = self.config.public_resolution();
                let _ = self
                    .live
                    .send(Arc::new(LiveVerdict::new(view, location, public)));
            }
        }
    }

    /// Takes a new registry: index entries of hotspots no longer in it go, hotspots new in it
    /// get theirs from their verdicts so far.
    async fn registry_changed(&self, fresh: Hotspots) {
        let old = self.hotspots();
        let new: Vec<String> = fresh
            .keys
            .iter()
            .filter(|k| old.get(k).is_none())
            .cloned()
            .collect();
        // Verdicts written while these are read may be counted twice for a hotspot just
        // registered; the next full re-read (after falling behind) settles it.
        let counts = match self.store.verdict_counts_of(&new).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(%e, "explorer: reading the verdicts of new hotspots");
                Vec::new()
            }
        };
        {
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            index.forget_unregistered(|k| fresh.get(k).is_some());
            index.track(&counts);
        }
        *self.hotspots.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
    }
}

//! The on-disk outbox: every report is written here before it is published, and removed only
//! when the broker acknowledges it (PUBACK). A power cut, a `kill -9` or a broker outage loses
//! nothing; the same signed bytes go out after restart.
//!
//! One file per report, `<seq>.msg` (seq zero-padded so names sort), holding
//! `topic length (u16 BE) || topic || payload`. A file is written under a temporary name,
//! flushed and renamed, so a crash leaves either the whole report or nothing. The outbox holds at
//! most `max_reports`; when full the oldest report is dropped, counted and logged.

use std::{
    collections::BTreeSet,
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("outbox file {0} is damaged")]
    Damaged(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub topic: String,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    pending: BTreeSet<u64>,
    next_seq: u64,
    max_reports: usize,
    sync: bool,
    dropped: u64,
}

impl Outbox {
    /// Opens (creating when needed) the outbox in `dir`, picking up what an earlier run left.
    /// `sync` flushes every report to the disk before it counts as stored (power-cut safe);
    /// without it a report survives a killed process but not a power cut.
    pub fn open(dir: &Path, max_reports: usize, sync: bool) -> Result<Self, OutboxError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let mut pending = BTreeSet::new();
        for entry in fs::read_dir(dir).map_err(io_at(dir))? {
            let path = entry.map_err(io_at(dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(seq) = name.strip_suffix(".msg").and_then(|s| s.parse().ok()) {
                pending.insert(seq);
            } else if name.ends_with(".tmp") {
                // A write the process did not finish: the report was never stored.
                let _ = fs::remove_file(&path);
            }
        }
        let next_seq = pending.last().map_or(0, |s| s + 1);
        Ok(Outbox {
            dir: dir.to_path_buf(),
            pending,
            next_seq,
            max_reports: max_reports.max(1),
            sync,
            dropped: 0,
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.msg"))
    }

    /// Stores a report durably and returns its sequence number.
    pub fn push(&mut self, topic: &str, payload: &[u8]) -> Result<u64, OutboxError> {
        let seq = self.next_seq;
        let path = self.path(seq);
        let tmp = path.with_extension("tmp");
        let topic_len =
            u16::try_from(topic.len()).map_err(|_| OutboxError::Damaged(topic.into()))?;
        let written = fs::File::create(&tmp).and_then(|mut file| {
            file.write_all(&topic_len.to_be_bytes())?;
            file.write_all(topic.as_bytes())?;
            file.write_all(payload)?;
            if self.sync {
                file.sync_all()?;
            }
            Ok(())
        });
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
            // Disk full or failing: the report is not stored; leave no partial file behind to
            // take the space the reports already stored need.
            let _ = fs::remove_file(&tmp);
            return Err(io_at(&tmp)(e));
        }
        if self.sync {
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_at(&self.dir))?;
        }
        self.next_seq += 1;
        self.pending.insert(seq);
        while self.pending.len() > self.max_reports {
            if let Some(oldest) = self.pending.pop_first() {
                let _ = fs::remove_file(self.path(oldest));
                self.dropped += 1;
                tracing::warn!(
                    seq = oldest,
                    dropped_total = self.dropped,
                    max_reports = self.max_reports,
                    "outbox full: dropped the oldest unpublished report"
                );
            }
        }
        Ok(seq)
    }

    /// Reads a stored report; `None` when it is no longer stored (acknowledged or dropped).
    pub fn get(&self, seq: u64) -> Result<Option<Entry>, OutboxError> {
        if !self.pending.contains(&seq) {
            return Ok(None);
        }
        let path = self.path(seq);
        let bytes = fs::read(&path).map_err(io_at(&path))?;
        let damaged = || OutboxError::Damaged(path.display().to_string());
        let len = u16::from_be_bytes(
            bytes
                .get(..2)
                .ok_or_else(damaged)?
                .try_into()
                .map_err(|_| damaged())?,
        ) as usize;
        let topic = bytes.get(2..2 + len).ok_or_else(damaged)?;
        let topic = String::from_utf8(topic.to_vec()).map_err(|_| damaged())?;
        Ok(Some(Entry {
            seq,
            topic,
            payload: bytes[2 + len..].to_vec(),
        }))
    }

    /// Forgets a report the broker acknowledged.
    pub fn remove(&mut self, seq: u64) -> Result<(), OutboxError> {
        if self.pending.remove(&seq) {
            let path = self.path(seq);
            fs::remove_file(&path).map_err(io_at(&path))?;
        }
        Ok(())
    }

    /// Drops a report that cannot be read back (logged by the caller), so it does not block the
    /// ones behind it.
    pub fn discard(&mut self, seq: u64) {
        if self.pending.remove(&seq) {
            let _ = fs::remove_file(self.path(seq));
            self.dropped += 1;
        }
    }

    /// The first stored report at or after `seq`.
    pub fn next_from(&self, seq: u64) -> Option<u64> {
        self.pending.range(seq..).next().copied()
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Reports dropped because the outbox was full (or unreadable) since it was opened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_survive_reopening_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(dir.path(), 100, true).unwrap();
        let a = outbox.push("t/a", b"first").unwrap();
        let b = outbox.push("t/b", b"second").unwrap();
        outbox.remove(a).unwrap();
        drop(outbox);

        let mut outbox = Outbox::open(dir.path(), 100, true).unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(
            outbox.get(b).unwrap().unwrap(),
            Entry {
                seq: b,
                topic: "t/b".into(),
                payload: b"second".to_vec()
            }
        );
        assert_eq!(outbox.get(a).unwrap(), None);
        // New reports continue after the old ones.
        assert!(outbox.push("t/c", b"third").unwrap() > b);
        assert_eq!(outbox.next_from(0), Some(b));
    }

    #[test]
    fn full_outbox_drops_the_oldest_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(dir.path(), 3, false).unwrap();
        for i in 0..5u8 {
            outbox.push("t", &[i]).unwrap();
        }
        assert_eq!(outbox.len(), 3);
        assert_eq!(outbox.dropped(), 2);
        assert_eq!(
            outbox
                .get(outbox.next_from(0).unwrap())
                .unwrap()
                .unwrap()
                .payload,
            vec![2]
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn unfinished_writes_are_cleaned_up_and_damaged_files_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000007.tmp"), b"half").unwrap();
        fs::write(dir.path().join("00000000000000000003.msg"), [0, 9, b'x']).unwrap();
        let mut outbox = Outbox::open(dir.path(), 10, false).unwrap();
        assert!(!dir.path().join("00000000000000000007.tmp").exists());
        assert!(matches!(outbox.get(3), Err(OutboxError::Damaged(_))));
        outbox.discard(3);
        assert!(outbox.is_empty());
        assert_eq!(outbox.push("t", b"x").unwrap(), 4);
    }
}

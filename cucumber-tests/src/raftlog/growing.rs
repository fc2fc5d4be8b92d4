//! A log checked again after every restart of a long scenario (a power cut at a time).
//!
//! Lithair only ever appends to its log, and cuts off a torn tail; it never rewrites what it
//! synced. So once the harness has found a prefix of the file valid, the next check need not
//! parse it again: if the file still begins with the very same bytes (same length, same CRC32),
//! only what follows is parsed, continuing from the prefix's last record, and the verdict is
//! the one a parse of the whole file gives. A file that no longer begins with the checked
//! bytes is parsed whole. Parsing 200 power cuts' worth of log 200 times over was most of a
//! long power-cut scenario's time.
//!
//! A cluster's log (version 2) is not append-only: Raft may cut an uncommitted suffix and write
//! other records in its place. The prefix's length and CRC32 see that (the file is shorter, or
//! its bytes differ), so such a file is parsed whole too.

use std::{fs, io, path::Path};

use super::{RaftLog, Record};

/// What was found valid so far.
#[derive(Debug, Default)]
pub struct GrowingLog {
    checked: Option<Checked>,
}

#[derive(Debug)]
struct Checked {
    len: usize,
    crc: u32,
    last: Record,
}

impl GrowingLog {
    /// Read the log at `path` and judge it as [`RaftLog::verify`] does: `Ok(Err(reason))`
    /// when it is not valid. Only I/O fails.
    pub fn check(&mut self, path: &Path) -> io::Result<Result<(), String>> {
        Ok(self.check_bytes(&fs::read(path)?))
    }

    fn check_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let unchanged = self.checked.as_ref().filter(|checked| {
            bytes.len() >= checked.len && crc32fast::hash(&bytes[..checked.len]) == checked.crc
        });
        let log = match unchanged {
            Some(checked) => RaftLog::parse_from(bytes, checked.len, Some(checked.last.clone())),
            None => RaftLog::parse(bytes),
        };
        log.verify()?;
        if let Some(last) = log.records().last() {
            let crc = crc32fast::hash(bytes);
            self.checked = Some(Checked { len: bytes.len(), crc, last: last.clone() });
        } else if unchanged.is_none() {
            self.checked = None; // an empty file
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raftlog::encode;

    fn records(from: u64, to: u64) -> Vec<u8> {
        (from..=to).flat_map(|seq| encode::record(seq, seq * 10, "Noted", &seq)).collect()
    }

    #[test]
    fn a_log_that_grows_is_judged_as_a_whole_parse_would() {
        let mut growing = GrowingLog::default();
        let mut bytes = records(1, 3);
        assert_eq!(growing.check_bytes(&bytes), Ok(()));
        bytes.extend(records(4, 6));
        assert_eq!(growing.check_bytes(&bytes), Ok(()));
        assert_eq!(growing.checked.as_ref().map(|c| c.last.seq), Some(6));

        // A gap after the checked prefix is found against the prefix's last record.
        let mut gap = bytes.clone();
        gap.extend(records(8, 8));
        assert_eq!(growing.check_bytes(&gap), RaftLog::parse(&gap).verify());
        assert!(growing.check_bytes(&gap).is_err());

        // A torn tail is what a parse of the whole file says it is.
        let mut torn = bytes.clone();
        torn.extend(&records(7, 7)[..20]);
        assert_eq!(growing.check_bytes(&torn), RaftLog::parse(&torn).verify());
    }

    #[test]
    fn a_checked_prefix_that_changed_is_parsed_again() {
        let mut growing = GrowingLog::default();
        let bytes = records(1, 5);
        assert_eq!(growing.check_bytes(&bytes), Ok(()));
        let mut damaged = bytes.clone();
        damaged[10] ^= 1;
        damaged.extend(records(6, 6));
        let verdict = growing.check_bytes(&damaged);
        assert!(verdict.is_err());
        assert_eq!(verdict, RaftLog::parse(&damaged).verify());

        // Shorter than what was checked: parsed whole, and fine if it is a valid prefix.
        assert_eq!(growing.check_bytes(&records(1, 2)), Ok(()));
    }

    #[test]
    fn a_v2_suffix_that_raft_replaced_is_parsed_again() {
        let entry = |seq, term| encode::record_v2(seq, term, 1, 0, "Noted", Some(&seq));
        let mut growing = GrowingLog::default();
        let mut bytes: Vec<u8> = (0..5).flat_map(|seq| entry(seq, 1)).collect();
        assert_eq!(growing.check_bytes(&bytes), Ok(()));
        // Seq 3 and 4 were not committed; a new leader of term 2 replaced them, and more.
        let cut = bytes.len() - entry(3, 1).len() - entry(4, 1).len();
        bytes.truncate(cut);
        bytes.extend((3..7).flat_map(|seq| entry(seq, 2)));
        assert_eq!(growing.check_bytes(&bytes), Ok(()));
        assert_eq!(growing.checked.as_ref().map(|c| (c.last.seq, c.last.leader)), {
            Some((6, Some(crate::raftlog::Leader { term: 2, node: 1 })))
        });
        // And a term that goes back after the replaced suffix is still caught.
        bytes.extend(entry(7, 1));
        assert!(growing.check_bytes(&bytes).is_err());
        assert_eq!(growing.check_bytes(&bytes), RaftLog::parse(&bytes).verify());
    }
}

//! Rewriting a data directory to its durable image: what the disk would hold after a power
//! cut at the end of the journal.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use crate::{journal, model::Model};

/// How to cut the power.
#[derive(Debug, Clone, Copy, Default)]
pub struct CutOptions {
    /// `Some(seed)`: a torn page. Each file keeps a random prefix of its unsynced tail
    /// followed by random garbage, as if the disk had written part of the last page.
    pub torn: Option<u64>,
}

/// What the cut did, file by file.
#[derive(Debug, Default, Clone)]
pub struct CutReport {
    pub files: Vec<FileCut>,
    /// Files the process saw that the disk does not hold (unsynced creations or renames).
    pub vanished: Vec<String>,
    pub faults: Vec<crate::Fault>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCut {
    pub path: String,
    /// Bytes on the disk (synced), before any torn tail.
    pub durable: u64,
    /// Bytes the process had written beyond what the disk holds (lost, unless torn).
    pub unsynced: u64,
    /// Of the unsynced tail, bytes kept by a torn page, then garbage bytes appended.
    pub torn_kept: u64,
    pub garbage: u64,
}

impl CutReport {
    /// Unsynced bytes lost over all files.
    pub fn lost_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.unsynced - file.torn_kept).sum()
    }
}

/// Cut the power: rewrite `data_dir` to the durable image recorded in `journal`, then remove
/// the journal, since the image is now the disk a restarted process begins from.
///
/// Call it after the process is dead (SIGKILL). Files of `data_dir` the journal never saw
/// are left alone.
pub fn cut_power(
    journal_path: &Path,
    data_dir: &Path,
    options: CutOptions,
) -> io::Result<CutReport> {
    let model = Model::replay(&journal::read(journal_path)?);
    let report = write_image(&model, data_dir, options)?;
    match fs::remove_file(journal_path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    Ok(report)
}

/// Rewrite `data_dir` to `model`'s durable image.
pub fn write_image(model: &Model, data_dir: &Path, options: CutOptions) -> io::Result<CutReport> {
    let mut rng = options.torn.map(SplitMix64);
    let mut report = CutReport { faults: model.faults.clone(), ..CutReport::default() };
    for path in model.current.keys() {
        if !model.durable.contains_key(path) {
            remove_if_present(&data_dir.join(path))?;
            report.vanished.push(path.clone());
        }
    }
    for (path, id) in &model.durable {
        let inode = model.inodes.get(id).cloned().unwrap_or_default();
        let mut bytes = inode.durable.clone();
        let tail = inode.current.get(bytes.len()..).unwrap_or_default();
        let mut cut = FileCut {
            path: path.clone(),
            durable: bytes.len() as u64,
            unsynced: tail.len() as u64,
            torn_kept: 0,
            garbage: 0,
        };
        if let (Some(rng), false) = (rng.as_mut(), tail.is_empty()) {
            let kept = rng.below(tail.len() as u64 + 1) as usize;
            bytes.extend_from_slice(&tail[..kept]);
            let garbage = 1 + rng.below(64);
            bytes.extend((0..garbage).map(|_| rng.next() as u8));
            (cut.torn_kept, cut.garbage) = (kept as u64, garbage);
        }
        let target = data_dir.join(path);
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(&target, &bytes)?;
        report.files.push(cut);
    }
    Ok(report)
}

fn remove_if_present(path: &PathBuf) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// A seeded generator, so that a torn page can be replayed from the seed a failure report
/// names (splitmix64: a few lines, well-distributed, no dependency).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    #[test]
    fn the_image_holds_durable_names_with_durable_bytes_and_a_torn_tail_on_request() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("log"), b"synced+unsynced").unwrap();
        fs::write(dir.path().join("new"), b"never durable").unwrap();
        fs::write(dir.path().join("other"), b"untracked").unwrap();
        let model = Model::replay(&[
            Record::Base { id: 0, path: "log".into(), content: vec![] },
            Record::Write { id: 0, offset: 0, data: b"synced".to_vec() },
            Record::Sync { id: 0, upto: 2 },
            Record::Write { id: 0, offset: 6, data: b"+unsynced".to_vec() },
            Record::Create { id: 1, path: "new".into() },
        ]);
        let report = write_image(&model, dir.path(), CutOptions::default()).unwrap();
        assert_eq!(fs::read(dir.path().join("log")).unwrap(), b"synced");
        assert!(!dir.path().join("new").exists());
        assert_eq!(fs::read(dir.path().join("other")).unwrap(), b"untracked");
        assert_eq!(report.vanished, ["new"]);
        assert_eq!(report.lost_bytes(), 9);

        let torn = write_image(&model, dir.path(), CutOptions { torn: Some(7) }).unwrap();
        let bytes = fs::read(dir.path().join("log")).unwrap();
        let cut = &torn.files[0];
        assert_eq!(bytes.len() as u64, 6 + cut.torn_kept + cut.garbage);
        assert_eq!(
            &bytes[..6 + cut.torn_kept as usize],
            &b"synced+unsynced"[..6 + cut.torn_kept as usize]
        );
        assert!(cut.garbage > 0);
    }
}

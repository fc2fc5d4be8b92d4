//! `powercut dump JOURNAL`: the journal, one record a line, then what the disk holds.
//! `powercut cut JOURNAL DATA_DIR [TORN_SEED]`: cut the power by hand (rewrite DATA_DIR to
//! its durable image and remove the journal), for debugging a scenario or trying the model.

#![forbid(unsafe_code)]

use std::{path::Path, process::ExitCode};

use powercut::{CutOptions, Model, Record, journal};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["dump", journal] => dump(Path::new(journal)),
        ["cut", journal, dir] => cut(Path::new(journal), Path::new(dir), None),
        ["cut", journal, dir, seed] => match seed.parse() {
            Ok(seed) => cut(Path::new(journal), Path::new(dir), Some(seed)),
            Err(_) => Err(format!("not a seed: {seed}")),
        },
        _ => Err("usage: powercut dump JOURNAL | powercut cut JOURNAL DATA_DIR [TORN_SEED]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("powercut: {err}");
            ExitCode::FAILURE
        }
    }
}

fn dump(path: &Path) -> Result<(), String> {
    let records = journal::read(path).map_err(|err| err.to_string())?;
    for (seq, record) in records.iter().enumerate() {
        match record {
            Record::Base { id, path, content } => {
                println!("{seq:6} Base {{ id: {id}, path: {path:?}, {} bytes }}", content.len())
            }
            Record::Write { id, offset, data } => {
                println!("{seq:6} Write {{ id: {id}, offset: {offset}, {} bytes }}", data.len())
            }
            other => println!("{seq:6} {other:?}"),
        }
    }
    let model = Model::replay(&records);
    println!("-- the disk after a power cut now:");
    for (name, id) in &model.durable {
        let inode = &model.inodes[id];
        let unsynced = inode.current.len().saturating_sub(inode.durable.len());
        println!("{name}: {} bytes durable, {unsynced} unsynced", inode.durable.len());
    }
    for name in model.current.keys().filter(|name| !model.durable.contains_key(*name)) {
        println!("{name}: not durable (its directory was not synced since it appeared)");
    }
    Ok(())
}

fn cut(journal: &Path, dir: &Path, torn: Option<u64>) -> Result<(), String> {
    let report =
        powercut::cut_power(journal, dir, CutOptions { torn }).map_err(|e| e.to_string())?;
    for file in &report.files {
        println!("{file:?}");
    }
    println!("vanished: {:?}; unsynced bytes lost: {}", report.vanished, report.lost_bytes());
    Ok(())
}

//! The interposer, tested by running `powercut-victim` under it: each case is a script of
//! file operations, then the durable image the journal gives after the "power cut", compared
//! with what the model says the disk must hold.
//!
//! Cargo builds a package's library before its integration tests only if it can be linked,
//! hence `crate-type = ["cdylib", "rlib"]` (the tests never use the rlib, so the hooks are not
//! linked into them). As a dependency, the `.so` stays in `<target>/<profile>/deps/`, next to
//! this test's executable, rebuilt whenever its source changes: no manual step.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use powercut::{CutOptions, Fault, Model, PowerCut};

struct Disk {
    _temp: tempfile::TempDir,
    data: PathBuf,
    journal: PathBuf,
}

impl Disk {
    fn new(files: &[(&str, &str)]) -> Disk {
        let temp = tempfile::tempdir().unwrap();
        let data = temp.path().join("data");
        fs::create_dir(&data).unwrap();
        for (name, content) in files {
            fs::write(data.join(name), content).unwrap();
        }
        Disk { journal: temp.path().join("journal"), data, _temp: temp }
    }

    fn powercut(&self) -> PowerCut {
        let test = std::env::current_exe().unwrap();
        PowerCut {
            library: test.with_file_name("libpowercut_preload.so"),
            dir: self.data.clone(),
            journal: self.journal.clone(),
            fail_sync: None,
            enospc_after: None,
            fault_file: None,
        }
    }

    /// Run `script` under the interposer; return what each step printed. Then check that the
    /// journal saw every change: replayed, it gives exactly the files the process left.
    fn run(&self, script: &str) -> String {
        self.run_with(self.powercut(), script)
    }

    fn run_with(&self, powercut: PowerCut, script: &str) -> String {
        let mut command = Command::new(env!("CARGO_BIN_EXE_powercut-victim"));
        command.arg(&self.data).arg(script);
        powercut.apply(&mut command);
        let output = command.output().unwrap();
        assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
        let model = powercut::replay(&self.journal).unwrap();
        assert_eq!(files(&self.data), model_files(&model, Model::current_file, &model.current));
        String::from_utf8(output.stdout).unwrap()
    }

    /// Cut the power; return the data directory's files afterwards.
    fn cut(&self, options: CutOptions) -> BTreeMap<String, String> {
        powercut::cut_power(&self.journal, &self.data, options).unwrap();
        assert!(!self.journal.exists(), "the journal starts over after a cut");
        files(&self.data)
    }
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let content = String::from_utf8_lossy(&fs::read(entry.path()).unwrap()).into_owned();
        files.insert(entry.file_name().into_string().unwrap(), content);
    }
    files
}

fn model_files<'a>(
    model: &'a Model,
    read: fn(&'a Model, &str) -> Option<&'a [u8]>,
    names: &BTreeMap<String, u64>,
) -> BTreeMap<String, String> {
    let read_one = |name: &String| String::from_utf8_lossy(read(model, name).unwrap()).into_owned();
    names.keys().map(|name| (name.clone(), read_one(name))).collect()
}

fn expect(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files.iter().map(|(name, content)| (name.to_string(), content.to_string())).collect()
}

#[test]
fn synced_bytes_survive_and_unsynced_ones_are_lost() {
    let disk = Disk::new(&[("LOCK", "")]);
    disk.run("append log one;fdatasync log;syncdir .;append log +two;writev log +thr ee;kill");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("LOCK", ""), ("log", "one")]));
}

#[test]
fn a_write_through_o_dsync_is_durable_when_it_returns() {
    let disk = Disk::new(&[("log", "")]);
    disk.run("dsync log one;append log +two;kill");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("log", "one")]));
}

#[test]
fn files_present_at_start_are_durable_as_they_were() {
    let disk = Disk::new(&[("log", "before")]);
    disk.run("append log +after;pwrite log 0 B;truncate log 3;exit");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("log", "before")]));
}

#[test]
fn a_synced_file_whose_directory_was_never_synced_vanishes() {
    let disk = Disk::new(&[]);
    disk.run("create new data;fsync new;exit");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[]));

    let disk = Disk::new(&[]);
    disk.run("create new data;fsync new;syncdir .;kill");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("new", "data")]));
}

#[test]
fn a_rename_counts_only_after_the_directory_sync_that_follows_it() {
    let script = "create snap.tmp v2;fsync snap.tmp;rename snap.tmp snap";
    let disk = Disk::new(&[("snap", "v1")]);
    disk.run(&format!("{script};kill"));
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("snap", "v1")]));

    let disk = Disk::new(&[("snap", "v1")]);
    disk.run(&format!("{script};syncdir .;kill"));
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("snap", "v2")]));
}

#[test]
fn an_unlink_without_a_directory_sync_is_undone() {
    let disk = Disk::new(&[("old", "kept"), ("gone", "x")]);
    disk.run("unlink old;unlink gone;syncdir .;create old new;exit");
    assert_eq!(
        disk.cut(CutOptions::default()),
        expect(&[]),
        "the new `old` was never made durable"
    );
}

#[test]
fn a_torn_page_keeps_a_prefix_of_the_unsynced_tail_then_garbage() {
    for seed in 0..20 {
        let disk = Disk::new(&[("log", "synced")]);
        disk.run("append log +unsynced-tail;kill");
        powercut::cut_power(&disk.journal, &disk.data, CutOptions { torn: Some(seed) }).unwrap();
        let bytes = fs::read(disk.data.join("log")).unwrap();
        let full = b"synced+unsynced-tail";
        let kept = bytes.iter().zip(full).take_while(|(a, b)| a == b).count();
        assert!(kept >= 6, "seed {seed}: the synced part is intact");
        assert!(bytes.len() > kept || kept == full.len(), "seed {seed}: garbage follows");
    }
}

#[test]
fn a_later_process_goes_on_with_the_same_journal() {
    let disk = Disk::new(&[]);
    disk.run("append log a;fdatasync log;syncdir .;append log b;kill");
    disk.run("append other x;exit");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("log", "a")]), "b was never synced");

    let disk = Disk::new(&[]);
    disk.run("append log a;fdatasync log;syncdir .;append log b;kill");
    disk.run("fdatasync log;exit");
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("log", "ab")]), "the page cache held b");
}

#[test]
fn concurrent_writers_are_journaled_completely() {
    let disk = Disk::new(&[]);
    let out = disk.run("threads 4 t;append t.0 +lost;syncdir .;kill");
    assert!(!out.contains("err"), "{out}");
    let files = disk.cut(CutOptions::default());
    assert_eq!(files.len(), 4);
    for (name, content) in files {
        assert_eq!(content.lines().count(), 100, "{name}");
        assert!(!content.contains("lost"));
    }
}

#[test]
fn the_nth_sync_fails_with_eio_and_its_writes_never_reach_the_disk() {
    let disk = Disk::new(&[("log", "")]);
    let powercut = PowerCut { fail_sync: Some(2), ..disk.powercut() };
    let out = disk.run_with(
        powercut,
        "append log a;fdatasync log;append log b;fdatasync log;append log c;fsync log;exit",
    );
    assert_eq!(
        out.lines().map(|line| line.rsplit(": ").next().unwrap()).collect::<Vec<_>>(),
        ["ok", "ok", "ok", "err 5", "ok", "ok"]
    );
    let model = powercut::replay(&disk.journal).unwrap();
    assert_eq!(model.faults, [Fault::SyncEio { id: 0, path: "log".into(), upto: 5 }]);
    assert_eq!(disk.cut(CutOptions::default()), expect(&[("log", "a\0c")]));
}

#[test]
fn only_the_named_file_counts_for_faults() {
    let disk = Disk::new(&[("log", ""), ("other", "")]);
    let powercut =
        PowerCut { fail_sync: Some(1), fault_file: Some("log".into()), ..disk.powercut() };
    let out = disk.run_with(powercut, "fsync other;fdatasync log;fdatasync log");
    assert_eq!(out, "fsync other: ok\nfdatasync log: err 5\nfdatasync log: ok\n");
}

#[test]
fn writes_fail_with_enospc_once_the_disk_is_full() {
    let disk = Disk::new(&[]);
    let powercut = PowerCut { enospc_after: Some(5), ..disk.powercut() };
    let out = disk.run_with(
        powercut,
        "append log abc;append log defgh;append log i;fsync log;syncdir .;exit",
    );
    assert_eq!(
        out,
        "append log abc: ok\nappend log defgh: err 28\nappend log i: err 28\nfsync log: ok\nsyncdir .: ok\n"
    );
    let model = powercut::replay(&disk.journal).unwrap();
    assert_eq!(model.faults, [Fault::NoSpace { id: 0, path: "log".into(), written: 5 }]);
    assert_eq!(
        disk.cut(CutOptions::default()),
        expect(&[("log", "abcde")]),
        "a short write, then none"
    );
}

#[test]
fn without_powercut_dir_nothing_is_journaled() {
    let disk = Disk::new(&[]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_powercut-victim"));
    command.arg(&disk.data).arg("append log a;fdatasync log");
    command.env("LD_PRELOAD", disk.powercut().library);
    assert!(command.output().unwrap().status.success());
    assert!(!disk.journal.exists());
    assert_eq!(files(&disk.data), expect(&[("log", "a")]));
}

#[test]
fn a_journal_inside_the_tracked_directory_is_refused() {
    let disk = Disk::new(&[]);
    let powercut = PowerCut { journal: disk.data.join("journal"), ..disk.powercut() };
    let mut command = Command::new(env!("CARGO_BIN_EXE_powercut-victim"));
    command.arg(&disk.data).arg("append log a");
    powercut.apply(&mut command);
    let output = command.output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be outside"));
}

//! Running a program under the interposer: where its shared library is, and the environment
//! that configures it.

use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

/// The environment variables the interposer reads (docs/powercut.md).
pub mod vars {
    /// The directory whose files are tracked (required: without it nothing is tracked).
    pub const DIR: &str = "POWERCUT_DIR";
    /// Where the journal goes (required with `POWERCUT_DIR`; must be outside it).
    pub const JOURNAL: &str = "POWERCUT_JOURNAL";
    /// `N`: the Nth `fsync`/`fdatasync` of a tracked file (counting from 1) fails with `EIO`.
    pub const FAIL_SYNC: &str = "POWERCUT_FAIL_SYNC";
    /// `N`: writes to tracked files fail with `ENOSPC` once N bytes were written.
    pub const ENOSPC_AFTER: &str = "POWERCUT_ENOSPC_AFTER";
    /// A path relative to `POWERCUT_DIR`: only that file counts for the two faults above.
    pub const FAULT_FILE: &str = "POWERCUT_FAULT_FILE";
}

/// The configuration of one traced process.
#[derive(Debug, Clone)]
pub struct PowerCut {
    pub library: PathBuf,
    pub dir: PathBuf,
    pub journal: PathBuf,
    pub fail_sync: Option<u64>,
    pub enospc_after: Option<u64>,
    pub fault_file: Option<String>,
}

impl PowerCut {
    /// Track `dir`, journaling to `journal` (outside `dir`), with the library from
    /// [`library`].
    pub fn new(dir: &Path, journal: &Path) -> Result<PowerCut, String> {
        Ok(PowerCut {
            library: library()?,
            dir: dir.to_owned(),
            journal: journal.to_owned(),
            fail_sync: None,
            enospc_after: None,
            fault_file: None,
        })
    }

    /// The environment to give the traced process.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("LD_PRELOAD", self.library.display().to_string()),
            (vars::DIR, self.dir.display().to_string()),
            (vars::JOURNAL, self.journal.display().to_string()),
        ];
        vars.extend(self.fail_sync.map(|n| (vars::FAIL_SYNC, n.to_string())));
        vars.extend(self.enospc_after.map(|n| (vars::ENOSPC_AFTER, n.to_string())));
        vars.extend(self.fault_file.clone().map(|file| (vars::FAULT_FILE, file)));
        vars
    }

    /// Run `command` under the interposer.
    pub fn apply(&self, command: &mut Command) {
        command.envs(self.env());
    }
}

/// Path of `libpowercut_preload.so`, built by cargo on first use with the profile this
/// program was built with (a no-op after `cargo test --workspace`). `POWERCUT_LIBRARY`
/// overrides the search.
pub fn library() -> Result<PathBuf, String> {
    static LIBRARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    LIBRARY.get_or_init(locate_or_build).clone()
}

fn locate_or_build() -> Result<PathBuf, String> {
    if let Some(path) = env::var_os("POWERCUT_LIBRARY") {
        return Ok(PathBuf::from(path));
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace")?;
    let output = Command::new(&cargo)
        .current_dir(workspace)
        .args(["build", "--package", "powercut-preload", "--lib"])
        .args(["--profile", &profile(), "--message-format", "json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("cannot run cargo: {err}"))?;
    if !output.status.success() {
        return Err(format!("building powercut-preload failed ({})", output.status));
    }
    library_from_cargo_messages(&String::from_utf8_lossy(&output.stdout))
        .ok_or_else(|| "cargo built powercut-preload but named no .so".to_string())
}

/// The cargo profile of this program, from where it lives (`<target>/<profile>/deps/`).
fn profile() -> String {
    let exe = env::current_exe().unwrap_or_default();
    let dir = exe.parent().unwrap_or(Path::new(""));
    let dir = if dir.ends_with("deps") { dir.parent().unwrap_or(dir) } else { dir };
    match dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev".into(),
        Some(other) => other.into(),
    }
}

fn library_from_cargo_messages(messages: &str) -> Option<PathBuf> {
    messages.lines().rev().find_map(|line| {
        let message: serde_json::Value = serde_json::from_str(line).ok()?;
        if message["reason"] != "compiler-artifact"
            || message["target"]["name"] != "powercut_preload"
        {
            return None;
        }
        let files = message["filenames"].as_array()?;
        files
            .iter()
            .filter_map(|file| file.as_str())
            .find(|file| file.ends_with(".so"))
            .map(PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_library_in_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"powercut"},"filenames":["/t/debug/libpowercut.rlib"]}
{"reason":"compiler-artifact","target":{"name":"powercut_preload"},"filenames":["/t/debug/libpowercut_preload.so"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            library_from_cargo_messages(messages),
            Some(PathBuf::from("/t/debug/libpowercut_preload.so"))
        );
    }
}

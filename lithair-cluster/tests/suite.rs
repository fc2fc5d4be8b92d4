//! openraft's own storage test suite, run on Lithair's log store and state machine, each test
//! in a fresh data directory.

mod common;

use lithair_cluster::{LogStore, NodeId, StateMachine, TypeConfig, open_storage};
use lithair_core::Durability;
use openraft::{
    StorageError,
    testing::{StoreBuilder, Suite},
};
use tempfile::TempDir;

use common::Note;

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine<Note>, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine<Note>), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (store, sm) = open_storage::<Note>(dir.path(), Durability::Fsync)
            .await
            .expect("storage opens in an empty directory");
        Ok((dir, store, sm))
    }
}

#[test]
fn openraft_suite_passes() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
    if let Err(err) = Suite::test_all(Builder) {
        panic!("openraft's storage suite failed: {err}");
    }
}

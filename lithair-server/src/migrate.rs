//! `lithair-server migrate`: a single server's data directory becomes a cluster node's
//! (`lithair_cluster::migrate`, docs/cluster.md "Migrating"). Its outcome goes to stdout, its
//! refusal (file, offset, reason) to stderr with a non-zero exit status.

use std::{io::Write, process::ExitCode};

use lithair_cluster::{Node, migrate_v1};
use lithair_server::events::StoreEvent;

use crate::cli::MigrateArgs;

pub async fn run(args: &MigrateArgs) -> ExitCode {
    let node = Node { peer: args.peer_advertise.clone(), api: args.api_advertise.clone() };
    match migrate_v1::<StoreEvent>(&args.data_dir, args.node_id, node).await {
        Ok(migrated) => {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(
                stdout,
                "migrated {} events: {} is now node {}'s log (version 2); the version-1 log is \
                 kept as {}",
                migrated.events,
                args.data_dir.join(lithair_core::LOG_FILE_NAME).display(),
                args.node_id,
                migrated.backup.display(),
            );
            let _ = writeln!(
                stdout,
                "start the node with: lithair-server --node-id {} --data-dir {} --bind {} \
                 --peer-bind {} --cluster-secret-file <FILE>",
                args.node_id,
                args.data_dir.display(),
                args.api_advertise,
                args.peer_advertise,
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!("{err}. Nothing was migrated; the data directory is unchanged.");
            ExitCode::FAILURE
        }
    }
}

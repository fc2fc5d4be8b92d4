//! The signals that stop the server cleanly: SIGTERM (service managers, the test harness) and
//! SIGINT (Ctrl-C).

use tokio::signal::unix::{SignalKind, signal};

/// Resolves when the process receives SIGTERM or SIGINT.
/// Listens for SIGTERM from the moment it is called, not from the future's first poll: the
/// server announces itself right after, and a SIGTERM that came before the listener existed
/// would kill it with the default action instead of shutting it down cleanly.
pub fn signal_received() -> impl Future<Output = ()> {
    let terminate = signal(SignalKind::terminate());
    async move {
        let mut terminate = match terminate {
            Ok(terminate) => terminate,
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM; only Ctrl-C will stop the server");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        }
    }
}

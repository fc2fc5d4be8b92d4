//! The French wording of the original Lithair features (`features/fr/*.feature`, run as they
//! were written): each phrase is a thin binding to the same function its English twin calls,
//! so a French line keeps exactly the promise of the English one. docs/steps.md gives each
//! phrase's English twin.

use cucumber::{given, then, when};

use crate::world::LithairWorld;

#[then("le fichier events.raftlog doit exister")]
async fn le_fichier_events_raftlog_doit_exister(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::log_exists(world).await
}

#[then(expr = "le fichier events.raftlog doit contenir exactement {int} événements")]
async fn le_fichier_events_raftlog_doit_contenir_exactement_evenements(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::log_checks::log_holds_events(world, count).await
}

#[then("le journal contient les articles tels qu'envoyés")]
async fn le_journal_contient_les_articles_tels_qu_envoyes(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::log_checks::log_holds_what_was_sent(world).await
}

#[given(expr = "un serveur Lithair sur le port {int} avec persistence {string}")]
async fn un_serveur_lithair_sur_le_port_avec_persistence(
    world: &mut LithairWorld,
    _port_label: u16,
    path: String,
) -> anyhow::Result<()> {
    crate::server_control::a_server_on_port_with_persistence(world, _port_label, path).await
}

#[given("la persistence est activée par défaut")]
async fn la_persistence_est_activee_par_defaut(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::server_control::persistence_by_default(world).await
}

/// "Rapidement": the same 50 concurrent clients as upstream's "I create {int} articles quickly".
#[when(expr = "je crée {int} articles rapidement")]
async fn je_cree_articles_rapidement(world: &mut LithairWorld, count: u64) -> anyhow::Result<()> {
    crate::load::create_quickly(world, count).await
}

#[when(expr = "je crée {int} articles en parallèle avec {int} threads")]
async fn je_cree_articles_en_parallele_avec_threads(
    world: &mut LithairWorld,
    count: usize,
    workers: usize,
) -> anyhow::Result<()> {
    crate::articles::create_in_parallel(world, count, workers).await
}

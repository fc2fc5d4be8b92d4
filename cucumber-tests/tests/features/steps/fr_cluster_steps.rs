//! The French wording of the cluster phrases (`features/fr/grappe.feature`): each a one-line
//! call to the same `ClusterWorld` action or check as its English twin in `cluster_steps.rs`
//! and `nemesis_steps.rs`.

use std::time::Duration;

use cucumber::{given, then, when};

use crate::world::LithairWorld;

#[given(expr = "une grappe Lithair de {int} nœuds")]
async fn une_grappe(world: &mut LithairWorld, size: usize) -> anyhow::Result<()> {
    let dir = world.server.dir().join("cluster");
    world.cluster.start(&dir, size).await
}

#[then("un seul nœud dirige et les autres le suivent")]
async fn un_seul_chef(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_one_leader().await
}

#[when(expr = "{int} articles sont créés par le nœud {int}")]
async fn articles_crees_par(world: &mut LithairWorld, count: usize, id: u64) -> anyhow::Result<()> {
    world.cluster.create_through(id, count).await
}

#[then("chaque écriture acquittée est présente sur chaque nœud")]
async fn chaque_ecriture_partout(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_every_write_everywhere().await
}

#[then("les journaux des nœuds concordent jusqu'à l'index validé")]
async fn journaux_concordent(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_logs_agree().await
}

#[when("le chef est tué")]
async fn chef_tue(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.kill_leader().await
}

#[then(expr = "un nouveau chef acquitte une écriture en moins de {int} ms")]
async fn nouveau_chef(world: &mut LithairWorld, ms: u64) -> anyhow::Result<()> {
    world.cluster.check_new_leader_within(Duration::from_millis(ms)).await
}

#[when("le nœud tué redémarre")]
async fn noeud_redemarre(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.restart_downed().await
}

#[when("le chef est coupé des autres nœuds")]
async fn chef_coupe(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.cut_off_leader().await
}

#[then("le nœud coupé n'acquitte aucune écriture et refuse les lectures cohérentes")]
async fn noeud_coupe_refuse(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.check_cut_off_refuses().await
}

#[when("le réseau est rétabli")]
async fn reseau_retabli(world: &mut LithairWorld) -> anyhow::Result<()> {
    world.cluster.heal()
}

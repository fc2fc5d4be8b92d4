//! The upstream Lithair team's wording (`../shared/upstream/*.feature`, run unmodified): each
//! phrase that only re-says one of our steps is a thin binding to the function our phrase
//! calls, so it keeps exactly the same promise. docs/steps.md gives each phrase's reading.

use cucumber::{gherkin::Step, given, then, when};

use crate::world::LithairWorld;

#[then("the events.raftlog file must exist")]
async fn the_events_raftlog_file_must_exist(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::log_exists(world).await
}

#[then(expr = "the events.raftlog file must contain exactly {int} events")]
async fn the_events_raftlog_file_must_contain_exactly_events(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::log_checks::log_holds_events(world, count).await
}

#[then(expr = "the number of events in events.raftlog must be exactly {int}")]
async fn the_number_of_events_in_events_raftlog_must(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::log_checks::log_holds_events(world, count).await
}

#[then(expr = "the events.raftlog file must contain exactly {int} {string} events")]
async fn the_events_raftlog_file_must_contain_exactly_events_2(
    world: &mut LithairWorld,
    count: usize,
    event_type: String,
) -> anyhow::Result<()> {
    crate::log_checks::log_holds_events_of_type(world, count, event_type).await
}

#[then("all events must be in chronological order")]
async fn all_events_must_be_in_chronological_order(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::chronological(world).await
}

#[then("each event must have a strictly increasing timestamp")]
async fn each_event_must_have_a_strictly_increasing_timestamp(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::log_checks::chronological(world).await
}

#[then("the time sequence must be strictly increasing")]
async fn the_time_sequence_must_be_strictly_increasing(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::log_checks::chronological(world).await
}

#[then("the events.raftlog file must have a consistent size")]
async fn the_events_raftlog_file_must_have_a_consistent(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::log_checks::every_record_valid(world).await
}

#[then("no event must be corrupted")]
async fn no_event_must_be_corrupted(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::every_record_valid(world).await
}

#[then("no corruption must be detected")]
async fn no_corruption_must_be_detected(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::every_record_valid(world).await
}

#[then("no article must be missing")]
async fn no_article_must_be_missing(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::no_article_missing(world).await
}

#[then("the event checksum must be valid")]
async fn the_event_checksum_must_be_valid(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::checksums_valid_in_log(world).await
}

#[then("the CRC32 verification must pass")]
async fn the_crc32_verification_must_pass(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::checksums_valid_in_log(world).await
}

#[then("no event must be duplicated")]
async fn no_event_must_be_duplicated(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::no_duplicates(world).await
}

#[then("no duplicate must exist")]
async fn no_duplicate_must_exist(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::no_duplicates(world).await
}

#[then("the database must remain consistent")]
async fn the_database_must_remain_consistent(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::log_checks::served_matches_replay(world).await
}

#[then("the relationships between events must be preserved")]
async fn the_relationships_between_events_must_be_preserved(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::log_checks::comment_references(world).await
}

#[given(expr = "a Lithair server on port {int} with persistence {string}")]
async fn a_lithair_server_on_port_with_persistence(
    world: &mut LithairWorld,
    _port_label: u16,
    path: String,
) -> anyhow::Result<()> {
    crate::server_control::a_server_on_port_with_persistence(world, _port_label, path).await
}

#[given("persistence is enabled by default")]
async fn persistence_is_enabled_by_default(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::server_control::persistence_by_default(world).await
}

#[then("I stop the server cleanly")]
async fn i_stop_the_server_cleanly(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::server_control::stop_the_server(world).await
}

#[when(regex = r"^I brutally kill the server \(SIGKILL\)$")]
async fn i_brutally_kill_the_server_sigkill(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::server_control::kill_the_server(world).await
}

#[when("I restart the server on the same port with the same persistence")]
async fn i_restart_the_server_on_the_same_port(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::server_control::start_again(world).await
}

#[then(expr = "the error rate must be less than {float}%")]
async fn the_error_rate_must_be_less_than(
    world: &mut LithairWorld,
    percent: f64,
    step: &Step,
) -> anyhow::Result<()> {
    crate::service_checks::error_rate_below(world, percent, step).await
}

#[then(expr = "the server must process at least {int} requests per second")]
async fn the_server_must_process_at_least_requests_per(
    world: &mut LithairWorld,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    crate::service_checks::throughput_at_least(world, rate, step).await
}

#[then(regex = r"^the (?:total )?throughput must be greater than (\d+) req/s$")]
async fn the_throughput_must_be_greater_than_req_s(
    world: &mut LithairWorld,
    rate: u64,
    step: &Step,
) -> anyhow::Result<()> {
    crate::service_checks::throughput_at_least(world, rate, step).await
}

#[then(expr = "the average latency must be less than {int}ms")]
async fn the_average_latency_must_be_less_than_ms(
    world: &mut LithairWorld,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    crate::service_checks::mean_latency_below(world, ms, step).await
}

#[then(expr = "the average response time must be less than {int}ms")]
async fn the_average_response_time_must_be_less_than(
    world: &mut LithairWorld,
    ms: u64,
    step: &Step,
) -> anyhow::Result<()> {
    crate::service_checks::mean_latency_below(world, ms, step).await
}

#[then("each snapshot must be valid and recoverable")]
async fn each_snapshot_must_be_valid_and_recoverable(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::snapshots::every_snapshot_valid(world).await
}

#[when(expr = "I create {int} articles with checksums")]
async fn i_create_articles_with_checksums(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::create_articles(world, count).await
}

#[then(expr = "I can create {int} additional articles")]
async fn i_can_create_additional_articles(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::create_articles(world, count).await
}

#[when(expr = "I create {int} articles in parallel with {int} threads")]
async fn i_create_articles_in_parallel_with_threads(
    world: &mut LithairWorld,
    count: usize,
    workers: usize,
) -> anyhow::Result<()> {
    crate::articles::create_in_parallel(world, count, workers).await
}

#[when(expr = "I launch {int} threads that each create {int} articles simultaneously")]
async fn i_launch_threads_that_each_create_articles_simultaneously(
    world: &mut LithairWorld,
    workers: usize,
    each: usize,
) -> anyhow::Result<()> {
    crate::articles::workers_each_create(world, workers, each).await
}

#[then(expr = "the final state must have {int} active articles")]
async fn the_final_state_must_have_active_articles(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::all_present(world, count).await
}

#[then(expr = "the {int} articles must be present in memory")]
async fn the_articles_must_be_present_in_memory(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::all_present(world, count).await
}

#[then(expr = "all {int} articles must be present")]
async fn all_articles_must_be_present(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::all_present(world, count).await
}

#[then(expr = "the ID sequence must be continuous from {int} to {int}")]
async fn the_id_sequence_must_be_continuous_from_to(
    world: &mut LithairWorld,
    first: u64,
    last: u64,
) -> anyhow::Result<()> {
    crate::articles::ids_without_gaps(world, first, last).await
}

#[then(expr = "the IDs must be continuous from {int} to {int}")]
async fn the_ids_must_be_continuous_from_to(
    world: &mut LithairWorld,
    first: u64,
    last: u64,
) -> anyhow::Result<()> {
    crate::articles::ids_without_gaps(world, first, last).await
}

#[then("all IDs must be unique")]
async fn all_ids_must_be_unique(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::articles::ids_unique(world).await
}

#[then("each article must have a valid checksum in the database")]
async fn each_article_must_have_a_valid_checksum_in(
    world: &mut LithairWorld,
) -> anyhow::Result<()> {
    crate::articles::checksums_valid_over_http(world).await
}

#[then(expr = "all {int} articles must be persisted")]
async fn all_articles_must_be_persisted(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::articles_persisted(world, count).await
}

#[then(expr = "exactly {int} articles must be persisted")]
async fn exactly_articles_must_be_persisted(
    world: &mut LithairWorld,
    count: usize,
) -> anyhow::Result<()> {
    crate::articles::articles_persisted(world, count).await
}

#[given(expr = "{int} articles already created and persisted")]
async fn articles_already_created_and_persisted(
    world: &mut LithairWorld,
    count: u64,
) -> anyhow::Result<()> {
    crate::load::created_and_persisted(world, count).await
}

#[given(expr = "{int} articles created and persisted")]
async fn articles_created_and_persisted(
    world: &mut LithairWorld,
    count: u64,
) -> anyhow::Result<()> {
    crate::load::created_and_persisted(world, count).await
}

#[when(regex = r"^I run a constant load of (\d+) req/s for (\d+) seconds$")]
async fn i_run_a_constant_load_of_req_s(
    world: &mut LithairWorld,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<()> {
    crate::load::steady_creation(world, rate, seconds).await
}

#[when("I wait for all writes to complete")]
async fn i_wait_for_all_writes_to_complete(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::load::acknowledged_writes_in_log(world).await
}

#[then("no error must be present in the logs")]
async fn no_error_must_be_present_in_the_logs(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::load::no_error_logged(world).await
}

#[then(expr = "the events.raftlog file must be at least {int}MB")]
async fn the_events_raftlog_file_must_be_at_least(
    world: &mut LithairWorld,
    megabytes: u64,
) -> anyhow::Result<()> {
    crate::load::log_at_least(world, megabytes).await
}

#[then(regex = r"^the server must remain responsive \(< (\d+)ms latency\)$")]
async fn the_server_must_remain_responsive_ms_latency(
    world: &mut LithairWorld,
    ms: u64,
) -> anyhow::Result<()> {
    crate::load::probe_within(world, ms).await
}

#[then("all requests must be persisted")]
async fn all_requests_must_be_persisted(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::load::all_writes_persisted(world).await
}

#[then("all writes must be persisted")]
async fn all_writes_must_be_persisted(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::load::all_writes_persisted(world).await
}

#[then("all articles must be retrievable")]
async fn all_articles_must_be_retrievable(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::load::all_retrievable(world).await
}

#[then("no article must have corrupted data")]
async fn no_article_must_have_corrupted_data(world: &mut LithairWorld) -> anyhow::Result<()> {
    crate::load::all_retrievable(world).await
}

//! The run's seed and the random streams derived from it: every random choice the harness
//! makes (fault moments, which node to hit, which operation a client sends) comes from here,
//! so that one number replays a run's whole schedule.
//!
//! The seed is `LITHAIR_SEED` (a `u64`) when set, otherwise drawn from the clock; either way
//! the run prints it, and setting it replays the choices. Scenarios run concurrently, so they
//! must not share one generator (whoever draws first would shift everyone else's choices):
//! each scenario gets its own [`Stream`], derived from the run seed and the scenario's name
//! alone, and a stream [`fork`](Stream::fork)s children (one per client, one for the nemesis…)
//! that depend only on the parent's identity and the child's label — never on how much the
//! parent or a sibling has drawn.
//!
//! The generator is ChaCha8 (`rand_chacha`): it is what `rand` recommends when a sequence must
//! be reproducible, since its output is fixed by the algorithm and does not change with
//! `rand`'s versions (unlike `StdRng`'s), and as a keyed cipher it gives unrelated streams for
//! different keys — which is how streams are derived here, with no hash of our own.
//! A test pins the first numbers of a known seed, so a change of algorithm that would stop
//! old seeds from replaying cannot pass unnoticed.

use std::fmt;
use std::ops::Range;
use std::time::{Duration, SystemTime};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The environment variable that fixes the run's seed.
pub const ENV: &str = "LITHAIR_SEED";

/// `LITHAIR_SEED` was set to something that isn't a `u64`. The run must stop rather than draw
/// another seed: the user asked to replay a particular one.
#[derive(Debug, PartialEq, Eq)]
pub struct SeedError {
    pub value: String,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, max) = (&self.value, u64::MAX);
        write!(f, "{ENV}={value:?} is not a seed: expected a whole number from 0 to {max}")
    }
}

impl std::error::Error for SeedError {}

/// The one seed of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSeed(u64);

impl RunSeed {
    pub fn new(seed: u64) -> RunSeed {
        RunSeed(seed)
    }

    /// `LITHAIR_SEED` if set, otherwise a seed from the clock.
    pub fn from_env() -> Result<RunSeed, SeedError> {
        RunSeed::parse(std::env::var(ENV).ok().as_deref())
    }

    /// What [`from_env`](RunSeed::from_env) does with the variable's value, `None` if unset.
    /// Blanks around the number are forgiven (`LITHAIR_SEED=" 42"` from a copied line).
    pub fn parse(value: Option<&str>) -> Result<RunSeed, SeedError> {
        match value {
            None => Ok(RunSeed::from_clock()),
            Some(value) => {
                value.trim().parse().map(RunSeed).map_err(|_| SeedError { value: value.to_owned() })
            }
        }
    }

    /// A seed that differs from run to run: the clock's nanoseconds.
    pub fn from_clock() -> RunSeed {
        let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
        RunSeed(since_epoch.map_or(0, |d| d.as_nanos() as u64))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// The stream of one scenario, by its name: the same for the same seed and name whatever
    /// else runs, and in whatever order.
    pub fn stream(self, scenario: &str) -> Stream {
        let mut key = [0; 32];
        key[..8].copy_from_slice(&self.0.to_le_bytes());
        Stream::with_key(key).fork(scenario)
    }
}

/// Prints `LITHAIR_SEED=<seed>`, the line that replays the run.
impl fmt::Display for RunSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ENV}={}", self.0)
    }
}

/// One deterministic sequence of random numbers. Not `Clone`: two copies would make the same
/// "random" choices twice; [`fork`](Stream::fork) a labelled child instead.
pub struct Stream {
    /// The key this stream was made from: a child's key is derived from it, not from `rng`'s
    /// position, so forking does not depend on what was drawn.
    key: [u8; 32],
    rng: ChaCha8Rng,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream").field("word_pos", &self.rng.get_word_pos()).finish()
    }
}

impl Stream {
    fn with_key(key: [u8; 32]) -> Stream {
        Stream { key, rng: ChaCha8Rng::from_seed(key) }
    }

    /// A child stream for `label` (a client's number, "nemesis"…): the same label gives the
    /// same child, whatever this stream has drawn; different labels give unrelated children.
    pub fn fork(&self, label: impl fmt::Display) -> Stream {
        // ChaCha keyed by the parent, on the stream number of each 8-byte block of the label,
        // gives the next key (a cascade, as in HMAC's NMAC). The length goes first, so no
        // label is a prefix of another's encoding ("1" and "1\0" stay apart).
        let label = label.to_string();
        let mut key = self.key;
        let length = std::iter::once(label.len() as u64);
        let blocks = label.as_bytes().chunks(8).map(|chunk| {
            let mut block = [0; 8];
            block[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(block)
        });
        for block in length.chain(blocks) {
            let mut step = ChaCha8Rng::from_seed(key);
            step.set_stream(block);
            step.fill_bytes(&mut key);
        }
        Stream::with_key(key)
    }

    /// A number in `0..n`, uniformly. Panics if `n` is 0: there is nothing to choose from.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Stream::below(0): no number is below 0");
        self.rng.random_range(0..n)
    }

    /// A number in `range`, uniformly. Panics if the range is empty.
    pub fn range(&mut self, range: Range<u64>) -> u64 {
        self.rng.random_range(range)
    }

    /// `true` with probability `p` (0 ≤ p ≤ 1).
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// A duration in `range`, uniformly to the nanosecond. Panics if the range is empty.
    pub fn duration(&mut self, range: Range<Duration>) -> Duration {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.random_range(nanos(range.start)..nanos(range.end)))
    }

    /// One element of `items`, `None` if it is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len() as u64) as usize])
    }

    /// `count` random bytes (garbage for hostile clients, torn pages…).
    pub fn bytes(&mut self, count: usize) -> Vec<u8> {
        let mut bytes = vec![0; count];
        self.rng.fill_bytes(&mut bytes);
        bytes
    }
}

/// So that `rand`'s own tools (shuffles, distributions) can draw from a stream too.
impl RngCore for Stream {
    fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng.fill_bytes(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(stream: &mut Stream) -> Vec<u64> {
        (0..64).map(|_| stream.below(1_000_000)).collect()
    }

    #[test]
    fn the_same_seed_and_scenario_give_the_same_sequence() {
        let seed = RunSeed::new(7);
        assert_eq!(draws(&mut seed.stream("crash")), draws(&mut seed.stream("crash")));
    }

    #[test]
    fn another_scenario_or_seed_gives_another_sequence() {
        let one = draws(&mut RunSeed::new(7).stream("crash"));
        assert_ne!(one, draws(&mut RunSeed::new(7).stream("partition")));
        assert_ne!(one, draws(&mut RunSeed::new(8).stream("crash")));
        // Names that differ only past the first 8 bytes, or only by a trailing NUL.
        let long = |name| draws(&mut RunSeed::new(7).stream(name));
        assert_ne!(long("a leader is killed 1"), long("a leader is killed 2"));
        assert_ne!(long("x"), long("x\0"));
    }

    #[test]
    fn a_scenario_stream_ignores_what_other_scenarios_drew() {
        let seed = RunSeed::new(99);
        let alone = draws(&mut seed.stream("b"));
        let mut a = seed.stream("a");
        draws(&mut a);
        let mut b = seed.stream("b");
        draws(&mut a);
        assert_eq!(draws(&mut b), alone);
    }

    #[test]
    fn a_fork_depends_on_its_label_only_not_on_what_was_drawn() {
        let mut parent = RunSeed::new(3).stream("clients");
        let before = draws(&mut parent.fork(1));
        draws(&mut parent);
        assert_eq!(draws(&mut parent.fork(1)), before);
        assert_ne!(draws(&mut parent.fork(2)), before);
        assert_ne!(draws(&mut parent), before, "a child must not replay its parent");
        // The same label under another parent is another stream.
        assert_ne!(draws(&mut RunSeed::new(3).stream("nemesis").fork(1)), before);
    }

    /// The replay promise across builds: these numbers are what seed 42 gave when this module
    /// was written. If they change, old seeds no longer replay old runs — say so loudly.
    #[test]
    fn a_known_seed_gives_the_numbers_it_always_gave() {
        let mut stream = RunSeed::new(42).stream("pinned");
        let first: Vec<u64> = (0..8).map(|_| stream.below(1000)).collect();
        assert_eq!(first, PINNED);
    }
    const PINNED: [u64; 8] = [153, 954, 336, 537, 22, 172, 797, 245];

    #[test]
    fn draws_stay_in_their_ranges_and_cover_them() {
        let mut stream = RunSeed::new(5).stream("ranges");
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let n = stream.below(10);
            seen[n as usize] = true;
            let r = stream.range(100..110);
            assert!((100..110).contains(&r));
            let d = stream.duration(Duration::from_millis(20)..Duration::from_millis(220));
            assert!(d >= Duration::from_millis(20) && d < Duration::from_millis(220));
        }
        assert!(seen.iter().all(|&s| s), "below(10) missed a value in 1000 draws: {seen:?}");
        assert_eq!(stream.pick::<u8>(&[]), None);
        assert_eq!(stream.pick(&[9]), Some(&9));
        assert_eq!(stream.bytes(16).len(), 16);
        let heads = (0..1000).filter(|_| stream.chance(0.5)).count();
        assert!((400..600).contains(&heads), "{heads} heads in 1000 fair tosses");
    }

    #[test]
    fn the_seed_comes_from_the_variable_or_the_clock() {
        assert_eq!(RunSeed::parse(Some("12345")), Ok(RunSeed::new(12345)));
        assert_eq!(RunSeed::parse(Some(" 18446744073709551615\n")), Ok(RunSeed::new(u64::MAX)));
        for bad in ["", "-1", "0x10", "seed", "18446744073709551616"] {
            let error = RunSeed::parse(Some(bad)).unwrap_err();
            assert!(error.to_string().contains("LITHAIR_SEED"), "{error}");
        }
        // Unset: two clock seeds taken apart differ (the clock has moved by then).
        let first = RunSeed::parse(None).unwrap();
        std::thread::sleep(Duration::from_millis(1));
        assert_ne!(first, RunSeed::parse(None).unwrap());
        assert_eq!(RunSeed::new(9).to_string(), "LITHAIR_SEED=9");
    }
}

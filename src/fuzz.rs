//! Bounded fuzzing, as plain tests (issue 14): every parser a client's bytes reach has a target next to its code
//! (`fuzz_*` tests) that replays its committed seed corpus (`tests/fuzz/<target>/`) and then a fixed number of
//! generated inputs — token soups from the format's vocabulary, byte-level mutations of the seeds, raw bytes —
//! from a deterministic generator, so a CI run is repeatable. The property is always at least "no panic, no hang"
//! (a stack overflow aborts the test process, which fails it too). `OPENCLAW_FUZZ_CASES` raises the count for a
//! longer local run; a failure is shrunk by proptest to a small input worth adding to the corpus.
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};

/// Generated inputs per target in the suite.
const DEFAULT_CASES: u32 = 1000;

fn cases() -> u32 {
    std::env::var("OPENCLAW_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_CASES)
}

/// The committed seeds of a target, in file-name order.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz").join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("the seed corpus {} is missing: {err}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths.into_iter().filter_map(|path| std::fs::read(path).ok()).collect()
}

/// Inputs for a target: tokens of its format strung together, seeds with bytes changed, inserted or removed
/// (including repeated runs, which is how nesting bombs look), and arbitrary bytes.
fn inputs(seeds: Vec<Vec<u8>>, vocabulary: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    let soup =
        prop::collection::vec(prop::sample::select(vocabulary), 0..160).prop_map(|tokens| tokens.concat().into_bytes());
    let raw = prop::collection::vec(any::<u8>(), 0..512);
    if seeds.is_empty() {
        return prop_oneof![soup, raw].boxed();
    }
    let count = seeds.len();
    let edits = prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>(), 1usize..64), 1..8);
    let mutated = (0..count, edits).prop_map(move |(which, edits)| {
        let mut input = seeds[which].clone();
        for (at, op, byte, run) in edits {
            let at = if input.is_empty() { 0 } else { at.index(input.len() + 1) };
            match op {
                0 if at < input.len() => input[at] = byte,
                1 => input.splice(at..at, std::iter::repeat_n(byte, run)).for_each(drop),
                2 if at < input.len() => {
                    let end = (at + run).min(input.len());
                    input.drain(at..end);
                }
                _ => {
                    // Repeat a slice of the input in place (deepens nesting, multiplies references).
                    let end = (at + run).min(input.len());
                    let slice = input[at..end].to_vec();
                    for _ in 0..run.min(16) {
                        input.splice(at..at, slice.iter().copied()).for_each(drop);
                    }
                }
            }
        }
        input
    });
    prop_oneof![3 => mutated, 2 => soup, 1 => raw].boxed()
}

/// Runs `property` on every seed of `target`, then on the generated inputs.
pub fn run(target: &str, vocabulary: &'static [&'static str], property: impl Fn(&[u8])) {
    let seeds = seeds(target);
    assert!(!seeds.is_empty(), "the seed corpus of {target} is empty");
    for seed in &seeds {
        property(seed);
    }
    let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let (ran, bytes) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0usize));
    let outcome = runner.run(&inputs(seeds, vocabulary), |input| {
        ran.set(ran.get() + 1);
        bytes.set(bytes.get() + input.len());
        property(&input);
        Ok(())
    });
    if let Err(err) = outcome {
        panic!("fuzz target {target} failed: {err}");
    }
    assert!(ran.get() >= cases(), "{target}: only {} of {} inputs ran", ran.get(), cases());
    eprintln!("fuzz {target}: {} generated inputs, {} bytes", ran.get(), bytes.get());
}

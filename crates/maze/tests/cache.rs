//! The cache of compiled constraints: its bounds (entries, bytes), its eviction order, TTL, metrics, and
//! concurrent use without lost entries. A byte-level toy vocabulary keeps every build in microseconds.

use std::sync::Arc;
use std::time::Duration;

use ananke_core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
use braid::{CompileConfig, ConstraintIR, Target};
use maze::{CacheConfig, CacheKey, Compiled, ConstraintCache, VocabId, Vocabulary};

/// 256 one-byte tokens and an end-of-sequence token.
fn vocab() -> Arc<Vocabulary> {
    let mut tokens: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    tokens.push(b"<eos>".to_vec());
    Arc::new(Vocabulary { name: "bytes".into(), tokens, eos: vec![256], bos: None, special: vec![256] })
}

/// A distinct fn-body IR per `i`.
fn ir(i: usize) -> Arc<ConstraintIR> {
    let mut set = ConstraintSet::new();
    set.insert(Constraint::new(
        Rule::ForbidCall { callee: format!("banned_{i}") },
        Scope::default(),
        Provenance::user(),
    ));
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn f(x: u8) -> u8".into() });
    Arc::new(braid::compile(&set, &config).unwrap())
}

fn build(cache: &ConstraintCache, v: &Arc<Vocabulary>, i: usize) -> (CacheKey, Compiled) {
    let id = VocabId::of(v);
    let ir = ir(i);
    (CacheKey::new(ir.hash, id), Compiled::build(ir, cache.vocab_index(v, id)).unwrap())
}

fn one_shard(max_entries: usize, max_bytes: usize) -> CacheConfig {
    CacheConfig { max_entries, max_bytes, ttl: None, shards: 1, max_vocabularies: 2 }
}

#[test]
fn the_entry_bound_evicts_the_least_recently_used_first() {
    let v = vocab();
    let cache = ConstraintCache::new(one_shard(3, usize::MAX));
    let keys: Vec<CacheKey> = (0..4)
        .map(|i| {
            let (key, compiled) = build(&cache, &v, i);
            cache.insert(key, compiled);
            key
        })
        .collect();
    // 0 went first; 1, 2, 3 are held, most recent first.
    assert_eq!(cache.keys(), [keys[3], keys[2], keys[1]]);
    assert!(cache.get(keys[0]).is_none());
    // Touching 1 makes 2 the next to go.
    assert!(cache.get(keys[1]).is_some());
    let (key4, compiled) = build(&cache, &v, 4);
    cache.insert(key4, compiled);
    assert_eq!(cache.keys(), [key4, keys[1], keys[3]]);
    let m = cache.metrics();
    assert_eq!((m.entries, m.evictions, m.hits, m.misses), (3, 2, 1, 1));
    assert!((m.hit_rate() - 0.5).abs() < 1e-9);
    assert_eq!(m.vocab_builds, 1, "the vocabulary index is built once");
}

#[test]
fn the_byte_bound_evicts_until_under_budget() {
    let v = vocab();
    let probe = ConstraintCache::new(one_shard(100, usize::MAX));
    let size = build(&probe, &v, 0).1.bytes();
    assert!(size > 0);
    // Room for two and a half entries: a third insert evicts one, never leaving more bytes than the budget.
    let cache = ConstraintCache::new(one_shard(100, size * 5 / 2));
    for i in 0..6 {
        let (key, compiled) = build(&cache, &v, i);
        cache.insert(key, compiled);
        assert!(cache.bytes() <= size * 5 / 2, "{} > budget", cache.bytes());
    }
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.metrics().evictions, 4);
    // An entry larger than the whole budget is returned but not kept.
    let tiny = ConstraintCache::new(one_shard(100, size / 2));
    let (key, compiled) = build(&tiny, &v, 0);
    let kept = tiny.insert(key, compiled);
    assert_eq!(kept.bytes(), size);
    assert!(tiny.is_empty() && tiny.get(key).is_none());
}

#[test]
fn entries_expire_after_the_ttl() {
    let v = vocab();
    let cache = ConstraintCache::new(CacheConfig { ttl: Some(Duration::from_millis(20)), ..one_shard(10, usize::MAX) });
    let (key, compiled) = build(&cache, &v, 0);
    cache.insert(key, compiled);
    assert!(cache.get(key).is_some());
    std::thread::sleep(Duration::from_millis(40));
    assert!(cache.get(key).is_none());
    let m = cache.metrics();
    assert_eq!((m.hits, m.misses, m.expirations, m.entries, m.bytes), (1, 1, 1, 0, 0));
}

#[test]
fn get_or_build_compiles_once_and_checkers_start_fresh() {
    let v = vocab();
    let id = VocabId::of(&v);
    let cache = ConstraintCache::default();
    let ir = ir(7);
    let (first, hit) = cache.get_or_build(&ir, &v, id).unwrap();
    assert!(!hit);
    let (second, hit) = cache.get_or_build(&ir, &v, id).unwrap();
    assert!(hit && Arc::ptr_eq(&first, &second));
    let mut a = second.checker();
    a.commit_bytes(b"fn f(x: u8) -> u8 { x").unwrap();
    // Another generation's checker starts at the beginning, whatever the first one did.
    let b = second.checker();
    assert!(b.text().is_empty());
    assert_eq!(cache.metrics().compile.count, 1);
    // Another vocabulary is another key.
    let mut other = (*v).clone();
    other.tokens.push(b"ab".to_vec());
    let other = Arc::new(other);
    let (_, hit) = cache.get_or_build(&ir, &other, VocabId::of(&other)).unwrap();
    assert!(!hit);
    assert_eq!(cache.metrics().vocab_builds, 2);
}

#[test]
fn bare_lark_grammars_are_cached_by_their_text() {
    let v = vocab();
    let id = VocabId::of(&v);
    let cache = ConstraintCache::default();
    let (yes_no, hit) = cache.get_or_build_lark(r#"start: "yes" | "no""#, &v, id).unwrap();
    assert!(!hit && yes_no.ir().is_none());
    let (_, hit) = cache.get_or_build_lark(r#"start: "yes" | "no""#, &v, id).unwrap();
    assert!(hit);
    let (_, hit) = cache.get_or_build_lark(r#"start: "maybe""#, &v, id).unwrap();
    assert!(!hit);
    let mut checker = yes_no.checker();
    checker.commit_bytes(b"ye").unwrap();
    assert!(checker.compute_mask().unwrap().is_allowed(u32::from(b's')));
    assert!(!checker.compute_mask().unwrap().is_allowed(u32::from(b'x')));
    // Complete: the loop's view of the mask allows nothing but the end (llguidance itself reports a stop).
    checker.commit_bytes(b"s").unwrap();
    assert!(checker.is_accepting());
    let mask = maze::TokenConstraint::compute_mask(&mut checker).unwrap();
    assert!((0..256).all(|t| !maze::mask_allows(mask, t)));
    assert!(cache.get_or_build_lark("start: (", &v, id).is_err(), "a broken grammar is an error, not a panic");
}

#[test]
fn concurrent_use_loses_no_entry() {
    let v = vocab();
    let id = VocabId::of(&v);
    let irs: Vec<Arc<ConstraintIR>> = (0..24).map(ir).collect();
    for shards in [1, 4] {
        let cache = Arc::new(ConstraintCache::new(CacheConfig { shards, ..CacheConfig::default() }));
        std::thread::scope(|scope| {
            for t in 0..8 {
                let (cache, irs, v) = (Arc::clone(&cache), &irs, &v);
                scope.spawn(move || {
                    // Every thread asks for every IR, from a different starting point, three times over.
                    for round in 0..3 {
                        for k in 0..irs.len() {
                            let ir = &irs[(k + t * 3 + round) % irs.len()];
                            let (compiled, _) = cache.get_or_build(ir, v, id).unwrap();
                            assert_eq!(compiled.ir().map(|i| i.hash), Some(ir.hash));
                        }
                    }
                });
            }
        });
        assert_eq!(cache.len(), irs.len(), "shards={shards}");
        for ir in &irs {
            assert!(cache.get(CacheKey::new(ir.hash, id)).is_some(), "lost {}", ir.hash);
        }
        let m = cache.metrics();
        assert_eq!(m.hits + m.misses, 8 * 3 * 24 + 24, "every lookup is counted");
        assert!(m.misses >= 24 && m.evictions == 0, "{m:?}");
    }
}

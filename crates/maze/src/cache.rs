//! [`ConstraintCache`]: compiled constraints (braid `Checker` prototypes) and vocabulary indices, kept so that a
//! constraint set seen before costs a hash lookup instead of a compile.
//!
//! An entry is keyed by [`CacheKey`]: xxh3-128 over the IR's content hash (itself xxh3-128 of the IR's canonical
//! bytes, which include the language, the target and the compiler version), the vocabulary's content id and braid's
//! version. It holds the checker as compiled, at its start; every generation takes a clone, which shares the
//! compiled automaton and its mask memo, so the masks one generation computed are free for the next.
//!
//! The cache is an O(1) LRU (the `lru` crate) bounded by entry count and by bytes: inserting evicts least recently
//! used entries until both bounds hold. Entries can expire after a TTL. It is split into shards, each behind its own
//! mutex, picked by the key: one shard gives an exact global LRU order; more shards cut contention when many threads
//! look up different keys (each shard then holds its share of both bounds).

use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use braid::{Checker, ConstraintIR, IrHash, VocabIndex};
use lru::LruCache;
use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, Result};
use crate::metrics::{Latencies, Metrics};
use crate::vocab::{VocabId, Vocabulary};

/// Bounds and behavior of a [`ConstraintCache`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// At most this many compiled constraints.
    pub max_entries: usize,
    /// At most this many bytes of compiled constraints (as estimated when each is inserted).
    pub max_bytes: usize,
    /// Entries older than this are dropped when next looked up; `None` keeps them until evicted.
    pub ttl: Option<Duration>,
    /// Independent LRU shards (at least 1, at most `max_entries`). 1 keeps an exact LRU order.
    pub shards: usize,
    /// At most this many vocabulary indices (one per model in use; each takes a few MB).
    pub max_vocabularies: usize,
}

impl Default for CacheConfig {
    /// 256 entries, 512 MB, no TTL, 4 shards, 4 vocabularies.
    fn default() -> Self {
        CacheConfig { max_entries: 256, max_bytes: 512 << 20, ttl: None, shards: 4, max_vocabularies: 4 }
    }
}

/// What a compiled constraint is cached under: see the [module documentation](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(pub u128);

impl CacheKey {
    /// The key of an IR (by its content hash) compiled for a vocabulary by this build of braid.
    pub fn new(ir: IrHash, vocab: VocabId) -> CacheKey {
        // One-shot hashing of a stack buffer: the streaming hasher's setup costs more than hashing these bytes.
        const TAG: &[u8] = b"ananke-maze-cache/v1\0";
        let compiler = braid::COMPILER.as_bytes();
        let mut buf = [0u8; 128];
        let n = TAG.len() + 32 + compiler.len();
        if n > buf.len() {
            let mut h = Xxh3::new();
            h.update(TAG);
            h.update(&ir.0.to_le_bytes());
            h.update(&vocab.0.to_le_bytes());
            h.update(compiler);
            return CacheKey(h.digest128());
        }
        buf[..TAG.len()].copy_from_slice(TAG);
        buf[TAG.len()..TAG.len() + 16].copy_from_slice(&ir.0.to_le_bytes());
        buf[TAG.len() + 16..TAG.len() + 32].copy_from_slice(&vocab.0.to_le_bytes());
        buf[TAG.len() + 32..n].copy_from_slice(compiler);
        CacheKey(xxhash_rust::xxh3::xxh3_128(&buf[..n]))
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A compiled constraint: the IR (or a bare Lark grammar) and its checker for one vocabulary, at the start of an
/// output.
#[derive(Debug)]
pub struct Compiled {
    ir: Option<Arc<ConstraintIR>>,
    prototype: Checker,
    vocab: Arc<VocabIndex>,
    bytes: usize,
    build_time: Duration,
}

impl Compiled {
    /// Compiles `ir`'s checker for the vocabulary `vocab` indexes.
    pub fn build(ir: Arc<ConstraintIR>, vocab: Arc<VocabIndex>) -> Result<Compiled> {
        let started = Instant::now();
        let prototype = Checker::new(&ir, &vocab).map_err(Error::Checker)?;
        let build_time = started.elapsed();
        let bytes = estimate_bytes(&ir, &prototype);
        Ok(Compiled { ir: Some(ir), prototype, vocab, bytes, build_time })
    }

    /// Compiles a bare Lark grammar (llguidance's dialect: what OpenAI-compatible servers receive) for `vocab`.
    pub fn from_lark(lark: &str, vocab: Arc<VocabIndex>) -> Result<Compiled> {
        let started = Instant::now();
        let prototype = Checker::from_lark(lark, &vocab).map_err(Error::Checker)?;
        let build_time = started.elapsed();
        let bytes = lark.len() * 65 + 64 * 1024;
        Ok(Compiled { ir: None, prototype, vocab, bytes, build_time })
    }

    /// The IR (`None` for a bare grammar).
    pub fn ir(&self) -> Option<&Arc<ConstraintIR>> {
        self.ir.as_ref()
    }

    /// A checker at the start of an output, for one generation. Clones share the compiled automaton and its memo
    /// of masks (fn-body targets), so a mask computed once is a copy-free lookup for every later generation.
    pub fn checker(&self) -> Checker {
        self.prototype.clone()
    }

    /// The vocabulary index it was compiled for.
    pub fn vocab_index(&self) -> &Arc<VocabIndex> {
        &self.vocab
    }

    /// The estimated size counted against [`CacheConfig::max_bytes`]: the IR and the compiled automaton. The mask
    /// memo that clones fill in later is bounded by braid itself and not counted here.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How long building the checker took.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }
}

/// The IR's text and the automaton's transition table (256 16-bit transitions per state) or, for llguidance, a
/// generous multiple of the grammar text.
fn estimate_bytes(ir: &ConstraintIR, checker: &Checker) -> usize {
    let grammar = ir.grammar.as_ref().map_or(0, |g| g.lark.len() + g.parts.len() * 64);
    let ir_bytes = std::mem::size_of::<ConstraintIR>()
        + grammar
        + ir.forbidden.iter().map(|f| f.literal.len() + f.pattern.len() + f.description.len() + 64).sum::<usize>()
        + ir.regexes.iter().map(|r| r.pattern.len() + r.name.len() + 64).sum::<usize>()
        + ir.symbols.iter().map(|s| s.path.len() + s.text.len() + 64).sum::<usize>()
        + ir.constraints.len() * 160;
    let engine = match checker.automaton_states() {
        Some(states) => states * 512 + 4096,
        None => grammar * 64 + 64 * 1024,
    };
    ir_bytes + engine
}

struct Entry {
    value: Arc<Compiled>,
    bytes: usize,
    inserted: Instant,
}

/// Keys are already uniform hashes: use their bits as the hash.
#[derive(Clone, Copy, Default)]
struct KeyHash;

struct KeyHasher(u64);

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word)).rotate_left(23).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= (n as u64) ^ ((n >> 64) as u64);
    }
}

struct Shard {
    lru: LruCache<CacheKey, Entry, KeyHash>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl Shard {
    /// Evicts least recently used entries until both bounds hold; returns how many went.
    fn shrink(&mut self) -> u64 {
        let mut evicted = 0;
        while self.lru.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some((_, entry)) = self.lru.pop_lru() else { break };
            self.bytes -= entry.bytes;
            evicted += 1;
        }
        evicted
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    expirations: AtomicU64,
    vocab_builds: AtomicU64,
}

/// The cache of compiled constraints and vocabulary indices, with its metrics. `Sync`: share one (in an `Arc`)
/// between the threads of a batch or a server.
pub struct ConstraintCache {
    shards: Box<[Mutex<Shard>]>,
    config: CacheConfig,
    vocabs: Mutex<LruCache<VocabId, Arc<VocabIndex>>>,
    counters: Counters,
    latencies: Latencies,
}

impl std::fmt::Debug for ConstraintCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstraintCache")
            .field("config", &self.config)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl Default for ConstraintCache {
    fn default() -> Self {
        ConstraintCache::new(CacheConfig::default())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a consistent LRU (every mutation is a single call): keep going.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ConstraintCache {
    /// An empty cache with these bounds.
    pub fn new(config: CacheConfig) -> Self {
        let n = config.shards.clamp(1, config.max_entries.max(1));
        // Each shard holds its share of both bounds; the remainders go to the first shards, so the shares add up
        // to the configured bounds exactly.
        let share = |total: usize, i: usize| total / n + usize::from(i < total % n);
        let shards = (0..n)
            .map(|i| {
                Mutex::new(Shard {
                    lru: LruCache::unbounded_with_hasher(KeyHash),
                    bytes: 0,
                    max_entries: share(config.max_entries, i),
                    max_bytes: share(config.max_bytes, i),
                })
            })
            .collect();
        let vocabs = LruCache::new(NonZeroUsize::new(config.max_vocabularies).unwrap_or(NonZeroUsize::MIN));
        ConstraintCache {
            shards,
            config,
            vocabs: Mutex::new(vocabs),
            counters: Counters::default(),
            latencies: Latencies::default(),
        }
    }

    /// The bounds.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    fn shard(&self, key: CacheKey) -> &Mutex<Shard> {
        // The high bits: the shard's hash map uses the low ones.
        let i = ((key.0 >> 64) as u64 % self.shards.len() as u64) as usize;
        &self.shards[i]
    }

    /// The compiled constraint under `key`, marked most recently used; `None` (a miss) when absent or expired.
    pub fn get(&self, key: CacheKey) -> Option<Arc<Compiled>> {
        let mut shard = lock(self.shard(key));
        let found = match shard.lru.get(&key) {
            Some(entry) if self.config.ttl.is_some_and(|ttl| entry.inserted.elapsed() > ttl) => None,
            Some(entry) => Some(Arc::clone(&entry.value)),
            None => {
                drop(shard);
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        if found.is_none()
            && let Some(entry) = shard.lru.pop(&key)
        {
            shard.bytes -= entry.bytes;
            self.counters.expirations.fetch_add(1, Ordering::Relaxed);
        }
        drop(shard);
        let counter = if found.is_some() { &self.counters.hits } else { &self.counters.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Stores a compiled constraint (replacing any under the same key) as most recently used, then evicts least
    /// recently used entries until the bounds hold. An entry larger than its shard's byte share is returned but not
    /// kept.
    pub fn insert(&self, key: CacheKey, compiled: Compiled) -> Arc<Compiled> {
        let bytes = compiled.bytes;
        let value = Arc::new(compiled);
        let entry = Entry { value: Arc::clone(&value), bytes, inserted: Instant::now() };
        let mut shard = lock(self.shard(key));
        if bytes > shard.max_bytes {
            return value;
        }
        if let Some(old) = shard.lru.put(key, entry) {
            shard.bytes -= old.bytes;
        }
        shard.bytes += bytes;
        let evicted = shard.shrink();
        drop(shard);
        if evicted > 0 {
            self.counters.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
        value
    }

    /// The compiled constraint for `ir` and a vocabulary: from the cache, or built (the vocabulary's index from the
    /// cache too) and inserted. Returns it and whether it was a hit.
    ///
    /// Two threads missing the same key at once both build it; the second insert replaces the first (both results
    /// are equal).
    pub fn get_or_build(
        &self,
        ir: &Arc<ConstraintIR>,
        vocab: &Arc<Vocabulary>,
        vocab_id: VocabId,
    ) -> Result<(Arc<Compiled>, bool)> {
        let key = CacheKey::new(ir.hash, vocab_id);
        if let Some(hit) = self.get(key) {
            return Ok((hit, true));
        }
        let started = Instant::now();
        let index = self.vocab_index(vocab, vocab_id);
        let compiled = Compiled::build(Arc::clone(ir), index)?;
        self.latencies.compile.record(started.elapsed());
        Ok((self.insert(key, compiled), false))
    }

    /// The compiled checker of a bare Lark grammar (keyed by the grammar's text, the vocabulary and braid's
    /// version), from the cache or built and inserted, and whether it was a hit. `ananke serve` compiles the grammars
    /// clients send this way.
    pub fn get_or_build_lark(
        &self,
        lark: &str,
        vocab: &Arc<Vocabulary>,
        vocab_id: VocabId,
    ) -> Result<(Arc<Compiled>, bool)> {
        let mut h = Xxh3::new();
        h.update(b"ananke-lark/v1\0");
        h.update(lark.as_bytes());
        let key = CacheKey::new(IrHash(h.digest128()), vocab_id);
        if let Some(hit) = self.get(key) {
            return Ok((hit, true));
        }
        let started = Instant::now();
        let index = self.vocab_index(vocab, vocab_id);
        let compiled = Compiled::from_lark(lark, index)?;
        self.latencies.compile.record(started.elapsed());
        Ok((self.insert(key, compiled), false))
    }

    /// The index of a vocabulary (the trie and token classes a checker is built on), built once per vocabulary id.
    pub fn vocab_index(&self, vocab: &Vocabulary, id: VocabId) -> Arc<VocabIndex> {
        if let Some(index) = lock(&self.vocabs).get(&id) {
            return Arc::clone(index);
        }
        // Built outside the lock: it takes tens of milliseconds, and other vocabularies need not wait.
        let index = VocabIndex::new(vocab.clone());
        self.counters.vocab_builds.fetch_add(1, Ordering::Relaxed);
        let mut vocabs = lock(&self.vocabs);
        Arc::clone(vocabs.get_or_insert(id, || index))
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).lru.len()).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held now (estimated per entry when inserted).
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| lock(s).bytes).sum()
    }

    /// The keys held, per shard from most to least recently used (with one shard: the exact eviction order, last
    /// evicted first).
    pub fn keys(&self) -> Vec<CacheKey> {
        self.shards.iter().flat_map(|s| lock(s).lru.iter().map(|(k, _)| *k).collect::<Vec<_>>()).collect()
    }

    /// Drops every compiled constraint and vocabulary index (counters are kept).
    pub fn clear(&self) {
        for shard in &self.shards {
            let mut shard = lock(shard);
            shard.lru.clear();
            shard.bytes = 0;
        }
        lock(&self.vocabs).clear();
    }

    /// The latency histograms, to record into (the generation pipeline records compile, mask and generation times).
    pub fn latencies(&self) -> &Latencies {
        &self.latencies
    }

    /// A snapshot of the counters and latency summaries.
    pub fn metrics(&self) -> Metrics {
        let c = &self.counters;
        Metrics {
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            expirations: c.expirations.load(Ordering::Relaxed),
            entries: self.len(),
            bytes: self.bytes(),
            vocab_builds: c.vocab_builds.load(Ordering::Relaxed),
            compile: self.latencies.compile.summary(),
            mask: self.latencies.mask.summary(),
            generation: self.latencies.generation.summary(),
        }
    }
}

//! Requantizing weights candle has no fast kernel for, once, into a cached copy beside the model.
//!
//! candle's CPU kernels are SIMD for Q4_0, Q8_0 and the K-quants, but scalar for Q4_1, Q5_0 and Q5_1: the default
//! model (Q4_1) decodes at ~2 tokens/s as shipped and ~35 tokens/s once its Q4_1 tensors are Q8_0. Converting
//! takes under a second, so the first load writes `NAME.q8_0.gguf` beside `NAME.gguf` (atomically: a temporary
//! file renamed into place) and later loads reuse it while it is newer than the original and was made from a file
//! of the same size.

use std::fs::{self, File};
use std::io::{Cursor, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::Device;
use candle_core::quantized::gguf_file::{self, Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};

/// Whether to requantize weights that candle runs slowly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Requantize {
    /// Convert Q4_1 / Q5_0 / Q5_1 tensors to Q8_0 (about 1.5× the memory, ~15× the speed on CPU), cached in a
    /// `.q8_0.gguf` file beside the model (in memory only when that directory is read-only).
    #[default]
    Auto,
    /// Run the weights as stored.
    Never,
}

/// Metadata keys the copy carries to tell which original it was made from.
const SOURCE_KEY: &str = "ananke.requantized_from";
const SOURCE_SIZE_KEY: &str = "ananke.requantized_from_size";

pub(super) enum Plan {
    UseOriginal,
    UseCache(PathBuf),
    Create(PathBuf),
}

fn is_slow(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// `model.gguf` → `model.q8_0.gguf`.
pub(super) fn cache_path(model: &Path) -> PathBuf {
    model.with_extension("q8_0.gguf")
}

pub(super) fn plan(model: &Path, content: &Content, mode: Requantize) -> Plan {
    if mode == Requantize::Never || !content.tensor_infos.values().any(|t| is_slow(t.ggml_dtype)) {
        return Plan::UseOriginal;
    }
    let cache = cache_path(model);
    if cache_is_fresh(model, &cache) { Plan::UseCache(cache) } else { Plan::Create(cache) }
}

fn cache_is_fresh(model: &Path, cache: &Path) -> bool {
    let (Ok(original), Ok(copy)) = (fs::metadata(model), fs::metadata(cache)) else { return false };
    let newer = match (original.modified(), copy.modified()) {
        (Ok(o), Ok(c)) => c >= o,
        _ => false,
    };
    newer && source_size(cache) == Some(original.len())
}

/// The size of the original recorded in a copy's metadata.
fn source_size(cache: &Path) -> Option<u64> {
    let mut r = std::io::BufReader::new(File::open(cache).ok()?);
    let content = Content::read(&mut r).ok()?;
    match content.metadata.get(SOURCE_SIZE_KEY)? {
        Value::U64(n) => Some(*n),
        _ => None,
    }
}

/// The whole GGUF file, with slow tensors converted to Q8_0, as bytes.
pub(super) fn requantize<R: Read + Seek>(model: &Path, content: &Content, reader: &mut R) -> Result<Vec<u8>, String> {
    let cpu = Device::Cpu;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort_by_key(|n| content.tensor_infos[*n].offset);
    let mut tensors = Vec::with_capacity(names.len());
    for name in names {
        let info = &content.tensor_infos[name];
        let tensor = info
            .read(reader, content.tensor_data_offset, &cpu)
            .map_err(|e| format!("cannot read tensor {name}: {e}"))?;
        let tensor = if is_slow(tensor.dtype()) {
            let dense = tensor.dequantize(&cpu).map_err(|e| format!("cannot dequantize {name}: {e}"))?;
            QTensor::quantize(&dense, GgmlDType::Q8_0).map_err(|e| format!("cannot requantize {name}: {e}"))?
        } else {
            tensor
        };
        tensors.push((name.as_str(), tensor));
    }

    let source_len = fs::metadata(model).map_or(0, |m| m.len());
    let mut metadata: Vec<(String, Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| !k.starts_with("ananke."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // llama.cpp's file type 7 is "mostly Q8_0".
    if let Some((_, v)) = metadata.iter_mut().find(|(k, _)| k == "general.file_type") {
        *v = Value::U32(7);
    }
    let source_name = model.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    metadata.push((SOURCE_KEY.into(), Value::String(source_name)));
    metadata.push((SOURCE_SIZE_KEY.into(), Value::U64(source_len)));
    metadata.sort_by(|a, b| a.0.cmp(&b.0));

    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &md, &ts).map_err(|e| format!("cannot write the requantized model: {e}"))?;
    Ok(out.into_inner())
}

static WRITES: AtomicUsize = AtomicUsize::new(0);

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a reader never sees
/// a half-written file and two processes racing both end with a complete one.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // Unique per process and per call, so concurrent loads (threads included) never write the same file.
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sits_beside_the_model() {
        assert_eq!(
            cache_path(Path::new("/m/SmolLM2-135M-Instruct.Q4_1.gguf")),
            Path::new("/m/SmolLM2-135M-Instruct.Q4_1.q8_0.gguf")
        );
    }

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("maze-requant-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("x.q8_0.gguf");
        write_atomically(&target, b"abc").unwrap();
        write_atomically(&target, b"abcd").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"abcd");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}

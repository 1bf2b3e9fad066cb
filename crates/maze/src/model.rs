//! Where the embedded model lives (known without the `local` feature, so that tools and benches can find it).

use std::path::PathBuf;

/// The default model's file name, as `scripts/fetch-model.sh` installs it.
const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Where the model is looked for when no path is given: `$ANANKE_MODEL` if set, else
/// `${ANANKE_CACHE:-$HOME/.cache/ananke}/models/SmolLM2-135M-Instruct.Q4_1.gguf` (where `scripts/fetch-model.sh`
/// puts it).
pub fn default_model_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ANANKE_MODEL").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let cache = std::env::var_os("ANANKE_CACHE").filter(|p| !p.is_empty()).map_or_else(
        || std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from).join(".cache/ananke"),
        PathBuf::from,
    );
    cache.join("models").join(DEFAULT_MODEL_FILE)
}

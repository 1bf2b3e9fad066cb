//! Compile time in CPU seconds (user + sys of this thread's process), which a loaded machine distorts less than wall
//! time: `cargo run --release -p braid --example compile_cpu -- 1000 10000`.

#[path = "../benches/synthetic.rs"]
mod synthetic;

use ananke_core::Language;
use braid::{CompileConfig, Target};

fn cpu_seconds() -> f64 {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|t| t.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|t| t.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let config = CompileConfig::new(
        Language::Rust,
        Target::FnBody { signature: "pub fn handle(req: &Request) -> Result<Response, Error>".into() },
    );
    for arg in std::env::args().skip(1) {
        let n: usize = arg.parse().expect("a set size");
        let set = synthetic::set_of(n);
        let runs = (200_000 / n).clamp(5, 400);
        let start = cpu_seconds();
        for _ in 0..runs {
            std::hint::black_box(braid::compile(&set, &config).expect("compiles"));
        }
        let per = (cpu_seconds() - start) / runs as f64;
        println!("{n}: {:.3} ms CPU per compile ({runs} runs)", per * 1e3);
    }
}

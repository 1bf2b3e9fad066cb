//! `ananke serve` with the embedded model, driven by maze's OpenAI backend over 127.0.0.1: grammars in the fields
//! servers read are enforced at the token level, streaming works, and the generate → check loop runs against it
//! with the IR's Lark grammar sent to the server. Skipped, with a message, when the model is absent.
#![cfg(all(feature = "local", feature = "openai"))]

use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::process::{Child, Command, Stdio};

use ananke::braid::{CompileConfig, Target};
use ananke::core::{Constraint, ConstraintSet, Language, Provenance, Rule, Scope};
use ananke::maze::{
    Backend, GenerateRequest, Grammar, OpenAiBackend, OpenAiConfig, Pipeline, Prompt, ServerFlavor, Task, TokenEvent,
};

/// The server process, killed when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Option<Served> {
    let model = ananke::maze::default_model_path();
    if !model.is_file() {
        eprintln!("SKIPPED: no model at {} (run scripts/fetch-model.sh, or set ANANKE_MODEL)", model.display());
        return None;
    }
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ananke"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ananke serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped")).read_line(&mut line).expect("the address line");
    let url = line.trim().strip_prefix("listening on ").expect("the first line gives the address").to_owned();
    Some(Served { child, url })
}

fn client(url: &str, stream: bool) -> OpenAiBackend {
    let mut config = OpenAiConfig::new(url, "ananke-local");
    config.flavor = ServerFlavor::Vllm;
    config.stream = stream;
    OpenAiBackend::new(config).unwrap()
}

#[test]
fn grammars_sent_to_the_server_are_enforced_and_streams_add_up() {
    let Some(served) = serve() else { return };
    let mut backend = client(&served.url, false);
    let request = GenerateRequest::new(Prompt::user("Is the sky green? Answer yes or no."), 8)
        .with_grammar(Grammar::Lark(r#"start: "yes" | "no""#.into()));
    let g = backend.generate(&request, None, &mut |_| ControlFlow::Continue(())).unwrap();
    assert!(g.text == "yes" || g.text == "no", "{:?}", g.text);

    // Streaming, a raw-text prompt, a regex grammar.
    let mut streaming = client(&served.url, true);
    let request =
        GenerateRequest::new(Prompt::Text("The answer is ".into()), 8).with_grammar(Grammar::Regex("[0-9]{3}".into()));
    let mut pieces = String::new();
    let mut on = |e: &TokenEvent<'_>| {
        pieces.push_str(&String::from_utf8_lossy(e.bytes));
        ControlFlow::Continue(())
    };
    let g = streaming.generate(&request, None, &mut on).unwrap();
    assert_eq!(pieces, g.text);
    assert!(g.text.len() == 3 && g.text.bytes().all(|b| b.is_ascii_digit()), "{:?}", g.text);
}

#[test]
fn the_pipeline_sends_the_ir_grammar_and_checks_what_comes_back() {
    let Some(served) = serve() else { return };
    let mut set = ConstraintSet::new();
    set.insert(Constraint::new(Rule::ForbidCall { callee: "unwrap".into() }, Scope::default(), Provenance::user()));
    let config = CompileConfig::new(Language::Rust, Target::FnBody { signature: "fn double(x: u32) -> u32".into() });
    let mut task = Task::new(Prompt::user("Double x."), set, config);
    task.max_tokens = 40;
    task.max_repairs = 0;
    let mut backend = client(&served.url, false);
    let outcome = Pipeline::default().run(&mut backend, &task, &mut |_| ControlFlow::Continue(())).unwrap();
    eprintln!("{:?}\n{}", outcome.code(), outcome.summary());
    assert!(outcome.code().starts_with("fn double(x: u32) -> u32 {"), "{:?}", outcome.code());
    assert!(outcome.enforcement.by_server && !outcome.enforcement.token_level.is_empty());
    assert_eq!(outcome.cache_hit, None, "no checker on the client side");
    assert!(!outcome.code().contains("unwrap("));
}

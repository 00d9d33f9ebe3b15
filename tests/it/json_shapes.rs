//! Every `--json` output against the shapes `docs/json.md` documents, key for key: the
//! ```shapes block there is parsed, and each command's real output is held to its entry.

use std::collections::{BTreeSet, HashMap};

use crate::fake::JobPlan;
use crate::helpers::*;

/// A documented shape.
#[derive(Debug, Clone)]
enum Shape {
    /// An object with exactly these keys; some hold a nested shape (or null).
    Object(Vec<(String, Option<Shape>)>),
    List(Box<Shape>),
    Named(String),
    /// A named shape with more keys.
    Extended(String, Vec<(String, Option<Shape>)>),
    Either(Vec<Shape>),
}

struct Parser<'a> {
    text: &'a str,
}

impl Parser<'_> {
    fn skip(&mut self) {
        self.text = self.text.trim_start();
    }
    fn eat(&mut self, c: char) -> bool {
        self.skip();
        match self.text.strip_prefix(c) {
            Some(rest) => {
                self.text = rest;
                true
            }
            None => false,
        }
    }
    fn word(&mut self) -> String {
        self.skip();
        let end = self
            .text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.text.len());
        let (word, rest) = self.text.split_at(end);
        assert!(!word.is_empty(), "a name expected at {:?}", self.text);
        self.text = rest;
        word.to_owned()
    }
    fn shape(&mut self) -> Shape {
        let mut alternatives = vec![self.single()];
        while self.eat('|') {
            alternatives.push(self.single());
        }
        match alternatives.len() {
            1 => alternatives.pop().unwrap(),
            _ => Shape::Either(alternatives),
        }
    }
    fn single(&mut self) -> Shape {
        if self.eat('[') {
            let inner = self.shape();
            assert!(self.eat(']'), "] expected at {:?}", self.text);
            return Shape::List(Box::new(inner));
        }
        if self.eat('{') {
            return Shape::Object(self.fields());
        }
        let name = self.word();
        if self.eat('+') {
            assert!(self.eat('{'), "{{ expected after + at {:?}", self.text);
            return Shape::Extended(name, self.fields());
        }
        Shape::Named(name)
    }
    /// After `{`: `key`, `key: SHAPE`, separated by commas, up to `}`.
    fn fields(&mut self) -> Vec<(String, Option<Shape>)> {
        let mut fields = Vec::new();
        loop {
            let key = self.word();
            let nested = self.eat(':').then(|| self.single());
            fields.push((key, nested));
            if self.eat('}') {
                return fields;
            }
            assert!(self.eat(','), ", expected at {:?}", self.text);
        }
    }
}

/// The shapes block of docs/json.md: named shapes, and each command's shape.
fn documented() -> (HashMap<String, Shape>, HashMap<String, Shape>) {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let block = doc
        .split("```shapes\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/json.md has a ```shapes block");
    let (mut names, mut commands) = (HashMap::new(), HashMap::new());
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        if let Some((name, shape)) = line.split_once(" = ") {
            let shape = Parser { text: shape }.shape();
            names.insert(name.trim().to_owned(), shape);
        } else {
            let (command, shape) = line.split_once(": ").unwrap();
            commands.insert(command.trim().to_owned(), Parser { text: shape }.shape());
        }
    }
    (names, commands)
}

/// Where `value` departs from `shape` (None: it fits).
fn misfit(
    value: &serde_json::Value,
    shape: &Shape,
    names: &HashMap<String, Shape>,
) -> Option<String> {
    let object = |fields: &[(String, Option<Shape>)]| {
        let Some(map) = value.as_object() else {
            return Some(format!("an object expected, got {value}"));
        };
        let want: BTreeSet<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        let got: BTreeSet<&str> = map.keys().map(String::as_str).collect();
        if want != got {
            return Some(format!(
                "keys differ: undocumented {:?}, missing {:?}",
                got.difference(&want).collect::<Vec<_>>(),
                want.difference(&got).collect::<Vec<_>>()
            ));
        }
        fields.iter().find_map(|(key, nested)| {
            let inner = nested.as_ref()?;
            let v = &map[key];
            (!v.is_null())
                .then(|| misfit(v, inner, names).map(|m| format!("{key}: {m}")))
                .flatten()
        })
    };
    match shape {
        Shape::Object(fields) => object(fields),
        Shape::Named(name) => misfit(value, &names[name], names),
        Shape::Extended(name, more) => {
            let Shape::Object(base) = &names[name] else {
                panic!("{name} is not an object shape");
            };
            let all: Vec<_> = base.iter().chain(more).cloned().collect();
            object(&all)
        }
        Shape::List(inner) => match value.as_array() {
            Some(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| misfit(v, inner, names).map(|m| format!("[{i}]: {m}"))),
            None => Some(format!("a list expected, got {value}")),
        },
        Shape::Either(alternatives) => {
            let misfits: Vec<String> = alternatives
                .iter()
                .filter_map(|a| misfit(value, a, names))
                .collect();
            (misfits.len() == alternatives.len()).then(|| misfits.join(" / "))
        }
    }
}

#[tokio::test]
async fn every_json_output_has_its_documented_shape() {
    let (names, commands) = documented();
    let env = TestEnv::new().await;
    env.fake.plan_jobs(JobPlan {
        desktops: 3,
        failed: 1,
        ..JobPlan::default()
    });
    env.fake.set_estate(crate::audience::estate());
    let start = (chrono::Utc::now() + chrono::TimeDelta::days(2)).to_rfc3339();
    let extra = format!(
        "[jobs]\nfirst_poll = \"1s\"\npoll_interval = \"1s\"\n{}[[schedules]]\nid = \"team\"\ncron = \"0 0 9 * * *\"\ntags = [\"dept=finance\"]\naudience = \"connected\"\nmessage = \"hi\"\n\n[[maintenance_windows]]\nid = \"patch\"\nstart = \"{start}\"\nduration = \"1h\"\nnotify_before = [\"1h\", \"15m\"]\npools = [\"{POOL}\"]\nmessage = \"restart in {{time_left}}\"\nend_message = \"done\"\n",
        schedule_toml(
            "daily",
            "cron = \"0 0 9 * * *\"",
            &[POOL],
            "desktops = [\"d-1\"]\n"
        ),
    );
    let config = env.write_config(&extra);
    let c = config.to_str().unwrap();
    let mut outputs: Vec<(&str, Vec<&str>)> = Vec::new();
    // send --wait: a job with a failed desktop, so resend has something to do.
    let mut send = send_args(&config, POOL, "hello").to_vec();
    send.extend(["--wait", "--json"]);
    outputs.push(("send --json", send));
    outputs.push((
        "resend --json",
        vec!["resend", "1", "--config", c, "--json"],
    ));
    outputs.push(("history --json", vec!["history", "--config", c, "--json"]));
    outputs.push(("show --json", vec!["show", "1", "--config", c, "--json"]));
    outputs.push(("status --json", vec!["status", "--config", c, "--json"]));
    outputs.push((
        "check --json",
        vec!["check", "--config", c, "--json", "--next", "2"],
    ));
    outputs.push((
        "schedule list --json",
        vec!["schedule", "list", "--config", c, "--json"],
    ));
    outputs.push((
        "schedule show --json",
        vec!["schedule", "show", "daily", "--config", c, "--json"],
    ));
    outputs.push((
        "schedule show --json",
        vec!["schedule", "show", "patch", "--config", c, "--json"],
    ));
    outputs.push((
        "maintenance list --json",
        vec!["maintenance", "list", "--config", c, "--json"],
    ));
    outputs.push((
        "maintenance postpone --json",
        vec![
            "maintenance",
            "postpone",
            "patch",
            "--by",
            "30m",
            "--notice",
            "moved to {start}",
            "--config",
            c,
            "--json",
        ],
    ));
    outputs.push((
        "maintenance cancel --json",
        vec![
            "maintenance",
            "cancel",
            "patch",
            "--config",
            c,
            "--notice",
            "off",
            "--json",
        ],
    ));
    outputs.push((
        "audience --json",
        vec!["audience", "team", "--config", c, "--json"],
    ));
    outputs.push((
        "maintenance show --json",
        vec!["maintenance", "show", "patch", "--config", c, "--json"],
    ));
    outputs.push((
        "token list --json",
        vec!["token", "list", "--config", c, "--json"],
    ));
    outputs.push(("audit --json", vec!["audit", "--config", c, "--json"]));
    outputs.push((
        "agenda --json",
        vec!["agenda", "--until", "+3d", "--config", c, "--json"],
    ));
    let token = env
        .run(&[
            "token", "create", "--name", "t", "--role", "viewer", "--config", c,
        ])
        .await;
    assert_eq!(token.status.code(), Some(0), "{}", stderr(&token));
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for (command, args) in &outputs {
        let out = env.run(args).await;
        let shape = commands
            .get(*command)
            .unwrap_or_else(|| panic!("docs/json.md documents no {command}"));
        let value: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(value) => value,
            Err(err) => {
                failures.push(format!(
                    "{command}: not JSON ({err}): {}{}",
                    stdout(&out),
                    stderr(&out)
                ));
                continue;
            }
        };
        if value.as_array().is_some_and(Vec::is_empty) {
            failures.push(format!("{command}: an empty list proves nothing"));
        }
        if let Some(problem) = misfit(&value, shape, &names) {
            failures.push(format!("{command}: {problem}\n{value:#}"));
        }
        seen.insert(*command);
    }
    // A refusal has its own shape.
    std::fs::write(&config, "[daemon]\ndry_run = \"yes\"\n").unwrap();
    let out = env.run(&["check", "--config", c, "--json"]).await;
    assert_eq!(out.status.code(), Some(78));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    if let Some(problem) = misfit(&value, &commands["check --json (refused)"], &names) {
        failures.push(format!("check --json (refused): {problem}"));
    }
    seen.insert("check --json (refused)");
    let undocumented: Vec<&String> = commands
        .keys()
        .filter(|c| !seen.contains(c.as_str()))
        .collect();
    assert!(
        undocumented.is_empty(),
        "documented but not tested: {undocumented:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

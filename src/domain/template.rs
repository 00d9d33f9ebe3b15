//! Message templates for maintenance windows: `{start}`, `{end}`, `{date}`, `{time_left}`,
//! `{minutes_left}`, `{duration}`, `{window}`, and for warnings before Workspace's scheduled
//! tasks `{action}` and `{task_name}`; `{{` and `}}` are literal braces. Pure: parse
//! once at the config boundary (so unknown variables are config errors), render per warning.

use std::time::Duration;

/// The variables a template may use; the compiler checks that rendering covers each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Start,
    End,
    Date,
    TimeLeft,
    MinutesLeft,
    Duration,
    Window,
    Action,
    TaskName,
}

impl Var {
    const ALL: [(Var, &'static str); 9] = [
        (Var::Start, "start"),
        (Var::End, "end"),
        (Var::Date, "date"),
        (Var::TimeLeft, "time_left"),
        (Var::MinutesLeft, "minutes_left"),
        (Var::Duration, "duration"),
        (Var::Window, "window"),
        (Var::Action, "action"),
        (Var::TaskName, "task_name"),
    ];

    fn parse(name: &str) -> Option<Var> {
        Var::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(var, _)| *var)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(Var),
}

/// A parsed template; rendering cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{name}` with a name that is not a known variable.
    #[error(
        "unknown variable {{{0}}}; known: {{start}} {{end}} {{date}} {{time_left}} {{minutes_left}} {{duration}} {{window}}, and in task warnings {{action}} {{task_name}} (write {{{{ and }}}} for literal braces)"
    )]
    UnknownVariable(String),
    /// `{action}` or `{task_name}` in a message that is not a warning of a Workspace task.
    #[error("{{action}} and {{task_name}} are only known in [[task_warnings]] messages")]
    TaskOnly,
    /// A `{` without its `}` (or a lone `}`).
    #[error("unbalanced brace at character {0} (write {{{{ or }}}} for a literal brace)")]
    Unbalanced(usize),
}

/// The values of one rendering.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    pub start: String,
    pub end: String,
    pub date: String,
    pub time_left: Duration,
    pub duration: Duration,
    pub window: &'a str,
    /// A Workspace task's `{action}` and `{task_name}`; empty for a window of ours.
    pub action: &'a str,
    pub task_name: &'a str,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(TemplateError::Unbalanced(at)),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => return Err(TemplateError::Unbalanced(at)),
                            Some((_, ch)) => name.push(ch),
                        }
                    }
                    let var = Var::parse(name.trim())
                        .ok_or_else(|| TemplateError::UnknownVariable(name.clone()))?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var(var));
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_owned(),
            pieces,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(Var::Start) => out.push_str(&values.start),
                Piece::Var(Var::End) => out.push_str(&values.end),
                Piece::Var(Var::Date) => out.push_str(&values.date),
                Piece::Var(Var::TimeLeft) => out.push_str(&humanize(values.time_left)),
                Piece::Var(Var::MinutesLeft) => {
                    out.push_str(&values.time_left.as_secs().div_ceil(60).to_string())
                }
                Piece::Var(Var::Duration) => out.push_str(&humanize(values.duration)),
                Piece::Var(Var::Window) => out.push_str(values.window),
                Piece::Var(Var::Action) => out.push_str(values.action),
                Piece::Var(Var::TaskName) => out.push_str(values.task_name),
            }
        }
        out
    }
}

/// "1 hour", "15 minutes", "1 hour 30 minutes", "45 seconds", "2 days 3 hours".
impl Template {
    /// True when the text counts down (`{time_left}`, `{minutes_left}`).
    /// True when the text names a Workspace task (`{action}`, `{task_name}`): only warnings
    /// before Workspace's scheduled tasks have one.
    pub fn names_a_task(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Var(Var::Action | Var::TaskName)))
    }

    pub fn counts_down(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Var(Var::TimeLeft | Var::MinutesLeft)))
    }

    /// Everything rendered but the countdown, which stays a variable: a template again (its
    /// literal braces doubled), rendered by [`Countdown::render_at`] when the request is made.
    pub fn render_keeping_countdown(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Var(Var::TimeLeft) => out.push_str("{time_left}"),
                Piece::Var(Var::MinutesLeft) => out.push_str("{minutes_left}"),
                Piece::Text(text) => out.push_str(&text.replace('{', "{{").replace('}', "}}")),
                other => {
                    let one = Template {
                        source: String::new(),
                        pieces: vec![other.clone()],
                    };
                    out.push_str(&one.render(values).replace('{', "{{").replace('}', "}}"));
                }
            }
        }
        out
    }
}

/// A message whose countdown is rendered when each request is made, not when the delivery was
/// planned: a warning sent 30 s late, or re-sent, tells the time actually left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    /// What the countdown counts to (the window's start).
    pub to: chrono::DateTime<chrono::Utc>,
    /// The text with `{time_left}` and `{minutes_left}` still to render.
    pub text: String,
}

impl Countdown {
    /// The text for a request made at `now`. `{time_left}` is whole minutes (rounded) from a
    /// minute on, whole seconds (rounded up) below; `{minutes_left}` rounds up.
    pub fn render_at(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let left = (self.to - now).to_std().unwrap_or_default();
        let ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
        let time_left = match ms {
            ms if ms >= 60_000 => Duration::from_secs(ms.saturating_add(30_000) / 60_000 * 60),
            ms => Duration::from_secs(ms.div_ceil(1000)),
        };
        let Ok(template) = Template::parse(&self.text) else {
            return self.text.clone(); // written by render_keeping_countdown: always parses
        };
        let mut out = String::new();
        for piece in &template.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Var(Var::TimeLeft) => out.push_str(&humanize(time_left)),
                Piece::Var(Var::MinutesLeft) => out.push_str(&ms.div_ceil(60_000).to_string()),
                Piece::Var(_) => {} // rendered before; none is left
            }
        }
        out
    }
}

pub(crate) fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    let parts = [
        (secs / 86_400, "day"),
        (secs / 3600 % 24, "hour"),
        (secs / 60 % 60, "minute"),
        (secs % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        "0 seconds".to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(left: u64) -> Values<'static> {
        Values {
            start: "22:00".into(),
            end: "23:30".into(),
            date: "2026-12-05".into(),
            time_left: Duration::from_secs(left),
            duration: Duration::from_secs(5400),
            window: "patch-night",
            action: "",
            task_name: "",
        }
    }

    #[test]
    fn every_variable_renders() {
        let t = Template::parse("{window}: {date} {start}-{end} ({duration}), {time_left} left = {minutes_left} min {{literal}}").unwrap();
        assert_eq!(
            t.render(&values(3600)),
            "patch-night: 2026-12-05 22:00-23:30 (1 hour 30 minutes), 1 hour left = 60 min {literal}"
        );
    }

    #[test]
    fn time_left_is_humanized_and_minutes_round_up() {
        let t = Template::parse("{time_left}|{minutes_left}").unwrap();
        assert_eq!(t.render(&values(900)), "15 minutes|15");
        assert_eq!(t.render(&values(5400)), "1 hour 30 minutes|90");
        assert_eq!(t.render(&values(45)), "45 seconds|1");
        assert_eq!(t.render(&values(61)), "1 minute 1 second|2");
        assert_eq!(humanize(Duration::from_secs(86_400 + 3600)), "1 day 1 hour");
    }

    #[test]
    fn unknown_variables_and_unbalanced_braces_are_errors() {
        assert_eq!(
            Template::parse("in {minutes} min"),
            Err(TemplateError::UnknownVariable("minutes".into()))
        );
        assert_eq!(
            Template::parse("oops {start"),
            Err(TemplateError::Unbalanced(5))
        );
        assert_eq!(
            Template::parse("oops } here"),
            Err(TemplateError::Unbalanced(5))
        );
        assert!(Template::parse("emoji 🚧 {{ok}} 中文").is_ok());
    }
}

#[cfg(test)]
mod countdown_tests {
    use super::*;

    #[test]
    fn a_countdown_is_rendered_for_the_time_of_the_request() {
        let template =
            Template::parse("Restart at {start} ({time_left}, {minutes_left} min) {{ok}}").unwrap();
        assert!(template.counts_down());
        let values = Values {
            start: "22:00".into(),
            end: "23:00".into(),
            date: "2030-01-05".into(),
            time_left: Duration::from_secs(900),
            duration: Duration::from_secs(3600),
            window: "w",
            action: "",
            task_name: "",
        };
        let to: chrono::DateTime<chrono::Utc> = "2030-01-05T14:00:00Z".parse().unwrap();
        let countdown = Countdown {
            to,
            text: template.render_keeping_countdown(&values),
        };
        let at = |s: &str| countdown.render_at(s.parse().unwrap());
        // On time (a few ms after the due time): the planned text.
        assert_eq!(at("2030-01-05T13:45:00.200Z"), template.render(&values),);
        assert_eq!(
            at("2030-01-05T13:45:00.200Z"),
            "Restart at 22:00 (15 minutes, 15 min) {ok}"
        );
        // 32 s late, and re-sent 12 minutes later: the time actually left.
        assert_eq!(
            at("2030-01-05T13:45:32Z"),
            "Restart at 22:00 (14 minutes, 15 min) {ok}"
        );
        assert_eq!(
            at("2030-01-05T13:57:00Z"),
            "Restart at 22:00 (3 minutes, 3 min) {ok}"
        );
        assert_eq!(
            at("2030-01-05T13:59:58.5Z"),
            "Restart at 22:00 (2 seconds, 1 min) {ok}"
        );
        assert_eq!(
            at("2030-01-05T14:00:05Z"),
            "Restart at 22:00 (0 seconds, 0 min) {ok}"
        );
        assert!(
            !Template::parse("no countdown {start}")
                .unwrap()
                .counts_down()
        );
    }
}

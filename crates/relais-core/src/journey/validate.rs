//! Graph checks: every `next` names a step, every step is reachable from the
//! first, every cycle waits somewhere (otherwise one event would loop
//! forever), `message_of` names an earlier send step.

use super::*;
use std::collections::HashMap;

/// Something worth fixing that does not stop the journey from running.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub path: String,
    pub message: String,
}

fn fail<T>(path: String, message: impl Into<String>) -> Result<T, JourneyError> {
    Err(JourneyError {
        path,
        message: message.into(),
    })
}

pub(super) fn validate(j: &Journey) -> Result<Vec<Warning>, JourneyError> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in j.steps.iter().enumerate() {
        if index.insert(&s.id, i).is_some() {
            return fail(format!("steps[{i}] ({})", s.id), "another step has this id");
        }
    }
    let at = |i: usize| format!("steps[{i}] ({})", j.steps[i].id);
    for (i, s) in j.steps.iter().enumerate() {
        for next in s.successors() {
            if next != EXIT && !index.contains_key(next) {
                return fail(
                    at(i),
                    format!("goes to {next:?}, which is not a step (nor \"exit\")"),
                );
            }
        }
        if let StepKind::WaitForEvent(WaitForEvent {
            correlate:
                Some(Correlate {
                    with: CorrelateWith::MessageOf(send),
                    ..
                }),
            ..
        }) = &s.kind
        {
            let target = index.get(send.as_str()).map(|k| &j.steps[*k].kind);
            if !matches!(target, Some(StepKind::Send(_))) {
                return fail(
                    format!("{}.correlate.message_of", at(i)),
                    format!("{send:?} is not a send step"),
                );
            }
        }
    }
    // Reachability from the first step.
    let mut seen = vec![false; j.steps.len()];
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        for next in j.steps[i].successors() {
            if let Some(k) = index.get(next) {
                stack.push(*k);
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return fail(at(i), "unreachable: no step leads here");
    }
    // A cycle made only of steps that do not wait.
    if let Some(i) = instant_cycle(j, &index) {
        return fail(
            at(i),
            "is on a cycle without a delay or wait_for_event: a profile would loop forever",
        );
    }
    let mut warnings = Vec::new();
    let sends = j
        .steps
        .iter()
        .filter(|s| matches!(s.kind, StepKind::Send(_)))
        .count();
    if sends == 0
        && !j
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Webhook { .. } | StepKind::Task { .. }))
    {
        warnings.push(Warning {
            path: "steps".into(),
            message: "no step sends anything".into(),
        });
    }
    if j.transactional
        && j.steps
            .iter()
            .any(|s| matches!(&s.kind, StepKind::Send(x) if x.offer.is_some()))
    {
        warnings.push(Warning {
            path: "transactional".into(),
            message: "a transactional journey grants offers: offers are marketing".into(),
        });
    }
    Ok(warnings)
}

/// A warning for each place the journey names an event that `known` says
/// the workspace has never seen (a misspelt name never comes). Warnings,
/// never errors: a journey may be written before its first event.
pub fn unknown_event_warnings(j: &Journey, known: impl Fn(&str) -> bool) -> Vec<Warning> {
    let mut out: Vec<Warning> = Vec::new();
    for (path, name) in j.event_uses() {
        if known(&name) {
            continue;
        }
        let w = Warning {
            path,
            message: format!(
                "unknown event name {name:?}: never seen in this workspace (check the spelling; \
                 GET /api/v1/events/names lists the names seen)"
            ),
        };
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// The first step on a cycle of non-waiting steps, if any (depth-first
/// search over the subgraph of steps that do not wait).
fn instant_cycle(j: &Journey, index: &HashMap<&str, usize>) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; j.steps.len()];
    fn visit(j: &Journey, index: &HashMap<&str, usize>, i: usize, mark: &mut [Mark]) -> Option<usize> {
        mark[i] = Mark::Open;
        if !j.steps[i].kind.waits() {
            for next in j.steps[i].successors() {
                let Some(&k) = index.get(next) else { continue };
                if j.steps[k].kind.waits() {
                    continue;
                }
                match mark[k] {
                    Mark::Open => return Some(k),
                    Mark::New => {
                        if let Some(c) = visit(j, index, k, mark) {
                            return Some(c);
                        }
                    }
                    Mark::Done => {}
                }
            }
        }
        mark[i] = Mark::Done;
        None
    }
    (0..j.steps.len()).find_map(|i| {
        if mark[i] == Mark::New {
            visit(j, index, i, &mut mark)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use serde_json::json;

    fn base(steps: serde_json::Value) -> serde_json::Value {
        json!({"name": "t", "trigger": {"event": "Checkout Started"}, "steps": steps})
    }

    fn error_of(v: serde_json::Value) -> String {
        parse(&v).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn abandoned_cart_parses_with_its_branches() {
        let v = json!({
            "name": "Abandoned cart",
            "trigger": {"event": "Checkout Started", "where": [{"property": "cart_id", "op": "exists"}]},
            "exit": {"events": [{"event": "Order Completed"}]},
            "goal": {"event": "Order Completed", "within": {"days": 7}},
            "reentry": {"after": {"days": 1}},
            "steps": [
                {"id": "wait_order", "type": "wait_for_event", "event": "Order Completed",
                 "correlate": "cart_id", "timeout": {"hours": 4}, "on_event": "exit", "on_timeout": "email"},
                {"id": "email", "type": "send", "channel": "email",
                 "content": {"email": {"subject": "Your cart", "html": "<p>hi</p>"}}},
                {"id": "wait_open", "type": "wait_for_event", "event": "Email Opened",
                 "correlate": {"property": "message_id", "message_of": "email"},
                 "timeout": {"hours": 24}, "on_event": "exit", "on_timeout": "nudge"},
                {"id": "nudge", "type": "send", "channels": ["sms", "push"],
                 "content": {"sms": {"body": "b"}, "push": {"title": "t", "body": "b"}}}
            ]
        });
        let (j, warnings) = parse(&v).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(j.first(), "wait_order");
        assert_eq!(j.step("email").unwrap().kind.successors(), vec!["wait_open"]);
        assert_eq!(j.step("nudge").unwrap().kind.successors(), vec!["exit"]);
        assert_eq!(
            j.event_names(),
            vec!["Checkout Started", "Email Opened", "Order Completed"]
        );
    }

    #[test]
    fn errors_name_the_step_and_the_problem() {
        let e = error_of(base(json!([
            {"id": "a", "type": "send", "channel": "email", "content": {"email": {}}, "next": "nowhere"}
        ])));
        assert!(e.contains("steps[0] (a)") && e.contains("\"nowhere\""), "{e}");
        let e = error_of(base(json!([
            {"id": "a", "type": "send", "channel": "sms", "content": {"email": {}}}
        ])));
        assert!(
            e.contains("steps[0] (a).content.sms") && e.contains("missing template"),
            "{e}"
        );
        let e = error_of(base(json!([
            {"id": "a", "type": "exit"},
            {"id": "b", "type": "exit"}
        ])));
        assert!(e.contains("steps[1] (b)") && e.contains("unreachable"), "{e}");
        let e = error_of(base(json!([
            {"id": "a", "type": "condition", "if": {"trait": "vip", "op": "eq", "value": true}, "then": "b", "else": "exit"},
            {"id": "b", "type": "update_profile", "traits": {"x": 1}, "next": "a"}
        ])));
        assert!(e.contains("cycle without a delay"), "{e}");
        // The same cycle with a delay in it is fine.
        let ok = base(json!([
            {"id": "a", "type": "condition", "if": {"trait": "vip", "op": "eq", "value": true}, "then": "b", "else": "exit"},
            {"id": "b", "type": "delay", "for": {"days": 3}, "next": "a"}
        ]));
        assert!(parse(&ok).is_ok());
        let e = error_of(base(json!([{"id": "a", "type": "sned"}])));
        assert!(e.contains("steps[0] (a).type"), "{e}");
        let e = error_of(base(json!([{"id": "a", "type": "delay", "for": {"hours": -1}}])));
        assert!(e.contains("steps[0] (a).for"), "{e}");
        let e = error_of(
            json!({"name": "t", "trigger": {"event": "X", "where": [{"property": "p", "op": "nope"}]}, "steps": [{"id": "a", "type": "exit"}]}),
        );
        assert!(e.contains("trigger.where[0].op"), "{e}");
        let e = error_of(base(json!([
            {"id": "w", "type": "wait_for_event", "event": "Email Opened",
             "correlate": {"property": "message_id", "message_of": "w"}, "timeout": {"hours": 1}, "on_timeout": "exit"}
        ])));
        assert!(e.contains("message_of") && e.contains("not a send step"), "{e}");
    }
}

#[cfg(test)]
mod unknown_events {
    use super::super::{parse, unknown_event_warnings};
    use serde_json::json;

    #[test]
    fn warns_where_each_unseen_name_is_used() {
        let v = json!({
            "name": "t",
            "trigger": {"event": "Checkout Startd"},
            "entry": {"event": "Signed Up"},
            "exit": {"events": [{"event": "Order Completed"}, {"event": "Order Cancelled"}]},
            "goal": {"event": "Order Completed", "within": {"days": 7}},
            "steps": [
                {"id": "wait", "type": "wait_for_event", "event": "Email Opened",
                 "timeout": {"hours": 1}, "on_timeout": "check"},
                {"id": "check", "type": "condition", "if": {"event": "Coupon Used"},
                 "then": "exit", "else": "hook"},
                {"id": "hook", "type": "webhook", "content": {"url": "https://x.example"}}
            ]
        });
        let (j, _) = parse(&v).unwrap();
        let seen = ["Order Completed", "Signed Up"];
        let builtin = ["Email Opened"];
        let w = unknown_event_warnings(&j, |n| seen.contains(&n) || builtin.contains(&n));
        let got: Vec<(&str, bool)> = w
            .iter()
            .map(|w| (w.path.as_str(), w.message.contains("unknown event name")))
            .collect();
        assert_eq!(
            got,
            vec![
                ("trigger", true),
                ("exit.events[1]", true),
                ("steps[1] (check).if", true)
            ]
        );
        assert!(w[0].message.contains("\"Checkout Startd\""), "{}", w[0].message);
        assert!(w[2].message.contains("\"Coupon Used\""), "{}", w[2].message);
        assert!(unknown_event_warnings(&j, |_| true).is_empty());
    }
}

//! The differential test: random conditions, facts and event streams (time
//! advancing irregularly, with long gaps, late and future-dated events); at
//! many instants the incremental evaluator, fed event by event, must agree
//! with the reference evaluator, `next_check` must hold until it says, a
//! merge of two profiles' states must equal the state of the whole stream,
//! and computed traits must agree with their reference values.

use super::kit::*;
use super::random::*;
use crate::condition::agg::Agg;
use crate::condition::reference::reference_agg;
use crate::condition::*;

fn collect_leaves<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
    match n {
        Node::And(cs) | Node::Or(cs) => cs.iter().for_each(|c| collect_leaves(c, out)),
        Node::Not(c) => collect_leaves(c, out),
        Node::Trait { test, .. } if test.name() == "anniversary_within_next_days" => {}
        Node::Event(_) | Node::Trait { .. } | Node::Computed { .. } => out.push(n),
        _ => {}
    }
}

fn json_of(c: &Condition) -> String {
    serde_json::to_string(c).unwrap()
}

struct Case<'a> {
    c: &'a Condition,
    def: &'a ComputedDef,
    specs: &'a [EventSpec],
    fx: &'a Fx,
}

impl Case<'_> {
    fn check(
        &self,
        r: &mut Rng,
        evs: &[Ev],
        whole: &States,
        (a, b): (&States, &States),
        now: i64,
        stats: &mut [u64; 3],
    ) {
        let hs = hists(evs);
        let reference = |t: i64| self.fx.facts(t, |f| evaluate_reference(self.c, f, &hs));
        let out = whole.eval(self.c, self.fx, now);
        let ctx = || format!("condition {}\nnow {now}\nevents {evs:?}", json_of(self.c));
        assert_eq!(out.matched, reference(now), "evaluate vs reference\n{}", ctx());
        // The aggregates themselves, not only the verdicts.
        let merged = a.absorbed(self.specs, b, now);
        for s in self.specs {
            let expected = reference_agg(s, &hs, now);
            let of = |st: &States| st.get(s).map(|x| Agg::from_state(s, x, now)).unwrap_or_default();
            assert_eq!(
                of(whole),
                expected,
                "state vs reference for {}\n{}",
                s.key(),
                ctx()
            );
            assert_eq!(
                of(&merged),
                expected,
                "merged state vs reference for {}\n{}",
                s.key(),
                ctx()
            );
        }
        assert_eq!(
            merged.eval(self.c, self.fx, now),
            out,
            "merged vs whole\n{}",
            ctx()
        );
        let st = whole.get(self.def.spec());
        assert_eq!(
            self.def.value(st, now),
            self.def.reference_value(&hs, now),
            "computed\n{}",
            ctx()
        );
        // next_check: the verdict holds on [now, next_check).
        if let Some(next) = out.next_check {
            assert!(next > now, "next_check {next} not after {now}\n{}", ctx());
            stats[0] += 1;
            stats[1] += u64::from(reference(next) != out.matched);
        }
        // Every event, trait and computed leaf's next_check is the exact flip
        // (bar a matched anniversary, re-checked the day after).
        let mut leaves = Vec::new();
        collect_leaves(&self.c.root, &mut leaves);
        for leaf in leaves {
            let lc = Condition { root: leaf.clone() };
            let lo = whole.eval(&lc, self.fx, now);
            if let Some(next) = lo.next_check {
                let flipped = self.fx.facts(next, |f| evaluate_reference(&lc, f, &hs)) != lo.matched;
                assert!(
                    flipped,
                    "leaf next_check {next} is no flip\nleaf {}\n{}",
                    json_of(&lc),
                    ctx()
                );
            }
        }
        let horizon = out.next_check.unwrap_or(now + 400 * DAY);
        let mut times = vec![now + 1, horizon - 1];
        times.extend((0..3).map(|_| now + r.below((horizon - now) as u64)));
        for t in times.into_iter().filter(|t| *t >= now && *t < horizon) {
            stats[2] += 1;
            assert_eq!(
                reference(t),
                out.matched,
                "changed at {t} before next_check {horizon}\n{}",
                ctx()
            );
            assert_eq!(
                whole.eval(self.c, self.fx, t).matched,
                out.matched,
                "incremental at {t}\n{}",
                ctx()
            );
        }
    }
}

fn run_case(seed: u64, stats: &mut [u64; 3]) {
    let r = &mut Rng(seed);
    let json = tree(r, 1);
    let c = parse(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let canonical = serde_json::to_value(&c).unwrap();
    assert_eq!(parse(&canonical).as_ref(), Ok(&c), "round trip of {json}");
    let def = computed_def(r);
    let mut specs = c.specs();
    if !specs.iter().any(|s| s.key() == def.spec().key()) {
        specs.push(def.spec().clone());
    }
    let fx = facts(r);
    let case = Case {
        c: &c,
        def: &def,
        specs: &specs,
        fx: &fx,
    };
    let (mut whole, mut a, mut b) = (States::default(), States::default(), States::default());
    let mut evs: Vec<Ev> = Vec::new();
    let mut now = T0 + r.range(-2 * DAY, 2 * DAY);
    for _ in 0..r.range(3, 30) {
        now += match r.below(10) {
            0..=5 => r.range(1, 120) * MIN,
            6..=8 => r.range(1, 48) * HOUR,
            _ => r.range(3, 40) * DAY,
        };
        if r.chance(80) {
            let ts = match r.below(20) {
                0..=2 => now - r.range(0, 40 * DAY),
                3 => now + r.range(0, 30 * MIN),
                _ => now - r.range(0, 10 * MIN),
            };
            let (name, channel) = (*r.pick(&EVENTS), *r.pick(&CHANNELS));
            let ev = Ev::new(name, ts, channel, props(r));
            whole.record(&specs, &ev, now);
            if r.chance(50) { &mut a } else { &mut b }.record(&specs, &ev, now);
            evs.push(ev);
        }
        if r.chance(10) {
            whole.prune(&specs, now);
            a.prune(&specs, now);
        }
        if r.chance(10) {
            // A profile merge mid-stream: later events go to either side again.
            a = a.absorbed(&specs, &b, now);
            b = States::default();
        }
        if r.chance(10) {
            // The state is stored inside the profile's JSON.
            for st in whole.0.values_mut() {
                *st = serde_json::from_str(&serde_json::to_string(st).unwrap()).unwrap();
            }
        }
        case.check(r, &evs, &whole, (&a, &b), now, stats);
    }
}

#[test]
fn incremental_and_reference_evaluators_agree() {
    let mut stats = [0u64; 3];
    for seed in 0..2_000 {
        run_case(seed, &mut stats);
    }
    eprintln!("next_check stats {stats:?}");
    // Most next_checks are the actual flip, not just a re-check.
    assert!(
        stats[0] > 1_000 && stats[1] * 2 > stats[0],
        "next_check stats {stats:?}"
    );
    assert!(stats[2] > 50_000, "{stats:?}");
}

/// Replaces one random node of `v` (an object member or array element, at
/// any depth) with an awkward value.
fn mutate(r: &mut Rng, v: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let awkward = [
        Value::Null,
        json!(-1),
        json!(0),
        json!(1.5),
        json!(1e300),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(""),
        json!("*"),
        json!("a..b"),
        json!("2025-13-45"),
        json!("seg_0"),
        json!([]),
        json!({}),
        json!([1, 2]),
        json!(true),
        json!({"extra": 1}),
    ];
    let children: Vec<&mut Value> = match v {
        Value::Object(m) => m.values_mut().collect(),
        Value::Array(a) => a.iter_mut().collect(),
        _ => Vec::new(),
    };
    if children.is_empty() || r.chance(30) {
        *v = r.pick(&awkward).clone();
        return;
    }
    let n = children.len() as u64;
    let child = children.into_iter().nth(r.below(n) as usize);
    if let Some(child) = child {
        mutate(r, child);
    }
}

#[test]
fn mutated_conditions_never_panic_and_what_parses_round_trips() {
    let mut accepted = 0;
    for seed in 0..3_000 {
        let r = &mut Rng(seed ^ 0x5eed);
        let mut json = tree(r, 1);
        mutate(r, &mut json);
        let Ok(c) = parse(&json) else { continue };
        accepted += 1;
        assert_eq!(
            parse(&serde_json::to_value(&c).unwrap()).as_ref(),
            Ok(&c),
            "{json}"
        );
        let fx = facts(r);
        let evs: Vec<Ev> = (0..5)
            .map(|i| Ev::new(EVENTS[i % 4], T0 + i as i64, "web", props(r)))
            .collect();
        let out = states_of(&c, &evs).eval(&c, &fx, T0 + 10);
        assert_eq!(
            out.matched,
            fx.facts(T0 + 10, |f| evaluate_reference(&c, f, &hists(&evs))),
            "{json}"
        );
    }
    assert!(accepted > 100, "{accepted}");
}

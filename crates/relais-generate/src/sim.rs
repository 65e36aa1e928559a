//! The simulation of one customer: a queue of activities (online sessions,
//! store visits, calls, campaigns and what they lead to) processed in time
//! order with a clock that only moves forward, so the customer's events come
//! out in time order.

use crate::catalog::Catalog;
use crate::data;
use crate::params::*;
use crate::persona::Persona;
use crate::rng::Rng;
use crate::time::{local_instant, rfc3339_ms, DAY, HOUR, MINUTE, SECOND};
use crate::GenerateOptions;
use serde_json::{json, Map, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A campaign a session came from.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: String,
    pub name: &'static str,
    pub medium: &'static str,
}

pub enum Activity {
    Session {
        device: usize,
        campaign: Option<Campaign>,
    },
    StoreVisit,
    Call {
        reason: &'static str,
        order_id: Option<String>,
    },
    Email {
        campaign: Campaign,
    },
    EmailOpen {
        campaign: Campaign,
    },
    Sms {
        campaign: Campaign,
    },
    OrderEmail {
        order_id: String,
    },
}

/// One cart line: product index and quantity.
#[derive(Debug, Clone, Copy)]
pub struct Line {
    pub product: usize,
    pub qty: u32,
}

/// An event before its `messageId`: summary key, channel, body.
pub struct Ev {
    pub key: String,
    pub channel: &'static str,
    pub body: Map<String, Value>,
}

pub struct Sim<'a> {
    pub opts: &'a GenerateOptions,
    pub rng: Rng,
    pub p: Persona,
    pub cat: &'static Catalog,
    pub start: i64,
    pub end: i64,
    pub now: i64,
    pub events: Vec<Ev>,
    queue: BinaryHeap<Reverse<(i64, usize)>>,
    acts: Vec<Option<Activity>>,
    pub logged_in: Vec<bool>,
    pub device_carts: Vec<Vec<Line>>,
    pub account_cart: Vec<Line>,
    /// An identify has been sent: the customer is known to the brand's CRM.
    pub known: bool,
    pub email_ok: bool,
    pub sms_ok: bool,
    pub orders: u32,
    device_contexts: Vec<Value>,
}

impl<'a> Sim<'a> {
    pub fn new(opts: &'a GenerateOptions, mut rng: Rng, index: u64) -> Sim<'a> {
        let p = Persona::draw(&mut rng, index, opts.days, opts.b2b_share);
        let start = opts.start.as_millisecond();
        let n = p.devices.len();
        let (email_ok, sms_ok) = match p.consent {
            Some((e, s)) => (e == "subscribed", s == Some("subscribed")),
            None => (false, false),
        };
        let mut sim = Sim {
            opts,
            rng,
            p,
            cat: Catalog::get(),
            start,
            end: start + i64::from(opts.days) * DAY,
            now: start,
            events: Vec::new(),
            queue: BinaryHeap::new(),
            acts: Vec::new(),
            logged_in: vec![false; n],
            device_carts: vec![Vec::new(); n],
            account_cart: Vec::new(),
            known: false,
            email_ok,
            sms_ok,
            orders: 0,
            device_contexts: Vec::new(),
        };
        sim.device_contexts = (0..n).map(|d| sim.build_device_context(d)).collect();
        sim
    }

    /// Schedules an activity; ignored outside the period.
    pub fn schedule(&mut self, t: i64, act: Activity) {
        if t < self.start || t > self.end {
            return;
        }
        self.acts.push(Some(act));
        self.queue.push(Reverse((t, self.acts.len() - 1)));
    }

    /// An instant at a local time of day (hour range, uniform minute and
    /// second) on local day `day`, moved into the period if it falls outside.
    pub fn local_time(&mut self, day: i64, hours: (i64, i64), hour_weights: Option<&[u32; 24]>) -> i64 {
        let hour = match hour_weights {
            Some(w) => {
                let table: Vec<(i64, u32)> = (0..24).map(|h| (h as i64, w[h])).collect();
                self.rng.weighted(&table)
            }
            None => self.rng.range(hours.0, hours.1 - 1),
        };
        let tod = hour * HOUR + self.rng.range(0, 59) * MINUTE + self.rng.range(0, 59_999);
        let mut t = local_instant(self.start, self.p.zone.offset_min, day, tod);
        if t < self.start {
            t += DAY;
        }
        if t > self.end {
            t -= DAY;
        }
        t
    }

    /// The local day (0 = the local date of `start`) of instant `t`.
    pub fn local_day(&self, t: i64) -> i64 {
        let off = i64::from(self.p.zone.offset_min) * MINUTE;
        (t + off).div_euclid(DAY) - (self.start + off).div_euclid(DAY)
    }

    /// Moves the clock forward by a triangular number of seconds in
    /// `lo..=hi`, plus random milliseconds.
    pub fn wait(&mut self, lo: i64, hi: i64) {
        self.now += self.rng.tri(lo, hi) * SECOND + self.rng.range(0, 999);
    }

    /// Runs every scheduled activity in time order.
    pub fn run(&mut self) {
        while let Some(Reverse((t, i))) = self.queue.pop() {
            let act = self.acts[i].take().expect("each activity runs once");
            self.now = self.now.max(t);
            if self.now > self.end {
                break;
            }
            match act {
                Activity::Session { device, campaign } => self.session(device, campaign),
                Activity::StoreVisit => self.store_visit(),
                Activity::Call { reason, order_id } => self.call(reason, order_id),
                Activity::Email { campaign } => self.email(campaign),
                Activity::EmailOpen { campaign } => self.email_open(campaign),
                Activity::Sms { campaign } => self.sms(campaign),
                Activity::OrderEmail { order_id } => self.order_email(order_id),
            }
        }
    }

    /// Records an event at the current time (dropped past the period's end).
    /// `body` holds ids and payload; `type`, `event` and `timestamp` are added.
    pub fn emit(&mut self, kind: &'static str, event: Option<&str>, channel: &'static str, body: Value) {
        if self.now > self.end {
            return;
        }
        let Value::Object(mut map) = body else {
            unreachable!("events are built as objects")
        };
        map.insert("type".into(), kind.into());
        if let Some(e) = event {
            map.insert("event".into(), e.into());
        }
        map.insert("timestamp".into(), rfc3339_ms(self.now).into());
        self.events.push(Ev {
            key: event.unwrap_or(kind).to_owned(),
            channel,
            body: map,
        });
    }

    /// `userId` / `anonymousId` of an event from device `d`.
    pub fn device_ids(&self, d: usize, body: &mut Value) {
        body["anonymousId"] = self.p.devices[d].anonymous_id.clone().into();
        if self.logged_in[d] {
            body["userId"] = self.p.user_id.clone().into();
        }
    }

    /// The `context` of an event from device `d`.
    pub fn device_context(&self, d: usize, campaign: Option<&Campaign>) -> Value {
        let mut ctx = self.device_contexts[d].clone();
        if let Some(c) = campaign {
            ctx["campaign"] =
                json!({"name": c.name, "source": c.medium, "medium": c.medium, "content": c.id});
        }
        ctx
    }

    /// What SDKs put in `context` on device `d` (built once per device).
    fn build_device_context(&self, d: usize) -> Value {
        let dev = &self.p.devices[d];
        let mut ctx = self.base_context(if dev.app { "app" } else { "web" });
        ctx["ip"] = dev.ip.clone().into();
        if dev.app {
            let (maker, model, os, version, kind) = data::APP_DEVICES[dev.model];
            ctx["device"] =
                json!({"id": dev.anonymous_id, "manufacturer": maker, "model": model, "type": kind});
            ctx["os"] = json!({"name": os, "version": version});
            ctx["app"] =
                json!({"name": data::APP_NAME, "version": data::APP_VERSION, "build": data::APP_BUILD});
            let lib = if kind == "ios" {
                "analytics-ios"
            } else {
                "analytics-android"
            };
            ctx["library"] = json!({"name": lib, "version": "4.1.8"});
        } else {
            let (agent, mobile) = data::WEB_AGENTS[dev.model];
            ctx["userAgent"] = agent.into();
            ctx["device"] = json!({"type": if mobile { "mobile" } else { "desktop" }});
            ctx["library"] = json!({"name": "analytics.js", "version": "next-1.70.0"});
        }
        ctx
    }

    /// `touchpoint`, `timezone` and `locale`, common to every event.
    pub fn base_context(&self, touchpoint: &'static str) -> Value {
        json!({"touchpoint": touchpoint, "timezone": self.p.zone.tz, "locale": self.p.zone.locale})
    }

    /// The product lines of a basket as Segment e-commerce `products`.
    pub fn products_json(&self, lines: &[Line]) -> Value {
        let items: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut v = self.product_json(l.product);
                v["quantity"] = l.qty.into();
                v["position"] = (i + 1).into();
                v
            })
            .collect();
        Value::Array(items)
    }

    pub fn product_json(&self, product: usize) -> Value {
        let p = &self.cat.products[product];
        json!({
            "product_id": p.id,
            "sku": p.sku,
            "name": p.name,
            "category": p.category,
            "price": crate::catalog::money(p.price_cents),
            "currency": CURRENCY,
        })
    }

    /// A product for a view: a favourite category or the whole catalog.
    pub fn pick_product(&mut self) -> usize {
        if self.rng.chance(FAVOURITE_CATEGORY_CHANCE) {
            let c = self.rng.pick(&self.p.favourite_categories);
            self.cat.pick_in(&mut self.rng, c)
        } else {
            self.cat.pick(&mut self.rng)
        }
    }

    /// A fresh order id, unique in the data set.
    pub fn order_id(&mut self, prefix: &str) -> String {
        self.orders += 1;
        format!("{prefix}-{}-{}-{}", self.opts.seed, self.p.index, self.orders)
    }
}

//! Touchpoints outside the shop: store tills, the call centre, e-mail and
//! SMS (delivery and engagement events as the providers report them).

use crate::catalog::money;
use crate::data;
use crate::online::open_delay_ms;
use crate::params::*;
use crate::sim::{Activity, Campaign, Line, Sim};
use crate::time::{MINUTE, SECOND};
use serde_json::{json, Value};

impl Sim<'_> {
    /// A purchase at the till, identified by the loyalty card.
    pub fn store_visit(&mut self) {
        let Some(shopper) = &self.p.store else { return };
        let loyalty_id = shopper.loyalty_id.clone();
        let linked = shopper.linked;
        let store = if self.rng.chance(HOME_STORE_CHANCE) {
            shopper.home_store
        } else {
            self.rng.below(data::STORES.len() as u64) as usize
        };
        let items = self.rng.weighted(STORE_BASKET_ITEMS);
        let mut lines: Vec<Line> = Vec::new();
        for _ in 0..items {
            let product = self.pick_product();
            match lines.iter_mut().find(|l| l.product == product) {
                Some(l) => l.qty += 1,
                None => lines.push(Line { product, qty: 1 }),
            }
        }
        let total: i64 = lines
            .iter()
            .map(|l| self.cat.products[l.product].price_cents * i64::from(l.qty))
            .sum();
        let tax = total * VAT_PERCENT / (100 + VAT_PERCENT);
        let (store_id, store_name) = data::STORES[store];
        let order_id = self.order_id("pos");
        let properties = json!({
            "order_id": order_id, "store_id": store_id, "store_name": store_name,
            "till_id": format!("{store_id}-till-{}", self.rng.range(1, 6)),
            "total": money(total), "revenue": money(total - tax), "tax": money(tax),
            "currency": CURRENCY, "products": self.products_json(&lines),
            "payment_method": self.rng.weighted(data::PAYMENT_METHODS),
        });
        let mut ctx = self.base_context("store");
        ctx["traits"] = json!({"loyalty_id": loyalty_id});
        ctx["library"] = json!({"name": "relais-pos-connector", "version": "1.3.0"});
        let mut body = json!({"properties": properties, "context": ctx});
        if linked {
            body["userId"] = self.p.user_id.clone().into();
        } else {
            // The till knows no web id: it sends a stable id of the card.
            body["anonymousId"] = format!("pos-{loyalty_id}").into();
        }
        self.wait(5 * 60, 25 * 60);
        self.emit("track", Some("Order Completed"), "store", body);
        self.after_order(order_id);
    }

    /// A call to the call centre, identified by the caller's phone number.
    pub fn call(&mut self, reason: &'static str, order_id: Option<String>) {
        let Some(phone) = self.p.phone.clone() else { return };
        let duration = self.rng.tri(CALL_SECONDS.0, CALL_SECONDS.1);
        let mut properties = json!({
            "reason": reason, "duration": duration,
            "outcome": self.rng.weighted(data::CALL_OUTCOMES),
            "agent_id": format!("agent-{:02}", self.rng.range(1, 40)),
        });
        if let Some(o) = order_id {
            properties["order_id"] = o.into();
        }
        let mut ctx = self.base_context("call_centre");
        ctx["traits"] = json!({"phone": phone});
        ctx["library"] = json!({"name": "relais-cti-connector", "version": "2.0.1"});
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let body = json!({"anonymousId": format!("cti-{digits}"), "properties": properties, "context": ctx});
        // The event is sent when the call ends.
        self.now += duration * SECOND + self.rng.range(0, 999);
        self.emit("track", Some("Call Completed"), "call_centre", body);
    }

    /// A marketing e-mail: delivered, maybe opened later.
    pub fn email(&mut self, campaign: Campaign) {
        if !(self.known && self.email_ok && self.rng.chance(CAMPAIGN_TARGET_SHARE)) {
            return;
        }
        let props =
            json!({"campaign_id": campaign.id, "campaign_name": campaign.name, "email_type": "marketing"});
        self.provider_event("email", "Email Delivered", props);
        if self.rng.chance(EMAIL_OPEN_RATE) {
            let t = self.now + open_delay_ms(&mut self.rng);
            self.schedule(t, Activity::EmailOpen { campaign });
        }
    }

    pub fn email_open(&mut self, campaign: Campaign) {
        let props = json!({"campaign_id": campaign.id, "campaign_name": campaign.name});
        self.provider_event("email", "Email Opened", props.clone());
        if self.rng.chance(EMAIL_UNSUBSCRIBE_RATE) {
            self.wait(10, 60);
            let mut p = props;
            p["channel"] = "email".into();
            self.provider_event("email", "Unsubscribed", p);
            self.email_ok = false;
        } else if self.rng.chance(EMAIL_CLICK_RATE) {
            self.wait(5, 60);
            let mut p = props;
            p["link_url"] = format!("{}/?utm_campaign={}", data::SHOP_URL, campaign.id).into();
            self.provider_event("email", "Email Link Clicked", p);
            let device = self.link_device(false);
            let t = self.now + 2 * SECOND;
            self.schedule(
                t,
                Activity::Session {
                    device,
                    campaign: Some(campaign),
                },
            );
        }
    }

    /// A transactional order confirmation.
    pub fn order_email(&mut self, order_id: String) {
        let props =
            json!({"campaign_id": "order-confirmation", "email_type": "transactional", "order_id": order_id});
        self.provider_event("email", "Email Delivered", props);
    }

    /// A marketing SMS: delivered, then maybe a STOP reply or a click.
    pub fn sms(&mut self, campaign: Campaign) {
        let reachable = self.p.phone.is_some() && self.known && self.sms_ok;
        if !(reachable && self.rng.chance(CAMPAIGN_TARGET_SHARE)) {
            return;
        }
        let props = json!({"campaign_id": campaign.id, "campaign_name": campaign.name});
        self.provider_event("sms", "SMS Delivered", props.clone());
        if self.rng.chance(SMS_STOP_RATE) {
            self.now += self.rng.range(MINUTE, 30 * MINUTE);
            let mut p = props;
            p["channel"] = "sms".into();
            self.provider_event("sms", "Unsubscribed", p);
            self.sms_ok = false;
        } else if self.rng.chance(SMS_CLICK_RATE) {
            self.now += self.rng.range(MINUTE, 30 * MINUTE);
            self.provider_event("sms", "SMS Link Clicked", props);
            let device = self.link_device(true);
            let t = self.now + 2 * SECOND;
            self.schedule(
                t,
                Activity::Session {
                    device,
                    campaign: Some(campaign),
                },
            );
        }
    }

    /// An event reported by the e-mail or SMS provider, about a known user.
    fn provider_event(&mut self, channel: &'static str, event: &str, properties: Value) {
        let mut ctx = self.base_context(channel);
        ctx["traits"] = match channel {
            "sms" => json!({"phone": self.p.phone}),
            _ => json!({"email": self.p.email}),
        };
        ctx["library"] = json!({"name": format!("relais-{channel}-webhook"), "version": "1.0.0"});
        let body = json!({"userId": self.p.user_id, "properties": properties, "context": ctx});
        self.emit("track", Some(event), channel, body);
    }
}

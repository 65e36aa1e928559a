//! Online sessions on the web site or the app: views, cart, login, checkout.

use crate::catalog::{money, Catalog};
use crate::data::SHOP_URL;
use crate::params::*;
use crate::persona::company;
use crate::sim::{Activity, Campaign, Line, Sim};
use crate::time::{DAY, HOUR, MINUTE, SECOND};
use serde_json::{json, Value};

/// A page of the shop: (page name, path, title) — the app shows the same
/// content as screens.
struct View {
    name: &'static str,
    path: String,
    title: String,
    properties: Value,
}

impl Sim<'_> {
    pub fn session(&mut self, d: usize, campaign: Option<Campaign>) {
        let c = campaign.as_ref();
        let products = self.rng.weighted(PRODUCTS_VIEWED_PER_SESSION) as usize;
        let account = self.p.user_id.is_some();
        let login_at = (account && !self.logged_in[d] && self.rng.chance(LOGIN_CHANCE_PER_SESSION))
            .then(|| self.rng.below(products as u64 + 1) as usize);
        let home = View {
            name: "Home",
            path: "/".into(),
            title: "Maison Relais".into(),
            properties: json!({}),
        };
        self.view(d, c, home);
        if self.rng.chance(CATEGORY_PAGE_CHANCE) {
            let (slug, name) = Catalog::category(self.rng.pick(&self.p.favourite_categories));
            self.wait(SECONDS_BETWEEN_VIEWS.0, SECONDS_BETWEEN_VIEWS.1);
            let props = json!({"category": name});
            self.view(
                d,
                c,
                View {
                    name: "Category",
                    path: format!("/c/{slug}"),
                    title: name.into(),
                    properties: props,
                },
            );
        }
        for i in 0..=products {
            if login_at == Some(i) {
                self.login(d, c);
            }
            if i == products {
                break;
            }
            let product = self.pick_product();
            let p = &self.cat.products[product];
            let view = View {
                name: "Product",
                path: format!("/p/{}", p.sku.to_ascii_lowercase()),
                title: p.name.clone(),
                properties: json!({"product_id": p.id, "category": p.category}),
            };
            self.wait(SECONDS_BETWEEN_VIEWS.0, SECONDS_BETWEEN_VIEWS.1);
            self.view(d, c, view);
            self.wait(1, 3);
            self.track(d, c, "Product Viewed", self.product_json(product));
            if self.rng.chance(ADD_TO_CART_CHANCE) {
                let qty = self.rng.weighted(QUANTITY);
                self.wait(10, 60);
                let mut props = self.product_json(product);
                props["quantity"] = qty.into();
                props["cart_id"] = self.cart_id(d).into();
                self.track(d, c, "Product Added", props);
                add_line(self.cart_mut(d), product, qty);
            }
        }
        if self.cart(d).is_empty() {
            return;
        }
        if self.rng.chance(REMOVE_FROM_CART_CHANCE) {
            let i = self.rng.below(self.cart(d).len() as u64) as usize;
            let line = self.cart_mut(d).remove(i);
            let mut props = self.product_json(line.product);
            props["quantity"] = line.qty.into();
            props["cart_id"] = self.cart_id(d).into();
            self.wait(5, 60);
            self.track(d, c, "Product Removed", props);
            if self.cart(d).is_empty() {
                return;
            }
        }
        if self.rng.chance(CART_VIEW_CHANCE) {
            self.wait(5, 60);
            let cart = View {
                name: "Cart",
                path: "/cart".into(),
                title: "Cart".into(),
                properties: json!({}),
            };
            self.view(d, c, cart);
            let props = json!({"cart_id": self.cart_id(d), "products": self.products_json(self.cart(d))});
            self.wait(1, 2);
            self.track(d, c, "Cart Viewed", props);
        }
        if self.rng.chance(CHECKOUT_CHANCE) {
            self.checkout(d, c);
        }
    }

    /// Identifies the customer on device `d`; the device's cart joins the
    /// account's cart (carts follow the customer across devices once logged in).
    pub fn login(&mut self, d: usize, c: Option<&Campaign>) {
        self.wait(20, 90);
        let first = !self.known;
        if first && self.p.signs_up && self.p.devices[d].app && self.rng.chance(ALIAS_ON_APP_SIGNUP) {
            let mut body = json!({"previousId": self.p.devices[d].anonymous_id, "userId": self.p.user_id});
            body["context"] = self.device_context(d, c);
            self.emit("alias", None, self.channel(d), body);
        }
        self.logged_in[d] = true;
        self.known = true;
        let mut traits =
            json!({"email": self.p.email, "first_name": self.p.first_name, "last_name": self.p.last_name});
        if let Some(phone) = &self.p.phone {
            traits["phone"] = phone.clone().into();
        }
        if let Some(s) = self.p.store.as_ref().filter(|s| s.linked) {
            traits["loyalty_id"] = s.loyalty_id.clone().into();
        }
        if let (true, Some((email, sms))) = (first, self.p.consent) {
            let mut consent = json!({"email": email});
            if let Some(sms) = sms {
                consent["sms"] = sms.into();
            }
            traits["consent"] = consent;
        }
        if let Some(b) = &self.p.b2b {
            traits["company"] = company(self.opts.seed, b.company).0.into();
            traits["job_title"] = b.job_title.into();
        }
        let mut body = json!({"traits": traits, "context": self.device_context(d, c)});
        self.device_ids(d, &mut body);
        self.emit("identify", None, self.channel(d), body);
        if first && self.p.signs_up {
            self.wait(1, 2);
            self.track(d, c, "Signed Up", json!({"method": "email"}));
        }
        if let (true, Some(b)) = (first, self.p.b2b.as_ref()) {
            let (name, industry, employees) = company(self.opts.seed, b.company);
            let mut body = json!({
                "groupId": format!("company-{}", b.company),
                "traits": {"name": name, "industry": industry, "employees": employees},
                "context": self.device_context(d, c),
            });
            self.device_ids(d, &mut body);
            self.wait(1, 2);
            self.emit("group", None, self.channel(d), body);
        }
        let lines = std::mem::take(&mut self.device_carts[d]);
        for l in lines {
            add_line(&mut self.account_cart, l.product, l.qty);
        }
    }

    fn checkout(&mut self, d: usize, c: Option<&Campaign>) {
        if self.p.user_id.is_some() && !self.logged_in[d] {
            self.login(d, c);
        }
        let lines = self.cart(d).to_vec();
        let subtotal: i64 = lines
            .iter()
            .map(|l| self.cat.products[l.product].price_cents * i64::from(l.qty))
            .sum();
        let order_id = self.order_id("web");
        let products = self.products_json(&lines);
        self.wait(10, 40);
        let page = View {
            name: "Checkout",
            path: "/checkout".into(),
            title: "Checkout".into(),
            properties: json!({}),
        };
        self.view(d, c, page);
        let vat = |gross: i64| gross * VAT_PERCENT / (100 + VAT_PERCENT);
        let started = json!({
            "order_id": order_id, "value": money(subtotal), "revenue": money(subtotal - vat(subtotal)),
            "currency": CURRENCY, "products": products,
        });
        self.wait(1, 3);
        self.track(d, c, "Checkout Started", started);
        if !self.rng.chance(ORDER_AFTER_CHECKOUT) {
            return;
        }
        self.wait(60, 300);
        let coupon = self.rng.chance(COUPON_CHANCE);
        let discount = if coupon {
            subtotal * COUPON_PERCENT / 100
        } else {
            0
        };
        let net = subtotal - discount;
        let shipping = if net >= FREE_SHIPPING_FROM_CENTS {
            0
        } else {
            SHIPPING_CENTS
        };
        // Segment: `revenue` excludes shipping and tax, `total` is what was paid.
        let mut done = json!({
            "order_id": order_id, "checkout_id": format!("chk-{order_id}"),
            "total": money(net + shipping), "revenue": money(net - vat(net)),
            "shipping": money(shipping), "tax": money(vat(net)), "currency": CURRENCY, "products": products,
        });
        if coupon {
            done["coupon"] = COUPON_CODE.into();
            done["discount"] = money(discount).into();
        }
        let mut body = json!({"properties": done, "context": self.device_context(d, c)});
        self.device_ids(d, &mut body);
        if !self.logged_in[d] {
            // Guest checkout: the address the order confirmation goes to.
            body["context"]["traits"] = json!({"email": self.p.email, "first_name": self.p.first_name});
        }
        self.emit("track", Some("Order Completed"), self.channel(d), body);
        self.cart_mut(d).clear();
        if self.known {
            let t = self.now + self.rng.range(30 * SECOND, 180 * SECOND);
            self.schedule(
                t,
                Activity::OrderEmail {
                    order_id: order_id.clone(),
                },
            );
        }
        self.after_order(order_id);
    }

    /// Maybe a call to the call centre 1–4 days after an order.
    pub fn after_order(&mut self, order_id: String) {
        if self.p.phone.is_some() && self.rng.chance(CALL_AFTER_ORDER_CHANCE) {
            let later = self.now + self.rng.range(1, 4) * DAY;
            let day = self.local_day(later);
            let t = self.local_time(day, CALL_HOURS, None);
            let reason = self.rng.weighted(crate::data::ORDER_CALL_REASONS);
            if t > self.now + HOUR {
                self.schedule(
                    t,
                    Activity::Call {
                        reason,
                        order_id: Some(order_id),
                    },
                );
            }
        }
    }

    fn view(&mut self, d: usize, c: Option<&Campaign>, v: View) {
        let mut props = v.properties;
        let app = self.p.devices[d].app;
        if !app {
            props["path"] = v.path.clone().into();
            props["url"] = format!("{SHOP_URL}{}", v.path).into();
            props["title"] = v.title.into();
        }
        let mut body = json!({"name": v.name, "properties": props, "context": self.device_context(d, c)});
        self.device_ids(d, &mut body);
        let kind = if app { "screen" } else { "page" };
        self.emit(kind, None, self.channel(d), body);
    }

    fn track(&mut self, d: usize, c: Option<&Campaign>, event: &str, properties: Value) {
        let mut body = json!({"properties": properties, "context": self.device_context(d, c)});
        self.device_ids(d, &mut body);
        self.emit("track", Some(event), self.channel(d), body);
    }

    fn channel(&self, d: usize) -> &'static str {
        if self.p.devices[d].app {
            "app"
        } else {
            "web"
        }
    }

    fn cart(&self, d: usize) -> &[Line] {
        if self.logged_in[d] {
            &self.account_cart
        } else {
            &self.device_carts[d]
        }
    }

    fn cart_mut(&mut self, d: usize) -> &mut Vec<Line> {
        if self.logged_in[d] {
            &mut self.account_cart
        } else {
            &mut self.device_carts[d]
        }
    }

    fn cart_id(&self, d: usize) -> String {
        if self.logged_in[d] {
            format!("cart-user-{}", self.p.index)
        } else {
            format!("cart-{}", &self.p.devices[d].anonymous_id[..8])
        }
    }
}

fn add_line(cart: &mut Vec<Line>, product: usize, qty: u32) {
    match cart.iter_mut().find(|l| l.product == product) {
        Some(l) => l.qty += qty,
        None => cart.push(Line { product, qty }),
    }
}

/// Time until a campaign e-mail is opened ([`OPEN_DELAY`]).
pub fn open_delay_ms(rng: &mut crate::rng::Rng) -> i64 {
    let minutes = match rng.weighted(OPEN_DELAY) {
        0 => rng.range(1, 120),
        1 => rng.range(120, 12 * 60),
        _ => rng.range(12 * 60, 48 * 60),
    };
    minutes * MINUTE + rng.range(0, 59_999)
}

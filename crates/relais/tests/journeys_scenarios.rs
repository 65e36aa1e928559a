//! Three journeys from the field (docs/journeys.md, "Scenarios"), end to
//! end through the real binary: the catalog, shops and stock loaded over the
//! admin API, events in through the tracking API, messages and tasks out
//! through the sandbox, decisions read back from the per-profile trace.
//!
//! - web-to-store: a product viewed in the app that the customer's nearest
//!   shop has in stock → a push naming that shop; nothing for a product no
//!   shop has;
//! - loyalty: a store purchase identified by the loyalty card → the next
//!   "day" an e-mail with what goes with it, three "days" later a push with
//!   an offer, which then blocks another journey's offer of the same group;
//! - B2B lead: a demo form → a task for the sales owner at once, a nurture
//!   e-mail, a webinar invitation, and an exit when the lead becomes an
//!   opportunity.
//!
//! Waits are seconds instead of days: the engine treats a 2-second delay
//! exactly as a 1-day one (a timer row).

mod common;

use common::{messages_of, passages, trace_detail, trace_steps, wait_for, Backend, Server};
use serde_json::{json, Value};

both_backends_with_config!(
    web_to_store_push_names_the_nearest_shop_with_stock,
    loyalty_store_purchase_then_complements_then_offer,
    b2b_lead_task_nurture_and_exit_on_opportunity
);

// ---------------------------------------------------------------- helpers

async fn apply(s: &Server, yaml: &str) -> String {
    let (code, out) = s
        .admin_post("/api/v1/journeys/apply?activate=true", "application/yaml", yaml)
        .await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(
        (out["action"].as_str(), out["activated"].as_bool()),
        (Some("created"), Some(true)),
        "{out}"
    );
    out["journey"]["id"].as_str().unwrap().to_owned()
}

/// An identify from the app: traits, and the device's push token.
async fn identify(s: &Server, user: &str, traits: Value) {
    let body = json!({"userId": user, "traits": traits,
                      "context": {"device": {"token": format!("tok-{user}")}}});
    let (code, out) = s.track("/v1/identify", body).await;
    assert_eq!(code, 200, "{out}");
}

async fn event(s: &Server, user: &str, name: &str, touchpoint: &str, props: Value) {
    let body = json!({"userId": user, "event": name, "properties": props,
                      "context": {"touchpoint": touchpoint}});
    let (code, out) = s.track("/v1/track", body).await;
    assert_eq!(code, 200, "{out}");
}

fn on(msgs: &[Value], channel: &str) -> Vec<Value> {
    msgs.iter().filter(|m| m["channel"] == channel).cloned().collect()
}

/// The profile's passage through `journey` once it has ended.
async fn ended(s: &Server, who: &str, journey: &str) -> Value {
    let done = |ps: &[Value]| {
        ps.iter()
            .find(|p| p["journey"] == journey && p["status"] == "done")
            .cloned()
    };
    wait_for(
        || async { done(&passages(s, who).await).is_some() },
        &format!("{who}'s passage through {journey} to end"),
    )
    .await;
    done(&passages(s, who).await).unwrap()
}

/// Loads the catalog, the three shops and the stock; every row must pass.
async fn commerce(s: &Server, products_csv: &str, stock_csv: &str) {
    let shop = |id: &str, name: &str, city: &str, lat: f64, lon: f64| {
        json!({"id": id, "name": name, "city": city, "country": "FR", "latitude": lat, "longitude": lon,
               "time_zone": "Europe/Paris", "services": ["click_and_collect"]})
    };
    let shops = json!([
        shop("paris", "Paris Châtelet", "Paris", 48.8584, 2.3470),
        shop("lyon", "Lyon Part-Dieu", "Lyon", 45.7606, 4.8593),
        shop("lille", "Lille Grand Place", "Lille", 50.6369, 3.0635),
    ]);
    let (code, out) = s.admin("POST", "/api/v1/catalog/shops", Some(shops)).await;
    assert_eq!((code, &out["failed"]), (200, &json!(0)), "{out}");
    for (path, body) in [("products", products_csv), ("stock", stock_csv)] {
        let (code, out) = s
            .admin_post(&format!("/api/v1/catalog/{path}"), "text/csv", body)
            .await;
        assert_eq!((code, &out["failed"]), (200, &json!(0)), "{out}");
    }
}

// ------------------------------------------------------------ web-to-store

const WEB_TO_STORE_YAML: &str = r#"
name: Available at your store
trigger: {event: Product Viewed, where: [{property: $channel, op: eq, value: app}]}
reentry: {after: {days: 7}}
steps:
  - id: nearby
    type: condition
    if: {commerce: in_stock_nearby, product: {from: trigger}}
    then: push
    else: online
  - id: push
    type: send
    channel: push
    content: {push: {title: "{{ data.trigger.name }} is at {{ nearest_store.name }} today",
                     body: "Reserve it for click & collect"}}
    next: exit
  - id: online
    type: condition
    if: {commerce: available_online, product: {from: trigger}}
    then: email
    else: exit
  - id: email
    type: send
    channel: email
    content: {email: {subject: "{{ data.trigger.name }} ships to you",
                      html: "<p>Not in a shop near you, but online today.</p>"}}
"#;

const FASHION_CSV: &str = "\
id,name,price,currency,category
trench,Trench Coat,189,EUR,Women > Coats
parka,Parka,249,EUR,Women > Coats
";

/// The trench coat is at Paris (3) and Lyon (1), not at Lille; the parka
/// is nowhere.
const FASHION_STOCK_CSV: &str = "\
store_id,sku,quantity
paris,trench,3
lyon,trench,1
lille,trench,0
paris,parka,0
lyon,parka,0
lille,parka,0
";

/// `nearest_store` looks 50 km around by default; Lena's nearest trench
/// coat is 204 km away.
const NEAREST_300_KM: &str = "[engine.catalog]\nnearest_store_within_km = 300\n";

async fn web_to_store_push_names_the_nearest_shop_with_stock(backend: Backend) {
    let s = Server::start_with_config(backend, Some(NEAREST_300_KM));
    commerce(&s, FASHION_CSV, FASHION_STOCK_CSV).await;
    let jid = apply(&s, WEB_TO_STORE_YAML).await;
    // Paul's home shop is Paris; Lena's is Lille, which has no trench coat
    // (Paris is nearer to Lille than Lyon); Omar looks at the parka.
    for (who, home) in [("paul", "paris"), ("lena", "lille"), ("omar", "paris")] {
        identify(
            &s,
            who,
            json!({"email": format!("{who}@example.com"), "home_store_id": home}),
        )
        .await;
    }
    s.settle().await;
    let trench = json!({"product_id": "trench", "name": "Trench Coat", "price": 189});
    // Seen on the website first: the journey listens to the app only.
    event(&s, "paul", "Product Viewed", "web", trench.clone()).await;
    s.settle().await;
    event(&s, "paul", "Product Viewed", "app", trench.clone()).await;
    event(&s, "lena", "Product Viewed", "app", trench.clone()).await;
    event(
        &s,
        "omar",
        "Product Viewed",
        "app",
        json!({"product_id": "parka", "name": "Parka", "price": 249}),
    )
    .await;
    s.settle().await;

    let paul = ended(&s, "paul", "Available at your store").await;
    assert_eq!(paul["exit_reason"], "completed", "{paul}");
    let push = on(&messages_of(&s, "paul").await, "push");
    assert_eq!(
        push.len(),
        1,
        "one push for the app view, none for the web view: {push:?}"
    );
    let m = s.message_when(push[0]["id"].as_str().unwrap(), "sent").await;
    assert_eq!(
        m["content"]["title"], "Trench Coat is at Paris Châtelet today",
        "{m}"
    );
    assert_eq!(m["content"]["body"], "Reserve it for click & collect", "{m}");
    assert_eq!(m["campaign"], "Available at your store");
    assert!(trace_steps(&paul).contains(&"push:sent".to_owned()), "{paul}");

    // Lille has none: the nearest shop that has one is Paris (204 km), not Lyon.
    ended(&s, "lena", "Available at your store").await;
    let lena = on(&messages_of(&s, "lena").await, "push");
    assert_eq!(lena.len(), 1, "{lena:?}");
    assert_eq!(
        lena[0]["content"]["title"],
        "Trench Coat is at Paris Châtelet today"
    );

    // No shop has the parka, but it ships: the e-mail instead of the push.
    let omar = ended(&s, "omar", "Available at your store").await;
    let sent = messages_of(&s, "omar").await;
    assert!(on(&sent, "push").is_empty(), "no push for the parka: {sent:?}");
    assert_eq!(on(&sent, "email").len(), 1, "{sent:?}");
    assert_eq!(sent[0]["content"]["subject"], "Parka ships to you");
    assert_eq!(omar["exit_reason"], "completed", "{omar}");
    let why = trace_detail(&omar, "nearby", "branch");
    assert_eq!(why, "condition does not hold: on to online", "{omar}");
    assert_eq!(
        trace_detail(&paul, "nearby", "branch"),
        "condition holds: on to push"
    );

    // Viewed again the same week: no second push (re-entry after 7 days).
    event(&s, "paul", "Product Viewed", "app", trench).await;
    s.settle().await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(passages(&s, "paul").await.len(), 1, "re-entry waits 7 days");
    assert_eq!(on(&messages_of(&s, "paul").await, "push").len(), 1);

    let (code, stats) = s.get(&format!("/api/v1/journeys/{jid}/stats")).await;
    assert_eq!(code, 200, "{stats}");
    assert_eq!(stats["entered"], 3, "{stats}");
    assert_eq!(stats["exited"]["completed"], 3, "{stats}");
}

// ----------------------------------------------------------------- loyalty

/// `delay until 10:00` the next day in the field; two seconds here.
const LOYALTY_YAML: &str = r#"
name: After a store purchase
trigger: {event: Order Completed, where: [{property: $channel, op: eq, value: store}]}
steps:
  - {id: next_day, type: delay, for: {seconds: 2}}
  - {id: recos, type: send, channel: email,
     content: {email: {subject: Goes well with your purchase,
                       html: "{% for p in recommendations %}<p>{{ p.name }} {{ p.price.amount }} {{ p.price.currency }}</p>{% endfor %}"}}}
  - {id: later, type: delay, for: {seconds: 3}}
  - {id: promo, type: send, channel: push, offer: {group: discount, id: loyalty-15, valid: {days: 7}},
     content: {push: {title: "15 % for you", body: "This week in store and online"}}}
"#;

/// Another team's journey: an app-install discount of the same group.
const APP_INSTALL_YAML: &str = r#"
name: App install offer
trigger: {event: Application Installed}
steps:
  - {id: welcome, type: send, channel: push, offer: {group: discount, id: app-10, valid: {days: 7}},
     content: {push: {title: "10 % off your first app order", body: "Welcome"}}}
"#;

/// The jacket declares gloves and scarf as complements.
const OUTDOOR_CSV: &str = "\
id,name,price,sale_price,currency,category,complements
jacket,Rain Jacket,120,,EUR,Outdoor > Jackets,gloves|scarf
beanie,Wool Beanie,25,19.5,EUR,Outdoor > Accessories,
gloves,Leather Gloves,45,,EUR,Outdoor > Accessories,
scarf,Cashmere Scarf,80,,EUR,Outdoor > Accessories,
boots,Hiking Boots,150,,EUR,Outdoor > Shoes,
";

const OUTDOOR_STOCK_CSV: &str = "\
store_id,sku,quantity
paris,jacket,5
paris,beanie,8
";

fn web_order(user: &str, products: &[&str]) -> Value {
    let lines: Vec<Value> = products
        .iter()
        .map(|p| json!({"product_id": p, "name": p, "quantity": 1, "price": 10}))
        .collect();
    json!({"type": "track", "userId": user, "event": "Order Completed",
           "context": {"touchpoint": "web"},
           "properties": {"order_id": format!("{user}-1"), "revenue": 10, "currency": "EUR",
                          "products": lines}})
}

async fn loyalty_store_purchase_then_complements_then_offer(backend: Backend) {
    let s = Server::start(backend);
    commerce(&s, OUTDOOR_CSV, OUTDOOR_STOCK_CSV).await;
    apply(&s, LOYALTY_YAML).await;
    apply(&s, APP_INSTALL_YAML).await;
    // Orders by hand (online, so they enter nothing): the jacket goes with
    // the beanie twice (with Léa's: jacket in 3 of 5 orders, beanie in 2,
    // confidence 2/3, lift 1.67); boots alone twice.
    let batch = json!({"batch": [
        web_order("u1", &["jacket", "beanie"]),
        web_order("u2", &["jacket", "beanie"]),
        web_order("u3", &["boots"]),
        web_order("u4", &["boots"]),
    ]});
    let (code, out) = s.track("/v1/batch", batch).await;
    assert_eq!(code, 200, "{out}");
    // Léa signed up in the app with her loyalty card.
    identify(
        &s,
        "lea",
        json!({"email": "lea@example.com", "first_name": "Léa", "loyalty_id": "LC-0042"}),
    )
    .await;
    s.settle().await;
    for u in ["u1", "u2", "u3", "u4"] {
        assert!(passages(&s, u).await.is_empty(), "{u}: web orders enter nothing");
    }

    // At the till: no user id, only the card (an identity trait) and the till's id.
    let till = json!({"anonymousId": "till-7-txn-0815", "event": "Order Completed",
        "context": {"touchpoint": "store", "traits": {"loyalty_id": "LC-0042"}},
        "properties": {"order_id": "paris-0815", "store_id": "paris", "revenue": 120, "currency": "EUR",
                       "products": [{"product_id": "jacket", "name": "Rain Jacket",
                                     "quantity": 1, "price": 120}]}});
    let (code, out) = s.track("/v1/track", till).await;
    assert_eq!(code, 200, "{out}");
    s.settle().await;
    wait_for(
        || async { passages(&s, "lea").await.len() == 1 },
        "the card's owner enters the journey",
    )
    .await;
    let p = &passages(&s, "lea").await[0];
    assert_eq!(
        (p["status"].as_str(), p["step"].as_str()),
        (Some("active"), Some("next_day")),
        "{p}"
    );
    assert!(
        messages_of(&s, "lea").await.is_empty(),
        "nothing before the next day"
    );

    // The next day: what goes with the jacket. Bought together first, then
    // the declared complements; the jacket itself is never recommended.
    wait_for(
        || async { !on(&messages_of(&s, "lea").await, "email").is_empty() },
        "the e-mail the next day",
    )
    .await;
    let email = on(&messages_of(&s, "lea").await, "email").remove(0);
    let email = s.message_when(email["id"].as_str().unwrap(), "sent").await;
    assert_eq!(email["content"]["subject"], "Goes well with your purchase");
    assert_eq!(email["campaign"], "After a store purchase");
    let html = email["content"]["html"].as_str().unwrap_or_default();
    let want = [
        "<p>Wool Beanie 19.5 EUR</p>",
        "<p>Leather Gloves 45 EUR</p>",
        "<p>Cashmere Scarf 80 EUR</p>",
    ];
    let at: Vec<usize> = want
        .iter()
        .map(|w| html.find(w).unwrap_or_else(|| panic!("{w} missing from {html}")))
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "together, then complements: {html}"
    );
    assert!(
        !html.contains("Rain Jacket") && !html.contains("Hiking Boots"),
        "{html}"
    );
    assert!(
        on(&messages_of(&s, "lea").await, "push").is_empty(),
        "the promotion comes later"
    );

    // Three "days" later: the promotion, which grants the offer.
    let lea = ended(&s, "lea", "After a store purchase").await;
    assert_eq!(lea["exit_reason"], "completed", "{lea}");
    let push = on(&messages_of(&s, "lea").await, "push");
    assert_eq!(push.len(), 1, "{push:?}");
    assert_eq!(
        (
            push[0]["content"]["title"].as_str(),
            push[0]["content"]["body"].as_str()
        ),
        (Some("15 % for you"), Some("This week in store and online"))
    );
    let kinds = trace_steps(&lea);
    for want in [
        "next_day:entered",
        "next_day:waiting",
        "next_day:resumed",
        "recos:sent",
        "later:waiting",
        "later:resumed",
        "promo:sent",
        "exit:exited",
    ] {
        assert!(kinds.contains(&want.to_owned()), "{want} missing from {kinds:?}");
    }

    // She installs the app: the other journey's discount is not sent while
    // she holds the loyalty one.
    event(&s, "lea", "Application Installed", "app", json!({})).await;
    s.settle().await;
    let app = ended(&s, "lea", "App install offer").await;
    let why = trace_detail(&app, "welcome", "skipped");
    assert!(
        why.starts_with("contradictory_offer")
            && why.contains("loyalty-15")
            && why.contains("group discount"),
        "{why}"
    );
    assert_eq!(
        on(&messages_of(&s, "lea").await, "push").len(),
        1,
        "only the loyalty push"
    );
    // Someone without the loyalty offer gets the app-install one.
    identify(&s, "max", json!({"email": "max@example.com"})).await;
    event(&s, "max", "Application Installed", "app", json!({})).await;
    s.settle().await;
    ended(&s, "max", "App install offer").await;
    let push = on(&messages_of(&s, "max").await, "push");
    assert_eq!(push.len(), 1, "{push:?}");
    assert_eq!(push[0]["content"]["title"], "10 % off your first app order");
}

// ----------------------------------------------------------------- B2B lead

/// Two days and five days in the field; one and three seconds here.
const LEAD_YAML: &str = r#"
name: Lead nurture
trigger: {event: Form Submitted, where: [{property: form, op: eq, value: demo}]}
exit: {events: [{event: Opportunity Created}]}
steps:
  - {id: call, type: task, content: {title: "Call {{ traits.name }} ({{ traits.company }})",
                                     instructions: "Demo requested: {{ data.trigger.message }}",
                                     queue: sales, assignee: "{{ traits.sales_owner }}", due_in_hours: 1}}
  - {id: wait1, type: delay, for: {seconds: 1}}
  - {id: nurture1, type: send, channel: email,
     content: {email: {subject: How teams use us, html: "<p>{{ traits.company }}, here is how teams like yours use us.</p>"}}}
  - {id: wait2, type: delay, for: {seconds: 3}}
  - {id: webinar, type: send, channel: email,
     content: {email: {subject: Join our webinar, html: "<p>Thursday 4 pm: <a href=\"https://example.com/webinar\">register</a></p>"}}}
"#;

/// The open tasks of the sales queue, `?` filters added.
async fn tasks(s: &Server, filter: &str) -> Vec<Value> {
    let (code, v) = s.get(&format!("/api/v1/tasks?queue=sales{filter}")).await;
    assert_eq!(code, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

async fn b2b_lead_task_nurture_and_exit_on_opportunity(backend: Backend) {
    let s = Server::start(backend);
    apply(&s, LEAD_YAML).await;
    let leads = [
        ("nina", "Nina Rossi", "Globex", "sophie@sales.example"),
        ("marc", "Marc Weber", "Initech", "tom@sales.example"),
    ];
    for (who, name, company, owner) in leads {
        identify(
            &s,
            who,
            json!({"email": format!("{who}@{}.example", company.to_lowercase()), "name": name,
                   "company": company, "sales_owner": owner}),
        )
        .await;
    }
    s.settle().await;
    // A newsletter form is not a lead.
    event(&s, "nina", "Form Submitted", "web", json!({"form": "newsletter"})).await;
    s.settle().await;
    for (who, ..) in leads {
        event(
            &s,
            who,
            "Form Submitted",
            "web",
            json!({"form": "demo", "message": format!("{who} wants a demo")}),
        )
        .await;
    }
    s.settle().await;

    for (who, ..) in leads {
        wait_for(
            || async { passages(&s, who).await.len() == 1 },
            &format!("{who} to enter on the demo form (trigger where form = demo)"),
        )
        .await;
    }

    // Within minutes: a task for each lead's owner, due in an hour.
    wait_for(|| async { tasks(&s, "").await.len() == 2 }, "a task per lead").await;
    let all = tasks(&s, "").await;
    let task = all
        .iter()
        .find(|t| t["title"] == "Call Nina Rossi (Globex)")
        .unwrap_or_else(|| panic!("no task titled for Nina: {all:?}"))
        .clone();
    assert_eq!(
        task["assignee"], "sophie@sales.example",
        "the lead's sales owner: {task}"
    );
    assert_eq!(
        task["instructions"], "Demo requested: nina wants a demo",
        "{task}"
    );
    assert_eq!(task["status"], "open", "{task}");
    let due = task["due_at"].as_i64().unwrap() - task["created_at"].as_i64().unwrap();
    assert!((3_595_000..=3_600_000).contains(&due), "due in an hour: {task}");
    let context: Value = serde_json::from_str(task["context"].as_str().unwrap()).unwrap();
    assert_eq!(context["campaign"], "Lead nurture", "{task}");
    let toms = tasks(&s, "&assignee=tom@sales.example").await;
    assert_eq!(toms.len(), 1, "{toms:?}");
    assert_eq!(toms[0]["title"], "Call Marc Weber (Initech)");
    let task_msg = on(&messages_of(&s, "nina").await, "task");
    assert_eq!(
        task_msg.len(),
        1,
        "one task, the newsletter form made none: {task_msg:?}"
    );
    assert_eq!(task_msg[0]["id"], task["id"], "the task is the message");

    // The nurture e-mail after the first wait.
    wait_for(
        || async { on(&messages_of(&s, "nina").await, "email").len() == 1 },
        "the nurture e-mail",
    )
    .await;
    let nurture = &on(&messages_of(&s, "nina").await, "email")[0];
    assert_eq!(nurture["content"]["subject"], "How teams use us");
    let html = nurture["content"]["html"].as_str().unwrap_or_default();
    assert!(
        html.contains("Globex, here is how teams like yours use us."),
        "{html}"
    );

    // Nina's lead becomes an opportunity in the CRM: she leaves at once.
    event(
        &s,
        "nina",
        "Opportunity Created",
        "crm",
        json!({"opportunity_id": "opp-1", "amount": 12000}),
    )
    .await;
    s.settle().await;
    let nina = ended(&s, "nina", "Lead nurture").await;
    assert_eq!(nina["exit_reason"], "exit_event", "{nina}");
    assert_eq!(nina["step"], "wait2", "left during the second wait: {nina}");
    let why = trace_detail(&nina, "wait2", "exited");
    assert!(why.starts_with("exit_event: Opportunity Created"), "{why}");

    // Marc goes on to the webinar; by then Nina would have had it too.
    let marc = ended(&s, "marc", "Lead nurture").await;
    assert_eq!(marc["exit_reason"], "completed", "{marc}");
    let subjects: Vec<String> = on(&messages_of(&s, "marc").await, "email")
        .iter()
        .rev()
        .map(|m| m["content"]["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(subjects, ["How teams use us", "Join our webinar"]);
    let kinds = trace_steps(&marc);
    for want in [
        "call:entered",
        "call:sent",
        "wait1:waiting",
        "nurture1:sent",
        "wait2:waiting",
        "webinar:sent",
    ] {
        assert!(kinds.contains(&want.to_owned()), "{want} missing from {kinds:?}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let nina_mail = on(&messages_of(&s, "nina").await, "email");
    assert_eq!(nina_mail.len(), 1, "no e-mail after the exit: {nina_mail:?}");
    assert!(
        !trace_steps(&nina).iter().any(|k| k.starts_with("webinar")),
        "{nina}"
    );
}

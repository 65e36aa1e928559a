//! The country of the client's IP address, as the CDN or load balancer in
//! front of Relais passes it (`engine.country_header`): Relais ships no
//! GeoIP database, the proxy has one (docs/catalog.md).

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};

both_backends_with_config!(
    a_proxy_country_header_gives_the_country,
    no_country_header_is_trusted_by_default
);

/// Behind a CDN that passes the client's country (`CF-IPCountry` here, as
/// configured), events that report no country get it; an event's own
/// `context.location.country` wins, and `XX` (unknown) is no country.
async fn a_proxy_country_header_gives_the_country(backend: Backend) {
    let s = Server::start_with_config(backend, Some("[engine]\ncountry_header = \"CF-IPCountry\"\n"));
    let track = |user: &str, country: &'static str, body: Value| {
        let mut body = body;
        body["userId"] = json!(user);
        body["event"] = json!("App Opened");
        let s = &s;
        async move {
            let (code, out) = s
                .send(
                    "/v1/track",
                    Some(common::WRITE_KEY),
                    body.to_string().into_bytes(),
                    &[("CF-IPCountry", country)],
                )
                .await;
            assert_eq!(code, 200, "{out}");
        }
    };
    track("ida", "be", json!({})).await;
    track(
        "jon",
        "BE",
        json!({"context": {"location": {"country": "FR", "city": "Lille"}}}),
    )
    .await;
    track("kim", "XX", json!({})).await;
    s.settle().await;
    let country = |user: &'static str| {
        let s = &s;
        async move {
            let (code, p) = s.get(&format!("/api/v1/profiles/user_id:{user}")).await;
            assert_eq!(code, 200, "{p}");
            p["country"].clone()
        }
    };
    assert_eq!(country("ida").await, "BE");
    assert_eq!(country("jon").await, "FR", "the event's own country wins");
    assert_eq!(country("kim").await, Value::Null);
    // The event is kept as sent, with the country added to its context.
    let (_, tl) = s.get("/api/v1/profiles/user_id:ida/events").await;
    assert_eq!(
        tl["events"][0]["event"]["context"]["location"],
        json!({"country": "BE"}),
        "{tl}"
    );
}

/// Without `country_header`, no header is trusted.
async fn no_country_header_is_trusted_by_default(backend: Backend) {
    let s = Server::start(backend);
    let (code, out) = s
        .send(
            "/v1/track",
            Some(common::WRITE_KEY),
            json!({"userId": "lou", "event": "App Opened"})
                .to_string()
                .into_bytes(),
            &[("CF-IPCountry", "BE")],
        )
        .await;
    assert_eq!(code, 200, "{out}");
    s.settle().await;
    let (_, p) = s.get("/api/v1/profiles/user_id:lou").await;
    assert_eq!(p["country"], Value::Null, "{p}");
}

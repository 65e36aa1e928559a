use super::*;
use serde_json::json;

fn chatelet() -> Value {
    json!({
        "id": "paris-chatelet", "name": "Relais Paris Châtelet",
        "street": "1 rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "fr",
        "latitude": 48.8584, "longitude": "2.3470", "time_zone": "Europe/Paris",
        "hours": "Mo-Sa 10:00-20:00; Su off", "services": ["Click & Collect", "returns"]
    })
}

fn shop(v: Value) -> Result<Shop, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[test]
fn reads_a_shop_and_writes_it_back() {
    let s = shop(chatelet()).unwrap();
    assert_eq!(s.id.as_str(), "paris-chatelet");
    assert_eq!(s.address.country.as_deref(), Some("FR"));
    assert_eq!((s.location.lat(), s.location.lon()), (48.8584, 2.347));
    assert!(s.offers(Service::ClickAndCollect) && s.offers(Service::Returns));
    assert!(!s.offers(Service::ShipFromStore));
    let back = serde_json::to_value(&s).unwrap();
    assert_eq!(back["services"], json!(["click_and_collect", "returns"]));
    assert_eq!(back["hours"], "Mo-Sa 10:00-20:00; Su off");
    assert_eq!(shop(back).unwrap(), s);
}

#[test]
fn open_on_the_shop_clock_through_summer_time() {
    let s = shop(chatelet()).unwrap();
    let at = |t: &str| s.is_open_at(t.parse().unwrap());
    // Monday 1 July 2024, CEST (UTC+2): 08:30Z is 10:30 in Paris.
    assert_eq!(at("2024-07-01T08:30:00Z"), Some(true));
    assert_eq!(at("2024-07-01T07:59:00Z"), Some(false));
    assert_eq!(at("2024-07-01T17:59:00Z"), Some(true));
    assert_eq!(at("2024-07-01T18:00:00Z"), Some(false));
    // Monday 8 January 2024, CET (UTC+1): the same 08:30Z is 09:30, closed.
    assert_eq!(at("2024-01-08T08:30:00Z"), Some(false));
    assert_eq!(at("2024-01-08T09:00:00Z"), Some(true));
    // Sunday 7 July 2024.
    assert_eq!(at("2024-07-07T12:00:00Z"), Some(false));
    let mut unknown = s.clone();
    unknown.hours = None;
    assert_eq!(unknown.is_open_at("2024-07-01T08:30:00Z".parse().unwrap()), None);
}

#[test]
fn errors_name_the_field() {
    let bad = |key: &str, value: Value| {
        let mut v = chatelet();
        v[key] = value;
        shop(v).unwrap_err()
    };
    assert!(bad("latitude", json!(95.0)).starts_with("latitude: 95 is not within -90..90"));
    assert!(bad("longitude", json!("east")).starts_with("longitude: 'east' is not a number"));
    assert!(bad("longitude", Value::Null).starts_with("longitude: is required"));
    assert!(
        bad("time_zone", json!("Europe/Parys")).starts_with("time_zone: 'Europe/Parys' is not a known IANA")
    );
    assert!(
        bad("time_zone", json!("+02:00")).starts_with("time_zone: '+02:00' is not an IANA time zone name")
    );
    assert!(bad("hours", json!("Mo-Sa 10h-20h")).starts_with("hours: '10h' is not a time"));
    assert!(bad("services", json!(["valet"])).starts_with("services[0]: 'valet' is not one of"));
    assert!(bad("country", json!("France")).starts_with("country: 'France' is not an ISO 3166"));
    assert!(bad("name", json!(" ")).starts_with("name: is required"));
    assert!(bad("id", json!("a|b")).starts_with("id: 'a|b' contains '|'"));
    let mut v = chatelet();
    v["phone"] = json!("+33 1");
    assert!(shop(v).unwrap_err().starts_with("unknown field `phone`"));
}

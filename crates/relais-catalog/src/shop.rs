//! Physical shops: address, position, opening hours in their time zone, and
//! the services they offer.
//!
//! Named `Shop` rather than "store" because `Store` in Relais is the
//! database trait; files and events still say `store_id`, the retail word.

mod hours;

pub use hours::{OpeningHours, Span};

use crate::error::FieldError;
use crate::geo::GeoPoint;
use crate::ids::ShopId;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

const MAX_TEXT: usize = 500;

/// What a shop offers besides selling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    ClickAndCollect,
    Returns,
    ShipFromStore,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::ClickAndCollect, Service::Returns, Service::ShipFromStore];

    /// Reads `click_and_collect`, `Click & Collect`, `click-and-collect`.
    pub fn parse(s: &str) -> Result<Service, String> {
        let norm: String = s
            .trim()
            .to_ascii_lowercase()
            .replace('&', "and")
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        Service::ALL
            .into_iter()
            .find(|x| x.as_str() == norm)
            .ok_or_else(|| format!("'{s}' is not one of click_and_collect, returns, ship_from_store"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Service::ClickAndCollect => "click_and_collect",
            Service::Returns => "returns",
            Service::ShipFromStore => "ship_from_store",
        }
    }
}

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Service::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An IANA time zone (`Europe/Paris`), checked against the system's tz
/// database when read, kept with its rules.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    pub fn new(name: &str) -> Result<Zone, String> {
        let name = name.trim();
        // Fixed offsets would be wrong half the year: a shop follows its region's rules.
        if !name.contains('/') && name != "UTC" {
            return Err(format!(
                "'{name}' is not an IANA time zone name like Europe/Paris"
            ));
        }
        let tz =
            jiff::tz::TimeZone::get(name).map_err(|_| format!("'{name}' is not a known IANA time zone"))?;
        Ok(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }
}

impl PartialEq for Zone {
    fn eq(&self, o: &Zone) -> bool {
        self.name == o.name
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Zone::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
}

/// One physical shop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ShopWire", into = "ShopWire")]
pub struct Shop {
    pub id: ShopId,
    pub name: String,
    pub address: Address,
    pub location: GeoPoint,
    pub time_zone: Zone,
    /// `None` when unknown (then whether it is open is unknown too).
    pub hours: Option<OpeningHours>,
    pub services: BTreeSet<Service>,
}

impl Shop {
    /// Whether the shop is open at `at`, read on its local clock (so summer
    /// time is the shop's, not the server's); `None` if its hours are unknown.
    pub fn is_open_at(&self, at: jiff::Timestamp) -> Option<bool> {
        let hours = self.hours.as_ref()?;
        let local = at.to_zoned(self.time_zone.tz().clone());
        let weekday = local.weekday().to_monday_zero_offset() as usize;
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        Some(hours.is_open(weekday, minute))
    }

    pub fn offers(&self, service: Service) -> bool {
        self.services.contains(&service)
    }
}

/// The flat form of a shop in JSON, NDJSON and CSV (same names; in CSV,
/// `services` is `click_and_collect|returns`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShopWire {
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// A number, or a numeric string (CSV).
    pub latitude: Option<Value>,
    pub longitude: Option<Value>,
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
}

fn text(field: &str, v: Option<String>) -> Result<Option<String>, FieldError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.chars().count() > MAX_TEXT => Err(FieldError::new(
            field,
            format!("is longer than {MAX_TEXT} characters"),
        )),
        Some(s) => Ok(Some(s.to_owned())),
    }
}

fn coordinate(field: &str, v: Option<Value>) -> Result<f64, FieldError> {
    let n = match v {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| FieldError::new(field, format!("'{s}' is not a number")))?,
        ),
        Some(_) => return Err(FieldError::new(field, "must be a number")),
    };
    n.ok_or_else(|| FieldError::new(field, "is required"))
}

impl TryFrom<ShopWire> for Shop {
    type Error = FieldError;
    fn try_from(w: ShopWire) -> Result<Shop, FieldError> {
        let id = w.id.ok_or_else(|| FieldError::new("id", "is required"))?;
        let id = ShopId::new(id).map_err(|r| FieldError::new("id", r))?;
        let name = text("name", w.name)?.ok_or_else(|| FieldError::new("name", "is required"))?;
        let country = text("country", w.country)?
            .map(|c| {
                let up = c.to_ascii_uppercase();
                match up.len() == 2 && up.bytes().all(|b| b.is_ascii_uppercase()) {
                    true => Ok(up),
                    false => Err(FieldError::new(
                        "country",
                        format!("'{c}' is not an ISO 3166 two-letter code"),
                    )),
                }
            })
            .transpose()?;
        let location = GeoPoint::new(
            coordinate("latitude", w.latitude)?,
            coordinate("longitude", w.longitude)?,
        )?;
        let zone =
            text("time_zone", w.time_zone)?.ok_or_else(|| FieldError::new("time_zone", "is required"))?;
        let time_zone = Zone::new(&zone).map_err(|r| FieldError::new("time_zone", r))?;
        let hours = text("hours", w.hours)?
            .map(|h| OpeningHours::parse(&h))
            .transpose()
            .map_err(|r| FieldError::new("hours", r))?;
        let mut services = BTreeSet::new();
        for (i, s) in w.services.iter().enumerate() {
            services.insert(Service::parse(s).map_err(|r| FieldError::new(format!("services[{i}]"), r))?);
        }
        Ok(Shop {
            id,
            name,
            address: Address {
                street: text("street", w.street)?,
                city: text("city", w.city)?,
                postal_code: text("postal_code", w.postal_code)?,
                region: text("region", w.region)?,
                country,
            },
            location,
            time_zone,
            hours,
            services,
        })
    }
}

impl From<Shop> for ShopWire {
    fn from(s: Shop) -> ShopWire {
        ShopWire {
            id: Some(s.id.into()),
            name: Some(s.name),
            street: s.address.street,
            city: s.address.city,
            postal_code: s.address.postal_code,
            region: s.address.region,
            country: s.address.country,
            latitude: Some(Value::from(s.location.lat())),
            longitude: Some(Value::from(s.location.lon())),
            time_zone: Some(s.time_zone.name().to_owned()),
            hours: s.hours.map(|h| h.to_string()),
            services: s.services.iter().map(|x| x.as_str().to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests;

//! Who a customer is: drawn once, before the simulation, from the customer's
//! own random stream.

use crate::catalog::Catalog;
use crate::data::{self, Zone};
use crate::params::*;
use crate::rng::Rng;

/// One browser or app install, with its own `anonymousId`.
pub struct Device {
    pub app: bool,
    pub anonymous_id: String,
    /// Web: index in `WEB_AGENTS`; app: index in `APP_DEVICES`.
    pub model: usize,
    pub ip: String,
}

pub struct StoreShopper {
    pub loyalty_id: String,
    /// The card is linked to the online account: receipts carry the `userId`.
    pub linked: bool,
    pub home_store: usize,
    pub visits: u32,
}

pub struct B2b {
    pub company: u64,
    pub job_title: &'static str,
}

pub struct Persona {
    pub index: u64,
    pub zone: &'static Zone,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: String,
    /// `Some` for account holders.
    pub user_id: Option<String>,
    pub signs_up: bool,
    pub phone: Option<String>,
    /// Consent stated at the first identify: (email, sms) statuses.
    pub consent: Option<(&'static str, Option<&'static str>)>,
    pub devices: Vec<Device>,
    pub favourite_categories: [usize; 2],
    pub sessions: u32,
    pub store: Option<StoreShopper>,
    pub b2b: Option<B2b>,
}

/// A per-30-days count scaled to `days`: the integer part, plus one more
/// with the probability of the fractional part.
pub fn scale(rng: &mut Rng, per_30: u32, days: u32) -> u32 {
    let whole = u64::from(per_30) * u64::from(days);
    let (n, rem) = (whole / 30, whole % 30);
    n as u32 + u32::from(rng.below(30) < rem)
}

impl Persona {
    pub fn draw(rng: &mut Rng, index: u64, days: u32, b2b_share: f64) -> Persona {
        let zones: Vec<(usize, u32)> = data::ZONES
            .iter()
            .enumerate()
            .map(|(i, z)| (i, z.weight))
            .collect();
        let zone = &data::ZONES[rng.weighted(&zones)];
        let first_name = rng.pick(data::FIRST_NAMES);
        let last_name = rng.pick(data::LAST_NAMES);
        let email = format!(
            "{}.{}.{index}@example.com",
            first_name.to_ascii_lowercase(),
            last_name.to_ascii_lowercase()
        );
        let b2b = rng.chance(b2b_share).then(|| B2b {
            company: rng.below(COMPANY_POOL),
            job_title: rng.pick(data::JOB_TITLES),
        });
        let account = b2b.is_some() || rng.chance(ACCOUNT_SHARE);
        let user_id = account.then(|| format!("user-{index}"));
        let signs_up = account && rng.chance(SIGNUP_SHARE);
        let phone = (account && rng.chance(PHONE_SHARE)).then(|| phone_of(index));
        let consent = (account && rng.chance(CONSENT_STATED_SHARE)).then(|| {
            let status = |yes: bool| if yes { "subscribed" } else { "unsubscribed" };
            let email = status(rng.chance(EMAIL_SUBSCRIBED_SHARE));
            let sms = phone.is_some().then(|| status(rng.chance(SMS_SUBSCRIBED_SHARE)));
            (email, sms)
        });
        let devices = match rng.weighted(DEVICE_MIX) {
            DeviceMix::WebOnly => vec![web_device(rng)],
            DeviceMix::AppOnly => vec![app_device(rng)],
            DeviceMix::Both => vec![web_device(rng), app_device(rng)],
        };
        let cats = Catalog::categories() as u64;
        let fav = rng.below(cats) as usize;
        let other = (fav + 1 + rng.below(cats - 1) as usize) % cats as usize;
        let sessions = {
            let per_30 = rng.weighted(SESSIONS_PER_30_DAYS);
            scale(rng, per_30, days)
        };
        let store = rng.chance(STORE_SHOPPER_SHARE).then(|| {
            let homes = data::stores_for(zone.tz);
            StoreShopper {
                loyalty_id: format!("LOY-{index:08}"),
                linked: account && rng.chance(LOYALTY_LINKED_SHARE),
                home_store: rng.pick(homes),
                visits: {
                    let per_30 = rng.weighted(STORE_VISITS_PER_30_DAYS);
                    scale(rng, per_30, days)
                },
            }
        });
        Persona {
            index,
            zone,
            first_name,
            last_name,
            email,
            user_id,
            signs_up,
            phone,
            consent,
            devices,
            favourite_categories: [fav, other],
            sessions,
            store,
            b2b,
        }
    }
}

/// Clearly synthetic French mobile numbers, unique per customer index.
pub fn phone_of(index: u64) -> String {
    if index < 10_000_000 {
        format!("+3361{index:07}")
    } else {
        format!("+3361{index}")
    }
}

fn web_device(rng: &mut Rng) -> Device {
    let mobile = rng.chance(MOBILE_WEB_SHARE);
    let agents: Vec<usize> = (0..data::WEB_AGENTS.len())
        .filter(|&i| data::WEB_AGENTS[i].1 == mobile)
        .collect();
    Device {
        app: false,
        anonymous_id: rng.uuid(),
        model: rng.pick(&agents),
        ip: ip(rng),
    }
}

fn app_device(rng: &mut Rng) -> Device {
    Device {
        app: true,
        anonymous_id: rng.uuid(),
        model: rng.below(data::APP_DEVICES.len() as u64) as usize,
        ip: ip(rng),
    }
}

/// An address in the documentation ranges (RFC 5737), never a real host.
fn ip(rng: &mut Rng) -> String {
    let net = rng.pick(&["192.0.2", "198.51.100", "203.0.113"]);
    format!("{net}.{}", rng.range(1, 254))
}

/// Name, industry and size of company `c`, the same for every lead of it.
pub fn company(seed: u64, c: u64) -> (String, &'static str, u32) {
    let words = data::COMPANY_WORDS;
    let name = format!(
        "{} {}",
        words[c as usize % words.len()],
        data::COMPANY_SUFFIXES[(c as usize / words.len()) % data::COMPANY_SUFFIXES.len()]
    );
    let mut rng = Rng::for_stream(seed, crate::COMPANY_STREAM, c);
    let industry = rng.pick(data::INDUSTRIES);
    let bucket = rng.weighted(COMPANY_EMPLOYEES);
    let employees = rng.range(i64::from(bucket / 5).max(2), i64::from(bucket)) as u32;
    (name, industry, employees)
}

//! Small embedded lists: names, time zones, devices, stores, campaigns,
//! companies. Everything here is fictitious.

/// A customer's time zone: IANA name, locale, standard (winter) offset from
/// UTC in minutes and weight. Activity hours use the fixed standard offset
/// (daylight saving time is not modelled) so the output does not depend on
/// the machine's time-zone database.
pub struct Zone {
    pub tz: &'static str,
    pub locale: &'static str,
    pub offset_min: i32,
    pub weight: u32,
}

pub const ZONES: &[Zone] = &[
    zone("Europe/Paris", "fr-FR", 60, 35),
    zone("Europe/London", "en-GB", 0, 15),
    zone("Europe/Berlin", "de-DE", 60, 12),
    zone("Europe/Madrid", "es-ES", 60, 8),
    zone("Europe/Rome", "it-IT", 60, 6),
    zone("Europe/Amsterdam", "nl-NL", 60, 4),
    zone("Europe/Brussels", "fr-BE", 60, 4),
    zone("Europe/Dublin", "en-IE", 0, 2),
    zone("America/New_York", "en-US", -300, 8),
    zone("America/Chicago", "en-US", -360, 2),
    zone("America/Los_Angeles", "en-US", -480, 3),
    zone("America/Toronto", "fr-CA", -300, 1),
];

const fn zone(tz: &'static str, locale: &'static str, offset_min: i32, weight: u32) -> Zone {
    Zone {
        tz,
        locale,
        offset_min,
        weight,
    }
}

pub const FIRST_NAMES: &[&str] = &[
    "Alice", "Hugo", "Emma", "Louis", "Chloe", "Lucas", "Lea", "Gabriel", "Manon", "Jules", "Camille",
    "Adam", "Sarah", "Nathan", "Ines", "Arthur", "Olivia", "Noah", "Amelia", "Oliver", "Isla", "George",
    "Mia", "Leo", "Sofia", "Mateo", "Lucia", "Marco", "Giulia", "Anna", "Felix", "Lena", "Jonas", "Emily",
    "James", "Grace", "Daniel", "Chiara", "Pablo", "Nina",
];

pub const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Wilson",
    "Evans",
    "Muller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Garcia",
    "Lopez",
    "Martinez",
    "Rossi",
    "Russo",
    "Ferrari",
    "Bianchi",
    "Janssens",
    "Peeters",
    "Murphy",
    "Kelly",
    "Johnson",
    "Miller",
    "Davis",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
];

/// Browser user agents: (user agent, is a phone).
pub const WEB_AGENTS: &[(&str, bool)] = &[
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", false),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", false),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", false),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", true),
    ("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", true),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", true),
];

/// Phones running the app: (manufacturer, model, os name, os version, device type).
pub const APP_DEVICES: &[(&str, &str, &str, &str, &str)] = &[
    ("Apple", "iPhone15,2", "iOS", "18.1", "ios"),
    ("Apple", "iPhone16,1", "iOS", "18.2", "ios"),
    ("Apple", "iPhone14,5", "iOS", "17.6", "ios"),
    ("samsung", "SM-S921B", "Android", "14", "android"),
    ("Google", "Pixel 8", "Android", "15", "android"),
    ("Xiaomi", "23049PCD8G", "Android", "14", "android"),
];

pub const APP_NAME: &str = "Maison Relais";
pub const APP_VERSION: &str = "4.12.0";
pub const APP_BUILD: &str = "41200";
pub const SHOP_URL: &str = "https://shop.example.com";

/// Stores: (store id, city).
pub const STORES: &[(&str, &str)] = &[
    ("store-01", "Paris Rivoli"),
    ("store-02", "Paris La Defense"),
    ("store-03", "Lyon Part-Dieu"),
    ("store-04", "Marseille Terrasses"),
    ("store-05", "Lille Euralille"),
    ("store-06", "Bordeaux Sainte-Catherine"),
    ("store-07", "Toulouse Wilson"),
    ("store-08", "Nantes Atlantis"),
    ("store-09", "London Oxford Street"),
    ("store-10", "Manchester Arndale"),
    ("store-11", "Berlin Alexa"),
    ("store-12", "Munich Pasing"),
    ("store-13", "Madrid Gran Via"),
    ("store-14", "Barcelona Diagonal"),
    ("store-15", "Milan Duomo"),
    ("store-16", "Rome Termini"),
    ("store-17", "Amsterdam Kalverstraat"),
    ("store-18", "Brussels Louise"),
    ("store-19", "Dublin Grafton"),
    ("store-20", "New York SoHo"),
    ("store-21", "Chicago Michigan Ave"),
    ("store-22", "Los Angeles Grove"),
    ("store-23", "Toronto Eaton"),
    ("store-24", "Nice Cap 3000"),
];

/// The stores a customer of a time zone may call home (indices in `STORES`).
pub fn stores_for(tz: &str) -> &'static [usize] {
    match tz {
        "Europe/Paris" => &[0, 1, 2, 3, 4, 5, 6, 7, 23],
        "Europe/London" => &[8, 9],
        "Europe/Berlin" => &[10, 11],
        "Europe/Madrid" => &[12, 13],
        "Europe/Rome" => &[14, 15],
        "Europe/Amsterdam" => &[16],
        "Europe/Brussels" => &[17],
        "Europe/Dublin" => &[18],
        "America/New_York" => &[19],
        "America/Chicago" => &[20],
        "America/Los_Angeles" => &[21],
        _ => &[22],
    }
}

pub const PAYMENT_METHODS: &[(&str, u32)] =
    &[("card", 70), ("contactless", 20), ("cash", 6), ("gift_card", 4)];

/// Names of marketing campaigns, cycled through.
pub const EMAIL_CAMPAIGNS: &[&str] = &[
    "New arrivals",
    "Weekend offer",
    "Style guide",
    "Back in stock",
    "Members week",
    "Winter sale",
    "Best sellers",
    "Gift ideas",
];
pub const SMS_CAMPAIGNS: &[&str] = &["Flash sale", "Store event", "Last chance", "Private sale"];

/// Call reasons after an order / otherwise, with weights.
pub const ORDER_CALL_REASONS: &[(&str, u32)] = &[
    ("order_status", 45),
    ("delivery_issue", 25),
    ("return", 20),
    ("complaint", 10),
];
pub const OTHER_CALL_REASONS: &[(&str, u32)] = &[
    ("product_question", 50),
    ("account", 30),
    ("store_information", 20),
];
pub const CALL_OUTCOMES: &[(&str, u32)] = &[("resolved", 80), ("escalated", 12), ("callback", 8)];

pub const JOB_TITLES: &[&str] = &[
    "Office Manager",
    "Purchasing Manager",
    "Head of Procurement",
    "Facilities Coordinator",
    "Operations Director",
    "Store Designer",
    "Founder",
];
pub const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Bluebird",
    "Harbor",
    "Silverline",
    "Cedar",
    "Atlas",
    "Lumen",
    "Orchard",
    "Summit",
    "Meridian",
    "Beacon",
    "Juniper",
    "Granite",
    "Riverside",
    "Aurora",
    "Kestrel",
    "Maple",
    "Oakridge",
    "Pioneer",
    "Willow",
];
pub const COMPANY_SUFFIXES: &[&str] = &[
    "Studio",
    "Hotels",
    "Offices",
    "Group",
    "Interiors",
    "Events",
    "Labs",
    "Retail",
];
pub const INDUSTRIES: &[&str] = &[
    "Hospitality",
    "Real Estate",
    "Architecture",
    "Events",
    "Professional Services",
    "Retail",
    "Healthcare",
    "Education",
];

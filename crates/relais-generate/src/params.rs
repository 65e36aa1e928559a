//! Every distribution of the simulation, with its parameter. `docs/generate.md`
//! lists the same values; change both together.
//!
//! Tables are `(value, integer weight)`; shares and rates are probabilities.
//! "Per 30 days" counts are scaled to the simulated period.

/// Which devices a customer browses on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMix {
    WebOnly,
    AppOnly,
    Both,
}

pub const DEVICE_MIX: &[(DeviceMix, u32)] = &[
    (DeviceMix::WebOnly, 45),
    (DeviceMix::AppOnly, 20),
    (DeviceMix::Both, 35),
];
/// Among web devices, the share that are phones (the rest are desktops).
pub const MOBILE_WEB_SHARE: f64 = 0.55;
/// With two devices, the share of sessions on the app.
pub const APP_SESSION_SHARE: f64 = 0.5;

// --- Online sessions ------------------------------------------------------

/// Online sessions per customer per 30 days (mean 4.35).
pub const SESSIONS_PER_30_DAYS: &[(u32, u32)] = &[
    (1, 20),
    (2, 18),
    (3, 15),
    (4, 12),
    (5, 10),
    (6, 8),
    (8, 7),
    (10, 5),
    (14, 3),
    (20, 2),
];
/// Local hour of an online session start, weights for 00h..23h.
pub const ONLINE_HOUR_WEIGHTS: [u32; 24] = [
    2, 1, 1, 1, 1, 1, 2, 4, 5, 6, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 10, 10, 7, 4,
];
/// Products viewed in one session (mean 2.37).
pub const PRODUCTS_VIEWED_PER_SESSION: &[(u32, u32)] = &[
    (0, 15),
    (1, 25),
    (2, 22),
    (3, 15),
    (4, 10),
    (5, 7),
    (7, 4),
    (10, 2),
];
/// Chance that a session opens a category listing before the products.
pub const CATEGORY_PAGE_CHANCE: f64 = 0.5;
/// Chance that a viewed product comes from one of the customer's two
/// favourite categories (otherwise from the whole catalog).
pub const FAVOURITE_CATEGORY_CHANCE: f64 = 0.6;
/// Chance that a viewed product is added to the cart.
pub const ADD_TO_CART_CHANCE: f64 = 0.22;
/// Quantity of one add to cart (mean 1.18).
pub const QUANTITY: &[(u32, u32)] = &[(1, 85), (2, 12), (3, 3)];
/// Chance, per session that ends with a non-empty cart, of removing one line.
pub const REMOVE_FROM_CART_CHANCE: f64 = 0.08;
/// Chance, per session that ends with a non-empty cart, of a `Cart Viewed`.
pub const CART_VIEW_CHANCE: f64 = 0.6;
/// Chance, per session that ends with a non-empty cart, of a checkout.
pub const CHECKOUT_CHANCE: f64 = 0.2;
/// Chance that a started checkout ends in `Order Completed`.
pub const ORDER_AFTER_CHECKOUT: f64 = 0.75;
/// Chance that an online order uses the coupon, and its discount in percent.
pub const COUPON_CHANCE: f64 = 0.1;
pub const COUPON_PERCENT: i64 = 10;
pub const COUPON_CODE: &str = "WELCOME10";
/// Seconds between two views of a session (triangular).
pub const SECONDS_BETWEEN_VIEWS: (i64, i64) = (5, 120);

// --- Identity and consent ---------------------------------------------------

/// Customers who have (or open) an account and log in.
pub const ACCOUNT_SHARE: f64 = 0.55;
/// Account holders who sign up during the period (`Signed Up`).
pub const SIGNUP_SHARE: f64 = 0.2;
/// Chance of logging in during a session on a device not yet logged in
/// (account holders always log in to check out).
pub const LOGIN_CHANCE_PER_SESSION: f64 = 0.45;
/// App sign-ups that also send an `alias` (anonymousId → userId).
pub const ALIAS_ON_APP_SIGNUP: f64 = 0.5;
/// Account holders who gave a phone number.
pub const PHONE_SHARE: f64 = 0.6;
/// Account holders whose first identify carries a `consent` object.
pub const CONSENT_STATED_SHARE: f64 = 0.75;
/// Of those, subscribed to marketing e-mail / SMS (SMS only with a phone).
pub const EMAIL_SUBSCRIBED_SHARE: f64 = 0.65;
pub const SMS_SUBSCRIBED_SHARE: f64 = 0.35;

// --- Stores -----------------------------------------------------------------

/// Customers who shop in store with a loyalty card.
pub const STORE_SHOPPER_SHARE: f64 = 0.3;
/// Account holders among store shoppers whose card is linked to the account
/// (their till receipts carry the `userId`).
pub const LOYALTY_LINKED_SHARE: f64 = 0.6;
/// Store visits with a purchase per 30 days (mean 1.96).
pub const STORE_VISITS_PER_30_DAYS: &[(u32, u32)] = &[(1, 45), (2, 30), (3, 15), (4, 7), (6, 3)];
/// Articles in an in-store basket (mean 2.68).
pub const STORE_BASKET_ITEMS: &[(u32, u32)] = &[(1, 30), (2, 25), (3, 18), (4, 12), (5, 8), (6, 5), (8, 2)];
/// Chance that a visit is to the customer's home store.
pub const HOME_STORE_CHANCE: f64 = 0.8;
/// Local opening hours of the stores (visits start in [open, close)).
pub const STORE_HOURS: (i64, i64) = (9, 19);

// --- Call centre --------------------------------------------------------------

/// Chance of a call within 1–4 days after an order (customers with a phone).
pub const CALL_AFTER_ORDER_CHANCE: f64 = 0.12;
/// Chance per 30 days of a call not about an order.
pub const OTHER_CALL_PER_30_DAYS: f64 = 0.05;
/// Call duration in seconds (triangular).
pub const CALL_SECONDS: (i64, i64) = (45, 1200);
/// Local opening hours of the call centre.
pub const CALL_HOURS: (i64, i64) = (8, 20);

// --- E-mail and SMS -----------------------------------------------------------

/// Marketing e-mail campaigns go out on local days `d` with `d % 7` in this
/// list (two a week), at this local hour plus up to 45 minutes of batching
/// (uniform).
pub const EMAIL_CAMPAIGN_DAYS_MOD_7: [i64; 2] = [1, 4];
pub const EMAIL_SEND_HOUR: i64 = 10;
pub const EMAIL_SEND_SPREAD_MINUTES: i64 = 45;
/// SMS campaigns: one a week, at 17:30 local plus up to 10 minutes.
pub const SMS_CAMPAIGN_DAYS_MOD_7: [i64; 1] = [5];
pub const SMS_SEND_MINUTE_OF_DAY: i64 = 17 * 60 + 30;
pub const SMS_SEND_SPREAD_MINUTES: i64 = 10;
/// Share of subscribed, known customers targeted by one campaign.
pub const CAMPAIGN_TARGET_SHARE: f64 = 0.8;
/// Opens per delivered e-mail; clicks and unsubscribes per open.
pub const EMAIL_OPEN_RATE: f64 = 0.3;
pub const EMAIL_CLICK_RATE: f64 = 0.15;
pub const EMAIL_UNSUBSCRIBE_RATE: f64 = 0.02;
/// Delay from delivery to open: (bucket, weight), the buckets being
/// 1–120 minutes, 2–12 hours and 12–48 hours (uniform within).
pub const OPEN_DELAY: &[(u8, u32)] = &[(0, 50), (1, 30), (2, 20)];
/// Clicks and STOP replies per delivered SMS.
pub const SMS_CLICK_RATE: f64 = 0.08;
pub const SMS_STOP_RATE: f64 = 0.015;

// --- Money ------------------------------------------------------------------------

pub const CURRENCY: &str = "EUR";
/// VAT included in prices, in percent.
pub const VAT_PERCENT: i64 = 20;
/// Online shipping fee, waived from the threshold (cents).
pub const SHIPPING_CENTS: i64 = 490;
pub const FREE_SHIPPING_FROM_CENTS: i64 = 5000;

// --- B2B --------------------------------------------------------------------------

/// Companies B2B leads are drawn from, uniformly (several leads can share one).
pub const COMPANY_POOL: u64 = 160;
/// Employees of a company (uniform bucket, then uniform within it).
pub const COMPANY_EMPLOYEES: &[(u32, u32)] = &[(10, 35), (50, 30), (250, 20), (1000, 10), (5000, 5)];

/// Bounds on the number of customers reported between two progress calls.
pub const PROGRESS_EVERY: u64 = 1000;

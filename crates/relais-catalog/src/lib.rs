//! Commerce context for Relais: the product catalog, physical shops with
//! their stock and position, the signals that become "Price Dropped",
//! "Back In Stock" and "Low Stock", and recommendations.
//!
//! Pure domain code: no database, no HTTP. The store engines, the engine's
//! importers and the API call into it; readers of import files take any
//! `Read`/`BufRead` and stream row by row.
//!
//! # Model
//!
//! - [`product::Product`]: id, own SKU, name, description, category path
//!   (`["Women", "Shoes", "Sneakers"]`), brand, price and sale price as
//!   integers of the currency's minor unit (ISO 4217, exponent from the
//!   standard: `19.99 EUR` is 1999, `1500 JPY` is 1500; see [`currency`]),
//!   image and page URLs, availability (`in_stock`, `out_of_stock`,
//!   `preorder`, `discontinued`), declared complements, custom attributes.
//!   [`product::Variant`]: a SKU of a product with its options and what
//!   differs (price, sale price, availability). A product without variants
//!   is its own stock-keeping unit (its `sku`, else its `id`).
//! - [`catalog::Catalog`]: products and variants in memory, every SKU's
//!   owner, bulk upserts that report price drops, and the link from what an
//!   e-commerce event names (`product_id`, `sku`) to an entry.
//! - [`shop::Shop`]: a physical shop (`store_id` in files: `Store` is the
//!   database in Relais): address, position, IANA time zone, weekly
//!   opening hours (`Mo-Sa 10:00-20:00; Su off`), services.
//! - [`stock::StockBook`]: units per (location, SKU), where a location is a
//!   shop or an online warehouse; set or delta updates return the level
//!   transition and its signals.
//! - [`geo`] and [`query`]: great-circle distances and the exact nearest
//!   shop with stock within a radius; a product's availability online and
//!   in shops; where a customer is (home shop, last location).
//! - [`price`]: effective price, drops, "below what the customer saw".
//! - [`recommend`]: frequently bought together (support, confidence, lift),
//!   complements, popular in category, recently viewed; bought and
//!   out-of-stock products left out.
//! - [`events`]: the properties of the events above, per product and per
//!   interested profile.
//! - [`bench`](mod@bench): figures over seeded synthetic data.
//!
//! # File formats
//!
//! Every file is CSV (header line, comma, double quotes, cells trimmed, an
//! empty cell is an absent value; lists inside a cell are separated by `|`)
//! or NDJSON (one JSON object per line, blank lines skipped, same names).
//! Unknown columns or fields are refused, so a typo is an error rather than
//! a silently lost value. A bad row is reported with its line and reason
//! ([`RowError`]); the rows around it are still read.
//!
//! **Catalog** ([`import::catalog_csv`], [`import::catalog_ndjson`]): one
//! row per product or variant; a row with a `parent_id` is a variant, and
//! products come before their variants.
//!
//! | column | product | variant |
//! |---|---|---|
//! | `id` | required | its SKU if `sku` is empty |
//! | `parent_id` | — | required: the product's id |
//! | `sku` | optional own SKU | the SKU |
//! | `name`, `image_url`, `url` | `name` required | optional |
//! | `description`, `brand` | optional | refused |
//! | `category` | `Women > Shoes > Sneakers` (JSON: string or array) | refused |
//! | `price`, `sale_price` | decimal, `.` separator; `price` required | optional, replace the product's |
//! | `currency` | ISO 4217, required | required with a price; must be the product's |
//! | `availability` | `in_stock` (default), `out_of_stock`, `preorder`, `discontinued`; `in stock` is read too | optional |
//! | `complements` | `p2\|p3` (JSON: array) | refused |
//! | `attr.<name>` | custom attribute (JSON: `attributes` object, any value) | option such as `attr.size` |
//!
//! **Shops** ([`import::shops_csv`], [`import::shops_ndjson`]): `id`, `name`
//! (required), `street`, `city`, `postal_code`, `region`, `country` (ISO
//! 3166 two letters), `latitude` (-90..90), `longitude` (-180..180),
//! `time_zone` (IANA, required), `hours` (see [`shop::OpeningHours`];
//! empty: unknown), `services` (`click_and_collect|returns|ship_from_store`).
//!
//! **Stock** ([`import::stock_csv`], [`import::stock_ndjson`]): `store_id`,
//! `sku`, `quantity`, and optionally `mode` (`set` or `delta`; an empty cell
//! or a missing column takes the mode given for the file). A level to set
//! must not be negative; a delta may be.

pub mod bench;
pub mod catalog;
pub mod currency;
pub mod error;
pub mod events;
pub mod geo;
pub mod ids;
pub mod import;
pub mod price;
pub mod product;
pub mod query;
pub mod recommend;
mod rng;
pub mod shop;
pub mod stock;

pub use catalog::Catalog;
pub use error::{FieldError, RowError};
pub use ids::{ProductId, ShopId};
pub use query::ShopDirectory;
pub use stock::StockBook;

//! ISO 4217 currencies and exact amounts in minor units.
//!
//! Prices are integers of the currency's minor unit (cents for EUR, yen for
//! JPY, fils for KWD): a price drop is an integer comparison, sums are exact,
//! and `19.99` read from a feed is 1999, never 19.989999…. The exponent comes
//! from the ISO list below, so an amount with more decimals than the currency
//! has (`19.999 EUR`) is refused rather than silently rounded.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Active ISO 4217 codes, sorted, four bytes apiece ("AED ") so that the
/// list can be binary searched without a table of structs. Funds codes
/// (BOV, CHE, …) are included because some feeds use them; precious metals
/// and test codes (XAU, XTS, XXX) are not currencies a price is set in.
const CODES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV \
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP \
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD \
JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR \
MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF \
SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS \
UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ";

/// Codes whose minor unit is not the hundredth.
const EXPONENT_0: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF ";
const EXPONENT_3: &str = "BHD IQD JOD KWD LYD OMR TND ";
const EXPONENT_4: &str = "CLF UYW ";

/// Largest amount accepted, in minor units: far above any price, and small
/// enough that converting to `f64` for JSON output stays exact.
pub const MAX_MINOR: i64 = 1 << 53;

/// An ISO 4217 currency and its minor-unit exponent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };

    /// Reads an ISO 4217 code (`EUR`; surrounding spaces and lower case are
    /// tolerated, feeds write `eur`).
    pub fn parse(code: &str) -> Result<Currency, String> {
        let upper = code.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(format!("'{code}' is not a three-letter ISO 4217 code"));
        }
        if !in_list(CODES, bytes) {
            return Err(format!("'{upper}' is not an ISO 4217 currency"));
        }
        let exponent = if in_list(EXPONENT_0, bytes) {
            0
        } else if in_list(EXPONENT_3, bytes) {
            3
        } else if in_list(EXPONENT_4, bytes) {
            4
        } else {
            2
        };
        Ok(Currency {
            code: [bytes[0], bytes[1], bytes[2]],
            exponent,
        })
    }

    pub fn code(&self) -> &str {
        // The bytes were checked to be ASCII upper-case letters.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Number of decimals of the minor unit (2 for EUR, 0 for JPY).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }

    fn scale(&self) -> i64 {
        10_i64.pow(self.exponent())
    }

    /// Reads a non-negative decimal amount (`19.99`, `20`, `19.990`) into
    /// minor units. Decimals beyond the currency's are accepted only if they
    /// are zeros: rounding a price silently would change it.
    pub fn parse_amount(&self, text: &str) -> Result<i64, String> {
        let t = text.trim();
        if t.starts_with('-') {
            return Err(format!("'{t}' is negative"));
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(if t.contains(',') && !t.contains('.') {
                format!("'{t}' is not a decimal number (write '.' as the decimal separator)")
            } else {
                format!("'{t}' is not a decimal number")
            });
        }
        let exp = self.exponent() as usize;
        let (kept, extra) = frac.split_at(frac.len().min(exp));
        if extra.bytes().any(|b| b != b'0') {
            return Err(format!(
                "'{t}' has more decimals than {} allows ({exp})",
                self.code()
            ));
        }
        let too_large = || format!("'{t}' is too large");
        let mut minor: i64 = 0;
        for b in int.bytes().chain(kept.bytes()) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or_else(too_large)?;
        }
        // Pad the missing decimals: "19.9" is 1990 cents.
        for _ in kept.len()..exp {
            minor = minor.checked_mul(10).ok_or_else(too_large)?;
        }
        if minor > MAX_MINOR {
            return Err(too_large());
        }
        Ok(minor)
    }

    /// The decimal text of an amount (`1999` → `19.99`).
    pub fn format_amount(&self, minor: i64) -> String {
        let exp = self.exponent() as usize;
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = self.scale().unsigned_abs();
        format!("{sign}{}.{:0exp$}", abs / scale, abs % scale)
    }

    /// The amount as a JSON-friendly float. Exact in decimal for every amount
    /// up to [`MAX_MINOR`]: one correctly rounded division gives the double
    /// nearest to the decimal, which prints back as that decimal.
    pub fn to_f64(&self, minor: i64) -> f64 {
        minor as f64 / self.scale() as f64
    }

    /// An amount read from an event (`price: 19.99` as a float) in minor
    /// units, rounded to the nearest; `None` if it is not a finite,
    /// non-negative amount in range.
    pub fn from_f64(&self, amount: f64) -> Option<i64> {
        let minor = (amount * self.scale() as f64).round();
        (amount.is_finite() && minor >= 0.0 && minor <= MAX_MINOR as f64).then_some(minor as i64)
    }
}

fn in_list(list: &str, code: &[u8]) -> bool {
    let bytes = list.as_bytes();
    let n = bytes.len() / 4;
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match bytes[mid * 4..mid * 4 + 3].cmp(code) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    false
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists_are_sorted_and_four_bytes_apiece() {
        for list in [CODES, EXPONENT_0, EXPONENT_3, EXPONENT_4] {
            assert_eq!(list.len() % 4, 0);
            let codes: Vec<&str> = list.split_whitespace().collect();
            assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
            assert!(codes.iter().all(|c| c.len() == 3));
        }
        for list in [EXPONENT_0, EXPONENT_3, EXPONENT_4] {
            for c in list.split_whitespace() {
                assert!(Currency::parse(c).is_ok(), "{c} must be a known code");
            }
        }
    }

    #[test]
    fn parses_codes_with_their_exponent() {
        let eur = Currency::parse(" eur ").unwrap();
        assert_eq!((eur.code(), eur.exponent()), ("EUR", 2));
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::parse("CLF").unwrap().exponent(), 4);
        assert_eq!(Currency::parse("AED").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("ZWG").unwrap().exponent(), 2);
        assert_eq!(
            Currency::parse("EURO").unwrap_err(),
            "'EURO' is not a three-letter ISO 4217 code"
        );
        assert_eq!(
            Currency::parse("ABC").unwrap_err(),
            "'ABC' is not an ISO 4217 currency"
        );
        assert!(Currency::parse("XAU").is_err());
    }

    #[test]
    fn amounts_are_exact_in_minor_units() {
        let eur = Currency::EUR;
        assert_eq!(eur.parse_amount("19.99"), Ok(1999));
        assert_eq!(eur.parse_amount("19.9"), Ok(1990));
        assert_eq!(eur.parse_amount("19.990"), Ok(1999));
        assert_eq!(eur.parse_amount("20"), Ok(2000));
        assert_eq!(eur.parse_amount("0"), Ok(0));
        assert_eq!(
            eur.parse_amount("19.995").unwrap_err(),
            "'19.995' has more decimals than EUR allows (2)"
        );
        assert_eq!(
            eur.parse_amount("19,99").unwrap_err(),
            "'19,99' is not a decimal number (write '.' as the decimal separator)"
        );
        assert_eq!(eur.parse_amount("-1").unwrap_err(), "'-1' is negative");
        assert!(eur.parse_amount("1e3").is_err());
        assert!(eur.parse_amount(".5").is_err());
        assert!(eur.parse_amount("99999999999999999999").is_err());
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.parse_amount("1500"), Ok(1500));
        assert!(jpy.parse_amount("1500.5").is_err());
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.parse_amount("1.5"), Ok(1500));
        assert_eq!(kwd.format_amount(1500), "1.500");
        assert_eq!(eur.format_amount(1999), "19.99");
        assert_eq!(eur.format_amount(5), "0.05");
        assert_eq!(eur.format_amount(-5), "-0.05");
        assert_eq!(jpy.format_amount(1500), "1500");
    }

    #[test]
    fn float_round_trip_prints_the_decimal() {
        let eur = Currency::EUR;
        for (minor, printed) in [
            (1999, "19.99"),
            (1, "0.01"),
            (10, "0.1"),
            (2000, "20.0"),
            (99_999_999_999, "999999999.99"),
        ] {
            let f = eur.to_f64(minor);
            assert_eq!(serde_json::to_string(&f).unwrap(), printed);
            assert_eq!(eur.from_f64(f), Some(minor));
        }
        assert_eq!(eur.from_f64(19.99), Some(1999));
        assert_eq!(eur.from_f64(f64::NAN), None);
        assert_eq!(eur.from_f64(-1.0), None);
    }
}

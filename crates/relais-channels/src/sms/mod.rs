//! SMS: segment counting (what a body costs) and the Twilio provider with its
//! inbound, status-callback and signature helpers.

pub mod segments;
pub mod twilio;

pub use segments::{count, Encoding, SmsCount};

/// Whether `s` is an E.164 number: `+`, a country code not starting with 0, and
/// at most 15 digits in all (ITU-T E.164 §6). Seven digits at least: the shortest
/// numbers in use (Niue, +683 and four digits) have that many.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// [`is_e164`] as a provider's refusal: an invalid address, named by `provider`.
pub(crate) fn require_e164(provider: &str, number: &str) -> Result<(), crate::SendError> {
    if is_e164(number) {
        return Ok(());
    }
    Err(crate::SendError::invalid_address(format!(
        "{provider}: {number:?} is not an E.164 number (+ and 7 to 15 digits)"
    )))
}

#[cfg(test)]
mod tests {
    use super::is_e164;

    #[test]
    fn e164_numbers() {
        for ok in ["+33612345678", "+14155552671", "+4930123456", "+123456789012345"] {
            assert!(is_e164(ok), "{ok}");
        }
        for bad in [
            "33612345678",
            "+0612345678",
            "+33 6 12 34 56 78",
            "+1234567890123456",
            "+123456",
            "+",
            "",
            "+33612345678x",
            "+٣٣٦١٢٣٤٥٦٧٨",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}

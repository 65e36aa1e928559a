//! How many SMS segments a body takes, as the network counts them.
//!
//! A body made only of GSM 03.38 characters travels in the 7-bit default alphabet:
//! 160 septets in one message, 153 per segment once concatenated (the user data
//! header takes the rest). Characters of the extension table are sent as ESC +
//! character and count two septets; a segment never ends between the two.
//! Anything else forces UCS-2: 70 UTF-16 units alone, 67 per segment, and a
//! character outside the BMP (most emoji) is a surrogate pair that is never split.

use serde::Serialize;

/// The alphabet a body is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 03.38 7-bit default alphabet (with its extension table).
    Gsm7,
    /// UCS-2 / UTF-16, two bytes per unit.
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

/// The size of one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SmsCount {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2) for the whole body.
    pub units: usize,
    /// Messages billed: at least 1, even for an empty body.
    pub segments: usize,
}

const GSM_SINGLE: usize = 160;
const GSM_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

/// The basic table of GSM 03.38 (one septet each), ESC (0x1B) excluded.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table (ESC + character: two septets). 0x0C is the form feed.
const GSM_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

/// Septets a character takes in GSM-7, or `None` when it has no GSM-7 form.
pub fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole body can be sent in the GSM-7 alphabet.
pub fn is_gsm7(body: &str) -> bool {
    body.chars().all(|c| gsm_septets(c).is_some())
}

/// Counts the segments of `body`.
pub fn count(body: &str) -> SmsCount {
    let gsm: Option<Vec<usize>> = body.chars().map(gsm_septets).collect();
    match gsm {
        Some(widths) => measure(Encoding::Gsm7, &widths, GSM_SINGLE, GSM_PART),
        None => {
            let widths: Vec<usize> = body.chars().map(char::len_utf16).collect();
            measure(Encoding::Ucs2, &widths, UCS2_SINGLE, UCS2_PART)
        }
    }
}

/// Packs characters of the given widths: one message if the total fits `single`,
/// otherwise segments of at most `part` units, a character never straddling two.
fn measure(encoding: Encoding, widths: &[usize], single: usize, part: usize) -> SmsCount {
    let units: usize = widths.iter().sum();
    if units <= single {
        return SmsCount {
            encoding,
            units,
            segments: 1,
        };
    }
    let mut segments = 1;
    let mut used = 0;
    for &w in widths {
        if used + w > part {
            segments += 1;
            used = 0;
        }
        used += w;
    }
    SmsCount {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsm(units: usize, segments: usize) -> SmsCount {
        SmsCount {
            encoding: Encoding::Gsm7,
            units,
            segments,
        }
    }

    fn ucs2(units: usize, segments: usize) -> SmsCount {
        SmsCount {
            encoding: Encoding::Ucs2,
            units,
            segments,
        }
    }

    #[test]
    fn tables_have_the_expected_sizes() {
        // 128 positions less ESC; the extension table has 10 printable entries here.
        assert_eq!(GSM_BASIC.chars().count(), 127);
        assert_eq!(GSM_EXTENSION.chars().count(), 10);
        assert!(is_gsm7("Hello @home: 5€ {ok} ¿Qué? ñ"));
        assert!(!is_gsm7("ç")); // only the capital Ç is in the basic table
        assert!(!is_gsm7("á"));
    }

    #[test]
    fn empty_body_is_one_segment() {
        assert_eq!(count(""), gsm(0, 1));
    }

    #[test]
    fn gsm_single_and_concatenated_boundaries() {
        assert_eq!(count(&"a".repeat(160)), gsm(160, 1));
        assert_eq!(count(&"a".repeat(161)), gsm(161, 2));
        assert_eq!(count(&"a".repeat(306)), gsm(306, 2));
        assert_eq!(count(&"a".repeat(307)), gsm(307, 3));
        assert_eq!(count(&"a".repeat(459)), gsm(459, 3));
        assert_eq!(count(&"a".repeat(460)), gsm(460, 4));
    }

    #[test]
    fn extension_characters_count_two_septets() {
        assert_eq!(count("€"), gsm(2, 1));
        assert_eq!(count("^{}\\[~]|€"), gsm(18, 1));
        // 80 euro signs: 160 septets, still one message.
        assert_eq!(count(&"€".repeat(80)), gsm(160, 1));
        // 159 plain + one € = 161 septets: two segments.
        assert_eq!(count(&format!("{}€", "a".repeat(159))), gsm(161, 2));
    }

    #[test]
    fn escape_pair_is_never_split_across_segments() {
        // 152 septets then €: the pair does not fit the 153-septet segment whole,
        // so it moves to the second one; 152 + 2 + 7 = 161 septets.
        let body = format!("{}€{}", "a".repeat(152), "b".repeat(7));
        assert_eq!(count(&body), gsm(161, 2));
        // Same size in septets, but filling 3 segments because of the split rule:
        // 152 + € (next segment) 2 + 151 = 153 in segment two, then 1 more → three.
        let body = format!("{}€{}", "a".repeat(152), "b".repeat(152));
        assert_eq!(count(&body), gsm(306, 3));
        // Without the pair straddling, 306 septets are two segments.
        let body = format!("{}€{}", "a".repeat(151), "b".repeat(153));
        assert_eq!(count(&body), gsm(306, 2));
    }

    #[test]
    fn ucs2_single_and_concatenated_boundaries() {
        assert_eq!(count(&"é".repeat(70)), gsm(70, 1)); // é is GSM
        assert_eq!(count(&"ж".repeat(70)), ucs2(70, 1));
        assert_eq!(count(&"ж".repeat(71)), ucs2(71, 2));
        assert_eq!(count(&"ж".repeat(134)), ucs2(134, 2));
        assert_eq!(count(&"ж".repeat(135)), ucs2(135, 3));
    }

    #[test]
    fn one_non_gsm_character_switches_the_whole_body() {
        let body = format!("{}ç", "a".repeat(69));
        assert_eq!(count(&body), ucs2(70, 1));
        let body = format!("{}ç", "a".repeat(70));
        assert_eq!(count(&body), ucs2(71, 2));
        // € counts one unit in UCS-2.
        let body = format!("{}€ж", "a".repeat(68));
        assert_eq!(count(&body), ucs2(70, 1));
    }

    #[test]
    fn emoji_take_two_units_and_are_never_split() {
        assert_eq!(count("😀"), ucs2(2, 1));
        assert_eq!(count(&"😀".repeat(35)), ucs2(70, 1));
        assert_eq!(count(&"😀".repeat(36)), ucs2(72, 2));
        // 66 units then an emoji: the pair goes whole to segment two.
        let body = format!("{}😀{}", "ж".repeat(66), "ж".repeat(65));
        assert_eq!(count(&body), ucs2(133, 2));
        let body = format!("{}😀{}", "ж".repeat(66), "ж".repeat(66));
        assert_eq!(count(&body), ucs2(134, 3));
    }
}

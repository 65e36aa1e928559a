//! Text for the printer PDF in Helvetica, one of the 14 standard PDF fonts
//! (every reader and RIP has it, so nothing is embedded), with WinAnsiEncoding
//! (Windows-1252). That covers Western European languages including French
//! (é, è, à, ç, œ, €, «»); any other character is printed as `?`.
//! Widths are Helvetica's AFM metrics in 1/1000 em, needed to wrap lines.

/// Unicode → WinAnsi byte; `?` for characters the encoding lacks.
pub fn encode(s: &str) -> Vec<u8> {
    s.chars().map(win_ansi).collect()
}

fn win_ansi(c: char) -> u8 {
    let u = c as u32;
    match u {
        0x20..=0x7E | 0xA0..=0xFF => u as u8,
        0x09 => b' ',
        // Narrow and thin no-break spaces (French punctuation) → no-break space.
        0x202F | 0x2009 | 0x2007 => 0xA0,
        _ => match c {
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            _ => b'?',
        },
    }
}

/// Width in points of WinAnsi-encoded text at `size`.
pub fn width(text: &[u8], size: f32) -> f32 {
    let units: u32 = text.iter().map(|b| glyph_width(*b) as u32).sum();
    units as f32 * size / 1000.0
}

/// Width of one WinAnsi code in 1/1000 em (Helvetica AFM).
fn glyph_width(b: u8) -> u16 {
    const ASCII: [u16; 95] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0-9
        278, 278, 584, 584, 584, 556, 1015, // :;<=>?@
        667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A-M
        722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N-Z
        278, 278, 278, 469, 556, 333, // [\]^_`
        556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a-m
        556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n-z
        334, 260, 334, 584, // {|}~
    ];
    const HIGH: [u16; 32] = [
        556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80-0x8F
        0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, // 0x90-0x9F
    ];
    const LATIN1: [u16; 96] = [
        278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xA0
        400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xB0
        667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xC0
        722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xD0
        556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // 0xE0
        556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // 0xF0
    ];
    match b {
        0x20..=0x7E => ASCII[(b - 0x20) as usize],
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        0xA0..=0xFF => LATIN1[(b - 0xA0) as usize],
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_text_encodes_without_loss() {
        assert_eq!(
            encode("Noël à l’été, 5 €"),
            b"No\xEBl \xE0 l\x92\xE9t\xE9, 5 \x80".to_vec()
        );
        assert_eq!(encode("œuvre « ok »"), b"\x9Cuvre \xAB ok \xBB".to_vec());
    }

    #[test]
    fn other_scripts_become_question_marks() {
        assert_eq!(encode("Ωmega 東京"), b"?mega ??".to_vec());
    }

    #[test]
    fn widths_follow_the_afm() {
        assert_eq!(width(b"Hello", 1000.0), (722 + 556 + 222 + 222 + 556) as f32);
        assert_eq!(width(&encode("é"), 10.0), 5.56);
        assert_eq!(width(b" ", 12.0), 278.0 * 12.0 / 1000.0);
    }
}

//! How random a production secret is: copied placeholders and patterns are refused whatever their
//! length (docs/decisions.md, "Secret strength").

const MIN_SECRET_LEN: usize = 32;

/// Values that appear in the seed's example files and tutorials. A production secret built around
/// one of them was copied, not generated; the words are removed before its randomness is judged.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "change",
    "replace",
    "placeholder",
    "example",
    "secret",
    "password",
    "dev-",
    "test",
    "todo",
    "get_from",
    "xxxx",
    "1234",
];

/// The least estimated randomness of a production secret, in bits (docs/decisions.md, "Secret
/// strength"). `openssl rand -hex 32` estimates about 200 (never below 170 in 30,000 samples).
pub const MIN_SECRET_BITS: f64 = 64.0;

/// A conservative estimate of the randomness in `value`, in bits: the placeholder words are cut
/// out, and what is left counts as many characters as it has distinct trigrams that are not a run
/// (`aaa`) or a sequence (`abc`, `321`), each worth the Shannon entropy of its characters. Repeated
/// or sequential text thus scores near zero while random text of any alphabet keeps its length.
/// The lower of the estimates with and without doubled characters counts (`00112233...` is a
/// sequence too).
pub fn secret_bits(value: &str) -> f64 {
    let mut undoubled = String::with_capacity(value.len());
    for c in value.chars() {
        if !undoubled.ends_with(c) {
            undoubled.push(c);
        }
    }
    trigram_bits(value).min(trigram_bits(&undoubled))
}

fn trigram_bits(value: &str) -> f64 {
    let chars: Vec<char> = value.chars().collect();
    let lower: Vec<char> = value.to_lowercase().chars().collect();
    let mut kept = vec![true; chars.len()];
    if lower.len() == chars.len() {
        for marker in PLACEHOLDER_MARKERS {
            let m: Vec<char> = marker.chars().collect();
            for start in 0..chars.len().saturating_sub(m.len() - 1) {
                if lower[start..start + m.len()] == m[..] {
                    kept[start..start + m.len()].fill(false);
                }
            }
        }
    }
    let mut counts = std::collections::HashMap::new();
    let mut trigrams = std::collections::HashSet::new();
    let mut run: Vec<char> = Vec::new();
    let mut runs = Vec::new();
    for (c, keep) in chars.iter().zip(&kept) {
        if *keep {
            *counts.entry(*c).or_insert(0usize) += 1;
            run.push(*c);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
    }
    runs.push(run);
    for run in &runs {
        for t in run.windows(3) {
            let (a, b, c) = (t[0] as i64, t[1] as i64, t[2] as i64);
            let patterned = b - a == c - b && (b - a).abs() <= 1;
            if !patterned {
                trigrams.insert([t[0], t[1], t[2]]);
            }
        }
    }
    let total: usize = counts.values().sum();
    if total == 0 {
        return 0.0;
    }
    let per_char: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.log2()
        })
        .sum();
    trigrams.len() as f64 * per_char
}

pub fn weak_secret_reason(value: &str) -> Option<String> {
    if value.chars().count() < MIN_SECRET_LEN {
        return Some(format!(
            "is shorter than {MIN_SECRET_LEN} characters; generate one with `openssl rand -hex 32`"
        ));
    }
    if secret_bits(value) >= MIN_SECRET_BITS {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    Some(
        match PLACEHOLDER_MARKERS.iter().find(|m| lower.contains(*m)) {
            Some(marker) => format!(
                "looks like a placeholder (contains {marker:?}); generate one with `openssl rand -hex 32`"
            ),
            None => "has too little randomness (repeated or sequential characters); generate one \
                     with `openssl rand -hex 32`"
                .to_owned(),
        },
    )
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

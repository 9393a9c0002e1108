//! Near misses for the no-panic property tests: a valid fixture with a
//! span of it replaced by random bytes, cut short, or with random bytes
//! put in. Random bytes alone rarely get past a parser's first token;
//! these reach every branch a valid input reaches, one mistake away.
//! Test-only.

use proptest::collection::vec;
use proptest::prelude::{any, Strategy};

/// `valid`, one mistake away (or untouched: an empty span replaced by
/// nothing).
pub fn near(valid: &[u8]) -> impl Strategy<Value = Vec<u8>> {
    let valid = valid.to_vec();
    let len = valid.len();
    (0..=len, 0..=len, vec(any::<u8>(), 0..24), 0u8..3).prop_map(move |(a, b, junk, how)| {
        let (a, b) = (a.min(b), a.max(b));
        let mut v = valid.clone();
        match how {
            0 => {
                v.splice(a..b, junk);
            }
            1 => v.truncate(a),
            _ => {
                v.splice(a..a, junk);
            }
        }
        v
    })
}

/// As `near`, as text (an edit that breaks UTF-8 is replaced by U+FFFD).
pub fn near_text(valid: &str) -> impl Strategy<Value = String> {
    near(valid.as_bytes()).prop_map(|v| String::from_utf8_lossy(&v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn near_misses_keep_most_of_the_fixture_and_differ_from_it() {
        let valid = b"<s:Envelope><s:Body><u:Browse/></s:Body></s:Envelope>";
        let mut runner = TestRunner::deterministic();
        let strategy = near(valid);
        let mut changed = 0;
        for _ in 0..200 {
            let v = strategy.new_tree(&mut runner).unwrap().current();
            assert!(v.len() <= valid.len() + 24);
            changed += usize::from(v != valid);
            // Something of the fixture is left at its start or its end.
            assert!(v.is_empty() || v[0] == valid[0] || v.ends_with(b">") || v.len() < 8);
        }
        assert!(changed > 150, "only {changed} of 200 differ");
    }
}

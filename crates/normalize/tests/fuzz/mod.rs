//! What the fuzz targets in `fuzz/fuzz_targets/normalize_*.rs` run, shared with the replay
//! test in `tests/normalize.rs`, so that an input the fuzzer saved is replayed by plain
//! `cargo test`. The fuzz targets include this file with `#[path = ...] mod`.
//!
//! Each function takes the raw fuzz input and panics when an invariant breaks: a flagged value
//! is kept as given, and normalizing a normalized value changes nothing.

#![allow(dead_code)]

use mergetag_normalize::{
    Context, Country, DateKind, DateNormalizer, DateOrder, DateParser, Email, NamePart,
    NormalizeConfig, Normalizer, Outcome, PersonName, Phone, PostalCode, UsAddress, UsStreet,
    email_key, given_name_keys, text_key,
};

/// Checks the [`Normalizer`] contract on one input.
pub fn check<N: Normalizer + ?Sized>(n: &N, input: &str, cx: Context<'_>) {
    let mut out = String::new();
    let o = n.normalize_in(input, cx, &mut out);
    if o.is_flagged() {
        assert_eq!(out, input, "a flagged value must be kept as given ({o})");
        let r = o.reason().unwrap();
        assert!(!r.is_empty() && !r.ends_with('.'), "{r:?}");
        return;
    }
    if o == Outcome::Unchanged {
        assert_eq!(out, input);
    }
    let mut again = String::new();
    let o2 = n.normalize_in(&out, cx, &mut again);
    assert_eq!(
        again, out,
        "not idempotent: {input:?} -> {out:?} -> {again:?}"
    );
    assert_eq!(
        o2,
        Outcome::Unchanged,
        "not idempotent: {input:?} -> {out:?} -> {o2}"
    );
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// `normalize_email`: the email normalizer and its key.
pub fn normalize_email(data: &[u8]) {
    let Some(s) = text(data) else { return };
    check(&Email::new(), s, Context::default());
    let mut k = String::new();
    if email_key(s, &mut k) {
        let mut k2 = String::new();
        assert!(email_key(&k, &mut k2));
        assert_eq!(k, k2, "email key not stable");
    }
}

/// `normalize_phone`: byte 0 picks the record's country among a few.
pub fn normalize_phone(data: &[u8]) {
    let [c, rest @ ..] = data else { return };
    let Some(s) = text(rest) else { return };
    let country = ["US", "GB", "DE", "FR", "AU", "IN", "BR", "JP"][usize::from(*c) % 8];
    let cx = Context::with_country(if c & 0x80 != 0 { None } else { Some(country) });
    check(&Phone::new(), s, cx);
}

/// `normalize_date`: byte 0 picks the order, the kind and the pivot.
pub fn normalize_date(data: &[u8]) {
    let [c, rest @ ..] = data else { return };
    let Some(s) = text(rest) else { return };
    let order = [
        None,
        Some(DateOrder::Mdy),
        Some(DateOrder::Dmy),
        Some(DateOrder::Ymd),
    ][usize::from(*c & 3)];
    let kind = if c & 4 != 0 {
        DateKind::DateTime
    } else {
        DateKind::Date
    };
    let parser = DateParser::new().order(order).pivot(c >> 3);
    check(&DateNormalizer::new(parser, kind), s, Context::default());
}

/// `normalize_address`: street lines (US and elsewhere), one-line US addresses, postcodes.
pub fn normalize_address(data: &[u8]) {
    let [c, rest @ ..] = data else { return };
    let Some(s) = text(rest) else { return };
    let country = ["US", "CA", "GB", "DE", "FR", "AU", "NL", "JP"][usize::from(*c) % 8];
    let cx = Context::with_country(Some(country));
    check(&UsStreet::new(), s, cx);
    check(&PostalCode::new(), s, cx);
    if let Some(a) = UsAddress::parse(s) {
        let mut again = String::new();
        mergetag_normalize::us_street(&a.street, &mut again);
        assert_eq!(again, a.street, "street of a parsed line not idempotent");
    }
}

/// `normalize_country`: countries, and regions in a few countries.
pub fn normalize_country(data: &[u8]) {
    let [c, rest @ ..] = data else { return };
    let Some(s) = text(rest) else { return };
    check(&Country::new(), s, Context::default());
    let country = ["US", "CA", "AU", "GB", "DE"][usize::from(*c) % 5];
    check(
        &mergetag_normalize::Region::new(),
        s,
        Context::with_country(Some(country)),
    );
}

/// `normalize_name`: name casing, splitting, keys.
pub fn normalize_name(data: &[u8]) {
    let Some(s) = text(data) else { return };
    check(&NamePart::new(), s, Context::default());
    let _ = PersonName::parse(s);
    let mut keys = Vec::new();
    given_name_keys(s, &mut keys);
    let mut k = String::new();
    text_key(s, &mut k);
    let mut k2 = String::new();
    text_key(&k, &mut k2);
    assert_eq!(k, k2, "text key not stable");
}

/// `normalize_config`: a TOML (byte 0 even) or JSON configuration; a config that loads must
/// build or fail with an error, and round-trip through serde.
pub fn normalize_config(data: &[u8]) {
    let [c, rest @ ..] = data else { return };
    let Some(s) = text(rest) else { return };
    let parsed = if c & 1 == 0 {
        NormalizeConfig::from_toml_str(s)
    } else {
        NormalizeConfig::from_json_str(s)
    };
    let config = match parsed {
        Ok(config) => config,
        Err(e) => {
            let m = e.to_string();
            if let mergetag_normalize::Error::Parse(p) = &e {
                assert!(p.line <= s.lines().count() + 1, "{m}");
                assert!(!p.message.contains('\n'), "{m:?}");
            }
            return;
        }
    };
    let json = serde_json::to_string(&config).expect("a config serializes");
    assert_eq!(
        NormalizeConfig::from_json_str(&json).expect("round trip"),
        config
    );
    let _ = config.build();
}

//! Conversions between Unix time and X.509 `Time` (UTCTime / GeneralizedTime).

use crate::asn1::{self as der, DerError, DerResult, tag};

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // 0..=399
    let mp = (m as i64 + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date for days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Broken-down UTC time.
fn split(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    (
        y,
        mo,
        d,
        (secs / 3600) as u32,
        ((secs / 60) % 60) as u32,
        (secs % 60) as u32,
    )
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Encodes a time as UTCTime before 2050 and GeneralizedTime from 2050 on
/// (RFC 5280 §4.1.2.5). Years outside 1950..=9999 are rejected.
pub(crate) fn encode_time(unix: i64) -> Option<Vec<u8>> {
    let (y, mo, d, h, mi, s) = split(unix);
    if (1950..2050).contains(&y) {
        let s = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        Some(der::tlv(tag::UTC_TIME, s.as_bytes()))
    } else if (2050..=9999).contains(&y) {
        let s = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        Some(der::tlv(tag::GENERALIZED_TIME, s.as_bytes()))
    } else {
        None
    }
}

fn digits(b: &[u8], what: &str) -> DerResult<u32> {
    let mut v = 0u32;
    for c in b {
        if !c.is_ascii_digit() {
            return Err(DerError(format!("{what}: non-digit in time")));
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Ok(v)
}

/// Decodes a UTCTime or GeneralizedTime element (DER form, `Z` suffix) to Unix seconds.
pub(crate) fn parse_time(t: &der::Tlv<'_>, what: &str) -> DerResult<i64> {
    let c = t.content;
    let (year, rest) = match t.tag {
        tag::UTC_TIME if c.len() == 13 => {
            let yy = digits(c.get(..2).unwrap_or(&[]), what)? as i64;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                c.get(2..).unwrap_or(&[]),
            )
        }
        tag::GENERALIZED_TIME if c.len() == 15 => (
            digits(c.get(..4).unwrap_or(&[]), what)? as i64,
            c.get(4..).unwrap_or(&[]),
        ),
        _ => {
            return Err(DerError(format!(
                "{what}: not a DER UTCTime/GeneralizedTime"
            )));
        }
    };
    if rest.last() != Some(&b'Z') {
        return Err(DerError(format!("{what}: time must end in Z")));
    }
    let f = |i: usize| digits(rest.get(i..i + 2).unwrap_or(&[]), what);
    let (mo, d, h, mi, s) = (f(0)?, f(2)?, f(4)?, f(6)?, f(8)?);
    if !(1..=12).contains(&mo) || d == 0 || d > 31 || h > 23 || mi > 59 || s > 59 {
        return Err(DerError(format!("{what}: time field out of range")));
    }
    let days = days_from_civil(year, mo, d);
    // Reject dates such as 31 February.
    if civil_from_days(days) != (year, mo, d) {
        return Err(DerError(format!("{what}: invalid calendar date")));
    }
    Ok(days * 86_400 + (h * 3600 + mi * 60 + s) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // Values checked with `date -u -d @N`.
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(2_524_608_000), "2050-01-01T00:00:00Z");
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
    }

    #[test]
    fn encode_and_parse() {
        let u = encode_time(1_767_225_600).unwrap();
        assert_eq!(u, b"\x17\x0d260101000000Z");
        let g = encode_time(2_524_608_000).unwrap();
        assert_eq!(g, b"\x18\x0f20500101000000Z");
        for v in [
            0i64,
            951_782_400,
            1_767_225_599,
            2_524_608_000,
            4_102_444_800,
        ] {
            let e = encode_time(v).unwrap();
            let t = der::parse_single(&e, e[0], "t").unwrap();
            assert_eq!(parse_time(&t, "t").unwrap(), v);
        }
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            &b"\x17\x0d260230000000Z"[..],
            b"\x17\x0d261301000000Z",
            b"\x17\x0d2601010000001",
            b"\x17\x0b2601010000Z",
            b"\x18\x0d260101000000Z",
        ] {
            let t = der::parse_single(bad, bad[0], "t").unwrap();
            assert!(parse_time(&t, "t").is_err(), "{bad:?}");
        }
    }
}

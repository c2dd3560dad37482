//! A small bounds-checked DER reader for the validator.
//!
//! Only definite lengths of at most four octets and single-octet tags are
//! accepted; every length is checked against the remaining input, so no
//! read can go past the buffer. Nothing recurses on untrusted input.

/// A DER decoding failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerError(pub &'static str);

/// Result alias for DER decoding.
pub type DerResult<T> = Result<T, DerError>;

pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const ENUMERATED: u8 = 0x0a;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// One element: tag, contents and the whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Sequential reader.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads any element.
    pub fn any(&mut self) -> DerResult<Tlv<'a>> {
        let d = self.data;
        let (&tag, rest) = d.split_first().ok_or(DerError("truncated element"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("multi-octet tag"));
        }
        let (&l0, rest) = rest.split_first().ok_or(DerError("truncated length"))?;
        let (len, rest) = if l0 < 0x80 {
            (l0 as usize, rest)
        } else {
            let n = (l0 & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(DerError("unsupported length form"));
            }
            let lb = rest.get(..n).ok_or(DerError("truncated length"))?;
            if lb.first() == Some(&0) {
                return Err(DerError("non-minimal length"));
            }
            let mut v = 0usize;
            for &b in lb {
                v = (v << 8) | b as usize;
            }
            if v < 0x80 {
                return Err(DerError("non-minimal length"));
            }
            (v, rest.get(n..).ok_or(DerError("truncated length"))?)
        };
        let content = rest.get(..len).ok_or(DerError("length exceeds input"))?;
        let hdr = d.len() - rest.len();
        let raw = d.get(..hdr + len).ok_or(DerError("length exceeds input"))?;
        self.data = rest.get(len..).ok_or(DerError("length exceeds input"))?;
        Ok(Tlv { tag, content, raw })
    }

    /// Reads an element with the given tag.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> DerResult<Tlv<'a>> {
        let t = self.any().map_err(|_| DerError(what))?;
        if t.tag != tag {
            return Err(DerError(what));
        }
        Ok(t)
    }

    /// Reads an element with the given tag if it is next.
    pub fn optional(&mut self, tag: u8) -> DerResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(tag) {
            self.any().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless everything was consumed.
    pub fn finish(&self, what: &'static str) -> DerResult<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DerError(what))
        }
    }
}

/// Parses exactly one element with `tag` spanning all of `data`.
pub(crate) fn single<'a>(data: &'a [u8], tag: u8, what: &'static str) -> DerResult<Tlv<'a>> {
    let mut r = Reader::new(data);
    let t = r.expect(tag, what)?;
    r.finish(what)?;
    Ok(t)
}

/// DER BOOLEAN contents.
pub(crate) fn boolean(t: &Tlv<'_>) -> DerResult<bool> {
    match t.content {
        [0xff] => Ok(true),
        [0x00] => Ok(false),
        _ => Err(DerError("invalid BOOLEAN")),
    }
}

/// Small non-negative INTEGER (up to 2^63).
pub(crate) fn small_uint(t: &Tlv<'_>) -> DerResult<u64> {
    let c = t.content;
    if c.is_empty() || c.len() > 9 || c[0] & 0x80 != 0 {
        return Err(DerError("INTEGER is negative, empty or too large"));
    }
    if c.len() > 1 && c[0] == 0 && c[1] & 0x80 == 0 {
        return Err(DerError("non-minimal INTEGER"));
    }
    let mut v: u64 = 0;
    for &b in c {
        v = v.checked_shl(8).ok_or(DerError("INTEGER too large"))? | b as u64;
    }
    if c.len() == 9 && c[0] != 0 {
        return Err(DerError("INTEGER too large"));
    }
    Ok(v)
}

/// BIT STRING contents: (unused bits, bytes).
pub(crate) fn bit_string<'a>(t: &Tlv<'a>) -> DerResult<(u8, &'a [u8])> {
    let (&unused, bytes) = t
        .content
        .split_first()
        .ok_or(DerError("empty BIT STRING"))?;
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return Err(DerError("invalid BIT STRING"));
    }
    Ok((unused, bytes))
}

/// Parses UTCTime / GeneralizedTime to Unix seconds (only the `Z` forms of RFC 5280 §4.1.2.5).
pub(crate) fn time(t: &Tlv<'_>) -> DerResult<i64> {
    let s = t.content;
    let (year, rest) = match t.tag {
        UTC_TIME => {
            if s.len() != 13 {
                return Err(DerError("UTCTime must be YYMMDDHHMMSSZ"));
            }
            let yy = digits(&s[0..2])? as i64;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        GENERALIZED_TIME => {
            if s.len() != 15 {
                return Err(DerError("GeneralizedTime must be YYYYMMDDHHMMSSZ"));
            }
            (digits(&s[0..4])? as i64, &s[4..])
        }
        _ => return Err(DerError("expected a time")),
    };
    if rest.len() != 11 || rest[10] != b'Z' {
        return Err(DerError("time must end in Z"));
    }
    let mo = digits(&rest[0..2])? as i64;
    let d = digits(&rest[2..4])? as i64;
    let h = digits(&rest[4..6])? as i64;
    let mi = digits(&rest[6..8])? as i64;
    let se = digits(&rest[8..10])? as i64;
    if !(1..=12).contains(&mo)
        || d < 1
        || d > days_in_month(year, mo)
        || h > 23
        || mi > 59
        || se > 59
    {
        return Err(DerError("time field out of range"));
    }
    Ok(days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + se)
}

fn digits(b: &[u8]) -> DerResult<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(DerError("non-digit in time"));
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Ok(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Parses an RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`) to Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let y = digits(&b[0..4]).ok()? as i64;
    let mo = digits(&b[5..7]).ok()? as i64;
    let d = digits(&b[8..10]).ok()? as i64;
    let h = digits(&b[11..13]).ok()? as i64;
    let mi = digits(&b[14..16]).ok()? as i64;
    let se = digits(&b[17..19]).ok()? as i64;
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &rest[1 + n..];
    }
    let off = match rest {
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = digits(&[*h1, *h2]).ok()? as i64;
            let om = digits(&[*m1, *m2]).ok()? as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se.min(59) - off)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Dotted-decimal form of OID contents (for messages).
pub fn oid_to_string(c: &[u8]) -> String {
    let mut out = String::new();
    let mut v: u64 = 0;
    let mut first = true;
    for &b in c {
        if v > (u64::MAX >> 8) {
            return "<oid too long>".into();
        }
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if first {
                let (a, bb) = if v < 40 {
                    (0, v)
                } else if v < 80 {
                    (1, v - 40)
                } else {
                    (2, v - 80)
                };
                out.push_str(&format!("{a}.{bb}"));
                first = false;
            } else {
                out.push_str(&format!(".{v}"));
            }
            v = 0;
        }
    }
    out
}

/// Parses dotted-decimal OID text into DER contents octets.
pub fn oid_from_string(s: &str) -> Option<Vec<u8>> {
    let parts: Vec<u64> = s
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts.len() < 2 || parts[0] > 2 || (parts[0] < 2 && parts[1] >= 40) {
        return None;
    }
    let mut out = Vec::new();
    let first = parts[0].checked_mul(40)?.checked_add(parts[1])?;
    for v in std::iter::once(first).chain(parts[2..].iter().copied()) {
        let mut tmp = vec![(v & 0x7f) as u8];
        let mut x = v >> 7;
        while x > 0 {
            tmp.push(((x & 0x7f) as u8) | 0x80);
            x >>= 7;
        }
        tmp.reverse();
        out.extend(tmp);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        // 2024-01-01T00:00:00Z = 1704067200 (date -d 2024-01-01T00:00:00Z +%s)
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00+00:00"), Some(1704067200));
        assert_eq!(parse_rfc3339("2024-01-01T01:00:00+01:00"), Some(1704067200));
        assert_eq!(format_time(1704067200), "2024-01-01T00:00:00Z");
        let t = Tlv {
            tag: UTC_TIME,
            content: b"491231235959Z",
            raw: &[],
        };
        // 2049-12-31T23:59:59Z = 2524607999
        assert_eq!(time(&t), Ok(2524607999));
        let t = Tlv {
            tag: UTC_TIME,
            content: b"500101000000Z",
            raw: &[],
        };
        // 1950-01-01 = -631152000
        assert_eq!(time(&t), Ok(-631152000));
        let t = Tlv {
            tag: GENERALIZED_TIME,
            content: b"20500101000000Z",
            raw: &[],
        };
        assert_eq!(time(&t), Ok(2524608000));
        let t = Tlv {
            tag: UTC_TIME,
            content: b"490230000000Z",
            raw: &[],
        };
        assert!(time(&t).is_err());
    }

    #[test]
    fn oids() {
        // 2.5.29.32.0 anyPolicy = 55 1d 20 00
        assert_eq!(
            oid_from_string("2.5.29.32.0"),
            Some(vec![0x55, 0x1d, 0x20, 0x00])
        );
        assert_eq!(
            oid_to_string(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x02, 0x01, 0x30, 0x01]),
            "2.16.840.1.101.3.2.1.48.1"
        );
    }

    #[test]
    fn bad_lengths() {
        assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).any().is_err());
        assert!(Reader::new(&[0x30, 0x81, 0x05]).any().is_err());
        assert!(Reader::new(&[0x30, 0x03, 0x00]).any().is_err());
    }
}

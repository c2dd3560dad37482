//! Minimal DER reader and writer used for certificates.
//!
//! The reader checks every length against the remaining input, accepts only
//! single-byte tags and definite lengths of at most four octets, and never
//! recurses, so it cannot panic, over-read or exhaust the stack.

/// Universal tags and the context tags used here.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const T61_STRING: u8 = 0x14;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const UNIVERSAL_STRING: u8 = 0x1c;
    pub const BMP_STRING: u8 = 0x1e;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
}

/// A DER decoding failure; the text names what was being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DerError(pub String);

pub(crate) type DerResult<T> = Result<T, DerError>;

/// One decoded element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// Identifier octet.
    pub tag: u8,
    /// Contents octets.
    pub content: &'a [u8],
    /// The whole element (identifier, length and contents).
    pub raw: &'a [u8],
}

/// Sequential reader over DER elements.
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

    /// Reads the next element of any tag.
    pub fn read_any(&mut self, what: &str) -> DerResult<Tlv<'a>> {
        let err = |m: &str| DerError(format!("{what}: {m}"));
        let tag = *self
            .data
            .first()
            .ok_or_else(|| err("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(err("multi-byte tags are not supported"));
        }
        let first = *self.data.get(1).ok_or_else(|| err("missing length"))?;
        let (len, hdr) = if first < 0x80 {
            (first as usize, 2usize)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 {
                return Err(err("indefinite length is not DER"));
            }
            if n > 4 {
                return Err(err("length too large"));
            }
            let bytes = self
                .data
                .get(2..2 + n)
                .ok_or_else(|| err("truncated length"))?;
            if bytes.first() == Some(&0) {
                return Err(err("non-minimal length"));
            }
            let mut len = 0usize;
            for b in bytes {
                len = (len << 8) | *b as usize;
            }
            if len < 0x80 {
                return Err(err("non-minimal length"));
            }
            (len, 2 + n)
        };
        let end = hdr.checked_add(len).ok_or_else(|| err("length overflow"))?;
        let raw = self
            .data
            .get(..end)
            .ok_or_else(|| err("length exceeds the available data"))?;
        let content = raw.get(hdr..).ok_or_else(|| err("truncated"))?;
        self.data = self.data.get(end..).unwrap_or(&[]);
        Ok(Tlv { tag, content, raw })
    }

    /// Reads the next element and checks its tag.
    pub fn read(&mut self, expected: u8, what: &str) -> DerResult<Tlv<'a>> {
        let t = self.read_any(what)?;
        if t.tag != expected {
            return Err(DerError(format!(
                "{what}: expected tag 0x{expected:02x}, found 0x{:02x}",
                t.tag
            )));
        }
        Ok(t)
    }

    /// Reads the next element if it has tag `expected`.
    pub fn optional(&mut self, expected: u8, what: &str) -> DerResult<Option<Tlv<'a>>> {
        if self.peek_tag() == Some(expected) {
            self.read(expected, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails if data remains.
    pub fn finish(&self, what: &str) -> DerResult<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DerError(format!(
                "{what}: {} trailing bytes",
                self.data.len()
            )))
        }
    }
}

/// Parses a whole buffer as exactly one element with tag `expected`.
pub(crate) fn parse_single<'a>(data: &'a [u8], expected: u8, what: &str) -> DerResult<Tlv<'a>> {
    let mut r = Reader::new(data);
    let t = r.read(expected, what)?;
    r.finish(what)?;
    Ok(t)
}

/// Encodes one element.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let sig = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | sig.len() as u8);
        out.extend_from_slice(sig);
    }
    out.extend_from_slice(content);
    out
}

/// Encodes a constructed element from already-encoded parts.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let content: Vec<u8> = parts.concat();
    tlv(tag, &content)
}

/// SEQUENCE of already-encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(tag::SEQUENCE, parts)
}

/// INTEGER from an unsigned big-endian magnitude (minimal encoding, positive).
pub(crate) fn uint(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let m = magnitude.get(skip..).unwrap_or(&[]);
    let mut c = Vec::with_capacity(m.len() + 1);
    if m.first().is_none_or(|b| b & 0x80 != 0) {
        c.push(0);
    }
    c.extend_from_slice(m);
    tlv(tag::INTEGER, &c)
}

/// OBJECT IDENTIFIER.
pub(crate) fn oid(o: &der::oid::ObjectIdentifier) -> Vec<u8> {
    tlv(tag::OID, o.as_bytes())
}

/// BIT STRING with no unused bits.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(bytes.len() + 1);
    c.push(0);
    c.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &c)
}

/// Decodes a non-negative INTEGER of at most 8 octets.
pub(crate) fn parse_small_uint(content: &[u8], what: &str) -> DerResult<u64> {
    if content.is_empty() {
        return Err(DerError(format!("{what}: empty INTEGER")));
    }
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(DerError(format!("{what}: negative INTEGER")));
    }
    let c = if content.len() > 1 && content.first() == Some(&0) {
        content.get(1..).unwrap_or(&[])
    } else {
        content
    };
    if c.len() > 8 {
        return Err(DerError(format!("{what}: INTEGER too large")));
    }
    Ok(c.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64))
}

/// Decodes a BIT STRING's contents into (unused bits, bytes).
pub(crate) fn parse_bit_string<'a>(content: &'a [u8], what: &str) -> DerResult<(u8, &'a [u8])> {
    let (&unused, bytes) = content
        .split_first()
        .ok_or_else(|| DerError(format!("{what}: empty BIT STRING")))?;
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return Err(DerError(format!("{what}: bad unused-bits count")));
    }
    Ok((unused, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_forms() {
        assert_eq!(tlv(4, &[0; 3]), [4, 3, 0, 0, 0]);
        let long = tlv(4, &[0; 200]);
        assert_eq!(&long[..3], &[4, 0x81, 200]);
        let longer = tlv(4, &[0; 300]);
        assert_eq!(&longer[..4], &[4, 0x82, 1, 44]);
        let mut r = Reader::new(&longer);
        assert_eq!(r.read(4, "x").unwrap().content.len(), 300);
        assert!(r.is_empty());
    }

    #[test]
    fn rejects_bad_lengths() {
        for bad in [
            &[0x30u8, 0x80][..],
            &[0x30, 0x81, 0x05],
            &[0x30, 0x81, 0x7f],
            &[0x30, 0x85, 1, 0, 0, 0, 0],
            &[0x30, 0x05, 1],
            &[0x1f, 0x01, 0],
            &[0x30],
            &[],
        ] {
            assert!(Reader::new(bad).read_any("t").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn integers() {
        // Hand-computed DER.
        assert_eq!(uint(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(uint(&[0, 0, 0x7f]), [2, 1, 0x7f]);
        assert_eq!(uint(&[]), [2, 1, 0]);
        assert_eq!(parse_small_uint(&[0, 0x80], "x").unwrap(), 128);
        assert!(parse_small_uint(&[0x80], "x").is_err());
    }
}

//! A minimal, bounds-checked DER reader/writer for the few structures this
//! crate parses itself (AlgorithmIdentifier, SubjectPublicKeyInfo envelope,
//! ECDSA-Sig-Value). Every read is checked; nothing here can panic.

/// Largest DER input accepted by the parsers in this crate.
pub(crate) const MAX_DER_LEN: usize = 16 * 1024;

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;

/// Parse failure (mapped to a [`crate::CryptoError`] by callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DerError;

/// A cursor over DER-encoded input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Result<Self, DerError> {
        if data.len() > MAX_DER_LEN {
            return Err(DerError);
        }
        Ok(Reader { data })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV, returning (tag, value). Only low-tag-number form and
    /// definite minimal lengths up to 4 octets are accepted.
    pub(crate) fn read_any(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (&tag, rest) = self.data.split_first().ok_or(DerError)?;
        if tag & 0x1f == 0x1f {
            return Err(DerError);
        }
        let (&l0, mut rest) = rest.split_first().ok_or(DerError)?;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7f);
            if n == 0 || n > 4 {
                return Err(DerError);
            }
            let (lb, r) = rest.split_at_checked(n).ok_or(DerError)?;
            rest = r;
            let mut len = 0usize;
            for &b in lb {
                len = (len << 8) | usize::from(b);
            }
            // Minimal encoding: no leading zero octet, and long form only for >= 128.
            if lb.first() == Some(&0) || len < 0x80 {
                return Err(DerError);
            }
            len
        };
        let (value, rest) = rest.split_at_checked(len).ok_or(DerError)?;
        self.data = rest;
        Ok((tag, value))
    }

    /// Reads one TLV that must carry `tag`.
    pub(crate) fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let (t, v) = self.read_any()?;
        if t != tag {
            return Err(DerError);
        }
        Ok(v)
    }

    /// Reads one full TLV and returns its encoding (tag and length included).
    pub(crate) fn read_tlv_raw(&mut self) -> Result<&'a [u8], DerError> {
        let before = self.data;
        self.read_any()?;
        let used = before.len() - self.data.len();
        before.get(..used).ok_or(DerError)
    }

    /// Fails unless all input was consumed.
    pub(crate) fn finish(&self) -> Result<(), DerError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DerError)
        }
    }
}

/// Parses a single element spanning the whole of `data` and returns its value.
pub(crate) fn parse_single(data: &[u8], tag: u8) -> Result<&[u8], DerError> {
    let mut r = Reader::new(data)?;
    let v = r.read(tag)?;
    r.finish()?;
    Ok(v)
}

/// Appends a DER TLV to `out`.
pub(crate) fn write_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let n = bytes.len() - skip;
        out.push(0x80 | n as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
}

/// Contents of a non-negative INTEGER, without redundant leading zero octets.
pub(crate) fn unsigned_int(value: &[u8]) -> Result<&[u8], DerError> {
    match value {
        [] => Err(DerError),
        [b, ..] if b & 0x80 != 0 => Err(DerError),
        [0, b, ..] if b & 0x80 == 0 => Err(DerError),
        [0, rest @ ..] => Ok(rest),
        v => Ok(v),
    }
}

/// Encodes `mag` (big-endian, possibly with leading zeros) as a DER INTEGER.
pub(crate) fn write_unsigned_int(out: &mut Vec<u8>, mag: &[u8]) {
    let start = mag.iter().take_while(|&&b| b == 0).count();
    let m = &mag[start.min(mag.len())..];
    let mut v = Vec::with_capacity(m.len() + 1);
    if m.first().is_none_or(|&b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(m);
    write_tlv(out, TAG_INTEGER, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_lengths() {
        // Truncated value, non-minimal long form, indefinite length, high tag number.
        for bad in [
            &[0x30u8, 0x03, 0x01][..],
            &[0x30, 0x81, 0x01, 0x00],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x1f, 0x01, 0x00],
            &[0x30],
            &[],
            &[0x30, 0x85, 1, 0, 0, 0, 0],
        ] {
            let mut r = Reader::new(bad).unwrap();
            assert!(r.read_any().is_err(), "{bad:02x?}");
        }
        let big = vec![0u8; MAX_DER_LEN + 1];
        assert!(Reader::new(&big).is_err());
    }

    #[test]
    fn long_form_round_trip() {
        let v = vec![7u8; 300];
        let mut out = Vec::new();
        write_tlv(&mut out, TAG_SEQUENCE, &v);
        assert_eq!(&out[..4], &[0x30, 0x82, 0x01, 0x2c]);
        assert_eq!(parse_single(&out, TAG_SEQUENCE).unwrap(), v.as_slice());
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_unsigned_int(&mut out, &[0, 0, 0x80, 1]);
        assert_eq!(out, [0x02, 0x03, 0x00, 0x80, 0x01]);
        let mut out = Vec::new();
        write_unsigned_int(&mut out, &[0, 0]);
        assert_eq!(out, [0x02, 0x01, 0x00]);
        assert_eq!(unsigned_int(&[0x00, 0x80]).unwrap(), &[0x80]);
        assert!(unsigned_int(&[0x00, 0x01]).is_err());
        assert!(unsigned_int(&[0x80]).is_err());
        assert!(unsigned_int(&[]).is_err());
    }
}

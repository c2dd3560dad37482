//! Bounds-checked cursor over a borrowed buffer.
//!
//! A `Reader` knows the absolute offset of its first octet, so errors report
//! positions relative to the outermost buffer. Sub-readers confine a nested
//! structure to the length its parent declared.

use super::error::{Error, ErrorKind};

#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    ctx: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize, ctx: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            ctx,
        }
    }

    /// Absolute offset of the next octet.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn err(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.offset(), self.ctx)
    }

    pub(crate) fn err_ctx(&self, kind: ErrorKind, ctx: &'static str) -> Error {
        Error::new(kind, self.offset(), ctx)
    }

    /// Takes `n` octets or fails with `Truncated`.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err(ErrorKind::Truncated))?;
        match self.buf.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(self.err(ErrorKind::Truncated)),
        }
    }

    /// Takes everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        let b = self.take(1)?;
        Ok(b.first().copied().unwrap_or(0))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        let b = self.array::<2>()?;
        Ok(u16::from_be_bytes(b))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        let b = self.array::<4>()?;
        Ok(u32::from_be_bytes(b))
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), Error> {
        self.take(n).map(|_| ())
    }

    /// Splits off a sub-reader of `len` octets (a structure whose length
    /// field said `len`). Fails with `Overrun` if the parent is shorter.
    pub(crate) fn sub(&mut self, len: usize, ctx: &'static str) -> Result<Reader<'a>, Error> {
        let start = self.offset();
        let s = self
            .take(len)
            .map_err(|_| self.err_ctx(ErrorKind::Overrun, ctx))?;
        Ok(Reader::new(s, start, ctx))
    }

    /// Fails with `TrailingData` if octets are left.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err(ErrorKind::TrailingData))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_offsets() {
        let data = [1u8, 2, 3, 4, 5, 6];
        let mut r = Reader::new(&data, 100, "outer");
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 0x0203);
        assert_eq!(r.offset(), 103);
        let e = r.sub(4, "inner").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Overrun);
        assert_eq!(e.offset, 103);
        assert_eq!(e.context, "inner");
        let mut s = r.sub(2, "inner").unwrap();
        assert_eq!(s.offset(), 103);
        assert_eq!(s.u8().unwrap(), 4);
        assert_eq!(s.finish().unwrap_err().offset, 104);
        assert_eq!(r.u32().unwrap_err().kind, ErrorKind::Truncated);
        assert_eq!(r.take(usize::MAX).unwrap_err().kind, ErrorKind::Truncated);
        assert_eq!(r.rest(), &[6]);
        assert!(r.finish().is_ok());
    }
}

//! Encoding. All lengths, counts, Next Payload and "last substructure"
//! fields are computed here; reserved fields are written as zero.

use super::error::{Error, ErrorKind};
use super::*;

/// Output buffer that remembers the first field that could not be encoded
/// faithfully (a length or count too large for its field, or payloads after
/// an SK payload).
struct Enc<'a> {
    out: &'a mut Vec<u8>,
    problem: Option<Error>,
}

impl Enc<'_> {
    fn note(&mut self, kind: ErrorKind, context: &'static str) {
        if self.problem.is_none() {
            self.problem = Some(Error::new(kind, self.out.len(), context));
        }
    }

    /// Reserves a 2-octet length field, returning its position.
    fn len16_placeholder(&mut self) -> usize {
        let at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        at
    }

    /// Writes `len` into the placeholder at `at`.
    fn patch_len16(&mut self, at: usize, len: usize, context: &'static str) {
        let v = match u16::try_from(len) {
            Ok(v) => v,
            Err(_) => {
                self.note(ErrorKind::TooLarge { limit: 0xffff }, context);
                u16::MAX
            }
        };
        if let Some(slot) = self.out.get_mut(at..at.saturating_add(2)) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
    }

    fn count8(&mut self, n: usize, context: &'static str) -> u8 {
        u8::try_from(n).unwrap_or_else(|_| {
            self.note(ErrorKind::TooLarge { limit: 0xff }, context);
            u8::MAX
        })
    }

    fn count16(&mut self, n: usize, context: &'static str) -> u16 {
        u16::try_from(n).unwrap_or_else(|_| {
            self.note(ErrorKind::TooLarge { limit: 0xffff }, context);
            u16::MAX
        })
    }

    fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
}

pub(crate) fn encode_message(m: &Message) -> (Vec<u8>, Option<Error>) {
    let mut out = Vec::with_capacity(256);
    let mut header = m.header.clone();
    header.next_payload = PayloadType::NONE;
    header.length = 0;
    header.encode(&mut out);
    let mut enc = Enc {
        out: &mut out,
        problem: None,
    };
    let first = encode_chain(&m.payloads, &mut enc);
    let problem = enc.problem;
    if let Some(b) = out.get_mut(16) {
        *b = first.0;
    }
    let total = out.len();
    let len = u32::try_from(total).unwrap_or(u32::MAX);
    if let Some(slot) = out.get_mut(24..28) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
    (out, problem)
}

/// Appends a payload chain to `out` and returns the type of its first
/// payload ([`PayloadType::NONE`] if `payloads` is empty), the value for the
/// enclosing Next Payload field (IKE header or SK payload).
///
/// Next Payload fields are computed. An SK/SKF payload ends the chain: its
/// Next Payload is its `first_inner`, and payloads after it are not written.
pub fn encode_payloads(payloads: &[Payload], out: &mut Vec<u8>) -> PayloadType {
    let mut enc = Enc { out, problem: None };
    encode_chain(payloads, &mut enc)
}

fn encode_chain(payloads: &[Payload], enc: &mut Enc<'_>) -> PayloadType {
    let first = payloads
        .first()
        .map(Payload::payload_type)
        .unwrap_or(PayloadType::NONE);
    let mut iter = payloads.iter().peekable();
    while let Some(p) = iter.next() {
        let np = match &p.body {
            PayloadBody::Sk(e) => e.first_inner,
            PayloadBody::Skf(f) => f.first_inner,
            _ => iter
                .peek()
                .map(|n| n.payload_type())
                .unwrap_or(PayloadType::NONE),
        };
        let start = enc.out.len();
        enc.u8(np.0);
        enc.u8(if p.critical { 0x80 } else { 0 });
        let len_at = enc.len16_placeholder();
        encode_body(&p.body, enc);
        let len = enc.out.len() - start;
        enc.patch_len16(len_at, len, "payload length");
        if matches!(p.body, PayloadBody::Sk(_) | PayloadBody::Skf(_)) {
            if iter.peek().is_some() {
                enc.note(ErrorKind::InvalidValue, "payload after SK");
            }
            break;
        }
    }
    first
}

fn encode_body(body: &PayloadBody, enc: &mut Enc<'_>) {
    match body {
        PayloadBody::Sa(proposals) => encode_sa(proposals, enc),
        PayloadBody::Ke(ke) => {
            enc.u16(ke.group);
            enc.u16(0);
            enc.bytes(&ke.data);
        }
        PayloadBody::IdI(id) | PayloadBody::IdR(id) => {
            enc.bytes(&[id.id_type.0, 0, 0, 0]);
            enc.bytes(&id.data);
        }
        PayloadBody::Cert(c) | PayloadBody::CertReq(c) => {
            enc.u8(c.encoding.0);
            enc.bytes(&c.data);
        }
        PayloadBody::Auth(a) => {
            enc.bytes(&[a.method.0, 0, 0, 0]);
            enc.bytes(&a.data);
        }
        PayloadBody::Nonce(d) | PayloadBody::VendorId(d) | PayloadBody::Eap(d) => enc.bytes(d),
        PayloadBody::Notify(n) => {
            enc.u8(n.protocol.0);
            let size = enc.count8(n.spi.len(), "Notify SPI size");
            enc.u8(size);
            enc.u16(n.notify_type.0);
            enc.bytes(&n.spi);
            enc.bytes(&n.data);
        }
        PayloadBody::Delete(d) => {
            enc.u8(d.protocol.0);
            enc.u8(d.spi_size);
            let n = enc.count16(d.spis.len(), "Delete SPI count");
            enc.u16(n);
            for spi in &d.spis {
                if spi.len() != usize::from(d.spi_size) {
                    enc.note(ErrorKind::InvalidValue, "Delete SPI size");
                }
                enc.bytes(spi);
            }
        }
        PayloadBody::TsI(ts) | PayloadBody::TsR(ts) => {
            let n = enc.count8(ts.len(), "TS count");
            enc.bytes(&[n, 0, 0, 0]);
            for s in ts {
                let start = enc.out.len();
                enc.u8(s.ts_type.0);
                enc.u8(s.ip_protocol);
                let len_at = enc.len16_placeholder();
                enc.u16(s.start_port);
                enc.u16(s.end_port);
                enc.bytes(&s.start_addr);
                enc.bytes(&s.end_addr);
                let len = enc.out.len() - start;
                enc.patch_len16(len_at, len, "traffic selector length");
            }
        }
        PayloadBody::Sk(e) => enc.bytes(&e.data),
        PayloadBody::Skf(f) => {
            enc.u16(f.number);
            enc.u16(f.total);
            enc.bytes(&f.data);
        }
        PayloadBody::Cp(c) => {
            enc.bytes(&[c.cfg_type, 0, 0, 0]);
            for a in &c.attributes {
                enc.u16(a.attr_type & 0x7fff);
                let n = enc.count16(a.value.len(), "configuration attribute length");
                enc.u16(n);
                enc.bytes(&a.value);
            }
        }
        PayloadBody::Unknown { data, .. } => enc.bytes(data),
    }
}

fn encode_sa(proposals: &[Proposal], enc: &mut Enc<'_>) {
    let n = proposals.len();
    for (i, p) in proposals.iter().enumerate() {
        let start = enc.out.len();
        enc.u8(if i + 1 < n { 2 } else { 0 });
        enc.u8(0);
        let len_at = enc.len16_placeholder();
        enc.u8(p.number);
        enc.u8(p.protocol.0);
        let spi_size = enc.count8(p.spi.len(), "proposal SPI size");
        enc.u8(spi_size);
        let tn = enc.count8(p.transforms.len(), "proposal transform count");
        enc.u8(tn);
        enc.bytes(&p.spi);
        let tcount = p.transforms.len();
        for (j, t) in p.transforms.iter().enumerate() {
            let tstart = enc.out.len();
            enc.u8(if j + 1 < tcount { 3 } else { 0 });
            enc.u8(0);
            let tlen_at = enc.len16_placeholder();
            enc.u8(t.transform_type.0);
            enc.u8(0);
            enc.u16(t.id);
            for a in &t.attributes {
                match &a.value {
                    AttributeValue::Short(v) => {
                        enc.u16(0x8000 | (a.attr_type & 0x7fff));
                        enc.u16(*v);
                    }
                    AttributeValue::Long(v) => {
                        enc.u16(a.attr_type & 0x7fff);
                        let l = enc.count16(v.len(), "transform attribute length");
                        enc.u16(l);
                        enc.bytes(v);
                    }
                }
            }
            let tlen = enc.out.len() - tstart;
            enc.patch_len16(tlen_at, tlen, "transform length");
        }
        let len = enc.out.len() - start;
        enc.patch_len16(len_at, len, "proposal length");
    }
}

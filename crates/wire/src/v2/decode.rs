//! Parsing. Every structure is read through a [`Reader`] confined to the
//! length its parent declared; no indexing, no panics.

use super::error::{Error, ErrorKind};
use super::limits::*;
use super::reader::Reader;
use super::*;

/// Flag bit of the generic payload header that marks a payload critical.
const CRITICAL: u8 = 0x80;

pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header, Error> {
    let mut r = Reader::new(bytes, 0, "IKE header");
    let spi_i = r.array::<8>()?;
    let spi_r = r.array::<8>()?;
    let next_payload = PayloadType(r.u8()?);
    let version = r.u8()?;
    let exchange = ExchangeType(r.u8()?);
    let flags = Flags(r.u8()?);
    let message_id = r.u32()?;
    let length = r.u32()?;
    Ok(Header {
        spi_i,
        spi_r,
        next_payload,
        version,
        exchange,
        flags,
        message_id,
        length,
    })
}

pub(crate) fn parse_message(bytes: &[u8]) -> Result<Message, Error> {
    if bytes.len() > MAX_MESSAGE {
        return Err(Error::new(
            ErrorKind::TooLarge { limit: MAX_MESSAGE },
            0,
            "message",
        ));
    }
    let header = parse_header(bytes)?;
    let declared = usize::try_from(header.length).unwrap_or(usize::MAX);
    if declared != bytes.len() {
        return Err(Error::new(
            ErrorKind::LengthMismatch {
                declared,
                actual: bytes.len(),
            },
            24,
            "IKE header Length",
        ));
    }
    if header.major_version() != 2 {
        return Err(Error::new(
            ErrorKind::UnsupportedVersion(header.version),
            17,
            "IKE header version",
        ));
    }
    let body = bytes.get(Header::LEN..).unwrap_or(&[]);
    let payloads = parse_chain(
        header.next_payload,
        Reader::new(body, Header::LEN, "payload chain"),
    )?;
    Ok(Message { header, payloads })
}

/// Parses a bare payload chain whose first payload has type `first`, e.g.
/// the decrypted content of an SK payload (RFC 7296 section 3.14). Error
/// offsets are relative to `bytes`.
pub fn parse_payloads(first: PayloadType, bytes: &[u8]) -> Result<Vec<Payload>, Error> {
    parse_chain(first, Reader::new(bytes, 0, "payload chain"))
}

fn parse_chain(first: PayloadType, mut r: Reader<'_>) -> Result<Vec<Payload>, Error> {
    let mut out = Vec::new();
    let mut next = first;
    while next != PayloadType::NONE {
        if out.len() >= MAX_PAYLOADS {
            return Err(r.err_ctx(
                ErrorKind::TooMany {
                    limit: MAX_PAYLOADS,
                },
                "payload chain",
            ));
        }
        let start = r.offset();
        let mut h = r.clone();
        let np = h
            .u8()
            .map_err(|_| r.err_ctx(ErrorKind::Truncated, "generic payload header"))?;
        let flags = h
            .u8()
            .map_err(|_| r.err_ctx(ErrorKind::Truncated, "generic payload header"))?;
        let len = usize::from(
            h.u16()
                .map_err(|_| r.err_ctx(ErrorKind::Truncated, "generic payload header"))?,
        );
        if len < 4 {
            return Err(Error::new(
                ErrorKind::PayloadTooShort,
                start,
                "generic payload header",
            ));
        }
        let mut p = r.sub(len, payload_ctx(next))?;
        p.skip(4)?;
        let critical = flags & CRITICAL != 0;
        let this = next;
        next = PayloadType(np);
        let body = match this {
            PayloadType::SA => PayloadBody::Sa(parse_sa(p)?),
            PayloadType::KE => PayloadBody::Ke(parse_ke(p)?),
            PayloadType::IDI => PayloadBody::IdI(parse_id(p)?),
            PayloadType::IDR => PayloadBody::IdR(parse_id(p)?),
            PayloadType::CERT => PayloadBody::Cert(parse_cert(p)?),
            PayloadType::CERTREQ => PayloadBody::CertReq(parse_cert(p)?),
            PayloadType::AUTH => PayloadBody::Auth(parse_auth(p)?),
            PayloadType::NONCE => PayloadBody::Nonce(p.rest().to_vec()),
            PayloadType::NOTIFY => PayloadBody::Notify(parse_notify(p)?),
            PayloadType::DELETE => PayloadBody::Delete(parse_delete(p)?),
            PayloadType::VENDOR_ID => PayloadBody::VendorId(p.rest().to_vec()),
            PayloadType::TSI => PayloadBody::TsI(parse_ts(p)?),
            PayloadType::TSR => PayloadBody::TsR(parse_ts(p)?),
            PayloadType::SK => {
                next = PayloadType::NONE;
                PayloadBody::Sk(Encrypted {
                    first_inner: PayloadType(np),
                    data: p.rest().to_vec(),
                })
            }
            PayloadType::SKF => {
                next = PayloadType::NONE;
                PayloadBody::Skf(parse_skf(PayloadType(np), p)?)
            }
            PayloadType::CP => PayloadBody::Cp(parse_cp(p)?),
            PayloadType::EAP => PayloadBody::Eap(p.rest().to_vec()),
            other => {
                if critical {
                    return Err(Error::new(
                        ErrorKind::UnsupportedCriticalPayload(other),
                        start,
                        "payload",
                    ));
                }
                PayloadBody::Unknown {
                    payload_type: other,
                    data: p.rest().to_vec(),
                }
            }
        };
        out.push(Payload { critical, body });
    }
    // The chain ended (Next Payload 0, or an SK/SKF payload, which must be
    // the last one): nothing may follow.
    r.finish()?;
    Ok(out)
}

fn payload_ctx(t: PayloadType) -> &'static str {
    match t {
        PayloadType::SA => "SA payload",
        PayloadType::KE => "KE payload",
        PayloadType::IDI => "IDi payload",
        PayloadType::IDR => "IDr payload",
        PayloadType::CERT => "CERT payload",
        PayloadType::CERTREQ => "CERTREQ payload",
        PayloadType::AUTH => "AUTH payload",
        PayloadType::NONCE => "Nonce payload",
        PayloadType::NOTIFY => "Notify payload",
        PayloadType::DELETE => "Delete payload",
        PayloadType::VENDOR_ID => "Vendor ID payload",
        PayloadType::TSI => "TSi payload",
        PayloadType::TSR => "TSr payload",
        PayloadType::SK => "SK payload",
        PayloadType::SKF => "SKF payload",
        PayloadType::CP => "CP payload",
        PayloadType::EAP => "EAP payload",
        _ => "unknown payload",
    }
}

/// Reads a "last substructure" octet and checks it against the position:
/// `more` (2 for proposals, 3 for transforms) when bytes follow, 0 for the
/// last one.
fn check_last(
    last: u8,
    more_value: u8,
    has_more: bool,
    offset: usize,
    ctx: &'static str,
) -> Result<(), Error> {
    let want = if has_more { more_value } else { 0 };
    if last == want {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::BadLastSubstructure(last),
            offset,
            ctx,
        ))
    }
}

fn parse_sa(mut r: Reader<'_>) -> Result<Vec<Proposal>, Error> {
    let mut proposals = Vec::new();
    if r.is_empty() {
        return Err(r.err_ctx(ErrorKind::Truncated, "SA payload (no proposal)"));
    }
    while !r.is_empty() {
        if proposals.len() >= MAX_PROPOSALS {
            return Err(r.err_ctx(
                ErrorKind::TooMany {
                    limit: MAX_PROPOSALS,
                },
                "proposal",
            ));
        }
        let start = r.offset();
        let mut h = r.clone();
        let last = h
            .u8()
            .map_err(|_| r.err_ctx(ErrorKind::Truncated, "proposal"))?;
        let _reserved = h
            .u8()
            .map_err(|_| r.err_ctx(ErrorKind::Truncated, "proposal"))?;
        let len = usize::from(
            h.u16()
                .map_err(|_| r.err_ctx(ErrorKind::Truncated, "proposal"))?,
        );
        if len < 8 {
            return Err(Error::new(
                ErrorKind::InvalidLength {
                    declared: len,
                    required: 8,
                },
                start,
                "proposal length",
            ));
        }
        let mut p = r.sub(len, "proposal")?;
        check_last(last, 2, !r.is_empty(), start, "proposal")?;
        p.skip(4)?;
        proposals.push(parse_proposal(p)?);
    }
    Ok(proposals)
}

fn parse_proposal(mut p: Reader<'_>) -> Result<Proposal, Error> {
    let number = p.u8()?;
    let protocol = ProtocolId(p.u8()?);
    let spi_off = p.offset();
    let spi_size = p.u8()?;
    let allowed = match protocol {
        ProtocolId::IKE => spi_size == 0 || spi_size == 8,
        ProtocolId::AH | ProtocolId::ESP => spi_size == 4,
        _ => matches!(spi_size, 0 | 4 | 8),
    };
    if !allowed {
        return Err(Error::new(
            ErrorKind::InvalidSpiSize(spi_size),
            spi_off,
            "proposal SPI size",
        ));
    }
    let count_off = p.offset();
    let declared = usize::from(p.u8()?);
    if declared > MAX_TRANSFORMS {
        return Err(Error::new(
            ErrorKind::TooMany {
                limit: MAX_TRANSFORMS,
            },
            count_off,
            "proposal transform count",
        ));
    }
    let spi = p
        .take(usize::from(spi_size))
        .map_err(|_| p.err_ctx(ErrorKind::Overrun, "proposal SPI"))?
        .to_vec();
    let mut transforms = Vec::with_capacity(declared);
    while !p.is_empty() {
        if transforms.len() >= declared {
            return Err(Error::new(
                ErrorKind::CountMismatch {
                    declared,
                    actual: transforms.len().saturating_add(1),
                },
                p.offset(),
                "proposal transform count",
            ));
        }
        let start = p.offset();
        let mut h = p.clone();
        let last = h
            .u8()
            .map_err(|_| p.err_ctx(ErrorKind::Truncated, "transform"))?;
        let _reserved = h
            .u8()
            .map_err(|_| p.err_ctx(ErrorKind::Truncated, "transform"))?;
        let len = usize::from(
            h.u16()
                .map_err(|_| p.err_ctx(ErrorKind::Truncated, "transform"))?,
        );
        if len < 8 {
            return Err(Error::new(
                ErrorKind::InvalidLength {
                    declared: len,
                    required: 8,
                },
                start,
                "transform length",
            ));
        }
        let mut t = p.sub(len, "transform")?;
        check_last(last, 3, !p.is_empty(), start, "transform")?;
        t.skip(4)?;
        transforms.push(parse_transform(t)?);
    }
    if transforms.len() != declared {
        return Err(Error::new(
            ErrorKind::CountMismatch {
                declared,
                actual: transforms.len(),
            },
            count_off,
            "proposal transform count",
        ));
    }
    Ok(Proposal {
        number,
        protocol,
        spi,
        transforms,
    })
}

fn parse_transform(mut t: Reader<'_>) -> Result<Transform, Error> {
    let transform_type = TransformType(t.u8()?);
    let _reserved = t.u8()?;
    let id = t.u16()?;
    let mut attributes = Vec::new();
    while !t.is_empty() {
        if attributes.len() >= MAX_ATTRIBUTES {
            return Err(t.err_ctx(
                ErrorKind::TooMany {
                    limit: MAX_ATTRIBUTES,
                },
                "transform attribute",
            ));
        }
        let raw = t
            .u16()
            .map_err(|_| t.err_ctx(ErrorKind::Truncated, "transform attribute"))?;
        let attr_type = raw & 0x7fff;
        let value = if raw & 0x8000 != 0 {
            AttributeValue::Short(
                t.u16()
                    .map_err(|_| t.err_ctx(ErrorKind::Truncated, "transform attribute"))?,
            )
        } else {
            let len = usize::from(
                t.u16()
                    .map_err(|_| t.err_ctx(ErrorKind::Truncated, "transform attribute"))?,
            );
            let v = t
                .take(len)
                .map_err(|_| t.err_ctx(ErrorKind::Overrun, "transform attribute value"))?;
            AttributeValue::Long(v.to_vec())
        };
        attributes.push(Attribute { attr_type, value });
    }
    Ok(Transform {
        transform_type,
        id,
        attributes,
    })
}

fn parse_ke(mut r: Reader<'_>) -> Result<KeyExchange, Error> {
    let group = r.u16()?;
    r.skip(2)?;
    Ok(KeyExchange {
        group,
        data: r.rest().to_vec(),
    })
}

fn parse_id(mut r: Reader<'_>) -> Result<Identification, Error> {
    let id_type = IdType(r.u8()?);
    r.skip(3)?;
    Ok(Identification {
        id_type,
        data: r.rest().to_vec(),
    })
}

fn parse_cert(mut r: Reader<'_>) -> Result<Certificate, Error> {
    let encoding = CertEncoding(r.u8()?);
    Ok(Certificate {
        encoding,
        data: r.rest().to_vec(),
    })
}

fn parse_auth(mut r: Reader<'_>) -> Result<Authentication, Error> {
    let method = AuthMethod(r.u8()?);
    r.skip(3)?;
    Ok(Authentication {
        method,
        data: r.rest().to_vec(),
    })
}

fn parse_notify(mut r: Reader<'_>) -> Result<Notify, Error> {
    let protocol = ProtocolId(r.u8()?);
    let spi_off = r.offset();
    let spi_size = r.u8()?;
    // RFC 7296 section 3.10: the SPI size is zero for notifications about
    // the IKE SA or without SPI; AH/ESP SPIs are 4 octets.
    let allowed = match protocol {
        ProtocolId::NONE | ProtocolId::IKE => spi_size == 0,
        ProtocolId::AH | ProtocolId::ESP => spi_size == 0 || spi_size == 4,
        _ => matches!(spi_size, 0 | 4 | 8),
    };
    if !allowed {
        return Err(Error::new(
            ErrorKind::InvalidSpiSize(spi_size),
            spi_off,
            "Notify SPI size",
        ));
    }
    let notify_type = NotifyType(r.u16()?);
    let spi = r
        .take(usize::from(spi_size))
        .map_err(|_| r.err_ctx(ErrorKind::Overrun, "Notify SPI"))?
        .to_vec();
    Ok(Notify {
        protocol,
        spi,
        notify_type,
        data: r.rest().to_vec(),
    })
}

fn parse_delete(mut r: Reader<'_>) -> Result<Delete, Error> {
    let protocol = ProtocolId(r.u8()?);
    let spi_off = r.offset();
    let spi_size = r.u8()?;
    let allowed = match protocol {
        ProtocolId::IKE => spi_size == 0,
        ProtocolId::AH | ProtocolId::ESP => spi_size == 4,
        _ => matches!(spi_size, 0 | 4 | 8),
    };
    if !allowed {
        return Err(Error::new(
            ErrorKind::InvalidSpiSize(spi_size),
            spi_off,
            "Delete SPI size",
        ));
    }
    let count_off = r.offset();
    let declared = usize::from(r.u16()?);
    let size = usize::from(spi_size);
    let needed = declared.saturating_mul(size);
    // With SPI size 0 no SPI can be present, so the count must be 0.
    if needed > r.remaining() || (size == 0 && declared != 0) {
        return Err(Error::new(
            ErrorKind::CountMismatch {
                declared,
                actual: r.remaining().checked_div(size).unwrap_or(0),
            },
            count_off,
            "Delete SPI count",
        ));
    }
    if declared > MAX_DELETE_SPIS {
        return Err(Error::new(
            ErrorKind::TooMany {
                limit: MAX_DELETE_SPIS,
            },
            count_off,
            "Delete SPI count",
        ));
    }
    let mut spis = Vec::with_capacity(declared);
    for _ in 0..declared {
        spis.push(r.take(size)?.to_vec());
    }
    r.finish()?;
    Ok(Delete {
        protocol,
        spi_size,
        spis,
    })
}

fn parse_ts(mut r: Reader<'_>) -> Result<Vec<TrafficSelector>, Error> {
    let count_off = r.offset();
    let count = usize::from(r.u8()?);
    r.skip(3)?;
    if count > MAX_TRAFFIC_SELECTORS {
        return Err(Error::new(
            ErrorKind::TooMany {
                limit: MAX_TRAFFIC_SELECTORS,
            },
            count_off,
            "TS count",
        ));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let start = r.offset();
        let mut h = r.clone();
        let hdr_err = |_| Error::new(ErrorKind::Truncated, start, "traffic selector");
        let ts_type = TsType(h.u8().map_err(hdr_err)?);
        let _proto = h.u8().map_err(hdr_err)?;
        let len = usize::from(h.u16().map_err(hdr_err)?);
        let required = match ts_type {
            TsType::IPV4_ADDR_RANGE => Some(16),
            TsType::IPV6_ADDR_RANGE => Some(40),
            _ => None,
        };
        match required {
            Some(req) if len != req => {
                return Err(Error::new(
                    ErrorKind::InvalidLength {
                        declared: len,
                        required: req,
                    },
                    start,
                    "traffic selector length",
                ));
            }
            None if len < 8 => {
                return Err(Error::new(
                    ErrorKind::InvalidLength {
                        declared: len,
                        required: 8,
                    },
                    start,
                    "traffic selector length",
                ));
            }
            _ => {}
        }
        let mut s = r.sub(len, "traffic selector")?;
        s.skip(1)?;
        let ip_protocol = s.u8()?;
        s.skip(2)?;
        let start_port = s.u16()?;
        let end_port = s.u16()?;
        let (start_addr, end_addr) = match required {
            Some(_) => {
                let n = s.remaining() / 2;
                let a = s.take(n)?.to_vec();
                let b = s.take(n)?.to_vec();
                (a, b)
            }
            None => (s.rest().to_vec(), Vec::new()),
        };
        s.finish()?;
        out.push(TrafficSelector {
            ts_type,
            ip_protocol,
            start_port,
            end_port,
            start_addr,
            end_addr,
        });
    }
    r.finish()?;
    Ok(out)
}

fn parse_skf(first_inner: PayloadType, mut r: Reader<'_>) -> Result<EncryptedFragment, Error> {
    let num_off = r.offset();
    let number = r.u16()?;
    let total = r.u16()?;
    // RFC 7383 section 2.5: numbering starts at 1 and never exceeds Total.
    if number == 0 || total == 0 || number > total {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            num_off,
            "SKF fragment number",
        ));
    }
    Ok(EncryptedFragment {
        first_inner,
        number,
        total,
        data: r.rest().to_vec(),
    })
}

fn parse_cp(mut r: Reader<'_>) -> Result<Configuration, Error> {
    let cfg_type = r.u8()?;
    r.skip(3)?;
    let mut attributes = Vec::new();
    while !r.is_empty() {
        if attributes.len() >= MAX_CONFIG_ATTRIBUTES {
            return Err(r.err_ctx(
                ErrorKind::TooMany {
                    limit: MAX_CONFIG_ATTRIBUTES,
                },
                "configuration attribute",
            ));
        }
        let raw = r
            .u16()
            .map_err(|_| r.err_ctx(ErrorKind::Truncated, "configuration attribute"))?;
        let len = usize::from(
            r.u16()
                .map_err(|_| r.err_ctx(ErrorKind::Truncated, "configuration attribute"))?,
        );
        let v = r
            .take(len)
            .map_err(|_| r.err_ctx(ErrorKind::Overrun, "configuration attribute value"))?;
        attributes.push(ConfigAttribute {
            attr_type: raw & 0x7fff,
            value: v.to_vec(),
        });
    }
    Ok(Configuration {
        cfg_type,
        attributes,
    })
}

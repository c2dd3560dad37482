//! PEM/DER certificate input and PEM output.

use crate::PkiError;
use crate::asn1::{Reader, tag};
use crate::cert::ParsedCert;

/// Largest input accepted by [`parse_certificate_pem_or_der`].
pub const MAX_BUNDLE_LEN: usize = 16 * 1024 * 1024;
/// Most certificates accepted in one bundle.
pub const MAX_BUNDLE_CERTS: usize = 256;

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// PEM encoding of one DER certificate (64-column base64, LF line ends).
pub fn to_pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .unwrap_or_else(|_| String::new())
}

fn mal(cert: String, reason: impl Into<String>) -> PkiError {
    PkiError::Malformed {
        cert,
        reason: reason.into(),
    }
}

/// Reads one or more certificates from a PEM bundle (blocks other than
/// `CERTIFICATE` and text around them are ignored) or from DER (one or
/// several concatenated certificates). Each result is checked to parse as a
/// certificate.
pub fn parse_certificate_pem_or_der(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    if bytes.len() > MAX_BUNDLE_LEN {
        return Err(PkiError::InvalidInput(format!(
            "certificate input of {} bytes exceeds {MAX_BUNDLE_LEN}",
            bytes.len()
        )));
    }
    let mut out = Vec::new();
    if bytes.first() == Some(&tag::SEQUENCE) {
        let mut r = Reader::new(bytes);
        while !r.is_empty() {
            let label = format!("#{} of DER input", out.len());
            let t = r
                .read(tag::SEQUENCE, &label)
                .map_err(|e| mal(label.clone(), e.0))?;
            out.push(t.raw.to_vec());
            if out.len() > MAX_BUNDLE_CERTS {
                return Err(PkiError::InvalidInput(format!(
                    "more than {MAX_BUNDLE_CERTS} certificates"
                )));
            }
        }
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| mal("input".into(), "neither DER nor PEM text"))?;
        let mut rest = text;
        while let Some(start) = rest.find(BEGIN) {
            let label = format!("#{} of PEM input", out.len());
            let after = rest.get(start..).unwrap_or("");
            let end = after
                .find(END)
                .ok_or_else(|| mal(label.clone(), "missing END CERTIFICATE line"))?;
            let block = after.get(..end + END.len()).unwrap_or("");
            let (lbl, der) = der::pem::decode_vec(block.as_bytes())
                .map_err(|e| mal(label.clone(), format!("bad PEM: {e}")))?;
            if lbl != "CERTIFICATE" {
                return Err(mal(label, format!("unexpected PEM label {lbl}")));
            }
            out.push(der);
            if out.len() > MAX_BUNDLE_CERTS {
                return Err(PkiError::InvalidInput(format!(
                    "more than {MAX_BUNDLE_CERTS} certificates"
                )));
            }
            rest = after.get(end + END.len()..).unwrap_or("");
        }
        if out.is_empty() {
            return Err(mal("input".into(), "no CERTIFICATE block found"));
        }
    }
    for (i, c) in out.iter().enumerate() {
        ParsedCert::parse(c, &format!("#{i} of input"))?;
    }
    Ok(out)
}

//! Reading certificate / CRL files: PEM (any number of blocks) or DER (one
//! or several concatenated objects).

use super::der::{Reader, SEQUENCE};

/// Largest file accepted (bytes).
pub const MAX_FILE_LEN: usize = 64 * 1024 * 1024;
/// Most objects accepted from one file.
pub const MAX_FILE_OBJECTS: usize = 4096;

/// Decodes every object of a PEM or DER file. `labels` lists the PEM labels
/// accepted (e.g. `["CERTIFICATE", "TRUSTED CERTIFICATE"]`); blocks with other
/// labels are skipped. Errors name what is wrong.
pub fn read_objects(data: &[u8], labels: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    if data.len() > MAX_FILE_LEN {
        return Err(format!("file larger than {MAX_FILE_LEN} bytes"));
    }
    let trimmed = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |p| &data[p..]);
    if trimmed.is_empty() {
        return Err("file is empty".into());
    }
    if trimmed.first() == Some(&SEQUENCE) {
        let mut r = Reader::new(trimmed);
        let mut out = Vec::new();
        while !r.is_empty() {
            if out.len() >= MAX_FILE_OBJECTS {
                return Err("too many objects in one file".into());
            }
            let t = r.any().map_err(|e| format!("invalid DER: {}", e.0))?;
            if t.tag != SEQUENCE {
                return Err("invalid DER: object is not a SEQUENCE".into());
            }
            out.push(t.raw.to_vec());
        }
        return Ok(out);
    }
    let text = std::str::from_utf8(data).map_err(|_| "neither DER nor PEM text".to_string())?;
    let mut out = Vec::new();
    let mut rest = text;
    let mut seen_any = false;
    while let Some(b) = rest.find("-----BEGIN ") {
        seen_any = true;
        let after = &rest[b + 11..];
        let lend = after.find("-----").ok_or("unterminated PEM BEGIN line")?;
        let label = &after[..lend];
        let body_start = &after[lend + 5..];
        let end_marker = format!("-----END {label}-----");
        let e = body_start
            .find(&end_marker)
            .ok_or_else(|| format!("missing END line for {label}"))?;
        if labels.contains(&label) {
            if out.len() >= MAX_FILE_OBJECTS {
                return Err("too many objects in one file".into());
            }
            out.push(
                base64_decode(&body_start[..e])
                    .ok_or_else(|| format!("invalid base64 in {label} block"))?,
            );
        }
        rest = &body_start[e + end_marker.len()..];
    }
    if !seen_any {
        return Err("no PEM block and not DER".into());
    }
    if out.is_empty() {
        return Err(format!("no {} block found", labels.join(" or ")));
    }
    Ok(out)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut pad = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if pad > 0 {
            return None;
        }
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if pad > 2 || bits >= 6 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_and_der() {
        // "MAMCAQE=" is base64 of 30 03 02 01 01 (python3 -c 'import base64;print(base64.b64encode(bytes([0x30,3,2,1,1])))').
        let pem = "junk\n-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n";
        assert_eq!(
            read_objects(pem.as_bytes(), &["CERTIFICATE"]).unwrap(),
            vec![vec![0x30, 3, 2, 1, 1]]
        );
        assert_eq!(
            read_objects(&[0x30, 0, 0x30, 1, 5], &["CERTIFICATE"])
                .unwrap()
                .len(),
            2
        );
        assert!(read_objects(&[0x30, 5, 1], &["CERTIFICATE"]).is_err());
        assert!(read_objects(b"hello", &["CERTIFICATE"]).is_err());
        assert!(
            read_objects(
                b"-----BEGIN CERTIFICATE-----\nM!==\n-----END CERTIFICATE-----",
                &["CERTIFICATE"]
            )
            .is_err()
        );
    }
}

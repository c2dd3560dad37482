//! The Encrypted and Authenticated payload (RFC 7296 §3.14, RFC 5282 for AEAD).

use negotiator_crypto::{CipherKey, CryptoError, CryptoProvider, Encr, Integ, IntegKey};
use negotiator_wire::v2::{
    Encrypted, EncryptedFragment, Header, Message, Payload, PayloadBody, PayloadType,
    encode_payloads,
};

use crate::error::ProtoError;

/// Keys protecting one IKE SA's SK payloads, one direction each.
pub(crate) struct SkKeys {
    pub encr: Encr,
    pub integ: Option<Integ>,
    enc_out: Box<dyn CipherKey>,
    enc_in: Box<dyn CipherKey>,
    integ_out: Option<Box<dyn IntegKey>>,
    integ_in: Option<Box<dyn IntegKey>>,
    /// Explicit IV counter for AEAD ciphers (RFC 5282 §3: the IV must not repeat under a key).
    iv_counter: u64,
}

impl std::fmt::Debug for SkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkKeys")
            .field("encr", &self.encr)
            .field("integ", &self.integ)
            .finish()
    }
}

impl SkKeys {
    /// `enc_*`/`integ_*` are SK_e/SK_a for our sending and receiving directions.
    pub fn new(
        p: &dyn CryptoProvider,
        encr: Encr,
        integ: Option<Integ>,
        enc_out: &[u8],
        enc_in: &[u8],
        integ_out: &[u8],
        integ_in: &[u8],
    ) -> Result<Self, CryptoError> {
        let (integ_out, integ_in) = match integ {
            Some(i) => (
                Some(p.integ_key(i, integ_out)?),
                Some(p.integ_key(i, integ_in)?),
            ),
            None => (None, None),
        };
        Ok(Self {
            encr,
            integ,
            enc_out: p.cipher_key(encr, enc_out)?,
            enc_in: p.cipher_key(encr, enc_in)?,
            integ_out,
            integ_in,
            iv_counter: 0,
        })
    }

    fn icv_len(&self) -> usize {
        if self.encr.is_aead() {
            self.encr.icv_len()
        } else {
            self.integ.map_or(0, |i| i.icv_len())
        }
    }

    /// Builds a protected message: `header` with one SK payload carrying `inner`.
    pub fn seal(
        &mut self,
        p: &dyn CryptoProvider,
        header: Header,
        inner: &[Payload],
    ) -> Result<Vec<u8>, ProtoError> {
        let mut plain = Vec::with_capacity(256);
        let first_inner = encode_payloads(inner, &mut plain);
        self.seal_raw(p, header, first_inner, plain, None)
    }

    /// Builds a protected message, as RFC 7383 fragments when `max_len` is given and the
    /// single SK message would be longer than that: each fragment message is at most
    /// `max_len` octets.
    pub fn seal_fragmented(
        &mut self,
        p: &dyn CryptoProvider,
        header: Header,
        inner: &[Payload],
        max_len: Option<usize>,
    ) -> Result<Vec<Vec<u8>>, ProtoError> {
        let mut plain = Vec::with_capacity(1024);
        let first_inner = encode_payloads(inner, &mut plain);
        let block = if self.encr.is_aead() {
            1
        } else {
            self.encr.block_len()
        };
        // Header, generic payload header, IV, ICV, and at most one block of padding plus the
        // Pad Length octet.
        let overhead = 28 + 4 + self.encr.iv_len() + self.icv_len() + block;
        let Some(max) = max_len.filter(|m| overhead + plain.len() > *m) else {
            return Ok(vec![self.seal_raw(p, header, first_inner, plain, None)?]);
        };
        // SKF adds Fragment Number and Total Fragments; keep the chunks block-aligned.
        let room = max
            .checked_sub(overhead + 4)
            .filter(|r| *r >= block)
            .ok_or(ProtoError::Internal("fragment size too small"))?;
        let chunk = room - room % block;
        let total = u16::try_from(plain.len().div_ceil(chunk))
            .map_err(|_| ProtoError::Internal("too many fragments"))?;
        let mut out = Vec::with_capacity(usize::from(total));
        for (i, piece) in plain.chunks(chunk).enumerate() {
            let number =
                u16::try_from(i + 1).map_err(|_| ProtoError::Internal("too many fragments"))?;
            let np = if number == 1 {
                first_inner
            } else {
                PayloadType::NONE
            };
            out.push(self.seal_raw(
                p,
                header.clone(),
                np,
                piece.to_vec(),
                Some((number, total)),
            )?);
        }
        zeroize::Zeroize::zeroize(&mut plain);
        Ok(out)
    }

    /// Seals already-encoded inner payloads. With `fragment` = (Fragment Number, Total
    /// Fragments) the result is one RFC 7383 SKF fragment carrying `plain` (a piece of the
    /// inner payload chain; `first_inner` must be NONE except in fragment 1).
    pub fn seal_raw(
        &mut self,
        p: &dyn CryptoProvider,
        header: Header,
        first_inner: PayloadType,
        mut plain: Vec<u8>,
        fragment: Option<(u16, u16)>,
    ) -> Result<Vec<u8>, ProtoError> {
        let block = if self.encr.is_aead() {
            1
        } else {
            self.encr.block_len()
        };
        let pad = (block - (plain.len() + 1) % block) % block;
        plain.resize(plain.len() + pad, 0);
        plain.push(u8::try_from(pad).map_err(|_| ProtoError::Internal("pad length"))?);
        let iv_len = self.encr.iv_len();
        let icv_len = self.icv_len();
        let data_len = iv_len + plain.len() + icv_len;
        let body = match fragment {
            None => PayloadBody::Sk(Encrypted {
                first_inner,
                data: vec![0; data_len],
            }),
            Some((number, total)) => PayloadBody::Skf(EncryptedFragment {
                first_inner,
                number,
                total,
                data: vec![0; data_len],
            }),
        };
        let msg = Message {
            header,
            payloads: vec![Payload::new(body)],
        };
        let mut bytes = msg.encode();
        let sk_data = bytes.len() - data_len;
        let ct_start = sk_data + iv_len;
        let ct_end = ct_start + plain.len();
        {
            let iv = &mut bytes[sk_data..ct_start];
            if self.encr.is_aead() {
                self.iv_counter = self.iv_counter.wrapping_add(1);
                iv.copy_from_slice(&self.iv_counter.to_be_bytes()[8 - iv_len..]);
            } else {
                p.fill_random(iv)?;
            }
        }
        bytes[ct_start..ct_end].copy_from_slice(&plain);
        zeroize::Zeroize::zeroize(&mut plain);
        if self.encr.is_aead() {
            let (aad, rest) = bytes.split_at_mut(sk_data);
            let (iv, rest) = rest.split_at_mut(iv_len);
            let (ct, tag) = rest.split_at_mut(ct_end - ct_start);
            self.enc_out.encrypt(iv, aad, ct, tag)?;
        } else {
            let (head, rest) = bytes.split_at_mut(ct_start);
            let iv = &head[sk_data..];
            let ct = &mut rest[..ct_end - ct_start];
            self.enc_out.encrypt(iv, &[], ct, &mut [])?;
            let integ = self
                .integ_out
                .as_ref()
                .ok_or(ProtoError::Internal("no integrity key"))?;
            let (authed, icv) = bytes.split_at_mut(ct_end);
            integ.compute(&[authed], icv);
        }
        Ok(bytes)
    }

    /// Verifies and decrypts the SK data that ends `raw`; returns the plaintext without padding.
    pub fn open_raw(&self, raw: &[u8], data: &[u8]) -> Result<Vec<u8>, ProtoError> {
        let iv_len = self.encr.iv_len();
        let icv_len = self.icv_len();
        if data.len() < iv_len + icv_len + 1 || raw.len() < data.len() {
            return Err(ProtoError::Integrity("encrypted payload too short"));
        }
        let sk_data = raw.len() - data.len();
        let ct_len = data.len() - iv_len - icv_len;
        if !self.encr.is_aead() && !ct_len.is_multiple_of(self.encr.block_len()) {
            return Err(ProtoError::Integrity(
                "ciphertext not a whole number of blocks",
            ));
        }
        let iv = &data[..iv_len];
        let tag = &data[iv_len + ct_len..];
        let mut plain = data[iv_len..iv_len + ct_len].to_vec();
        if self.encr.is_aead() {
            self.enc_in
                .decrypt(iv, &raw[..sk_data], &mut plain, tag)
                .map_err(|_| ProtoError::Integrity("AEAD tag mismatch"))?;
        } else {
            let integ = self
                .integ_in
                .as_ref()
                .ok_or(ProtoError::Internal("no integrity key"))?;
            if !integ.verify(&[&raw[..raw.len() - icv_len]], tag) {
                return Err(ProtoError::Integrity("integrity checksum mismatch"));
            }
            self.enc_in
                .decrypt(iv, &[], &mut plain, &[])
                .map_err(|_| ProtoError::Integrity("decryption failed"))?;
        }
        let pad = usize::from(
            *plain
                .last()
                .ok_or(ProtoError::Integrity("empty plaintext"))?,
        );
        if pad + 1 > plain.len() {
            return Err(ProtoError::Integrity("pad length exceeds plaintext"));
        }
        plain.truncate(plain.len() - pad - 1);
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use negotiator_crypto::default_provider;
    use negotiator_wire::v2::parse_payloads;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const DATA: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../wire/tests/data/strongswan/"
    );

    /// strongSwan's fragmented IKE_AUTH request (RFC 7383, two SKF fragments, AES-CBC-128 +
    /// HMAC-SHA2-256-128), opened with the SK_ei/SK_ai that charon logged: each fragment
    /// verifies on its own and the pieces concatenate to the inner chain that the capture
    /// tooling decrypted independently (python/openssl, `*.inner`).
    #[test]
    fn strongswan_skf_fragments_open_and_reassemble_to_the_captured_chain() {
        let keys = std::fs::read_to_string(format!("{DATA}ikev2-cert.keys")).unwrap();
        let f: Vec<&str> = keys.trim().split(',').collect();
        let (sk_ei, sk_er, sk_ai, sk_ar) = (unhex(f[2]), unhex(f[3]), unhex(f[5]), unhex(f[6]));
        let p = default_provider();
        // We are the responder: inbound keys are the initiator's.
        let k = SkKeys::new(
            &*p,
            Encr::AesCbc128,
            Some(Integ::HmacSha256_128),
            &sk_er,
            &sk_ei,
            &sk_ar,
            &sk_ai,
        )
        .unwrap();
        let mut whole = Vec::new();
        let mut first = None;
        for (name, n) in [
            ("03-ikev2-cert-ike_auth-i.bin", 1),
            ("04-ikev2-cert-ike_auth-i.bin", 2),
        ] {
            let raw = std::fs::read(format!("{DATA}{name}")).unwrap();
            let msg = Message::parse(&raw).unwrap();
            let Some(PayloadBody::Skf(frag)) = msg.payloads.last().map(|p| &p.body) else {
                panic!("{name}: no SKF payload");
            };
            assert_eq!((frag.number, frag.total), (n, 2));
            if n == 1 {
                first = Some(frag.first_inner);
            } else {
                assert_eq!(frag.first_inner, PayloadType::NONE);
            }
            whole.extend(k.open_raw(&raw, &frag.data).unwrap());
            // One flipped bit anywhere in the fragment (here: its Fragment Number field,
            // which is authenticated) makes it fail.
            let mut bad = raw.clone();
            let at = raw.len() - frag.data.len() - 3;
            bad[at] ^= 1;
            assert!(k.open_raw(&bad, &frag.data).is_err());
        }
        let expected = std::fs::read(format!("{DATA}03-ikev2-cert-ike_auth-i.inner")).unwrap();
        assert_eq!(whole.len(), 1518);
        assert_eq!(whole, expected);
        let inner = parse_payloads(first.unwrap(), &whole).unwrap();
        assert_eq!(
            inner.first().map(Payload::payload_type),
            Some(PayloadType::IDI)
        );
    }

    #[test]
    fn our_skf_fragments_parse_and_open_with_the_peer_keys() {
        let p = default_provider();
        let (e1, e2, a1, a2) = ([1u8; 16], [2u8; 16], [3u8; 32], [4u8; 32]);
        let enc = Some(Integ::HmacSha256_128);
        let mut tx = SkKeys::new(&*p, Encr::AesCbc128, enc, &e1, &e2, &a1, &a2).unwrap();
        let rx = SkKeys::new(&*p, Encr::AesCbc128, enc, &e2, &e1, &a2, &a1).unwrap();
        let header = Header {
            spi_i: [1; 8],
            spi_r: [2; 8],
            next_payload: PayloadType::NONE,
            version: 0x20,
            exchange: negotiator_wire::v2::ExchangeType::IKE_AUTH,
            flags: negotiator_wire::v2::Flags::INITIATOR,
            message_id: 1,
            length: 0,
        };
        let raw = tx
            .seal_raw(
                &*p,
                header,
                PayloadType::IDI,
                b"hello".to_vec(),
                Some((1, 3)),
            )
            .unwrap();
        let msg = Message::parse(&raw).unwrap();
        let Some(PayloadBody::Skf(f)) = msg.payloads.first().map(|p| &p.body) else {
            panic!("no SKF");
        };
        assert_eq!((f.number, f.total, f.first_inner), (1, 3, PayloadType::IDI));
        // Header (28) + SKF header (4) + numbers (4) + IV (16) + one block + ICV (16).
        assert_eq!(raw.len(), 28 + 8 + 16 + 16 + 16);
        assert_eq!(rx.open_raw(&raw, &f.data).unwrap(), b"hello");
    }
}

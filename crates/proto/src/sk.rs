//! The Encrypted and Authenticated payload (RFC 7296 §3.14, RFC 5282 for AEAD).

use negotiator_crypto::{CipherKey, CryptoError, CryptoProvider, Encr, Integ, IntegKey};
use negotiator_wire::v2::{
    Encrypted, Header, Message, Payload, PayloadBody, PayloadType, encode_payloads, parse_payloads,
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
        self.seal_raw(p, header, first_inner, plain, false)
    }

    /// Seals already-encoded inner payloads. Used for fragments too (`skf` selects SKF).
    pub fn seal_raw(
        &mut self,
        p: &dyn CryptoProvider,
        header: Header,
        first_inner: PayloadType,
        mut plain: Vec<u8>,
        _skf: bool,
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
        let msg = Message {
            header,
            payloads: vec![Payload::new(PayloadBody::Sk(Encrypted {
                first_inner,
                data: vec![0; data_len],
            }))],
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

    /// Verifies and decrypts the SK payload of `raw` (the whole datagram, already parsed as
    /// `msg`), returning the inner payloads.
    pub fn open(&self, raw: &[u8], sk: &Encrypted) -> Result<Vec<Payload>, ProtoError> {
        let plain = self.open_raw(raw, &sk.data)?;
        parse_payloads(sk.first_inner, &plain).map_err(ProtoError::InnerSyntax)
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
        if !self.encr.is_aead() && ct_len % self.encr.block_len() != 0 {
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

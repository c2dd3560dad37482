//! `negotiator-store`: password-encrypted profile files.

#![warn(missing_docs)]
//!
//! A *profile* holds one private key (PKCS#8 DER), its certificate chain
//! (DER, leaf first) and the trust anchors (DER) used to check peers.
//!
//! # File format (version 1)
//!
//! All integers are big-endian.
//!
//! ```text
//! offset size  field
//!      0    8  magic "NGPROF\r\n"
//!      8    1  format version (1)
//!      9    1  KDF id (1 = Argon2id v0x13)
//!     10    4  Argon2 m_cost in KiB
//!     14    4  Argon2 t_cost (passes)
//!     18    4  Argon2 p_cost (lanes)
//!     22   16  salt
//!     38   12  AES-GCM nonce
//!     50   16  password check value (bytes 32..48 of the Argon2 output)
//!     66    …  AES-256-GCM ciphertext || 16-byte tag; AAD = bytes 0..66
//! ```
//!
//! Argon2id produces 48 bytes: the first 32 are the AES-256-GCM key, the next
//! 16 are stored as a check value so that a wrong password can be told apart
//! from a damaged file (it gives an attacker nothing the GCM tag does not).
//!
//! The plaintext is a length-prefixed encoding:
//! `u32 len || pkcs8`, `u32 count || (u32 len || cert)*` for the chain, then the
//! same for the trust anchors.
//!
//! The default cost ([`KdfParams::INTERACTIVE`]) is Argon2id with 64 MiB,
//! 3 passes, 1 lane: roughly a quarter of a second on a current CPU, which is
//! acceptable for an interactive unlock and costly for offline guessing.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

/// File magic.
const MAGIC: &[u8; 8] = b"NGPROF\r\n";
/// Current format version.
const VERSION: u8 = 1;
/// KDF identifier for Argon2id version 0x13.
const KDF_ARGON2ID: u8 = 1;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const CHECK_LEN: usize = 16;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 8 + 1 + 1 + 4 + 4 + 4 + SALT_LEN + NONCE_LEN + CHECK_LEN;

/// Largest profile file accepted by [`Profile::load`] (16 MiB).
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;
/// Largest number of certificates in the chain or the anchor list.
pub const MAX_CERTS: u32 = 64;
/// Largest Argon2 memory cost accepted when loading (1 GiB, in KiB).
pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
/// Largest Argon2 pass count accepted when loading.
pub const MAX_T_COST: u32 = 16;
/// Largest Argon2 memory cost times pass count (KiB x passes, 4 GiB worth)
/// accepted, so that a crafted header cannot make loading take minutes.
pub const MAX_WORK_KIB_PASSES: u64 = 4 * 1024 * 1024;
/// Largest Argon2 lane count accepted when loading.
pub const MAX_P_COST: u32 = 16;
/// Largest password file read by [`read_password`].
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// Errors of this crate.
#[derive(Debug)]
pub enum StoreError {
    /// The password does not open this profile.
    WrongPassword,
    /// The file is damaged, truncated or not a profile; the text says what is wrong.
    Corrupt(String),
    /// The file uses a format version or KDF this build does not know.
    Unsupported(String),
    /// An I/O error, with the path or action concerned.
    Io(String, io::Error),
    /// No password could be obtained (no file, no variable, no terminal).
    NoPassword(String),
    /// Invalid KDF parameters given by the caller.
    InvalidParams(String),
    /// A cryptographic primitive failed (random source, cipher setup).
    Crypto(&'static str),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::WrongPassword => {
                f.write_str("wrong password (the profile could not be unlocked with it)")
            }
            StoreError::Corrupt(what) => write!(f, "profile file is corrupt: {what}"),
            StoreError::Unsupported(what) => write!(f, "unsupported profile file: {what}"),
            StoreError::Io(what, e) => write!(f, "{what}: {e}"),
            StoreError::NoPassword(what) => write!(f, "no password available: {what}"),
            StoreError::InvalidParams(what) => write!(f, "invalid KDF parameters: {what}"),
            StoreError::Crypto(what) => write!(f, "cryptographic failure: {what}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory cost in KiB.
    pub m_cost_kib: u32,
    /// Number of passes.
    pub t_cost: u32,
    /// Degree of parallelism (lanes).
    pub p_cost: u32,
}

impl KdfParams {
    /// Default interactive cost: 64 MiB, 3 passes, 1 lane.
    pub const INTERACTIVE: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };

    fn check(&self) -> Result<argon2::Params, String> {
        if self.m_cost_kib > MAX_M_COST_KIB {
            return Err(format!(
                "memory cost {} KiB exceeds the limit of {MAX_M_COST_KIB} KiB",
                self.m_cost_kib
            ));
        }
        if self.t_cost > MAX_T_COST {
            return Err(format!(
                "pass count {} exceeds the limit of {MAX_T_COST}",
                self.t_cost
            ));
        }
        let work = u64::from(self.m_cost_kib) * u64::from(self.t_cost);
        if work > MAX_WORK_KIB_PASSES {
            return Err(format!(
                "memory x passes {work} KiB exceeds the limit of {MAX_WORK_KIB_PASSES} (a few seconds)"
            ));
        }
        if self.p_cost > MAX_P_COST {
            return Err(format!(
                "lane count {} exceeds the limit of {MAX_P_COST}",
                self.p_cost
            ));
        }
        argon2::Params::new(
            self.m_cost_kib,
            self.t_cost,
            self.p_cost,
            Some(32 + CHECK_LEN),
        )
        .map_err(|e| {
            format!(
                "m={} t={} p={}: {e}",
                self.m_cost_kib, self.t_cost, self.p_cost
            )
        })
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::INTERACTIVE
    }
}

/// Contents of a profile: a private key, its certificate chain and trust anchors.
#[derive(Clone, PartialEq, Eq)]
pub struct Profile {
    /// PKCS#8 DER private key (zeroized on drop, never shown by `Debug`).
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
    /// Certificate chain, DER, leaf first.
    pub certificate_chain: Vec<Vec<u8>>,
    /// Trust anchors (CA certificates), DER.
    pub trust_anchors: Vec<Vec<u8>>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field(
                "private_key_pkcs8",
                &format_args!("<redacted, {} bytes>", self.private_key_pkcs8.len()),
            )
            .field(
                "certificate_chain",
                &format_args!("{} certificate(s)", self.certificate_chain.len()),
            )
            .field(
                "trust_anchors",
                &format_args!("{} certificate(s)", self.trust_anchors.len()),
            )
            .finish()
    }
}

/// Derives the 32-byte AES key and 16-byte check value.
fn derive(
    password: &[u8],
    salt: &[u8],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; 32 + CHECK_LEN]>, StoreError> {
    let p = params.check().map_err(StoreError::InvalidParams)?;
    let ctx = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
    let mut out = Zeroizing::new([0u8; 32 + CHECK_LEN]);
    ctx.hash_password_into(password, salt, &mut out[..])
        .map_err(|e| StoreError::InvalidParams(format!("Argon2 failed: {e}")))?;
    Ok(out)
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_be_bytes());
}

fn put_blob(buf: &mut Vec<u8>, b: &[u8]) -> Result<(), StoreError> {
    let len =
        u32::try_from(b.len()).map_err(|_| StoreError::InvalidParams("item too large".into()))?;
    put_u32(buf, len);
    buf.extend_from_slice(b);
    Ok(())
}

/// Reader over the decrypted plaintext; every read is bounds-checked.
struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], StoreError> {
        if n > self.data.len() {
            return Err(corrupt(format!(
                "{what}: needs {n} bytes, only {} left",
                self.data.len()
            )));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn u32(&mut self, what: &str) -> Result<u32, StoreError> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }

    fn blob(&mut self, what: &str) -> Result<&'a [u8], StoreError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    fn cert_list(&mut self, what: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let count = self.u32(what)?;
        if count > MAX_CERTS {
            return Err(corrupt(format!(
                "{what}: {count} entries exceed the limit of {MAX_CERTS}"
            )));
        }
        let mut v = Vec::new();
        for i in 0..count {
            v.push(self.blob(&format!("{what} entry {i}"))?.to_vec());
        }
        Ok(v)
    }
}

impl Profile {
    /// Encodes the contents into one buffer allocated up front with room
    /// for the GCM tag, so sealing in place never reallocates (which would
    /// leave an unzeroized copy of the key behind).
    fn encode_plain(&self) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        if self.certificate_chain.len() > MAX_CERTS as usize
            || self.trust_anchors.len() > MAX_CERTS as usize
        {
            return Err(StoreError::InvalidParams(format!(
                "at most {MAX_CERTS} certificates per list"
            )));
        }
        let size = 4
            + self.private_key_pkcs8.len()
            + [&self.certificate_chain, &self.trust_anchors]
                .iter()
                .map(|l| 4 + l.iter().map(|c| 4 + c.len()).sum::<usize>())
                .sum::<usize>();
        let mut buf = Zeroizing::new(Vec::with_capacity(size + TAG_LEN));
        put_blob(&mut buf, &self.private_key_pkcs8)?;
        for list in [&self.certificate_chain, &self.trust_anchors] {
            put_u32(&mut buf, list.len() as u32);
            for c in list.iter() {
                put_blob(&mut buf, c)?;
            }
        }
        Ok(buf)
    }

    fn decode_plain(data: &[u8]) -> Result<Profile, StoreError> {
        let mut c = Cursor { data };
        let key = Zeroizing::new(c.blob("private key")?.to_vec());
        let certificate_chain = c.cert_list("certificate chain")?;
        let trust_anchors = c.cert_list("trust anchors")?;
        if !c.data.is_empty() {
            return Err(corrupt(format!(
                "{} trailing bytes after contents",
                c.data.len()
            )));
        }
        Ok(Profile {
            private_key_pkcs8: key,
            certificate_chain,
            trust_anchors,
        })
    }

    /// Encrypts this profile into its file representation.
    pub fn encrypt(&self, password: &[u8], params: KdfParams) -> Result<Vec<u8>, StoreError> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| StoreError::Crypto("random source"))?;
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| StoreError::Crypto("random source"))?;
        let okm = derive(password, &salt, &params)?;
        let mut out = Vec::with_capacity(HEADER_LEN + 256);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(KDF_ARGON2ID);
        put_u32(&mut out, params.m_cost_kib);
        put_u32(&mut out, params.t_cost);
        put_u32(&mut out, params.p_cost);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&okm[32..]);
        debug_assert_eq!(out.len(), HEADER_LEN);
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &okm[..32])
                .map_err(|_| StoreError::Crypto("AES-256-GCM key"))?,
        );
        // Sealed in place inside the zeroizing buffer (capacity already
        // includes the tag), then the ciphertext is copied out.
        let mut body = self.encode_plain()?;
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&out[..HEADER_LEN]),
            &mut *body,
        )
        .map_err(|_| StoreError::Crypto("AES-256-GCM seal"))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a profile from its file representation.
    pub fn decrypt(data: &[u8], password: &[u8]) -> Result<Profile, StoreError> {
        if data.len() as u64 > MAX_FILE_SIZE {
            return Err(corrupt(format!(
                "{} bytes exceed the limit of {MAX_FILE_SIZE}",
                data.len()
            )));
        }
        if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
            return Err(corrupt("not a Negotiator profile (bad magic)"));
        }
        if data.len() < HEADER_LEN + TAG_LEN {
            return Err(corrupt(format!(
                "truncated: {} bytes, a profile has at least {}",
                data.len(),
                HEADER_LEN + TAG_LEN
            )));
        }
        let (header, sealed) = data.split_at(HEADER_LEN);
        let mut c = Cursor {
            data: &header[MAGIC.len()..],
        };
        let version = c.take(1, "version")?[0];
        if version != VERSION {
            return Err(StoreError::Unsupported(format!("format version {version}")));
        }
        let kdf = c.take(1, "kdf")?[0];
        if kdf != KDF_ARGON2ID {
            return Err(StoreError::Unsupported(format!("KDF id {kdf}")));
        }
        let params = KdfParams {
            m_cost_kib: c.u32("m_cost")?,
            t_cost: c.u32("t_cost")?,
            p_cost: c.u32("p_cost")?,
        };
        params
            .check()
            .map_err(|e| corrupt(format!("KDF parameters out of range: {e}")))?;
        let salt = c.take(SALT_LEN, "salt")?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(c.take(NONCE_LEN, "nonce")?);
        let check = c.take(CHECK_LEN, "check value")?;
        let okm = derive(password, salt, &params)?;
        if aws_lc_rs::constant_time::verify_slices_are_equal(&okm[32..], check).is_err() {
            return Err(StoreError::WrongPassword);
        }
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &okm[..32])
                .map_err(|_| StoreError::Crypto("AES-256-GCM key"))?,
        );
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(header),
                &mut buf,
            )
            .map_err(|_| corrupt("authentication failed: header or contents were modified"))?;
        Profile::decode_plain(plain)
    }

    /// Saves with the default [`KdfParams::INTERACTIVE`] cost.
    ///
    /// The file is written atomically (temporary file in the same directory,
    /// fsync, rename) and created with mode 0600.
    pub fn save(&self, path: &Path, password: &[u8]) -> Result<(), StoreError> {
        self.save_with_params(path, password, KdfParams::INTERACTIVE)
    }

    /// Saves with explicit Argon2id cost parameters.
    pub fn save_with_params(
        &self,
        path: &Path,
        password: &[u8],
        params: KdfParams,
    ) -> Result<(), StoreError> {
        let data = self.encrypt(password, params)?;
        write_atomic(path, &data, 0o600)
    }

    /// Loads and decrypts a profile file.
    pub fn load(path: &Path, password: &[u8]) -> Result<Profile, StoreError> {
        let data = read_limited(path, MAX_FILE_SIZE)?;
        Profile::decrypt(&data, password)
    }
}

/// Reads a whole file, failing if it is larger than `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, StoreError> {
    let f = File::open(path)
        .map_err(|e| StoreError::Io(format!("cannot open {}", path.display()), e))?;
    let mut data = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| StoreError::Io(format!("cannot read {}", path.display()), e))?;
    if data.len() as u64 > limit {
        return Err(corrupt(format!(
            "{} is larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(data)
}

fn tmp_path(path: &Path) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::InvalidParams(format!("{} has no file name", path.display())))?;
    let mut rnd = [0u8; 8];
    aws_lc_rs::rand::fill(&mut rnd).map_err(|_| StoreError::Crypto("random source"))?;
    let suffix: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{suffix}"));
    Ok(path.with_file_name(tmp_name))
}

/// Writes `data` to `path` atomically: a new temporary file in the same
/// directory, created with `mode` (never more permissive, even briefly),
/// fsync, rename over `path`, fsync of the directory.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), StoreError> {
    let tmp = tmp_path(path)?;
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| StoreError::Io(format!("cannot create {}", tmp.display()), e))?;
        f.write_all(data)
            .map_err(|e| StoreError::Io(format!("cannot write {}", tmp.display()), e))?;
        f.sync_all()
            .map_err(|e| StoreError::Io(format!("cannot sync {}", tmp.display()), e))?;
        drop(f);
        fs::rename(&tmp, path)
            .map_err(|e| StoreError::Io(format!("cannot rename to {}", path.display()), e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Obtains a password: first line of `password_file` (trailing newline
/// stripped), else the environment variable `env_var`, else an interactive
/// prompt without echo when standard input is a terminal. Without any of
/// these, returns [`StoreError::NoPassword`] (never blocks).
pub fn read_password(
    password_file: Option<&Path>,
    env_var: &str,
    prompt: &str,
) -> Result<Zeroizing<String>, StoreError> {
    if let Some(path) = password_file {
        let data = Zeroizing::new(read_limited(path, MAX_PASSWORD_FILE)?);
        // Capacity up front: growing the string would leave copies behind.
        let mut line = Zeroizing::new(String::with_capacity(data.len()));
        let mut reader = io::BufReader::new(&data[..]);
        reader.read_line(&mut line).map_err(|e| {
            StoreError::Io(format!("password file {} is not UTF-8", path.display()), e)
        })?;
        strip_newline(&mut line);
        return Ok(line);
    }
    if let Some(v) = std::env::var_os(env_var) {
        let s = v
            .into_string()
            .map_err(|_| StoreError::NoPassword(format!("{env_var} is not valid UTF-8")))?;
        return Ok(Zeroizing::new(s));
    }
    if io::stdin().is_terminal() {
        let p = rpassword::prompt_password(prompt)
            .map_err(|e| StoreError::Io("cannot read password from terminal".into(), e))?;
        return Ok(Zeroizing::new(p));
    }
    Err(StoreError::NoPassword(format!(
        "give a password file, set {env_var}, or run on a terminal"
    )))
}

fn strip_newline(s: &mut String) {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
}

//! Reassembly of IKE fragments (RFC 7383 §2.6.2), after each fragment was verified and
//! decrypted on its own.

use negotiator_wire::v2::PayloadType;

use crate::error::ProtoError;

/// Most fragments accepted for one message.
pub(crate) const MAX_FRAGMENTS: u16 = 64;
/// Most octets of reassembled inner payloads accepted for one message.
pub(crate) const MAX_REASSEMBLED: usize = 64 * 1024;

/// The fragments of one message received so far.
#[derive(Debug)]
pub(crate) struct Reassembly {
    mid: u32,
    response: bool,
    total: u16,
    first_inner: PayloadType,
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
}

/// What adding a fragment gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fragment {
    /// More fragments are needed (or this one was a duplicate or stale).
    Incomplete,
    /// The message is whole: the first inner payload type and the inner payload chain.
    Complete(PayloadType, Vec<u8>),
}

/// Adds one authenticated fragment's plaintext to `slot`, the IKE SA's reassembly state.
pub(crate) fn add(
    slot: &mut Option<Reassembly>,
    mid: u32,
    response: bool,
    number: u16,
    total: u16,
    first_inner: PayloadType,
    plain: Vec<u8>,
) -> Result<Fragment, ProtoError> {
    if number == 0 || number > total {
        return Err(ProtoError::InvalidPayload(format!(
            "fragment {number} of {total}"
        )));
    }
    if total > MAX_FRAGMENTS {
        return Err(ProtoError::InvalidPayload(format!(
            "message in {total} fragments, more than the {MAX_FRAGMENTS} we accept"
        )));
    }
    // §2.5: Next Payload is the first inner payload in fragment 1 and zero in the others.
    if (number == 1) == (first_inner == PayloadType::NONE) {
        return Err(ProtoError::InvalidPayload(format!(
            "fragment {number} with next payload {}",
            first_inner.0
        )));
    }
    let same = slot
        .as_ref()
        .is_some_and(|r| r.mid == mid && r.response == response);
    match slot.as_ref() {
        // §2.6.2: a sender that re-fragments (smaller PMTU) sends more fragments; fewer
        // than we already have come from an older try and are dropped.
        Some(r) if same && total < r.total => return Ok(Fragment::Incomplete),
        Some(r) if same && total == r.total => {}
        _ => {
            *slot = Some(Reassembly {
                mid,
                response,
                total,
                first_inner: PayloadType::NONE,
                parts: vec![None; usize::from(total)],
                bytes: 0,
            });
        }
    }
    let Some(r) = slot.as_mut() else {
        return Err(ProtoError::Internal("reassembly state"));
    };
    let idx = usize::from(number - 1);
    let Some(part) = r.parts.get_mut(idx) else {
        return Err(ProtoError::Internal("fragment index"));
    };
    if part.is_some() {
        return Ok(Fragment::Incomplete);
    }
    if r.bytes + plain.len() > MAX_REASSEMBLED {
        *slot = None;
        return Err(ProtoError::InvalidPayload(format!(
            "reassembled message larger than {MAX_REASSEMBLED} octets"
        )));
    }
    r.bytes += plain.len();
    if number == 1 {
        r.first_inner = first_inner;
    }
    *part = Some(plain);
    if r.parts.iter().any(Option::is_none) {
        return Ok(Fragment::Incomplete);
    }
    let Some(r) = slot.take() else {
        return Err(ProtoError::Internal("reassembly state"));
    };
    let mut whole = Vec::with_capacity(r.bytes);
    for p in r.parts.into_iter().flatten() {
        whole.extend_from_slice(&p);
    }
    Ok(Fragment::Complete(r.first_inner, whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: PayloadType = PayloadType(35);
    const NONE: PayloadType = PayloadType::NONE;

    #[test]
    fn fragments_in_any_order_give_the_message_once() {
        let mut s = None;
        assert_eq!(
            add(&mut s, 1, false, 3, 3, NONE, b"c".to_vec()).unwrap(),
            Fragment::Incomplete
        );
        assert_eq!(
            add(&mut s, 1, false, 1, 3, ID, b"a".to_vec()).unwrap(),
            Fragment::Incomplete
        );
        // A duplicate changes nothing.
        assert_eq!(
            add(&mut s, 1, false, 1, 3, ID, b"x".to_vec()).unwrap(),
            Fragment::Incomplete
        );
        assert_eq!(
            add(&mut s, 1, false, 2, 3, NONE, b"b".to_vec()).unwrap(),
            Fragment::Complete(ID, b"abc".to_vec())
        );
        assert!(s.is_none());
    }

    #[test]
    fn refragmented_retry_replaces_and_older_fragments_are_dropped() {
        let mut s = None;
        add(&mut s, 1, false, 1, 2, ID, b"ab".to_vec()).unwrap();
        // The sender retries with 3 fragments: start over.
        add(&mut s, 1, false, 1, 3, ID, b"a".to_vec()).unwrap();
        // A late fragment of the 2-fragment try is ignored.
        assert_eq!(
            add(&mut s, 1, false, 2, 2, NONE, b"cd".to_vec()).unwrap(),
            Fragment::Incomplete
        );
        add(&mut s, 1, false, 2, 3, NONE, b"b".to_vec()).unwrap();
        assert_eq!(
            add(&mut s, 1, false, 3, 3, NONE, b"c".to_vec()).unwrap(),
            Fragment::Complete(ID, b"abc".to_vec())
        );
        // A fragment of another message replaces an unfinished one.
        add(&mut s, 2, false, 1, 2, ID, b"x".to_vec()).unwrap();
        add(&mut s, 3, true, 2, 2, NONE, b"z".to_vec()).unwrap();
        assert_eq!(
            add(&mut s, 3, true, 1, 2, ID, b"y".to_vec()).unwrap(),
            Fragment::Complete(ID, b"yz".to_vec())
        );
    }

    #[test]
    fn bad_numbers_next_payloads_and_budgets_are_refused() {
        let mut s = None;
        assert!(add(&mut s, 1, false, 0, 2, ID, vec![]).is_err());
        assert!(add(&mut s, 1, false, 3, 2, NONE, vec![]).is_err());
        assert!(add(&mut s, 1, false, 1, MAX_FRAGMENTS + 1, ID, vec![]).is_err());
        assert!(add(&mut s, 1, false, 1, 2, NONE, vec![]).is_err());
        assert!(add(&mut s, 1, false, 2, 2, ID, vec![]).is_err());
        let big = vec![0u8; MAX_REASSEMBLED / 2 + 1];
        add(&mut s, 1, false, 1, 3, ID, big.clone()).unwrap();
        assert!(add(&mut s, 1, false, 2, 3, NONE, big).is_err());
        assert!(s.is_none());
    }
}

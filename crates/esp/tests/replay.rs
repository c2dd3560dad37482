//! Anti-replay window behaviour (RFC 4303 §3.4.3), expected results worked
//! out by hand from the rule "accept s if s > top, or top - s < W and s unseen".

use negotiator_esp::{ReplayError, ReplayWindow};

fn accept(w: &mut ReplayWindow, seq: u64) -> Result<(), ReplayError> {
    w.check(seq)?;
    w.update(seq);
    Ok(())
}

#[test]
fn in_order_then_duplicate() {
    let mut w = ReplayWindow::new(64).unwrap();
    for s in 1..=10 {
        assert_eq!(accept(&mut w, s), Ok(()), "seq {s}");
    }
    assert_eq!(w.highest(), 10);
    for s in 1..=10 {
        assert_eq!(w.check(s), Err(ReplayError::Duplicate), "seq {s}");
    }
    assert_eq!(w.check(11), Ok(()));
}

#[test]
fn check_alone_does_not_mark() {
    let mut w = ReplayWindow::new(64).unwrap();
    assert_eq!(w.check(5), Ok(()));
    assert_eq!(w.check(5), Ok(()));
    assert_eq!(w.highest(), 0);
    w.update(5);
    assert_eq!(w.check(5), Err(ReplayError::Duplicate));
}

#[test]
fn window_edge_64() {
    // top = 100, W = 64: in-window is 37..=100; 36 is too old.
    let mut w = ReplayWindow::new(64).unwrap();
    accept(&mut w, 100).unwrap();
    assert_eq!(w.check(37), Ok(()));
    assert_eq!(w.check(36), Err(ReplayError::TooOld));
    accept(&mut w, 37).unwrap();
    assert_eq!(w.check(37), Err(ReplayError::Duplicate));
    // Advancing by one pushes 37 out: now 38..=101.
    accept(&mut w, 101).unwrap();
    assert_eq!(w.check(37), Err(ReplayError::TooOld));
    assert_eq!(w.check(38), Ok(()));
    // Out-of-order within the window is fine, and exactly once.
    accept(&mut w, 70).unwrap();
    assert_eq!(accept(&mut w, 70), Err(ReplayError::Duplicate));
}

#[test]
fn window_edge_32() {
    // W = 32 is not a multiple of the 64-bit word: top = 200 → 169..=200.
    let mut w = ReplayWindow::new(32).unwrap();
    accept(&mut w, 200).unwrap();
    assert_eq!(w.check(169), Ok(()));
    assert_eq!(w.check(168), Err(ReplayError::TooOld));
    assert_eq!(w.check(150), Err(ReplayError::TooOld));
}

#[test]
fn far_jump_clears_old_bits() {
    let mut w = ReplayWindow::new(64).unwrap();
    for s in 1..=64 {
        accept(&mut w, s).unwrap();
    }
    // Jump far ahead: everything <= 1_000_000 - 64 is too old, and slots that
    // alias the old bits in the ring (same seq mod 128) must read as unseen.
    accept(&mut w, 1_000_000).unwrap();
    assert_eq!(w.check(64), Err(ReplayError::TooOld));
    assert_eq!(w.check(1_000_000 - 64), Err(ReplayError::TooOld));
    for s in (1_000_000 - 63)..1_000_000 {
        assert_eq!(w.check(s), Ok(()), "seq {s}");
    }
    assert_eq!(w.check(1_000_000), Err(ReplayError::Duplicate));
}

#[test]
fn jump_by_one_word_keeps_recent_bits() {
    // top 130 after seeing 100..=130; then 150 arrives (window 87..=150).
    let mut w = ReplayWindow::new(64).unwrap();
    for s in 100..=130 {
        accept(&mut w, s).unwrap();
    }
    accept(&mut w, 150).unwrap();
    for s in 100..=130 {
        assert_eq!(w.check(s), Err(ReplayError::Duplicate), "seq {s}");
    }
    for s in 131..150 {
        assert_eq!(w.check(s), Ok(()), "seq {s}");
    }
    assert_eq!(w.check(86), Err(ReplayError::TooOld));
    assert_eq!(w.check(87), Ok(()));
}

#[test]
fn window_4096() {
    let mut w = ReplayWindow::new(4096).unwrap();
    // Receive every even number 2..=10_000.
    for s in (2..=10_000).step_by(2) {
        accept(&mut w, s).unwrap();
    }
    // top = 10_000, window 5905..=10_000.
    assert_eq!(w.check(5904), Err(ReplayError::TooOld));
    assert_eq!(w.check(5905), Ok(())); // odd: unseen
    assert_eq!(w.check(5906), Err(ReplayError::Duplicate));
    let mut odd_ok = 0;
    for s in 5905..=10_000u64 {
        match w.check(s) {
            Ok(()) => {
                assert_eq!(s % 2, 1, "seq {s}");
                odd_ok += 1;
            }
            Err(ReplayError::Duplicate) => assert_eq!(s % 2, 0, "seq {s}"),
            Err(e) => panic!("seq {s}: {e:?}"),
        }
    }
    // Odd numbers in 5905..=9999: (9999 - 5905) / 2 + 1 = 2048.
    assert_eq!(odd_ok, 2048);
}

#[test]
fn update_left_of_window_is_ignored() {
    let mut w = ReplayWindow::new(64).unwrap();
    accept(&mut w, 1000).unwrap();
    // A stale update must not corrupt the slot shared with an in-window seq
    // (W = 64 uses a ring of 2 words = 128 sequence numbers, so 871 = 999 - 128
    // maps to the same bit as 999).
    w.update(871);
    assert_eq!(w.check(999), Ok(()));
    assert_eq!(w.check(871), Err(ReplayError::TooOld));
    assert_eq!(w.highest(), 1000);
}

#[test]
fn max_window_and_u64_range() {
    let mut w = ReplayWindow::new(65536).unwrap();
    let base = u64::from(u32::MAX) + 10; // ESN-sized numbers work too
    accept(&mut w, base).unwrap();
    assert_eq!(w.check(base - 65535), Ok(()));
    assert_eq!(w.check(base - 65536), Err(ReplayError::TooOld));
    accept(&mut w, u64::MAX).unwrap();
    assert_eq!(w.check(u64::MAX), Err(ReplayError::Duplicate));
    assert_eq!(w.check(u64::MAX - 65535), Ok(()));
    assert_eq!(w.check(u64::MAX - 65536), Err(ReplayError::TooOld));
}

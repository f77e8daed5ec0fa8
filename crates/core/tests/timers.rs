//! Intervals: multishot timeouts (kernel 6.4), and the re-armed one-shot
//! timeouts that stand in for them on older kernels.

use std::time::{Duration, Instant};

use uring_machine_core::{Completion, Config, Op, OpOptions, Ring};

/// Turns the ring until `f` says stop (or 10 s pass); returns every completion.
fn turn(r: &mut Ring, mut stop: impl FnMut(&[Completion]) -> bool) -> Vec<Completion> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while !stop(&out) {
        assert!(Instant::now() < deadline, "too slow");
        r.flush().unwrap();
        r.wait(Some(Duration::from_millis(20))).unwrap();
        r.reap(&mut out);
    }
    out
}

fn ticks_then_cancel(r: &mut Ring) {
    let start = Instant::now();
    let id = r.submit(Op::interval_ns(10_000_000), &OpOptions::default()).unwrap();
    let ticks = turn(r, |out| out.len() >= 3);
    assert!(start.elapsed() >= Duration::from_millis(25), "three periods of 10 ms");
    for c in &ticks {
        assert_eq!((c.id, c.result), (id, 0), "a tick");
        assert!(c.op.is_none(), "more to follow");
    }
    assert!(r.cancel(id));
    let end = turn(r, |out| out.iter().any(|c| c.op.is_some()));
    let last = end.iter().find(|c| c.op.is_some()).unwrap();
    assert_eq!(last.result, -libc::ECANCELED);
    assert_eq!(r.metrics().pending, 0, "nothing left in flight");
    // A multishot op takes no linked timeout.
    assert!(r.submit(Op::interval_ns(1), &OpOptions::with_timeout(Some(Duration::from_secs(1)))).is_err());
}

#[test]
fn an_interval_ticks_until_cancelled() {
    let mut r = Ring::new(&Config::default()).unwrap();
    ticks_then_cancel(&mut r);
    ticks_then_cancel(&mut r);
}

#[test]
fn without_multishot_timeouts_the_ring_rearms_one_shot_ones() {
    let mut r = Ring::new(&{
        let mut c = Config::default();
        c.no_multishot_timeouts = true;
        c
    })
    .unwrap();
    ticks_then_cancel(&mut r);
}

#[test]
fn a_cancel_between_expiry_and_rearm_still_ends_an_interval() {
    // Expiries while nobody enters leave the timer off the kernel's list
    // (its re-arm is deferred task work) when the cancel arrives.
    for _ in 0..5 {
        let mut r = Ring::new(&Config::default()).unwrap();
        let id = r.submit(Op::interval_ns(2_000_000), &OpOptions::default()).unwrap();
        r.flush().unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert!(r.cancel(id));
        let out = turn(&mut r, |out| out.iter().any(|c| c.op.is_some()));
        assert_eq!(out.iter().find(|c| c.op.is_some()).unwrap().result, -libc::ECANCELED);
        assert_eq!(r.metrics().pending, 0);
        r.close();
    }
}

#[test]
fn closing_the_ring_ends_an_interval() {
    for rearm in [false, true] {
        let mut r = Ring::new(&{
            let mut c = Config::default();
            c.no_multishot_timeouts = rearm;
            c
        })
        .unwrap();
        r.submit(Op::interval_ns(5_000_000), &OpOptions::default()).unwrap();
        turn(&mut r, |out| !out.is_empty());
        r.close();
        let out = turn(&mut r, |out| out.iter().any(|c| c.op.is_some()));
        assert_eq!(out.iter().find(|c| c.op.is_some()).unwrap().result, -libc::ECANCELED);
        assert_eq!(r.metrics().pending, 0);
    }
}

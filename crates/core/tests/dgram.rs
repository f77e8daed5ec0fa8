//! Sends on datagram sockets whose receiver is full. On 6.18 the kernel's
//! own poll-and-retry of a blocked AF_UNIX datagram send sends an empty
//! datagram and completes with 0; the ring waits for POLLOUT itself.

use std::time::{Duration, Instant};
use uring_machine_core::{Completion, Config, Op, OpId, OpOptions, Ring};

fn run(ring: &mut Ring, id: OpId, done: &mut Vec<Completion>) -> Completion {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        ring.flush().unwrap();
        ring.reap(done);
        if let Some(i) = done.iter().position(|c| c.id == id) {
            return done.swap_remove(i);
        }
        assert!(Instant::now() < deadline, "op did not complete");
        ring.wait(Some(Duration::from_millis(20))).unwrap();
    }
}

/// Turns the ring until nothing more completes for a while; returns what did.
fn settle(ring: &mut Ring, done: &mut Vec<Completion>) {
    for _ in 0..5 {
        ring.flush().unwrap();
        ring.wait(Some(Duration::from_millis(10))).unwrap();
        ring.reap(done);
    }
}

/// A sender connected to a bound receiver. Not a socketpair: a pair's
/// receiver has the sender as its peer, and the kernel then skips the
/// receive-queue limit (net.unix.max_dgram_qlen) that this is about.
fn pair() -> (i32, i32) {
    // SAFETY: plain socket calls on locals; the address outlives the calls.
    unsafe {
        let rx = libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        let tx = libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        assert!(rx >= 0 && tx >= 0);
        let mut a: libc::sockaddr_un = std::mem::zeroed();
        a.sun_family = libc::AF_UNIX as u16;
        let name = format!("um-dgram-{}-{}", std::process::id(), rx);
        for (i, b) in name.bytes().enumerate() {
            a.sun_path[i + 1] = b as libc::c_char; // abstract: leading NUL
        }
        let len = (std::mem::size_of::<libc::sa_family_t>() + 1 + name.len()) as u32;
        assert_eq!(libc::bind(rx, (&a as *const libc::sockaddr_un).cast(), len), 0);
        assert_eq!(libc::connect(tx, (&a as *const libc::sockaddr_un).cast(), len), 0);
        (tx, rx)
    }
}

/// Sends 64-byte datagrams until the receiver's queue is full.
fn fill(tx: i32) -> usize {
    let b = [1u8; 64];
    let mut n = 0;
    // SAFETY: sends from a local buffer.
    while unsafe { libc::send(tx, b.as_ptr().cast(), b.len(), libc::MSG_DONTWAIT) } == 64 {
        n += 1;
    }
    assert_eq!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EAGAIN));
    n
}

/// Every datagram waiting on `rx`, as (length, first byte).
fn drain(rx: i32) -> Vec<(isize, u8)> {
    let mut got = Vec::new();
    let mut b = [0u8; 256];
    loop {
        // SAFETY: receives into a local buffer of its stated size.
        let n = unsafe { libc::recv(rx, b.as_mut_ptr().cast(), b.len(), libc::MSG_DONTWAIT) };
        if n < 0 {
            return got;
        }
        got.push((n, b[0]));
    }
}

fn close(fds: (i32, i32)) {
    // SAFETY: the test's own fds.
    unsafe {
        libc::close(fds.0);
        libc::close(fds.1);
    }
}

#[test]
fn a_blocked_datagram_send_waits_then_sends_it_whole() {
    let mut r = Ring::new(&Config::default()).unwrap();
    let (tx, rx) = pair();
    let queued = fill(tx);
    let mut done = Vec::new();
    let id = r.submit(Op::Send { fd: tx, buf: vec![7u8; 100], flags: 0 }, &OpOptions::default()).unwrap();
    settle(&mut r, &mut done);
    assert!(done.is_empty(), "a send to a full receiver must wait, got {}", done[0].result);
    assert_eq!(r.in_flight(), 1);
    let before = drain(rx);
    assert_eq!(before.len(), queued);
    assert!(before.iter().all(|&(n, b)| n == 64 && b == 1));
    let c = run(&mut r, id, &mut done);
    assert_eq!(c.result, 100, "the whole datagram is reported sent");
    settle(&mut r, &mut done);
    assert_eq!(drain(rx), vec![(100, 7)], "one datagram of 100 bytes, no empty one");
    assert_eq!(r.in_flight(), 0);
    close((tx, rx));
}

#[test]
fn many_blocked_datagram_sends_deliver_in_order_with_nothing_empty() {
    let mut r = Ring::new(&Config::default()).unwrap();
    let (tx, rx) = pair();
    fill(tx);
    drain(rx);
    let mut done = Vec::new();
    let ids: Vec<OpId> = (0..40u8)
        .map(|i| r.submit(Op::Send { fd: tx, buf: vec![i; 10 + i as usize], flags: 0 }, &OpOptions::default()).unwrap())
        .collect();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < ids.len() {
        assert!(Instant::now() < deadline, "received {} of {}", got.len(), ids.len());
        settle(&mut r, &mut done);
        got.extend(drain(rx));
    }
    settle(&mut r, &mut done);
    assert_eq!(done.len(), ids.len());
    for c in &done {
        let i = ids.iter().position(|&id| id == c.id).unwrap();
        assert_eq!(c.result, 10 + i as i32);
    }
    let mut sent: Vec<(isize, u8)> = (0..40u8).map(|i| (10 + i as isize, i)).collect();
    sent.sort();
    got.sort();
    assert_eq!(got, sent, "every datagram whole, none empty");
    close((tx, rx));
}

#[test]
fn a_blocked_datagram_send_times_out_cancels_and_sends_nothing() {
    let mut r = Ring::new(&Config::default()).unwrap();
    let (tx, rx) = pair();
    fill(tx);
    let mut done = Vec::new();
    let t = r
        .submit(
            Op::Send { fd: tx, buf: vec![7u8; 100], flags: 0 },
            &OpOptions::with_timeout(Some(Duration::from_millis(30))),
        )
        .unwrap();
    assert_eq!(run(&mut r, t, &mut done).result, -libc::ETIMEDOUT);
    let c = r.submit(Op::Send { fd: tx, buf: vec![8u8; 100], flags: 0 }, &OpOptions::default()).unwrap();
    settle(&mut r, &mut done);
    assert!(r.cancel(c));
    assert_eq!(run(&mut r, c, &mut done).result, -libc::ECANCELED);
    let f = r.submit(Op::Send { fd: tx, buf: vec![9u8; 100], flags: 0 }, &OpOptions::default()).unwrap();
    settle(&mut r, &mut done);
    let by_fd = r.submit(Op::CancelFd { fd: tx }, &OpOptions::default()).unwrap();
    assert!(run(&mut r, by_fd, &mut done).result >= 1);
    assert_eq!(run(&mut r, f, &mut done).result, -libc::ECANCELED);
    settle(&mut r, &mut done);
    assert_eq!(r.in_flight(), 0, "no slot left behind");
    let got = drain(rx);
    assert!(got.iter().all(|&(n, b)| n == 64 && b == 1), "nothing of the cancelled sends went out: {got:?}");
    close((tx, rx));
}

#[test]
fn a_send_asked_not_to_wait_fails_with_eagain() {
    let mut r = Ring::new(&Config::default()).unwrap();
    let (tx, rx) = pair();
    fill(tx);
    let mut done = Vec::new();
    let id =
        r.submit(Op::Send { fd: tx, buf: vec![7u8; 100], flags: libc::MSG_DONTWAIT }, &OpOptions::default()).unwrap();
    assert_eq!(run(&mut r, id, &mut done).result, -libc::EAGAIN);
    close((tx, rx));
}

#[test]
fn closing_the_ring_ends_a_blocked_send() {
    let mut r = Ring::new(&Config::default()).unwrap();
    let (tx, rx) = pair();
    fill(tx);
    let mut done = Vec::new();
    let id = r.submit(Op::Send { fd: tx, buf: vec![7u8; 100], flags: 0 }, &OpOptions::default()).unwrap();
    settle(&mut r, &mut done);
    r.close();
    assert_eq!(run(&mut r, id, &mut done).result, -libc::ECANCELED);
    assert_eq!(r.in_flight(), 0);
    close((tx, rx));
}

//! Node's shapes of what the core reports: metrics and features as plain
//! objects, a statx result in the field order fs.Stats uses, and a failed
//! lookup as libuv numbers its getaddrinfo errors.

use uring_machine_core::{Completion, LookupError, Op, Stat, Timestamp, LOOKUP_FAILED};

use napi_derive::napi;

/// Counters, as `machine.metrics()` reports them.
#[napi(object)]
#[derive(Default)]
pub struct Metrics {
    pub sq_entries: f64,
    pub cq_entries: f64,
    pub ops_submitted: f64,
    pub ops_completed: f64,
    pub pending: f64,
    pub unsubmitted: f64,
    pub enters: f64,
    pub completion_batches: f64,
    pub cq_overflows: f64,
    pub sq_full_flushes: f64,
    pub cancels: f64,
    pub timeouts: f64,
    pub fallbacks: f64,
    pub multishot_completions: f64,
    pub messages: f64,
    pub enter_ns: f64,
    pub op_latency_ns: f64,
    pub op_latency_max_ns: f64,
    /// Slots of the registered file table that chains hold now (leak checks).
    pub file_slots_in_use: f64,
}

impl From<uring_machine_core::Metrics> for Metrics {
    fn from(m: uring_machine_core::Metrics) -> Self {
        Metrics {
            sq_entries: m.sq_entries as f64,
            cq_entries: m.cq_entries as f64,
            ops_submitted: m.ops_submitted as f64,
            ops_completed: m.ops_completed as f64,
            pending: m.pending as f64,
            unsubmitted: m.unsubmitted as f64,
            enters: m.enters as f64,
            completion_batches: m.completion_batches as f64,
            cq_overflows: m.cq_overflows as f64,
            sq_full_flushes: m.sq_full_flushes as f64,
            cancels: m.cancels as f64,
            timeouts: m.timeouts as f64,
            fallbacks: m.fallbacks as f64,
            multishot_completions: m.multishot_completions as f64,
            messages: m.messages as f64,
            enter_ns: m.enter_ns as f64,
            op_latency_ns: m.op_latency_ns as f64,
            op_latency_max_ns: m.op_latency_max_ns as f64,
            file_slots_in_use: 0.0,
        }
    }
}

/// What the kernel supports, as `Machine.probe()` reports it.
#[napi(object)]
pub struct Features {
    pub kernel: String,
    pub ops: std::collections::HashMap<String, bool>,
    pub setup_flags: Vec<String>,
    pub features: Vec<String>,
}

impl From<uring_machine_core::Features> for Features {
    fn from(f: uring_machine_core::Features) -> Self {
        Features {
            kernel: f.kernel,
            ops: f.ops.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            setup_flags: f.setup_flags.into_iter().map(String::from).collect(),
            features: f.features.into_iter().map(String::from).collect(),
        }
    }
}

/// The order of the fields a statx op writes into its Float64Array or
/// BigInt64Array: fs.Stats' keys (`statFields()` hands it to JS).
pub const STAT_FIELDS: [&str; 18] = [
    "dev",
    "ino",
    "mode",
    "nlink",
    "uid",
    "gid",
    "rdev",
    "size",
    "blksize",
    "blocks",
    "atimeMs",
    "mtimeMs",
    "ctimeMs",
    "birthtimeMs",
    "atimeNs",
    "mtimeNs",
    "ctimeNs",
    "birthtimeNs",
];

fn ms(t: Timestamp) -> f64 {
    t.sec as f64 * 1e3 + t.nsec as f64 / 1e6
}

fn ns(t: Timestamp) -> i128 {
    t.sec as i128 * 1_000_000_000 + t.nsec as i128
}

/// [`STAT_FIELDS`] as numbers, as fs.Stats has them (times in fractional
/// ms; the `*Ns` fields lose precision past 2^53 ns: see [`stat_i64`]).
pub fn stat_f64(st: &Stat) -> [f64; 18] {
    let t = [st.atime(), st.mtime(), st.ctime(), st.btime()];
    [
        st.dev() as f64,
        st.ino() as f64,
        st.mode() as f64,
        st.nlink() as f64,
        st.uid() as f64,
        st.gid() as f64,
        st.rdev() as f64,
        st.size() as f64,
        st.blksize() as f64,
        st.blocks() as f64,
        ms(t[0]),
        ms(t[1]),
        ms(t[2]),
        ms(t[3]),
        ns(t[0]) as f64,
        ns(t[1]) as f64,
        ns(t[2]) as f64,
        ns(t[3]) as f64,
    ]
}

/// [`STAT_FIELDS`] as exact integers, as fs.BigIntStats has them (whole ms
/// for the `*Ms` fields, exact ns for the `*Ns` ones).
pub fn stat_i64(st: &Stat) -> [i64; 18] {
    let whole_ms = |t: Timestamp| t.sec * 1000 + (t.nsec / 1_000_000) as i64;
    let t = [st.atime(), st.mtime(), st.ctime(), st.btime()];
    [
        st.dev() as i64,
        st.ino() as i64,
        st.mode() as i64,
        st.nlink() as i64,
        st.uid() as i64,
        st.gid() as i64,
        st.rdev() as i64,
        st.size() as i64,
        st.blksize() as i64,
        st.blocks() as i64,
        whole_ms(t[0]),
        whole_ms(t[1]),
        whole_ms(t[2]),
        whole_ms(t[3]),
        ns(t[0]) as i64,
        ns(t[1]) as i64,
        ns(t[2]) as i64,
        ns(t[3]) as i64,
    ]
}

/// libuv's numbering of getaddrinfo failures (UV_EAI_*, uv-errno.h), which
/// Node's errors use.
fn uv_eai(e: LookupError) -> i32 {
    match e {
        LookupError::AddrFamily => -3000,
        LookupError::Again => -3001,
        LookupError::BadFlags => -3002,
        LookupError::Fail => -3004,
        LookupError::Family => -3005,
        LookupError::Memory => -3006,
        LookupError::NoData => -3007,
        LookupError::NoName => -3008,
        LookupError::Overflow => -3009,
        LookupError::Service => -3010,
        LookupError::SockType => -3011,
        _ => -3004,
    }
}

/// The result JS gets for a completion without output: the core's, but a
/// failed lookup as libuv numbers it.
pub fn result(c: &Completion) -> i32 {
    if c.result == LOOKUP_FAILED {
        if let Some(Op::Resolve { lookup }) = &c.op {
            return uv_eai(lookup.error().unwrap_or(LookupError::Fail));
        }
    }
    c.result
}

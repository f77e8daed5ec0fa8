//! Counters a ring keeps about itself.

/// A snapshot of a ring's counters (see [`crate::Ring::metrics`]).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// SQ size in force.
    pub sq_entries: u64,
    /// CQ size in force.
    pub cq_entries: u64,
    /// User ops queued (a linked timeout is not counted separately).
    pub ops_submitted: u64,
    /// User ops whose completion was reaped.
    pub ops_completed: u64,
    /// Ops whose slot is still held (in flight, or awaiting a timeout's CQE).
    pub pending: u64,
    /// SQEs queued but not yet submitted.
    pub unsubmitted: u64,
    /// `io_uring_enter` calls.
    pub enters: u64,
    /// Reaps that found at least one completion.
    pub completion_batches: u64,
    /// Times the CQ had overflowed into the kernel's backlog when reaped.
    pub cq_overflows: u64,
    /// Submissions forced early because the SQ was full.
    pub sq_full_flushes: u64,
    /// Cancels requested.
    pub cancels: u64,
    /// Linked timeouts that fired.
    pub timeouts: u64,
    /// Ops done by a plain syscall because the kernel lacks the opcode.
    pub fallbacks: u64,
    /// Completions of multishot ops other than their last.
    pub multishot_completions: u64,
    /// Messages other rings posted to this one.
    pub messages: u64,
    /// Chains whose file slot the ring emptied itself (a synchronous files
    /// update) because the chain's own close did not run or failed.
    pub chain_cleanups: u64,
    /// Profile mode only ([`crate::Config::profile`]): nanoseconds spent inside
    /// `io_uring_enter`, summed.
    pub enter_ns: u64,
    /// Profile mode only: nanoseconds from each op's queueing to its
    /// completion being reaped, summed over completed ops.
    pub op_latency_ns: u64,
    /// Profile mode only: the longest such latency.
    pub op_latency_max_ns: u64,
}

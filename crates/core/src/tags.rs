//! The user_data bits an op and the ring both read: a message posted to
//! another ring is tagged when its SQE is built (in [`crate::op`]) and told
//! apart when its CQE arrives (in [`crate::ring`]). Kept here so neither
//! module imports the other for them.

/// Bit 61 of user_data: a message from another ring.
pub(crate) const TAG_MSG: u64 = 1 << 61;
/// A message's bit 60: its value is an fd (see `crate::msg`).
pub(crate) const MSG_FD: u64 = 1 << 60;
/// The bits of a message's data the sender chooses.
pub const MSG_DATA_MASK: u64 = (1 << 60) - 1;

//! The portal side: the Bitrix24 wire format, reading its answers, and calling it.

pub mod answer;
pub mod call;

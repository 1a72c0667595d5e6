//! The portal side: the Bitrix24 wire format, reading its answers defensively, and running
//! commands against it (one call, or one `batch` for several).

pub mod batch_answer;
pub mod command;
pub mod envelope;
pub mod exchange;
pub mod numbers;
pub mod page;
pub mod record;
pub mod refusal;

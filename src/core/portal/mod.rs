//! Floor 3: the portal side: the Bitrix24 wire format, reading its answers defensively, and
//! running commands against it (one call, or one `batch` for several) within the portal's
//! request budget and operating time.

pub mod batch_answer;
pub mod budget;
pub mod catalogs;
pub mod command;
pub mod envelope;
pub mod exchange;
pub mod numbers;
pub mod operating_time;
pub mod page;
pub mod product_flags;
pub mod record;
pub mod refusal;

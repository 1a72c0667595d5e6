//! `read_reply` for what the gateway asks about products rather than stock: a product's flags
//! (`catalog.product.get`), a window of flags (`catalog.product.list`), the inventory mode,
//! the catalogs and a parent's variations. Always one slot per command; listed flags are of the
//! window and catalog asked; variations never include their parent and come sorted, once each.
//!
//! Input: a shape byte (commands `1 + (b & 1)`; command `i` is kind `(b >> (1 + 3i)) & 7`:
//! 0 flags of 7101, 1 flags of catalog 23 from 7101, 2 the mode, 3 the catalogs, 4 the
//! variations of 7200 in catalog 25, others flags), a status byte (`STATUSES`), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::domain::id::ProductId;
use b24_stock_gateway::core::domain::reads::{Command, Read, RANGE_IDS};
use b24_stock_gateway::core::portal::exchange::read_reply;
use b24_stock_gateway_fuzz::status;

fuzz_target!(|data: &[u8]| {
    let [shape, selector, body @ ..] = data else {
        return;
    };
    let product = ProductId::from_u64(7101).unwrap();
    let parent = ProductId::from_u64(7200).unwrap();
    let commands: Vec<Command> = (0..usize::from(1 + (shape & 1)))
        .map(|i| match (shape >> (1 + 3 * i)) & 7 {
            1 => Command::FlagsRange {
                iblock: 23,
                from: product,
            },
            2 => Command::InventoryMode,
            3 => Command::Catalogs,
            4 => Command::Offers { iblock: 25, parent },
            _ => Command::Flags(product),
        })
        .collect();
    let Ok((slots, _)) = read_reply(&commands, status(*selector), body) else {
        return;
    };
    assert_eq!(slots.len(), commands.len());
    for (command, slot) in commands.iter().zip(&slots) {
        match (command, slot) {
            (_, Err(_))
            | (Command::Flags(_), Ok(Read::Flags(_)))
            | (Command::InventoryMode, Ok(Read::Mode(_)))
            | (Command::Catalogs, Ok(Read::Catalogs(_))) => {}
            (Command::FlagsRange { iblock, from }, Ok(Read::FlagRows(rows))) => {
                let end = from.get() + RANGE_IDS;
                for (id, flags) in rows {
                    assert!(
                        (from.get()..end).contains(&id.get()),
                        "{id} outside the window"
                    );
                    assert!(flags.iblock == 0 || flags.iblock == *iblock);
                }
            }
            (Command::Offers { parent, .. }, Ok(Read::Offers(offers))) => {
                let offers = offers.as_deref().unwrap_or_default();
                assert!(offers.iter().all(|o| o != parent));
                assert!(offers.windows(2).all(|w| w[0] < w[1]));
            }
            (command, slot) => panic!("{command:?} answered with {slot:?}"),
        }
    }
});

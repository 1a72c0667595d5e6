//! `read_reply`: the portal's answer to one exchange, read as the gateway reads it (a plain
//! `get` or `list` for one command, a `batch` for several). Always one slot per command; a
//! record is the one asked for; a page holds at most 50 rows of the asked product.
//!
//! Input: a shape byte (commands `1 + (b & 3)`; bit `2 + i` set makes command `i` a page of
//! product 6973, clear a get of record `13 + i`), a status byte (`STATUSES`), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

use b24_stock_gateway::core::domain::id::{ProductId, RecordId};
use b24_stock_gateway::core::domain::reads::{Command, Read};
use b24_stock_gateway::core::portal::command::LIST_PAGE_ROWS;
use b24_stock_gateway::core::portal::exchange::read_reply;
use b24_stock_gateway_fuzz::status;

fuzz_target!(|data: &[u8]| {
    let [shape, selector, body @ ..] = data else {
        return;
    };
    let product = ProductId::from_u64(6973).unwrap();
    let commands: Vec<Command> = (0..usize::from(1 + (shape & 3)))
        .map(|i| {
            if shape & (4 << i) != 0 {
                Command::ProductPage { product, start: 0 }
            } else {
                Command::Record(RecordId::from_u64(13 + i as u64).unwrap())
            }
        })
        .collect();
    let Ok((slots, _)) = read_reply(&commands, status(*selector), body) else {
        return;
    };
    assert_eq!(slots.len(), commands.len());
    for (command, slot) in commands.iter().zip(&slots) {
        match (command, slot) {
            (Command::Record(id), Ok(Read::Record(Some(record)))) => assert_eq!(record.id, *id),
            (Command::Record(_), Ok(Read::Record(None))) | (_, Err(_)) => {}
            (Command::ProductPage { .. }, Ok(Read::Page(page))) => {
                assert!(page.rows.len() <= LIST_PAGE_ROWS as usize);
                assert!(page.rows.iter().all(|row| row.product_id == product));
            }
            (command, slot) => panic!("{command:?} answered with {slot:?}"),
        }
    }
});

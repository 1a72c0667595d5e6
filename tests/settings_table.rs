//! Every `STOCK_*` name the code reads has its row in the one table of variables
//! (`src/core/config/variables.rs`), and every row is read somewhere.

use std::collections::BTreeSet;
use std::path::Path;

use b24_stock_gateway::core::config::variables::VARIABLES;

/// `STOCK_*` names written as string literals under `dir` (outside the table itself).
fn names_in(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            names_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("variables.rs") {
            let text = std::fs::read_to_string(&path).expect("read file");
            for piece in text.split('"').skip(1).step_by(2) {
                if piece.starts_with("STOCK_")
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    found.insert(piece.to_string());
                }
            }
        }
    }
}

#[test]
fn the_table_has_every_name_the_code_reads_and_no_other() {
    let mut used = BTreeSet::new();
    names_in(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut used,
    );
    let table: BTreeSet<String> = VARIABLES.iter().map(|v| v.name.to_string()).collect();
    let missing: Vec<&String> = used.difference(&table).collect();
    assert!(missing.is_empty(), "read but not in the table: {missing:?}");
    let unused: Vec<&String> = table.difference(&used).collect();
    assert!(unused.is_empty(), "in the table but never read: {unused:?}");
    assert!(used.len() >= 25, "found too few names: {used:?}");
}

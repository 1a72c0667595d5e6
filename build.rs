//! Compresses the files the gateway serves as they are (`/openapi.json`, `/widget.js`) once,
//! at build time, so that answering `Accept-Encoding: br` or `gzip` costs nothing per request
//! and no compressor ships in the binary or the Worker's wasm.

use std::io::Write;
use std::path::Path;

/// The served files, by the name `src/core/api/storefront.rs` includes them under.
const FILES: &[(&str, &str)] = &[
    ("openapi.json", "openapi.json"),
    ("widget.js", "widget/b24-stock.js"),
];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (name, source) in FILES {
        println!("cargo:rerun-if-changed={source}");
        let bytes = std::fs::read(source).unwrap_or_else(|e| panic!("{source}: {e}"));
        write(&out, &format!("{name}.gz"), &gzip(&bytes));
        write(&out, &format!("{name}.br"), &brotli(&bytes));
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut compressed, &params).expect("brotli in memory");
    compressed
}

fn write(out: &str, name: &str, bytes: &[u8]) {
    let path = Path::new(out).join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

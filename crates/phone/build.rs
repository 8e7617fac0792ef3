//! Reads libphonenumber's metadata (`data/PhoneNumberMetadata.xml`, the version phonenumber
//! bundles) with phonenumber's loader and writes it compact (postcard) to `OUT_DIR`, so that
//! the crate reads it in a few milliseconds, without compiling any pattern until a region is
//! used.

// Cargo reads the build script's instructions from its standard output.
#![allow(clippy::print_stdout)]

use std::env;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

fn main() {
    let xml = "data/PhoneNumberMetadata.xml";
    println!("cargo:rerun-if-changed={xml}");
    let metadata = phonenumber::metadata::loader::load(BufReader::new(
        File::open(xml).expect("data/PhoneNumberMetadata.xml is part of the crate"),
    ))
    .expect("libphonenumber's metadata loads");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("metadata.bin");
    let mut out = BufWriter::new(File::create(out).expect("OUT_DIR is writable"));
    postcard::to_io(&metadata, &mut out).expect("the metadata serializes");
}

//! How long the first number takes in a fresh process: the metadata read and the patterns of
//! one region compiled. Run with `cargo run --release -p mergetag-phone --example startup`.

#![allow(clippy::print_stdout)]

use std::time::Instant;

fn main() {
    let start = Instant::now();
    let us = mergetag_phone::read_in_region("US", "3125550147");
    let first = start.elapsed();
    let gb = mergetag_phone::read_in_region("GB", "02079460958");
    let second = start.elapsed();
    println!("first number (US): {first:?} -> {us:?}");
    println!("and a second region (GB): {second:?} -> {gb:?}");
    // For comparison: the first use of phonenumber's own database, which compiles every
    // pattern of every region.
    let start = Instant::now();
    let n = phonenumber::parse(Some(phonenumber::country::Id::US), "3125550147");
    let theirs = start.elapsed();
    println!(
        "phonenumber's database, first use: {theirs:?} -> {:?}",
        n.is_ok()
    );
}

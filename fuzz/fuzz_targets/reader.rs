//! The wire reader: any bytes either become a ResourceList or a clear error, never a panic;
//! whatever is read writes back out and reads again to the same items.
#![no_main]

use apply_defaults::krm::ResourceList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(rl) = ResourceList::from_bytes(data) else { return };
    let text = rl.to_yaml().expect("a ResourceList that was read can be written");
    let back = ResourceList::parse(&text).expect("written output reads back");
    assert_eq!(back.items, rl.items, "items change in a write/read round trip:\n{text}");
});

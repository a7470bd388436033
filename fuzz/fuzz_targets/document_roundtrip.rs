//! Any bytes: parsing never panics, printing gives the input back, and the standard edits
//! keep the result parseable and lossless.
#![no_main]

use alarm_distcc::document::Document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let doc = Document::parse(data.to_vec());
    assert_eq!(doc.to_bytes(), data);
    if doc.too_deep_at().is_some() {
        return;
    }
    for edited in [
        alarm_distcc::edit::set_distcc(&doc, true),
        alarm_distcc::edit::set_jobs(&doc, 8, None),
    ]
    .into_iter()
    .flatten()
    {
        let bytes = edited.doc.as_bytes().to_vec();
        assert_eq!(Document::parse(bytes.clone()).to_bytes(), bytes);
    }
    let _ = alarm_distcc::edit::current_hosts(&doc);
});

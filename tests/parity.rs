//! Parity with the original streamvis: every scenario in the parity
//! directory is replayed through the Rust DataLogger into a log file, read
//! back through the file tail and the store, exported, and compared with what
//! the original displayed.

mod common;

use serde_json::Value;
use streamvis_gpu::DataLogger;
use streamvis_gpu::source::{FileTail, Follow, Reader, Update};
use streamvis_gpu::store::{self, Store};

fn replay(scenario: &Value, dir: &std::path::Path) -> (Value, usize) {
    let log = dir.join("run.log");
    let mut logger = DataLogger::new("parity");
    logger.init_write_log(&log).unwrap();
    for (i, call) in scenario["calls"].as_array().expect("calls").iter().enumerate() {
        logger.flush().unwrap();
        let len_before = std::fs::metadata(&log).unwrap().len();
        let result = common::calls::apply_call(&mut logger, call);
        logger.flush().unwrap();
        let len_after = std::fs::metadata(&log).unwrap().len();
        match (call.get("expect_error"), result) {
            (Some(why), Ok(())) => panic!("call {i} should be refused ({why})"),
            (Some(_), Err(err)) => {
                assert!(!err.to_string().is_empty());
                assert_eq!(len_before, len_after, "call {i} was refused but left bytes in the log");
            }
            (None, Err(err)) => panic!("call {i} refused: {err}"),
            (None, Ok(())) => {
                assert!(len_after > len_before, "call {i} wrote nothing");
            }
        }
    }
    drop(logger);

    let mut tail = FileTail::open(&log, false).unwrap();
    let mut store = Store::new();
    let mut reader = Reader::new(Box::new(&mut tail), Follow::No);
    let mut applied = 0;
    while let Some(update) = reader.next_update().unwrap() {
        applied += matches!(update, Update::Record { .. }) as usize;
        reader.apply(&mut store, &update);
    }
    drop(reader);
    assert_eq!(
        tail.position(),
        std::fs::metadata(&log).unwrap().len(),
        "every byte decoded"
    );
    (serde_json::to_value(store::export(&store)).unwrap(), applied)
}

#[test]
fn every_parity_scenario_matches_the_original() {
    let mut failures = Vec::new();
    for path in common::parity_files() {
        let scenario = common::load_json(&path);
        let dir = tempfile::tempdir().unwrap();
        let (export, applied) = replay(&scenario, dir.path());
        let calls = scenario["calls"].as_array().unwrap();
        let landed = calls.iter().filter(|c| c.get("expect_error").is_none()).count();
        assert_eq!(applied, landed, "{path:?}: every landed call is one record");
        let errors = common::compare_exports(&scenario["expected"], &export);
        if !errors.is_empty() {
            failures.push(format!(
                "{path:?}:\n  {}",
                errors.iter().take(10).cloned().collect::<Vec<_>>().join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

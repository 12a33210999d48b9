//! The whole way from bytes to a page, checked on hostile input: shared by
//! the cargo-fuzz target `view` and by `cargo test`.
//!
//! Random bytes rarely survive the frame checksums, so [`fuzz_view`] reads
//! its input as a little program instead: records with hostile fields (huge
//! or overflowing grid cells, NaN and infinite values, out-of-range dims,
//! unknown palettes, names with control characters, empty shapes) are
//! encoded with valid checksums, some of their bodies are then damaged and
//! checksummed again (so the body parser sees bad bytes), and the stream
//! goes through the decoder, the store, the export, the page layout and the
//! line reduction. Bad input may be refused or skipped; nothing may panic,
//! loop, or lay a plot out off the page.

use std::collections::HashMap;

use crate::format::{
    ColorSpec, DataCall, FRAME_HEADER_LEN, FrameHeader, FrameScanner, GridCell, GridSpec, LineNames, RecordBody,
    RecordMeta, StreamEvent, TandemCall, TensorView, encode_file_header, encode_record,
};
use crate::layout::{LogAxes, PageData, PageScene, Style};
use crate::store::{self, LinePyramid, PlotKind, Snapshot, Store, needs_reduction, reduce_lines};

/// Reads fuzz input one value at a time; zeros once it runs out.
struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    fn done(&self) -> bool {
        self.at >= self.data.len()
    }

    /// A small count, or now and then a hostile one.
    fn count(&mut self) -> u32 {
        match self.u8() % 8 {
            0 => self.u32(),
            n => n as u32 - 1,
        }
    }

    fn name(&mut self) -> String {
        ["a", "b", "loss", "", "x\ny\u{1b}[2J", "b"][self.u8() as usize % 6].to_owned()
    }

    fn palette(&mut self) -> String {
        ["Viridis256", "Category10_10", "Greys3", "nope", "Turbo256"][self.u8() as usize % 5].to_owned()
    }

    fn value(&mut self) -> f32 {
        match self.u8() % 10 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => f32::MAX,
            4 => -1e-30,
            _ => f32::from_bits(self.u32() & 0x4fff_ffff) - 1e6,
        }
    }
}

/// Encodes the records `data` describes, as a log file.
fn hostile_log(input: &mut Input) -> Vec<u8> {
    let mut out = Vec::new();
    encode_file_header(&mut out);
    let mut seq = 0;
    let mut values = Vec::new();
    let mut shape = Vec::new();
    while !input.done() && seq < 64 {
        let meta = RecordMeta {
            session_id: input.u8() as u64 % 3,
            seq,
            wall_time_ns: i64::from(input.u32() as i32) << 32,
            run_name: input.name(),
        };
        seq += 1;
        // A tensor of at most 4096 values, with a shape that may not match.
        shape.clear();
        for _ in 0..input.u8() % 4 {
            shape.push(input.count() as usize % 64);
        }
        let len: usize = shape.iter().product::<usize>().min(4096);
        values.clear();
        values.extend((0..len).map(|_| input.value()));
        if input.u8().is_multiple_of(8) {
            values.pop();
        }
        let data = TensorView {
            shape: &shape,
            values: &values,
        };
        let data_call = |input: &mut Input| DataCall {
            plot: input.name(),
            spatial_dim: input.count() as usize % 5,
            append: input.u8().is_multiple_of(2),
            color: match input.u8() % 3 {
                0 => None,
                1 => Some(ColorSpec::by_value(input.palette())),
                _ => Some(ColorSpec::by_dim(input.palette(), input.count() as usize)),
            },
            grid: (input.u8().is_multiple_of(3)).then(|| GridSpec {
                dim: input.count() as usize % 5,
                num_columns: input.count() as usize,
                padding_factor: input.value(),
            }),
            line_dims: (0..input.u8() % 3).map(|_| input.count() as usize % 5).collect(),
            data,
        };
        let body = match input.u8() % 8 {
            0 | 1 => RecordBody::Layout(
                (0..input.count().min(300))
                    .map(|_| {
                        let cell = GridCell::new(input.count(), input.count(), input.count(), input.count());
                        (input.name(), cell)
                    })
                    .collect(),
            ),
            2 => RecordBody::Scatter(data_call(input)),
            3 => RecordBody::MultiLines(data_call(input)),
            4 => RecordBody::TandemLines(TandemCall {
                plot: input.name(),
                palette: (input.u8().is_multiple_of(2)).then(|| input.palette()),
                x: input.value() as f64,
                ys: data,
            }),
            5 => RecordBody::Step(input.u32() as u64),
            6 => RecordBody::LineNames(LineNames {
                plot: input.name(),
                names: (0..input.u8() % 4).map(|_| input.name()).collect(),
            }),
            _ => RecordBody::Clear,
        };
        let start = out.len();
        encode_record(&meta, &body, &mut out);
        // Now and then damage the body and checksum it again, so the damage
        // reaches the body parser instead of the checksum test.
        if input.u8().is_multiple_of(4) && out.len() > start + FRAME_HEADER_LEN {
            let body_len = out.len() - start - FRAME_HEADER_LEN;
            let at = start + FRAME_HEADER_LEN + input.u32() as usize % body_len;
            out[at] ^= input.u8() | 1;
            let (header, body) = out[start..].split_at_mut(FRAME_HEADER_LEN);
            let bytes: [u8; FRAME_HEADER_LEN] = (&*header).try_into().expect("24 bytes");
            let kind = FrameHeader::read(&bytes)
                .ok()
                .and_then(|h| h.record_kind())
                .expect("a header just encoded");
            header.copy_from_slice(&FrameHeader::for_body(kind, body).write());
        }
    }
    out
}

/// The whole-way check: see the module docs. Panics only on a real bug.
pub fn fuzz_view(data: &[u8]) {
    let log = hostile_log(&mut Input { data, at: 0 });
    check_log(&log);
    // The same bytes cut anywhere.
    let cut = data.first().map_or(0, |&b| b as usize * 97) % (log.len() + 1);
    check_log(&log[..cut]);
}

/// Decodes `log` into a store and derives everything the outputs show.
pub fn check_log(log: &[u8]) {
    let bytes = bytes::Bytes::copy_from_slice(log);
    let mut scanner = FrameScanner::for_file();
    let mut store = Store::new();
    let mut records = Vec::new();
    for _ in 0..=log.len() + 1 {
        match scanner.next_event(&bytes, 0) {
            Ok(Some(StreamEvent::Record { record, .. })) => {
                let _refused = store.apply(&record);
                records.push(record);
            }
            Ok(Some(StreamEvent::Corrupt { .. })) => {}
            Ok(None) | Err(_) => break,
        }
    }
    check_store(&store);
    check_history(&store, &records);
    check_runs(&records);
}

/// The records spread over two logs, as runs: the export serialises and a
/// page of every run lays out on the page, panels and legends included.
pub fn check_runs(records: &[crate::format::Record]) {
    let mut runs = store::Runs::new(None);
    for (i, record) in records.iter().enumerate() {
        let part = i % 2;
        let _refused = runs.apply(part, || format!("part{part}.log"), record);
    }
    serde_json::to_vec(&runs.export()).expect("the export serialises");
    let hidden = std::collections::HashSet::from([runs.runs().first().map_or(String::new(), |_| runs.label(0))]);
    for overlay in [false, true] {
        let page = PageData::of_runs(&runs, &hidden, |run| Some(run.store.live())).with_overlay_clouds(overlay);
        for (width, height) in [(1280, 800), (40, 30)] {
            let scene = PageScene::build(&page, &HashMap::new(), width, height, &Style::default());
            for plot in &scene.plots {
                let cell = plot.frame.cell;
                assert!(cell.x.is_finite() && cell.y.is_finite() && cell.width.is_finite() && cell.height.is_finite());
                assert!(cell.right() <= width as f32 + 0.5 && cell.bottom() <= height as f32 + 0.5);
                assert!(plot.runs.iter().all(|&r| r < page.runs.len() && page.runs[r].visible));
                if let Some((panel, rows, more)) = plot.legend_layout(&scene.style) {
                    assert!(panel.width.is_finite() && panel.height.is_finite());
                    assert_eq!(rows.len() + more, plot.legend.len());
                }
            }
        }
    }
}

/// Every earlier state the store keeps equals a store of the records up to
/// there: the history is the log cut anywhere.
pub fn check_history(store: &Store, records: &[crate::format::Record]) {
    let json = |snapshot: &Snapshot| serde_json::to_string(&store::export(snapshot)).expect("the export serialises");
    let step = (records.len() / 48).max(1);
    for cut in (0..=records.len()).step_by(step) {
        let mut fresh = Store::new();
        for record in &records[..cut] {
            let _refused = fresh.apply(record);
        }
        let past = store.at_record(cut as u64);
        assert_eq!(json(&past), json(&fresh.live()), "the state after {cut} records");
        assert_eq!(past.layout(), fresh.layout(), "the layout after {cut} records");
        assert_eq!(past.run_name(), fresh.run_name());
        check_snapshot(&past);
    }
    // Steps: the state after each equals the state at its end.
    for k in 0..store.steps() {
        let mark = store.step(k).expect("a step below the count");
        assert!(mark.end <= records.len() as u64);
        assert_eq!(
            json(&store.at_step(k).expect("a step")),
            json(&store.at_record(mark.end))
        );
    }
}

/// Export, page layout and line reduction of `store` must hold together.
pub fn check_store(store: &Store) {
    check_snapshot(&store.live());
}

/// [`check_store`] for one state of a store.
pub fn check_snapshot(store: &Snapshot) {
    let export = store::export(store);
    serde_json::to_vec(&export).expect("the export serialises");
    let all = ["all".to_owned()];
    let log_axes = LogAxes::from_names(&all, &all);
    for (width, height, log) in [(1280, 800, false), (16, 16, false), (1280, 800, true)] {
        // Every plot on log axes too: hostile values must not give it
        // non-finite views or ticks.
        let page = PageData::single(store.clone());
        let page = if log { page.with_log_axes(&log_axes) } else { page };
        let scene = PageScene::build(&page, &HashMap::new(), width, height, &Style::default());
        assert!(scene.plots.len() <= store.layout().len());
        for plot in &scene.plots {
            let cell = plot.frame.cell;
            for v in [cell.x, cell.y, cell.width, cell.height] {
                assert!(v.is_finite(), "cell of {:?}: {cell:?}", plot.frame.name);
            }
            assert!(
                cell.x >= -0.5 && cell.y >= -0.5,
                "cell of {:?} off the page: {cell:?}",
                plot.frame.name
            );
            assert!(cell.right() <= width as f32 + 0.5 && cell.bottom() <= height as f32 + 0.5);
            for tick in plot.x_ticks.iter().chain(&plot.y_ticks) {
                assert!(tick.value.is_finite(), "tick {tick:?}");
            }
            for v in plot.view.min.iter().chain(&plot.view.max) {
                assert!(v.is_finite(), "view of {:?}: {:?}", plot.frame.name, plot.view);
            }
            assert!(plot.x_ticks.len() < 1000 && plot.y_ticks.len() < 1000);
            if let Some(data) = store.plot(&plot.frame.name)
                && data.kind != PlotKind::Scatter
            {
                let columns = plot.frame.plot_area.width.max(1.0) as u32;
                if needs_reduction(&data, columns) {
                    let reduced = reduce_lines(&data, plot.view.min[0], plot.view.max[0], columns, plot.log);
                    // The block extremes, where they serve, give the same.
                    let mut pyramid = LinePyramid::new();
                    if data.kind == PlotKind::Tandem {
                        pyramid.update(&data);
                    }
                    if pyramid.serves(&data, plot.log) {
                        let fast = pyramid.reduce(&data, plot.view.min[0], plot.view.max[0], columns, plot.log);
                        assert_eq!(fast, reduced, "plot {:?}", plot.frame.name);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_way_holds_on_random_programs() {
        // STREAMVIS_FUZZ_PROGRAMS=N runs more (and other) programs.
        let programs = std::env::var("STREAMVIS_FUZZ_PROGRAMS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(400);
        let mut rng = fastrand::Rng::with_seed(7 + programs as u64);
        for _ in 0..programs {
            let data: Vec<u8> = (0..rng.usize(0..600)).map(|_| rng.u8(..)).collect();
            fuzz_view(&data);
        }
    }
}

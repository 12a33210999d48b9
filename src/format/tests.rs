use bytes::Bytes;

use super::*;

fn meta(seq: u64) -> RecordMeta {
    RecordMeta {
        session_id: 0xfeed_beef,
        seq,
        wall_time_ns: 1_700_000_000_000_000_000 + seq as i64,
        run_name: "run".into(),
    }
}

/// One record of every kind, with odd-length strings so padding matters.
fn sample_bodies() -> Vec<RecordBody<Tensor>> {
    let cloud = Tensor::from_values(vec![3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, f32::NAN]);
    vec![
        RecordBody::Layout(vec![
            ("a".into(), GridCell::new(0, 0, 1, 2)),
            ("bee".into(), GridCell::new(1, 0, 1, 1)),
        ]),
        RecordBody::Scatter(DataCall {
            plot: "a".into(),
            spatial_dim: 1,
            append: true,
            color: Some(ColorSpec::by_dim("Viridis256", 0)),
            grid: Some(GridSpec::new(0, 3).with_padding_factor(1.5)),
            line_dims: vec![],
            data: cloud.clone(),
        }),
        RecordBody::MultiLines(DataCall {
            plot: "bee".into(),
            spatial_dim: 0,
            append: false,
            color: Some(ColorSpec::by_value("Magma256")),
            grid: None,
            line_dims: vec![1],
            data: Tensor::from_values(vec![3, 2, 1], &[0.5; 6]),
        }),
        RecordBody::TandemLines(TandemCall {
            plot: "a".into(),
            palette: Some("Turbo256".into()),
            x: 12345.5,
            ys: Tensor::from_values(vec![3], &[1.0, -2.0, 3.5]),
        }),
        RecordBody::TandemLines(TandemCall {
            plot: "ab".into(),
            palette: None,
            x: -1.0,
            ys: Tensor::from_values(vec![1], &[0.0]),
        }),
        RecordBody::Step(7),
        RecordBody::Fragment(Fragment {
            index: 1,
            count: 3,
            total_len: 100,
            offset: 40,
            bytes: Bytes::from_static(b"0123456789abc"),
        }),
        RecordBody::LineNames(LineNames {
            plot: "bee".into(),
            names: vec!["train".into(), "vål".into(), String::new()],
        }),
        RecordBody::Clear,
        RecordBody::Scatter(DataCall {
            plot: "empty".into(),
            spatial_dim: 0,
            append: false,
            color: None,
            grid: None,
            line_dims: vec![],
            data: Tensor::from_values(vec![2, 0], &[]),
        }),
    ]
}

fn sample_records() -> Vec<Record> {
    sample_bodies()
        .into_iter()
        .enumerate()
        .map(|(i, body)| Record {
            meta: meta(i as u64),
            body,
        })
        .collect()
}

/// A file: header plus every sample record; also returns each frame's range.
fn sample_file() -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut out = Vec::new();
    encode_file_header(&mut out);
    let mut ranges = Vec::new();
    for record in sample_records() {
        let start = out.len();
        encode_record(&record.meta, &record.body, &mut out);
        ranges.push(start..out.len());
    }
    (out, ranges)
}

/// Decodes everything currently decodable, with a bound on iterations so a
/// scanner that loops fails the test instead of hanging it.
/// Records and warnings, each with its stream offset.
type Decoded = (Vec<(u64, Record)>, Vec<(u64, FrameError)>);

fn decode_all(data: &[u8], file: bool) -> Decoded {
    let bytes = Bytes::copy_from_slice(data);
    let mut scanner = if file {
        FrameScanner::for_file()
    } else {
        FrameScanner::for_message()
    };
    let (mut records, mut corrupt) = (Vec::new(), Vec::new());
    for _ in 0..=data.len() + 1 {
        match scanner.next_event(&bytes, 0).expect("header") {
            None => return (records, corrupt),
            Some(StreamEvent::Record { offset, record }) => records.push((offset, record)),
            Some(StreamEvent::Corrupt { offset, error }) => corrupt.push((offset, error)),
        }
    }
    panic!("scanner did not stop on {} bytes", data.len());
}

#[test]
fn every_kind_round_trips() {
    let (file, ranges) = sample_file();
    let (records, corrupt) = decode_all(&file, true);
    assert!(corrupt.is_empty(), "{corrupt:?}");
    let got: Vec<Record> = records.iter().map(|(_, r)| r.clone()).collect();
    // NaN != NaN, so compare the bytes of the tensors through Debug of bits.
    assert_eq!(format!("{got:?}"), format!("{:?}", sample_records()));
    let offsets: Vec<u64> = records.iter().map(|(o, _)| *o).collect();
    let starts: Vec<u64> = ranges.iter().map(|r| r.start as u64).collect();
    assert_eq!(offsets, starts);
}

#[test]
fn frames_and_tensors_are_aligned() {
    let (file, ranges) = sample_file();
    for range in &ranges {
        assert_eq!(range.start % ALIGN, 0);
        assert_eq!(range.len() % ALIGN, 0);
    }
    let bytes = Bytes::from(file);
    let mut scanner = FrameScanner::for_file();
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        let StreamEvent::Record { record, .. } = event else {
            panic!("{event:?}")
        };
        let tensor = match &record.body {
            RecordBody::Scatter(c) | RecordBody::MultiLines(c) => &c.data,
            RecordBody::TandemLines(c) => &c.ys,
            _ => continue,
        };
        let offset = tensor.bytes.as_ptr() as usize - bytes.as_ptr() as usize;
        assert_eq!(offset % ALIGN, 0, "tensor at stream offset {offset}");
        assert!(matches!(tensor.values(), std::borrow::Cow::Borrowed(_)) || tensor.is_empty());
    }
}

#[test]
fn tensor_values_are_the_callers_bytes() {
    let values = [1.5f32, -0.0, f32::INFINITY, 3.25, 1e-30, 7.0];
    let view = TensorView {
        shape: &[2, 3],
        values: &values,
    };
    let body = RecordBody::Scatter(DataCall {
        plot: "p".into(),
        spatial_dim: 0,
        append: false,
        color: None,
        grid: None,
        line_dims: vec![],
        data: view,
    });
    let mut out = Vec::new();
    encode_record(&meta(0), &body, &mut out);
    let (records, _) = decode_all(&out, false);
    let RecordBody::Scatter(call) = &records[0].1.body else {
        panic!()
    };
    assert_eq!(call.data.shape, vec![2, 3]);
    assert_eq!(call.data.bytes.as_ref(), bytemuck::cast_slice::<f32, u8>(&values));
}

/// Feeds the file to a push decoder in pieces of the given sizes (cycled).
fn push_in_pieces(file: &[u8], sizes: &[usize]) -> Vec<Record> {
    let mut decoder = PushDecoder::for_file();
    let mut records = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < file.len() {
        let n = sizes[i % sizes.len()].min(file.len() - at);
        decoder.push(&file[at..at + n]);
        at += n;
        i += 1;
        while let Some(event) = decoder.next_event().unwrap() {
            match event {
                StreamEvent::Record { record, .. } => records.push(record),
                StreamEvent::Corrupt { offset, error } => panic!("corrupt at {offset}: {error}"),
            }
        }
    }
    assert_eq!(decoder.buffered_len(), 0);
    records
}

#[test]
fn push_decoder_one_byte_whole_and_irregular() {
    let (file, _) = sample_file();
    let expected = format!("{:?}", sample_records());
    assert_eq!(format!("{:?}", push_in_pieces(&file, &[1])), expected);
    assert_eq!(format!("{:?}", push_in_pieces(&file, &[file.len()])), expected);
    assert_eq!(
        format!("{:?}", push_in_pieces(&file, &[3, 17, 1, 64, 5, 250, 2])),
        expected
    );
}

#[test]
fn cut_at_every_offset_yields_the_whole_records_before_it() {
    let (file, ranges) = sample_file();
    for cut in 0..=file.len() {
        let (records, corrupt) = decode_all(&file[..cut], true);
        assert!(corrupt.is_empty(), "cut {cut}: {corrupt:?}");
        let whole = ranges.iter().filter(|r| r.end <= cut).count();
        assert_eq!(records.len(), whole, "cut at {cut}");
    }
}

#[test]
fn corrupt_bytes_lose_only_the_records_they_touch() {
    let (file, ranges) = sample_file();
    // Flip one byte in the marker, the length, the header checksum and the
    // body of each frame in turn.
    for (k, range) in ranges.iter().enumerate() {
        for delta in [0, 9, 21, FRAME_HEADER_LEN + 3, range.len() - 1] {
            let mut damaged = file.clone();
            damaged[range.start + delta] ^= 0x5a;
            let (records, corrupt) = decode_all(&damaged, true);
            let seqs: Vec<u64> = records.iter().map(|(_, r)| r.meta.seq).collect();
            let expected: Vec<u64> = (0..ranges.len() as u64).filter(|&s| s != k as u64).collect();
            assert_eq!(seqs, expected, "frame {k}, byte {delta}");
            assert_eq!(corrupt.len(), 1, "frame {k}, byte {delta}: one warning");
            assert_eq!(corrupt[0].0, range.start as u64, "the warning names the frame's offset");
        }
    }
}

#[test]
fn garbage_between_frames_is_skipped() {
    let (file, ranges) = sample_file();
    let mut damaged = file[..ranges[2].start].to_vec();
    damaged.extend_from_slice(&[0xAB; 40]);
    damaged.extend_from_slice(&file[ranges[2].start..]);
    let (records, corrupt) = decode_all(&damaged, true);
    assert_eq!(records.len(), ranges.len());
    assert_eq!(corrupt.len(), 1);
    assert_eq!(corrupt[0].0, ranges[2].start as u64);
}

#[test]
fn a_record_cut_short_by_a_crash_is_skipped_when_writes_follow() {
    let (file, ranges) = sample_file();
    // Record 1 loses its last 8 bytes; the records after it follow directly.
    let torn = &ranges[1];
    let mut damaged = file[..torn.end - 8].to_vec();
    damaged.extend_from_slice(&file[torn.end..]);
    let (records, corrupt) = decode_all(&damaged, true);
    let seqs: Vec<u64> = records.iter().map(|(_, r)| r.meta.seq).collect();
    assert_eq!(seqs, (0..ranges.len() as u64).filter(|&s| s != 1).collect::<Vec<_>>());
    assert_eq!(corrupt.len(), 1);
    assert!(matches!(
        corrupt[0].1,
        FrameError::CutShort { .. } | FrameError::BodyCrcMismatch { .. }
    ));
    assert_eq!(corrupt[0].0, torn.start as u64);
}

#[test]
fn unknown_kind_is_skipped_whole() {
    let mut out = Vec::new();
    encode_record(&meta(0), &RecordBody::<Tensor>::Step(1), &mut out);
    let second = out.len();
    encode_record(&meta(1), &RecordBody::<Tensor>::Step(2), &mut out);
    // Rewrite the first frame's kind and fix its header checksum.
    out[4..6].copy_from_slice(&99u16.to_le_bytes());
    let crc = crc32c::crc32c(&out[0..20]);
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    let (records, corrupt) = decode_all(&out, false);
    assert_eq!(corrupt, vec![(0, FrameError::UnknownKind { kind: 99 })]);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, second as u64);
}

#[test]
fn a_body_that_does_not_parse_is_skipped() {
    let mut out = Vec::new();
    // A Layout frame claiming a huge plot count, with valid checksums.
    let body_start = FRAME_HEADER_LEN;
    encode_record(&meta(0), &RecordBody::<Tensor>::Layout(vec![]), &mut out);
    let count_at = body_start + 24 + 4 + 4; // prefix u64 x3, run name "run" padded
    out[count_at..count_at + 4].copy_from_slice(&1000u32.to_le_bytes());
    let crc = crc32c::crc32c(&out[body_start..]);
    out[16..20].copy_from_slice(&crc.to_le_bytes());
    let hcrc = crc32c::crc32c(&out[0..20]);
    out[20..24].copy_from_slice(&hcrc.to_le_bytes());
    let (records, corrupt) = decode_all(&out, false);
    assert!(records.is_empty());
    assert!(
        matches!(corrupt[..], [(0, FrameError::Body(BodyError::Truncated { .. }))]),
        "{corrupt:?}"
    );
}

#[test]
fn file_header_is_checked() {
    let mut scanner = FrameScanner::for_file();
    assert!(matches!(scanner.poll(b"SVGP", 0), Ok(Scan::NeedMore)));
    let err = FrameScanner::for_file().poll(b"PK\x03\x04 not a log", 0).unwrap_err();
    assert!(matches!(err, HeaderError::NotALog { .. }));
    let mut header = Vec::new();
    encode_file_header(&mut header);
    header[8..10].copy_from_slice(&2u16.to_le_bytes());
    let err = FrameScanner::for_file().poll(&header, 0).unwrap_err();
    assert_eq!(
        err,
        HeaderError::UnsupportedVersion {
            major: 2,
            minor: FORMAT_MINOR,
            supported: 1
        }
    );
    // A newer minor version is read.
    header[8..10].copy_from_slice(&1u16.to_le_bytes());
    header[10..12].copy_from_slice(&9u16.to_le_bytes());
    assert!(matches!(FrameScanner::for_file().poll(&header, 0), Ok(Scan::NeedMore)));
}

#[test]
fn a_pending_body_is_waited_for() {
    let (file, ranges) = sample_file();
    let last = ranges.last().unwrap();
    let bytes = Bytes::copy_from_slice(&file[..last.end - 8]);
    let mut scanner = FrameScanner::for_file();
    let mut n = 0;
    while let Some(event) = scanner.next_event(&bytes, 0).unwrap() {
        assert!(matches!(event, StreamEvent::Record { .. }));
        n += 1;
    }
    assert_eq!(n, ranges.len() - 1);
    assert_eq!(scanner.position(), last.start as u64);
    // The rest arrives: the same scanner picks the record up.
    let bytes = Bytes::copy_from_slice(&file);
    assert!(matches!(
        scanner.next_event(&bytes, 0).unwrap(),
        Some(StreamEvent::Record { .. })
    ));
    assert!(scanner.next_event(&bytes, 0).unwrap().is_none());
}

#[test]
fn fuzz_check_holds_on_random_and_mutated_logs() {
    // The fuzz target's body over random bytes and randomly damaged logs,
    // so the check runs on every test run (cargo fuzz explores further).
    let mut rng = fastrand::Rng::with_seed(42);
    let (file, _) = sample_file();
    for _ in 0..300 {
        let mut data = file.clone();
        for _ in 0..rng.usize(0..6) {
            let at = rng.usize(0..data.len());
            data[at] = rng.u8(..);
        }
        data.truncate(rng.usize(0..=data.len()));
        fuzz_decode(&data);
        let noise: Vec<u8> = (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect();
        fuzz_decode(&noise);
    }
}

#[test]
fn the_prefix_reads_without_decoding_the_body() {
    let (file, ranges) = sample_file();
    for (range, record) in ranges.iter().zip(sample_records()) {
        let body = &file[range.start + FRAME_HEADER_LEN..range.end];
        let prefix = read_prefix(body).unwrap();
        assert_eq!(prefix.meta, record.meta);
        // u64 session, u64 sequence, i64 wall time, u32 length, "run", pad4.
        assert_eq!(prefix.len_bytes, 32);
        // The prefix alone is enough; what follows is not looked at.
        assert_eq!(read_prefix(&body[..prefix.len_bytes]).unwrap().meta, record.meta);
        let mut garbled = body.to_vec();
        garbled[prefix.len_bytes..].fill(0xff);
        assert_eq!(read_prefix(&garbled).unwrap(), prefix);
    }
}

#[test]
fn the_prefix_length_follows_the_run_name() {
    for (name, len_bytes) in [("", 28), ("a", 32), ("abcd", 32), ("abcde", 36), ("ü", 32)] {
        let meta = RecordMeta {
            run_name: name.into(),
            ..meta(5)
        };
        let mut out = Vec::new();
        encode_record(&meta, &RecordBody::<Tensor>::Step(3), &mut out);
        let prefix = read_prefix(&out[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!(prefix.meta, meta);
        assert_eq!(prefix.len_bytes, len_bytes, "{name:?}");
    }
}

#[test]
fn a_short_or_garbled_prefix_is_an_error() {
    let mut out = Vec::new();
    encode_record(&meta(1), &RecordBody::<Tensor>::Clear, &mut out);
    let body = &out[FRAME_HEADER_LEN..];
    assert!(matches!(
        read_prefix(&body[..20]),
        Err(BodyError::Truncated { field: "wall time", .. })
    ));
    assert!(matches!(
        read_prefix(&body[..29]),
        Err(BodyError::Truncated { field: "run name", .. })
    ));
    let mut bad_name = body.to_vec();
    bad_name[28] = 0xff;
    assert_eq!(read_prefix(&bad_name), Err(BodyError::BadUtf8 { field: "run name" }));
}

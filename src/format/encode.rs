//! Writing frames.

use super::frame::FrameHeader;
use super::record::{ColorSpec, DataCall, GridSpec, RecordBody, RecordMeta, TensorData};
use super::{FILE_HEADER_LEN, FILE_MAGIC, FORMAT_MAJOR, FORMAT_MINOR, FRAME_HEADER_LEN, align_up};

/// Appends the 16-byte file header.
pub fn encode_file_header(out: &mut Vec<u8>) {
    out.extend_from_slice(&FILE_MAGIC);
    out.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
    out.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    debug_assert_eq!(out.len() % FILE_HEADER_LEN, 0);
}

/// Appends one frame (header and body) to `out`, which must hold a whole
/// number of frames (its length a multiple of 8) so alignment is kept.
/// Returns the frame's length in bytes.
pub fn encode_record<T: TensorData>(meta: &RecordMeta, body: &RecordBody<T>, out: &mut Vec<u8>) -> usize {
    debug_assert_eq!(out.len() % 8, 0, "frames must start 8-aligned");
    let frame_start = out.len();
    out.resize(frame_start + FRAME_HEADER_LEN, 0);
    let body_start = out.len();
    let mut w = BodyWriter { out, body_start };

    w.u64(meta.session_id);
    w.u64(meta.seq);
    w.u64(meta.wall_time_ns as u64);
    w.str(&meta.run_name);
    match body {
        RecordBody::Layout(cells) => {
            w.u32(len_u32(cells.len()));
            for (name, cell) in cells {
                w.str(name);
                w.u32(cell.top);
                w.u32(cell.left);
                w.u32(cell.height);
                w.u32(cell.width);
            }
        }
        RecordBody::Clear => {}
        RecordBody::Scatter(call) | RecordBody::MultiLines(call) => w.data_call(call),
        RecordBody::TandemLines(call) => {
            w.str(&call.plot);
            match &call.palette {
                Some(palette) => {
                    w.u32(1);
                    w.str(palette);
                }
                None => w.u32(0),
            }
            w.pad8();
            w.u64(call.x.to_bits());
            w.tensor(&call.ys);
        }
        RecordBody::Step(step) => {
            w.pad8();
            w.u64(*step);
        }
        RecordBody::Fragment(fragment) => {
            w.pad8();
            w.u32(fragment.index);
            w.u32(fragment.count);
            w.u64(fragment.total_len);
            w.u64(fragment.offset);
            w.u64(fragment.bytes.len() as u64);
            w.out.extend_from_slice(&fragment.bytes);
        }
        RecordBody::LineNames(names) => {
            w.str(&names.plot);
            w.u32(len_u32(names.names.len()));
            for name in &names.names {
                w.str(name);
            }
        }
    }
    w.pad8();

    let header = FrameHeader::for_body(body.kind(), &out[body_start..]);
    out[frame_start..body_start].copy_from_slice(&header.write());
    out.len() - frame_start
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("length fits in u32")
}

/// Appends fields to a body, keeping offsets relative to the body's start so
/// that padding aligns within the stream.
struct BodyWriter<'a> {
    out: &'a mut Vec<u8>,
    body_start: usize,
}

impl BodyWriter<'_> {
    fn pad_to(&mut self, align: usize) {
        let pos = self.out.len() - self.body_start;
        let padded = pos.div_ceil(align) * align;
        self.out.resize(self.body_start + padded, 0);
    }

    fn pad8(&mut self) {
        self.pad_to(8);
    }

    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        debug_assert_eq!((self.out.len() - self.body_start) % 8, 0);
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn f32(&mut self, v: f32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(len_u32(s.len()));
        self.out.extend_from_slice(s.as_bytes());
        self.pad_to(4);
    }

    fn dim(&mut self, d: usize) {
        self.u32(len_u32(d));
    }

    fn tensor<T: TensorData>(&mut self, t: &T) {
        let bytes = t.bytes();
        self.pad8();
        self.u32(1); // dtype f32
        self.dim(t.shape().len());
        for &d in t.shape() {
            self.u64(d as u64);
        }
        self.u64(bytes.len() as u64);
        // Reserve once: the tensor is usually most of the frame.
        self.out.reserve(align_up(bytes.len()));
        self.out.extend_from_slice(bytes);
        self.pad8();
    }

    fn color(&mut self, color: &Option<ColorSpec>) {
        match color {
            None => self.u32(0),
            Some(ColorSpec { palette, dim: None }) => {
                self.u32(1);
                self.str(palette);
            }
            Some(ColorSpec {
                palette,
                dim: Some(dim),
            }) => {
                self.u32(2);
                self.str(palette);
                self.dim(*dim);
            }
        }
    }

    fn grid(&mut self, grid: &Option<GridSpec>) {
        match grid {
            None => self.u32(0),
            Some(grid) => {
                self.u32(1);
                self.dim(grid.dim);
                self.dim(grid.num_columns);
                self.f32(grid.padding_factor);
            }
        }
    }

    fn data_call<T: TensorData>(&mut self, call: &DataCall<T>) {
        self.str(&call.plot);
        self.dim(call.spatial_dim);
        self.u32(call.append as u32);
        self.color(&call.color);
        self.grid(&call.grid);
        self.dim(call.line_dims.len());
        for &d in &call.line_dims {
            self.dim(d);
        }
        self.tensor(&call.data);
    }
}

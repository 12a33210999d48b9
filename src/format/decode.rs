//! Reading bodies. Tensors come out as slices of the body's `Bytes`, so no
//! tensor data is copied.

use bytes::Bytes;

use super::MAX_RANK;
use super::errors::BodyError;
use super::record::{
    ColorSpec, DataCall, Fragment, GridCell, GridSpec, LineNames, Record, RecordBody, RecordKind, RecordMeta,
    TandemCall, Tensor,
};

/// The prefix every body starts with: its record's [`RecordMeta`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyPrefix {
    pub meta: RecordMeta,
    /// Bytes the prefix takes: 28 and the run name, padded to 4.
    pub len_bytes: usize,
}

/// Reads a body's prefix (session id, sequence, wall time, run name)
/// without decoding the rest, whatever the record's kind: enough to
/// sequence a record, or to fragment its frame.
pub fn read_prefix(body: &[u8]) -> Result<BodyPrefix, BodyError> {
    let mut r = BodyReader { body, pos: 0 };
    let meta = r.prefix()?;
    Ok(BodyPrefix { meta, len_bytes: r.pos })
}

/// Decodes a body whose frame checksums have been verified.
pub fn decode_body(kind: RecordKind, body: Bytes) -> Result<Record, BodyError> {
    let whole = &body;
    let mut r = BodyReader { body: whole, pos: 0 };
    let meta = r.prefix()?;
    let body = match kind {
        RecordKind::Layout => {
            let count = r.u32("plot count")? as usize;
            let mut cells = Vec::with_capacity(count.min(4096));
            for _ in 0..count {
                let name = r.str("plot name")?;
                let cell = GridCell {
                    top: r.u32("top")?,
                    left: r.u32("left")?,
                    height: r.u32("height")?,
                    width: r.u32("width")?,
                };
                cells.push((name, cell));
            }
            RecordBody::Layout(cells)
        }
        RecordKind::Clear => RecordBody::Clear,
        RecordKind::Scatter => RecordBody::Scatter(r.data_call(whole)?),
        RecordKind::MultiLines => RecordBody::MultiLines(r.data_call(whole)?),
        RecordKind::TandemLines => {
            let plot = r.str("plot name")?;
            let palette = match r.u32("palette tag")? {
                0 => None,
                1 => Some(r.str("palette")?),
                tag => {
                    return Err(BodyError::BadTag {
                        field: "palette tag",
                        tag,
                    });
                }
            };
            r.pad8();
            let x = f64::from_bits(r.u64("x")?);
            let ys = r.tensor(whole)?;
            RecordBody::TandemLines(TandemCall { plot, palette, x, ys })
        }
        RecordKind::Step => {
            r.pad8();
            RecordBody::Step(r.u64("step")?)
        }
        RecordKind::Fragment => {
            r.pad8();
            let index = r.u32("fragment index")?;
            let count = r.u32("fragment count")?;
            let total_len = r.u64("fragment total length")?;
            let offset = r.u64("fragment offset")?;
            let len = usize::try_from(r.u64("fragment length")?).unwrap_or(usize::MAX);
            let start = r.pos;
            r.take("fragment bytes", len)?;
            RecordBody::Fragment(Fragment {
                index,
                count,
                total_len,
                offset,
                bytes: whole.slice(start..start + len),
            })
        }
        RecordKind::LineNames => {
            let plot = r.str("plot name")?;
            let count = r.u32("line name count")? as usize;
            let mut names = Vec::with_capacity(count.min(4096));
            for _ in 0..count {
                names.push(r.str("line name")?);
            }
            RecordBody::LineNames(LineNames { plot, names })
        }
    };
    Ok(Record { meta, body })
}

/// Reads fields in order from a body. Methods that return tensor bytes take
/// the body's `Bytes` too, and slice it rather than copy.
struct BodyReader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl BodyReader<'_> {
    fn prefix(&mut self) -> Result<RecordMeta, BodyError> {
        Ok(RecordMeta {
            session_id: self.u64("session id")?,
            seq: self.u64("sequence")?,
            wall_time_ns: self.u64("wall time")? as i64,
            run_name: self.str("run name")?,
        })
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&[u8], BodyError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.body.len())
            .ok_or(BodyError::Truncated {
                field,
                at: self.pos,
                need: n,
                len: self.body.len(),
            })?;
        let bytes = &self.body[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn pad_to(&mut self, align: usize) {
        self.pos = self.pos.div_ceil(align) * align;
    }

    fn pad8(&mut self) {
        self.pad_to(8);
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, BodyError> {
        let b = self.take(field, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, BodyError> {
        let b = self.take(field, 8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn f32(&mut self, field: &'static str) -> Result<f32, BodyError> {
        Ok(f32::from_bits(self.u32(field)?))
    }

    fn dim(&mut self, field: &'static str) -> Result<usize, BodyError> {
        Ok(self.u32(field)? as usize)
    }

    fn str(&mut self, field: &'static str) -> Result<String, BodyError> {
        let len = self.u32(field)? as usize;
        let bytes = self.take(field, len)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| BodyError::BadUtf8 { field })?
            .to_owned();
        self.pad_to(4);
        Ok(s)
    }

    fn tensor(&mut self, whole: &Bytes) -> Result<Tensor, BodyError> {
        self.pad8();
        let dtype = self.u32("tensor dtype")?;
        if dtype != 1 {
            return Err(BodyError::UnsupportedDtype { dtype });
        }
        let rank = self.u32("tensor rank")? as usize;
        if rank > MAX_RANK {
            return Err(BodyError::RankTooLarge { rank, max: MAX_RANK });
        }
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(self.u64("tensor dim")?);
        }
        let len_bytes = self.u64("tensor length")?;
        let expected = dims.iter().try_fold(4u64, |acc, &d| acc.checked_mul(d));
        let shape: Option<Vec<usize>> = dims.iter().map(|&d| usize::try_from(d).ok()).collect();
        let (Some(shape), Some(true)) = (shape, expected.map(|e| e == len_bytes)) else {
            return Err(BodyError::ShapeMismatch { shape: dims, len_bytes });
        };
        let len = usize::try_from(len_bytes).map_err(|_| BodyError::ShapeMismatch {
            shape: dims.clone(),
            len_bytes,
        })?;
        let start = self.pos;
        self.take("tensor bytes", len)?;
        let bytes = whole.slice(start..start + len);
        self.pad8();
        Ok(Tensor { shape, bytes })
    }

    fn color(&mut self) -> Result<Option<ColorSpec>, BodyError> {
        Ok(match self.u32("colour tag")? {
            0 => None,
            1 => Some(ColorSpec {
                palette: self.str("palette")?,
                dim: None,
            }),
            2 => {
                let palette = self.str("palette")?;
                Some(ColorSpec {
                    palette,
                    dim: Some(self.dim("colour dim")?),
                })
            }
            tag => {
                return Err(BodyError::BadTag {
                    field: "colour tag",
                    tag,
                });
            }
        })
    }

    fn grid(&mut self) -> Result<Option<GridSpec>, BodyError> {
        Ok(match self.u32("grid tag")? {
            0 => None,
            1 => Some(GridSpec {
                dim: self.dim("grid dim")?,
                num_columns: self.dim("grid columns")?,
                padding_factor: self.f32("grid padding factor")?,
            }),
            tag => {
                return Err(BodyError::BadTag { field: "grid tag", tag });
            }
        })
    }

    fn data_call(&mut self, whole: &Bytes) -> Result<DataCall<Tensor>, BodyError> {
        let plot = self.str("plot name")?;
        let spatial_dim = self.dim("spatial dim")?;
        let append = match self.u32("append")? {
            0 => false,
            1 => true,
            tag => {
                return Err(BodyError::BadTag { field: "append", tag });
            }
        };
        let color = self.color()?;
        let grid = self.grid()?;
        let count = self.u32("line dim count")? as usize;
        if count > MAX_RANK {
            return Err(BodyError::RankTooLarge {
                rank: count,
                max: MAX_RANK,
            });
        }
        let mut line_dims = Vec::with_capacity(count);
        for _ in 0..count {
            line_dims.push(self.dim("line dim")?);
        }
        let data = self.tensor(whole)?;
        Ok(DataCall {
            plot,
            spatial_dim,
            append,
            color,
            grid,
            line_dims,
            data,
        })
    }
}

//! The GPU renderer: a page of plots drawn with wgpu into an offscreen
//! texture, which the window shows and screenshots, videos and golden tests
//! read back. One render path for all of them.

mod arena;
mod blit;
mod buffer;
mod capture;
mod chunk;
mod context;
mod gpu_types;
mod keys;
mod lines;
mod page;
pub mod palette;
mod pipeline;
mod plots;
mod points;
mod solid;
mod text;

pub use arena::UploadError;
pub use blit::Blit;
pub use buffer::GrowableBuffer;
pub use capture::{OffscreenTarget, PAGE_FORMAT, RgbaImage};
pub use context::{GpuContext, RenderError, ensure_runtime_dir};
pub use gpu_types::{BatchDesc, PlotUniforms, SolidRect, linear_rgba as linear_rgba_of};
pub use page::{HeadlessRenderer, Overlay, PageRenderer, RenderOptions};
pub use plots::{DENSE_MIN_POINTS, SyncStats, shader_sources};
pub use text::{Anchor, Label};

//! Titles, tick labels and overlays with glyphon, in one bundled font
//! (DejaVu Sans) so the pixels are the same on every machine.

use std::collections::HashMap;

use glyphon::{
    Attrs, Buffer, Cache, Color, Family, FontSystem, Metrics, Resolution, Shaping, SwashCache, TextArea, TextAtlas,
    TextBounds, TextRenderer, Viewport,
};

use crate::layout::Rect;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans";

/// Where a label sits relative to its anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The anchor is the label's top-left corner.
    TopLeft,
    /// The anchor is the middle of the label's top edge.
    TopCenter,
    /// The anchor is the middle of the label's right edge.
    RightMiddle,
}

/// One label to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub text: String,
    pub size: f32,
    pub anchor: [f32; 2],
    pub placement: Anchor,
    /// sRGB colour.
    pub color: [u8; 3],
    /// Nothing of the label is drawn outside this rectangle.
    pub clip: Rect,
}

/// Shaped text, kept between frames while it is still shown.
struct Shaped {
    buffer: Buffer,
    width: f32,
    height: f32,
    used: bool,
}

/// Draws labels.
pub struct TextLayer {
    font_system: FontSystem,
    swash_cache: SwashCache,
    viewport: Viewport,
    atlas: TextAtlas,
    renderer: TextRenderer,
    shaped: HashMap<(String, u32), Shaped>,
}

impl TextLayer {
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue, format: wgpu::TextureFormat) -> Self {
        let mut db = glyphon::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        let font_system = FontSystem::new_with_locale_and_db("en-US".to_owned(), db);
        let cache = Cache::new(device);
        let viewport = Viewport::new(device, &cache);
        let mut atlas = TextAtlas::new(device, queue, &cache, format);
        let renderer = TextRenderer::new(&mut atlas, device, wgpu::MultisampleState::default(), None);
        Self {
            font_system,
            swash_cache: SwashCache::new(),
            viewport,
            atlas,
            renderer,
            shaped: HashMap::new(),
        }
    }

    fn shape(&mut self, text: &str, size: f32) -> &mut Shaped {
        let key = (text.to_owned(), size.to_bits());
        let font_system = &mut self.font_system;
        self.shaped.entry(key).or_insert_with(|| {
            let mut buffer = Buffer::new(font_system, Metrics::new(size, (size * 1.25).ceil()));
            buffer.set_size(None, None);
            buffer.set_text(
                text,
                &Attrs::new().family(Family::Name(FAMILY)),
                Shaping::Advanced,
                None,
            );
            buffer.shape_until_scroll(font_system, false);
            let (mut width, mut height) = (0.0f32, 0.0f32);
            for run in buffer.layout_runs() {
                width = width.max(run.line_w);
                height = height.max(run.line_top + run.line_height);
            }
            Shaped {
                buffer,
                width,
                height,
                used: false,
            }
        })
    }

    /// Lays out this frame's labels and uploads their glyphs.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        target_size: [u32; 2],
        labels: &[Label],
    ) -> Result<(), glyphon::PrepareError> {
        for shaped in self.shaped.values_mut() {
            shaped.used = false;
        }
        let mut placed = Vec::with_capacity(labels.len());
        for label in labels {
            let shaped = self.shape(&label.text, label.size);
            shaped.used = true;
            let [x, y] = label.anchor;
            let (left, top) = match label.placement {
                Anchor::TopLeft => (x, y),
                Anchor::TopCenter => (x - shaped.width / 2.0, y),
                Anchor::RightMiddle => (x - shaped.width, y - shaped.height / 2.0),
            };
            // Whole pixels keep glyphs crisp and output reproducible.
            placed.push((left.round(), top.round()));
        }
        self.shaped.retain(|_, s| s.used);
        self.viewport.update(
            queue,
            Resolution {
                width: target_size[0],
                height: target_size[1],
            },
        );
        let areas = labels.iter().zip(&placed).map(|(label, &(left, top))| {
            let shaped = &self.shaped[&(label.text.clone(), label.size.to_bits())];
            let (x0, y0, w, h) = label.clip.to_pixels(target_size[0], target_size[1]);
            TextArea {
                buffer: &shaped.buffer,
                left,
                top,
                scale: 1.0,
                bounds: TextBounds {
                    left: x0 as i32,
                    top: y0 as i32,
                    right: (x0 + w) as i32,
                    bottom: (y0 + h) as i32,
                },
                default_color: Color::rgb(label.color[0], label.color[1], label.color[2]),
                custom_glyphs: &[],
            }
        });
        self.renderer.prepare(
            device,
            queue,
            &mut self.font_system,
            &mut self.atlas,
            &self.viewport,
            areas,
            &mut self.swash_cache,
        )
    }

    pub fn render(&self, pass: &mut wgpu::RenderPass<'_>) -> Result<(), glyphon::RenderError> {
        self.renderer.render(&self.atlas, &self.viewport, pass)
    }

    /// Frees atlas space of glyphs no longer shown.
    pub fn trim(&mut self) {
        self.atlas.trim();
    }
}

//! Palette lookup texture: one row of up to 256 texels per palette name the
//! loggers accept, so a shader maps a colour value `v` in 0..1 to texel
//! `floor(v * size)` of the plot's row (Bokeh's linear colour mapping).
//!
//! The colours come from the `colorous` crate (matplotlib's 256-entry
//! Viridis, Magma, Inferno and Plasma; Turbo, Cividis, ColorBrewer Greys;
//! d3's Category10) and `ggsci` (d3's Category20).

use crate::calls::{Palette, PaletteFamily};

/// Texels per palette row.
pub const PALETTE_WIDTH: u32 = 256;

const SEQUENTIAL: [PaletteFamily; 7] = [
    PaletteFamily::Viridis,
    PaletteFamily::Magma,
    PaletteFamily::Inferno,
    PaletteFamily::Plasma,
    PaletteFamily::Cividis,
    PaletteFamily::Turbo,
    PaletteFamily::Greys,
];
/// Sizes of the sequential palettes: 3..=11 and 256.
const SEQUENTIAL_SIZES: [usize; 10] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 256];

/// Every palette the loggers accept, in texture row order.
pub fn all_palettes() -> Vec<Palette> {
    let mut all = Vec::new();
    for family in SEQUENTIAL {
        all.extend(SEQUENTIAL_SIZES.iter().map(|&size| Palette { family, size }));
    }
    all.extend((3..=10).map(|size| Palette {
        family: PaletteFamily::Category10,
        size,
    }));
    all.extend((3..=20).map(|size| Palette {
        family: PaletteFamily::Category20,
        size,
    }));
    all
}

/// The texture row of a palette.
pub fn palette_row(palette: &Palette) -> u32 {
    all_palettes()
        .iter()
        .position(|p| p == palette)
        .expect("every parsed palette has a row") as u32
}

/// The palette's colours as sRGB bytes, in Bokeh's order.
pub fn palette_colors(palette: &Palette) -> Vec<[u8; 3]> {
    let n = palette.size;
    let rgb = |c: colorous::Color| [c.r, c.g, c.b];
    match palette.family {
        PaletteFamily::Category10 => colorous::CATEGORY10[..n].iter().map(|&c| rgb(c)).collect(),
        PaletteFamily::Category20 => category20()[..n].to_vec(),
        PaletteFamily::Greys if n == 256 => (0..=255u8).map(|v| [v, v, v]).collect(),
        // Bokeh's small Greys run from black to white: ColorBrewer reversed.
        PaletteFamily::Greys => (0..n).rev().map(|i| rgb(colorous::GREYS.eval_rational(i, n))).collect(),
        family => {
            let gradient = match family {
                PaletteFamily::Viridis => colorous::VIRIDIS,
                PaletteFamily::Magma => colorous::MAGMA,
                PaletteFamily::Inferno => colorous::INFERNO,
                PaletteFamily::Plasma => colorous::PLASMA,
                PaletteFamily::Cividis => colorous::CIVIDIS,
                _ => colorous::TURBO,
            };
            // Bokeh's linear_palette: entries floor(linspace(0, 255, n)) of
            // the 256-colour map.
            (0..n)
                .map(|i| {
                    let index = if n == 1 { 0 } else { i * 255 / (n - 1) };
                    rgb(gradient.eval_rational(index, 256))
                })
                .collect()
        }
    }
}

/// d3's Category20 in Bokeh's order: each Category10 colour followed by its
/// light tint (ggsci stores the ten dark colours, then the ten light ones).
fn category20() -> Vec<[u8; 3]> {
    let stored = ggsci::palette("d3", "category20")
        .and_then(|p| p.take(20))
        .expect("ggsci ships d3 category20");
    let rgb = |c: &ggsci::Rgb| [c.r(), c.g(), c.b()];
    (0..10).flat_map(|i| [rgb(&stored[i]), rgb(&stored[i + 10])]).collect()
}

/// RGBA texels of the whole texture, `PALETTE_WIDTH` x rows.
pub fn palette_texels() -> (Vec<u8>, u32) {
    let palettes = all_palettes();
    let mut texels = vec![0u8; PALETTE_WIDTH as usize * palettes.len() * 4];
    for (row, palette) in palettes.iter().enumerate() {
        for (i, color) in palette_colors(palette).iter().enumerate() {
            let at = (row * PALETTE_WIDTH as usize + i) * 4;
            texels[at..at + 4].copy_from_slice(&[color[0], color[1], color[2], 255]);
        }
    }
    (texels, palettes.len() as u32)
}

/// The palette texture (sRGB texels, so samples come out linear).
pub fn create_palette_texture(device: &wgpu::Device, queue: &wgpu::Queue) -> wgpu::TextureView {
    let (texels, rows) = palette_texels();
    let size = wgpu::Extent3d {
        width: PALETTE_WIDTH,
        height: rows,
        depth_or_array_layers: 1,
    };
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("PaletteTexture"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8UnormSrgb,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    queue.write_texture(
        wgpu::TexelCopyTextureInfo {
            texture: &texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        &texels,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(PALETTE_WIDTH * 4),
            rows_per_image: Some(rows),
        },
        size,
    );
    texture.create_view(&wgpu::TextureViewDescriptor::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(c: [u8; 3]) -> String {
        format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
    }

    #[test]
    fn bokeh_palettes_match_their_published_ends() {
        let colors = |name| palette_colors(&Palette::parse(name).unwrap());
        let viridis = colors("Viridis256");
        assert_eq!(viridis.len(), 256);
        assert_eq!(
            (hex(viridis[0]), hex(viridis[255])),
            ("#440154".into(), "#fde725".into())
        );
        let magma = colors("Magma256");
        assert_eq!((hex(magma[0]), hex(magma[255])), ("#000004".into(), "#fcfdbf".into()));
        let greys = colors("Greys256");
        assert_eq!((hex(greys[0]), hex(greys[255])), ("#000000".into(), "#ffffff".into()));
        let c20 = colors("Category20_20");
        assert_eq!(
            c20.iter().take(4).map(|&c| hex(c)).collect::<Vec<_>>(),
            ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78"]
        );
        assert_eq!(hex(colors("Category10_10")[9]), "#17becf");
        let v3 = colors("Viridis3");
        assert_eq!(
            v3,
            vec![viridis[0], viridis[127], viridis[255]],
            "linear_palette of Viridis256"
        );
    }

    #[test]
    fn every_accepted_palette_has_a_full_row() {
        let all = all_palettes();
        for palette in &all {
            assert_eq!(palette_colors(palette).len(), palette.size, "{}", palette.name());
            assert_eq!(Palette::parse(&palette.name()).unwrap(), *palette);
        }
        assert_eq!(palette_row(&Palette::parse("Viridis256").unwrap()), 9);
        let (texels, rows) = palette_texels();
        assert_eq!(rows as usize, all.len());
        assert_eq!(texels.len(), rows as usize * 256 * 4);
    }
}

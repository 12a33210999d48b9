// Dense scatters, second pass: each pixel of the plot area takes the colour
// of the point that marked it last (see splat.wgsl), as opaque as the
// markers covering it make it when they are translucent, or the colour of
// its count of points on a log scale for a density image; or stays as it was.

// Keep in sync with `ResolveUniforms` in src/render/gpu_types.rs.
struct ResolveUniforms {
    // Top-left pixel of the plot area in the target.
    origin: vec2<f32>,
    // Row length of the marks buffer.
    width: u32,
    palette_row: u32,
    default_color: vec4<f32>,
    nan_color: vec4<f32>,
    // Entries of the palette row (density images).
    palette_size: u32,
    // 0 opaque, 1 translucent, 2 density image (SplatMode).
    splat_mode: u32,
    // Marker opacity (translucent).
    opacity: f32,
    _pad: u32,
};

@group(0) @binding(0) var<uniform> resolve: ResolveUniforms;
@group(0) @binding(1) var<storage, read> marks: array<u32>;
@group(0) @binding(2) var palette: texture_2d<f32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
// [0]: the largest count of a density image (count_max.wgsl).
@group(0) @binding(4) var<storage, read> stats: array<u32>;

// resolve.splat_mode. Keep in sync with `SplatMode` in src/render/gpu_types.rs.
const SPLAT_TRANSLUCENT: u32 = 1u;
const SPLAT_DENSITY: u32 = 2u;

@vertex
fn vs_main(@builtin(vertex_index) vertex: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the viewport (the plot area).
    let uv = vec2<f32>(f32((vertex << 1u) & 2u), f32(vertex & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let local = vec2<u32>(position.xy - resolve.origin);
    let pixel = local.y * resolve.width + local.x;
    if (resolve.splat_mode == SPLAT_DENSITY) {
        // datashader's picture: log(1 + count) over log(1 + largest count),
        // through the palette; empty pixels stay as they were.
        let count = counts[pixel];
        if (count == 0u) {
            discard;
        }
        let t = log(1.0 + f32(count)) / log(1.0 + f32(max(stats[0], 1u)));
        let n = f32(resolve.palette_size);
        let entry = u32(clamp(floor(t * n), 0.0, n - 1.0));
        return textureLoad(palette, vec2<u32>(entry, resolve.palette_row), 0);
    }
    let mark = marks[pixel];
    if (mark == 0u) {
        discard;
    }
    let code = mark & 511u;
    var color: vec4<f32>;
    if (code == 257u) {
        color = resolve.default_color;
    } else if (code == 258u) {
        color = resolve.nan_color;
    } else {
        color = textureLoad(palette, vec2<u32>(code - 1u, resolve.palette_row), 0);
    }
    if (resolve.splat_mode == SPLAT_TRANSLUCENT) {
        // k markers of opacity a stacked: 1 - (1 - a)^k. The colour is the
        // latest marker's, so the picture does not depend on thread order.
        color.a = color.a * (1.0 - pow(1.0 - resolve.opacity, f32(counts[pixel])));
    }
    return color;
}

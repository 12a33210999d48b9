// Dense scatters, second pass: each pixel of the plot area takes the colour
// of the point that marked it last (see splat.wgsl), or stays as it was.

// Keep in sync with `ResolveUniforms` in src/render/gpu_types.rs.
struct ResolveUniforms {
    // Top-left pixel of the plot area in the target.
    origin: vec2<f32>,
    // Row length of the marks buffer.
    width: u32,
    palette_row: u32,
    default_color: vec4<f32>,
    nan_color: vec4<f32>,
};

@group(0) @binding(0) var<uniform> resolve: ResolveUniforms;
@group(0) @binding(1) var<storage, read> marks: array<u32>;
@group(0) @binding(2) var palette: texture_2d<f32>;

@vertex
fn vs_main(@builtin(vertex_index) vertex: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the viewport (the plot area).
    let uv = vec2<f32>(f32((vertex << 1u) & 2u), f32(vertex & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs_main(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let local = vec2<u32>(position.xy - resolve.origin);
    let mark = marks[local.y * resolve.width + local.x];
    if (mark == 0u) {
        discard;
    }
    let code = mark & 511u;
    if (code == 257u) {
        return resolve.default_color;
    }
    if (code == 258u) {
        return resolve.nan_color;
    }
    return textureLoad(palette, vec2<u32>(code - 1u, resolve.palette_row), 0);
}

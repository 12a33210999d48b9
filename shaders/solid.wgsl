// Axis-aligned rectangles in pixel coordinates: frames, grid lines, ticks,
// backgrounds. One instance per rectangle.

struct Target {
    size: vec2<f32>,
    _pad: vec2<f32>,
};

@group(0) @binding(0) var<uniform> screen: Target;

struct RectIn {
    // Top-left and bottom-right corners in pixels (y down).
    @location(0) min: vec2<f32>,
    @location(1) max: vec2<f32>,
    @location(2) color: vec4<f32>,
};

struct RectOut {
    @builtin(position) position: vec4<f32>,
    @location(0) color: vec4<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) vertex: u32, rect: RectIn) -> RectOut {
    let corner = vec2<f32>(f32(vertex & 1u), f32((vertex >> 1u) & 1u));
    let px = mix(rect.min, rect.max, corner);
    var out: RectOut;
    out.position = vec4<f32>(px.x / screen.size.x * 2.0 - 1.0, 1.0 - px.y / screen.size.y * 2.0, 0.0, 1.0);
    out.color = rect.color;
    return out;
}

@fragment
fn fs_main(in: RectOut) -> @location(0) vec4<f32> {
    return in.color;
}

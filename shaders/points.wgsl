// Scatter points: one instanced triangle per point, circumscribing a disc
// whose edge is antialiased in the fragment shader. Prepended: data.wgsl.

struct PointOut {
    @builtin(position) position: vec4<f32>,
    // Position relative to the point's centre, in pixels.
    @location(0) local: vec2<f32>,
    @location(1) color: vec4<f32>,
};

// Unit vectors to the corners of an equilateral triangle.
const TRIANGLE = array<vec2<f32>, 3>(
    vec2<f32>(0.0, 1.0),
    vec2<f32>(-0.8660254, -0.5),
    vec2<f32>(0.8660254, -0.5),
);

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> PointOut {
    // Three vertices per point, not instanced: software rasterisers shade
    // vertices in SIMD batches, which tiny instances would leave mostly idle.
    let instance = index / 3u;
    let vertex = index % 3u;
    var out: PointOut;
    let b = find_batch(instance);
    let point = gather(b, instance - batches[b].first_instance);
    if (!is_finite2(point.xy)) {
        out.position = CULLED;
        return out;
    }
    // An equilateral triangle around a circle of radius r has its corners
    // at distance 2r; half a pixel more leaves room for the antialiased edge.
    let r = plot.point_radius + 0.5;
    let local = TRIANGLE[vertex] * (2.0 * r);
    let center = clip_from_data(point.xy);
    out.position = vec4<f32>(center + local * 2.0 / plot.viewport_size, 0.0, 1.0);
    // Clip space has y up, pixels y down; coverage is symmetric, so the
    // sign does not matter.
    out.local = local;
    out.color = palette_color(point.has_color, point.color_value);
    return out;
}

@fragment
fn fs_main(in: PointOut) -> @location(0) vec4<f32> {
    let coverage = clamp(plot.point_radius + 0.5 - length(in.local), 0.0, 1.0);
    if (coverage <= 0.0) {
        discard;
    }
    return vec4<f32>(in.color.rgb, in.color.a * coverage * plot.opacity);
}

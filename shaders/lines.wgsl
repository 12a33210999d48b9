// Lines: one instanced quad per segment, wide enough for the line and an
// antialiased edge; the fragment shader keeps the pixels within half the
// width of the segment (round caps, so joints are round). Prepended:
// data.wgsl.

struct SegmentOut {
    @builtin(position) position: vec4<f32>,
    // Pixel position relative to the segment's start, and the segment.
    @location(0) local: vec2<f32>,
    @location(1) @interpolate(flat) segment: vec2<f32>,
    @location(2) color: vec4<f32>,
};

struct Segment {
    a: vec2<f32>,
    b: vec2<f32>,
    color: vec4<f32>,
    ok: bool,
};

// Several runs on one page draw a run's lines in its colour; its lines are
// told apart by lightness, the first in the run's colour, the last 60% of
// the way to white.
fn shade(color: vec4<f32>, line: u32, lines: u32) -> vec4<f32> {
    if (plot.line_shade == 0u || lines < 2u) {
        return color;
    }
    let t = 0.6 * f32(line) / f32(lines - 1u);
    return vec4<f32>(mix(color.rgb, vec3<f32>(1.0), t), color.a);
}

// Segment `s` of a multi_lines batch: from point j of line l to point j + 1,
// which for the last point of a batch is the first point of the same line in
// the next batch. The end point must be drawn too: a view of an earlier
// state draws only the chunk's first `plot.drawn` instances.
fn batch_segment(instance: u32) -> Segment {
    var seg: Segment;
    let b = find_batch(instance);
    let points_per_line = batches[b].points_per_line;
    let s = instance - batches[b].first_instance;
    let line = s / points_per_line;
    let j = s % points_per_line;
    let pa = gather(b, s);
    var pb: Gathered;
    if (j + 1u < points_per_line && instance + 1u < plot.drawn) {
        pb = gather(b, s + 1u);
    } else if (j + 1u == points_per_line && b + 1u < plot.batch_count
               && batches[b + 1u].first_instance + line * batches[b + 1u].points_per_line < plot.drawn) {
        pb = gather(b + 1u, line * batches[b + 1u].points_per_line);
    } else {
        seg.ok = false;
        return seg;
    }
    seg.a = pa.xy;
    seg.b = pb.xy;
    seg.color = shade(palette_color(pa.has_color, pa.color_value), line, batches[b].line_count);
    seg.ok = is_finite2(pa.xy) && is_finite2(pb.xy);
    return seg;
}

// Segment `s` of tandem lines: rows hold [x, y0, .., y(K-1)].
fn tandem_segment(instance: u32) -> Segment {
    var seg: Segment;
    let segments_per_line = plot.tandem_rows - 1u;
    let k = instance / segments_per_line;
    let i = instance % segments_per_line;
    let stride = plot.tandem_lines + 1u;
    seg.a = plot_space(vec2<f32>(data[i * stride], data[i * stride + 1u + k]));
    seg.b = plot_space(vec2<f32>(data[(i + 1u) * stride], data[(i + 1u) * stride + 1u + k]));
    let value = select(0.0, f32(k) / f32(max(plot.tandem_lines, 2u) - 1u), plot.tandem_lines > 1u);
    seg.color = shade(palette_color(true, value), k, plot.tandem_lines);
    seg.ok = is_finite2(seg.a) && is_finite2(seg.b);
    return seg;
}

fn line_vertex(seg: Segment, vertex: u32) -> SegmentOut {
    var out: SegmentOut;
    if (!seg.ok) {
        out.position = CULLED;
        return out;
    }
    // Pixel space (y up, origin at the plot centre).
    let to_px = plot.viewport_size * 0.5;
    let a = clip_from_data(seg.a) * to_px;
    let b = clip_from_data(seg.b) * to_px;
    let d = b - a;
    let len = length(d);
    let dir = select(vec2<f32>(1.0, 0.0), d / len, len > 1e-6);
    let normal = vec2<f32>(-dir.y, dir.x);
    let half_extent = plot.line_width * 0.5 + 1.0;
    // Triangle strip corners: (start|end) x (left|right), extended past the
    // ends for the round caps.
    let along = select(-half_extent, len + half_extent, (vertex & 2u) != 0u);
    let across = select(-half_extent, half_extent, (vertex & 1u) != 0u);
    let p = a + dir * along + normal * across;
    out.position = vec4<f32>(p / to_px, 0.0, 1.0);
    out.local = p - a;
    out.segment = d;
    out.color = seg.color;
    return out;
}

@vertex
fn vs_batches(@builtin(vertex_index) vertex: u32, @builtin(instance_index) instance: u32) -> SegmentOut {
    return line_vertex(batch_segment(instance), vertex);
}

@vertex
fn vs_tandem(@builtin(vertex_index) vertex: u32, @builtin(instance_index) instance: u32) -> SegmentOut {
    return line_vertex(tandem_segment(instance), vertex);
}

@fragment
fn fs_main(in: SegmentOut) -> @location(0) vec4<f32> {
    // Distance from the pixel to the segment.
    let len2 = dot(in.segment, in.segment);
    let t = select(0.0, clamp(dot(in.local, in.segment) / len2, 0.0, 1.0), len2 > 1e-12);
    let dist = length(in.local - in.segment * t);
    let coverage = clamp(plot.line_width * 0.5 + 0.5 - dist, 0.0, 1.0);
    if (coverage <= 0.0) {
        discard;
    }
    return vec4<f32>(in.color.rgb, in.color.a * coverage * plot.opacity);
}

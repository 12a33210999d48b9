// Dense scatters, first pass: every point marks the pixels its disc covers
// with atomicMax of (draw order, colour code), so the latest point drawn wins
// each pixel, whatever order the threads run in. Translucent markers also
// count the markers covering each pixel; a density image only counts the
// points whose centre is in each pixel. One thread per point; prepended:
// data.wgsl. The resolve pass (resolve.wgsl) turns marks and counts into
// colours.

@group(1) @binding(0) var<storage, read_write> marks: array<atomic<u32>>;
@group(1) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;

// Colour codes: 1 + palette texel, or these.
const DEFAULT_CODE: u32 = 257u;
const NAN_CODE: u32 = 258u;

// plot.splat_mode. Keep in sync with `SplatMode` in src/render/gpu_types.rs.
const SPLAT_TRANSLUCENT: u32 = 1u;
const SPLAT_DENSITY: u32 = 2u;

@compute @workgroup_size(256)
fn cs_main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    // Dispatches are 2D past 65535 workgroups; they start at the chunk's
    // first instance not splatted yet.
    let instance = plot.splat_first + id.x + id.y * groups.x * 256u;
    if (plot.batch_count == 0u) {
        return;
    }
    if (instance >= plot.drawn) {
        return;
    }
    let b = find_batch(instance);
    let point = gather(b, instance - batches[b].first_instance);
    if (!is_finite2(point.xy)) {
        return;
    }
    // Pixel coordinates in the plot area, y down.
    let clip = clip_from_data(point.xy);
    let size = plot.viewport_size;
    let center = vec2<f32>((clip.x * 0.5 + 0.5) * size.x, (0.5 - clip.y * 0.5) * size.y);
    let width = i32(size.x);
    let height = i32(size.y);
    // The pixel holding the centre (compared in f32: far points overflow i32).
    let home = floor(center);
    let in_area = home.x >= 0.0 && home.y >= 0.0 && home.x < size.x && home.y < size.y;
    if (plot.splat_mode == SPLAT_DENSITY) {
        // Sums are the same whatever order the threads run in.
        if (in_area) {
            atomicAdd(&counts[u32(home.y) * u32(width) + u32(home.x)], 1u);
        }
        return;
    }
    var code = DEFAULT_CODE;
    if (point.has_color && plot.palette_size > 0u) {
        if (abs(point.color_value) <= 3.4e38) {
            let n = f32(plot.palette_size);
            code = 1u + u32(clamp(floor(point.color_value * n), 0.0, n - 1.0));
        } else {
            code = NAN_CODE;
        }
    }
    // Draw order: the point's index in the plot, shifted into 23 bits
    // (past 2^23 points, neighbours share an order and ties keep the larger
    // colour code). It depends on nothing else, so points appended later
    // splat into the same marks as a redraw of all of them would.
    let global = plot.instance_base + instance;
    let order = global >> plot.order_shift;
    let mark = (order << 9u) | code;
    let r = plot.point_radius;
    // A disc wholly off the area marks nothing (and its far coordinates
    // would not convert to pixel indices).
    if (center.x + r < 0.0 || center.y + r < 0.0 || center.x - r > size.x || center.y - r > size.y) {
        return;
    }
    // Pixels whose centre may lie in the disc (centres are at +0.5), and
    // the home pixel: a 1 px marker visits 3 x 3 pixels, not 4 x 4.
    let lo = min(vec2<i32>(floor(center - vec2<f32>(r + 0.5))), vec2<i32>(home));
    let hi = max(vec2<i32>(ceil(center + vec2<f32>(r - 0.5))), vec2<i32>(home));
    let count = plot.splat_mode == SPLAT_TRANSLUCENT;
    for (var y = max(lo.y, 0); y <= min(hi.y, height - 1); y = y + 1) {
        for (var x = max(lo.x, 0); x <= min(hi.x, width - 1); x = x + 1) {
            let d = vec2<f32>(f32(x) + 0.5, f32(y) + 0.5) - center;
            // Pixels whose centre lies in the disc: the same pixels an
            // antialiased disc covers at least half. The pixel holding the
            // centre always, so that markers under a pixel wide still show.
            let home_pixel = f32(x) == home.x && f32(y) == home.y;
            if (dot(d, d) <= r * r || home_pixel) {
                let pixel = u32(y * width + x);
                // Where points pile up, most find a later mark there
                // already: a plain load spares the atomic write.
                if (atomicLoad(&marks[pixel]) < mark) {
                    atomicMax(&marks[pixel], mark);
                }
                if (count) {
                    atomicAdd(&counts[pixel], 1u);
                }
            }
        }
    }
}

// Shared by the points and lines shaders: per-plot uniforms, batch
// descriptors, and the gather that finds a point's x, y and colour value in
// a tensor uploaded exactly as the caller logged it.

// Keep in sync with `PlotUniforms` in src/render/gpu_types.rs.
struct PlotUniforms {
    // Data coordinates shown at the centre of the plot area.
    center: vec2<f32>,
    // Clip-space units per data unit.
    scale: vec2<f32>,
    // Plot area size in pixels.
    viewport_size: vec2<f32>,
    point_radius: f32,
    line_width: f32,
    default_color: vec4<f32>,
    nan_color: vec4<f32>,
    // Row of the palette texture; palette_size 0 means uncoloured.
    palette_row: u32,
    palette_size: u32,
    // Tandem lines: number of lines and of rows [x, y0, .., y(K-1)].
    tandem_lines: u32,
    tandem_rows: u32,
    // Batches in this chunk (for the binary search).
    batch_count: u32,
    // Dense scatters: points in the plot before this chunk, and the shift
    // that fits a point's index into its 23-bit draw order.
    instance_base: u32,
    order_shift: u32,
    // Instances of this chunk drawn: fewer than it holds when the view
    // shows an earlier state of the plot.
    drawn: u32,
    // Lines of one run among several: 1 draws each line a shade lighter.
    line_shade: u32,
    // Multiplies the alpha of lines (raw lines under smoothed ones) and of
    // scatter markers (--opacity).
    opacity: f32,
    // Log axes: bit 0 x, bit 1 y.
    log_axes: u32,
    // Dense scatters: 0 opaque marks, 1 marks and coverage counts
    // (translucent), 2 points per pixel (density image). See SplatMode.
    splat_mode: u32,
    // Dense scatters: the chunk's first instance to splat (the ones before
    // it are in the marks already).
    splat_first: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
};

// Keep in sync with `BatchDesc` in src/render/gpu_types.rs.
struct BatchDesc {
    // Offset of the batch's tensor in `data`, in f32 elements.
    data_offset: u32,
    // First instance (point or segment) of this batch within the draw.
    first_instance: u32,
    instance_count: u32,
    // Number of enumeration axes (non-spatial dims).
    axis_count: u32,
    spatial_stride: u32,
    // 0: uncoloured, 1: index along color_axis, 2: value after y.
    color_mode: u32,
    color_axis: u32,
    // 0xffffffff: no grid tiling.
    grid_axis: u32,
    grid_columns: u32,
    // Lines: the first line_axes axes enumerate lines.
    line_axes: u32,
    points_per_line: u32,
    line_count: u32,
    grid_step: vec2<f32>,
    _pad0: u32,
    _pad1: u32,
    sizes: array<u32, 16>,
    strides: array<u32, 16>,
};

@group(0) @binding(0) var<uniform> plot: PlotUniforms;
@group(0) @binding(1) var<storage, read> batches: array<BatchDesc>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
@group(0) @binding(3) var palette: texture_2d<f32>;

// A point read from a batch.
struct Gathered {
    xy: vec2<f32>,
    color_value: f32,
    has_color: bool,
};

// The batch holding instance `instance`: binary search on first_instance.
fn find_batch(instance: u32) -> u32 {
    var lo = 0u;
    var hi = plot.batch_count - 1u;
    while (lo < hi) {
        let mid = (lo + hi + 1u) / 2u;
        if (batches[mid].first_instance <= instance) {
            lo = mid;
        } else {
            hi = mid - 1u;
        }
    }
    return lo;
}

// Point `p` of batch `b` (row-major over the enumeration axes). Fields are
// read one by one: copying the whole descriptor costs every vertex dozens
// of loads on software rasterisers.
fn gather(b: u32, p: u32) -> Gathered {
    var rest = p;
    var offset = batches[b].data_offset;
    var color_index = 0u;
    var grid_index = 0u;
    let color_axis = batches[b].color_axis;
    let grid_axis = batches[b].grid_axis;
    for (var i = i32(batches[b].axis_count) - 1; i >= 0; i = i - 1) {
        // The outermost axis takes what is left: one integer division fewer
        // (a vectorised division is a loop of scalar ones on a CPU).
        var index = rest;
        if (i > 0) {
            let size = batches[b].sizes[i];
            index = rest % size;
            rest = rest / size;
        }
        offset = offset + index * batches[b].strides[i];
        if (u32(i) == color_axis) {
            color_index = index;
        }
        if (u32(i) == grid_axis) {
            grid_index = index;
        }
    }
    let spatial_stride = batches[b].spatial_stride;
    var out: Gathered;
    out.xy = vec2<f32>(data[offset], data[offset + spatial_stride]);
    if (grid_axis != 0xffffffffu) {
        let columns = batches[b].grid_columns;
        let step = batches[b].grid_step;
        let column = f32(grid_index % columns);
        let row = f32(grid_index / columns);
        out.xy = out.xy + vec2<f32>(column * step.x, -row * step.y);
    }
    out.xy = plot_space(out.xy);
    let color_mode = batches[b].color_mode;
    out.has_color = color_mode != 0u;
    if (color_mode == 1u) {
        let size = batches[b].sizes[color_axis];
        out.color_value = select(0.0, f32(color_index) / f32(max(size, 2u) - 1u), size > 1u);
    } else if (color_mode == 2u) {
        out.color_value = data[offset + 2u * spatial_stride];
    }
    return out;
}

// The largest f32: past the bound is_finite2 checks, so a point placed
// there is not drawn.
const OFF_PLOT: f32 = 3.4028235e38;

// A data point where the plot places it: log10 on the plot's log axes,
// where a value at or below zero is not drawn.
fn plot_space(xy: vec2<f32>) -> vec2<f32> {
    var out = xy;
    if ((plot.log_axes & 1u) != 0u) {
        out.x = select(OFF_PLOT, log2(xy.x) * 0.30102999566, xy.x > 0.0);
    }
    if ((plot.log_axes & 2u) != 0u) {
        out.y = select(OFF_PLOT, log2(xy.y) * 0.30102999566, xy.y > 0.0);
    }
    return out;
}

fn is_finite2(v: vec2<f32>) -> bool {
    // NaN fails every comparison; infinities fail the bound.
    return abs(v.x) <= 3.4e38 && abs(v.y) <= 3.4e38;
}

// The colour of a value through the plot's palette (linear RGB).
fn palette_color(has_color: bool, value: f32) -> vec4<f32> {
    if (!has_color || plot.palette_size == 0u) {
        return plot.default_color;
    }
    if (!(abs(value) <= 3.4e38)) {
        return plot.nan_color;
    }
    let n = f32(plot.palette_size);
    let index = u32(clamp(floor(value * n), 0.0, n - 1.0));
    return textureLoad(palette, vec2<u32>(index, plot.palette_row), 0);
}

// Clip-space position of a point in plot space.
fn clip_from_data(xy: vec2<f32>) -> vec2<f32> {
    return (xy - plot.center) * plot.scale;
}

// A position far outside clip space: the primitive is culled.
const CULLED: vec4<f32> = vec4<f32>(2.0, 2.0, 2.0, 1.0);

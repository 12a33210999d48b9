// Density images, between splat and resolve: the largest count of points in
// any pixel of the plot area, which the resolve pass scales colours by. Each
// workgroup takes the largest of its 256 pixels, then one atomicMax per
// workgroup into the result (not one per pixel on a single address).

@group(0) @binding(0) var<storage, read> counts: array<u32>;
// [0]: the largest count.
@group(0) @binding(1) var<storage, read_write> stats: array<atomic<u32>>;

var<workgroup> largest: atomic<u32>;

@compute @workgroup_size(256)
fn cs_main(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) local: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    if (local == 0u) {
        atomicStore(&largest, 0u);
    }
    workgroupBarrier();
    // Dispatches are 2D past 65535 workgroups.
    let pixel = id.x + id.y * groups.x * 256u;
    if (pixel < arrayLength(&counts)) {
        atomicMax(&largest, counts[pixel]);
    }
    workgroupBarrier();
    if (local == 0u) {
        atomicMax(&stats[0], atomicLoad(&largest));
    }
}

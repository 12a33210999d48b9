//! Every WGSL shader parses and validates with naga, without a GPU.

use naga::valid::{Capabilities, ValidationFlags, Validator};

fn validate(name: &str, source: &str) {
    let module =
        naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    Validator::new(ValidationFlags::all(), Capabilities::default())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    assert!(!module.entry_points.is_empty(), "{name} has entry points");
}

#[test]
fn every_shader_validates() {
    let mut checked = Vec::new();
    for (name, source) in streamvis_gpu::render::shader_sources() {
        validate(name, &source);
        checked.push(name.to_owned());
    }
    // Shaders used on their own.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        // data.wgsl is a prelude, checked as part of the shaders above.
        if name == "data" || checked.contains(&name) {
            continue;
        }
        validate(&name, &std::fs::read_to_string(&path).unwrap());
        checked.push(name);
    }
    checked.sort();
    assert!(checked.len() >= 4, "{checked:?}");
}

#[test]
fn a_broken_shader_fails() {
    let result = std::panic::catch_unwind(|| {
        validate(
            "broken",
            "@vertex fn vs_main() -> @builtin(position) vec4<f32> { return 1.0; }",
        )
    });
    assert!(result.is_err());
}

use super::*;
use crate::format::{ColorSpec, GridSpec, TensorView};

fn call<'a>(shape: &'a [usize], values: &'a [f32], spatial_dim: usize) -> DataCall<TensorView<'a>> {
    DataCall {
        plot: "p".into(),
        spatial_dim,
        append: false,
        color: None,
        grid: None,
        line_dims: vec![],
        data: TensorView { shape, values },
    }
}

#[test]
fn palettes_parse_by_bokeh_name() {
    for (name, family, size) in [
        ("Viridis256", PaletteFamily::Viridis, 256),
        ("Magma256", PaletteFamily::Magma, 256),
        ("Greys9", PaletteFamily::Greys, 9),
        ("Turbo256", PaletteFamily::Turbo, 256),
        ("Category10_10", PaletteFamily::Category10, 10),
        ("Category20_20", PaletteFamily::Category20, 20),
    ] {
        let palette = Palette::parse(name).unwrap();
        assert_eq!((palette.family, palette.size), (family, size));
        assert_eq!(palette.name(), name);
    }
    for bad in [
        "",
        "viridis256",
        "Viridis",
        "Viridis12",
        "Viridis0256",
        "Category10_11",
        "Category1010",
        "Jet256",
    ] {
        assert!(Palette::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn spatial_size_is_two_or_three_with_colour_by_value() {
    let v = [0.0; 12];
    assert!(check_data_call(DataCallKind::Scatter, &call(&[6, 2], &v, 1)).is_ok());
    let err = check_data_call(DataCallKind::Scatter, &call(&[4, 3], &v, 1)).unwrap_err();
    assert!(matches!(
        err,
        CallError::WrongSpatialSize {
            size: 3,
            expected: 2,
            ..
        }
    ));
    let mut c = call(&[4, 3], &v, 1);
    c.color = Some(ColorSpec::by_value("Viridis256"));
    assert!(check_data_call(DataCallKind::Scatter, &c).is_ok());
    c.color = Some(ColorSpec::by_dim("Viridis256", 0));
    assert!(check_data_call(DataCallKind::Scatter, &c).is_err());
}

#[test]
fn colour_and_grid_dims_are_checked() {
    let v = [0.0; 24];
    let shape = [3, 4, 2];
    let mut c = call(&shape, &v, 2);
    c.color = Some(ColorSpec::by_dim("Viridis256", 2));
    assert_eq!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::ColorDimIsSpatial { dim: 2 })
    );
    c.color = Some(ColorSpec::by_dim("Viridis256", 3));
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::ColorDimOutOfRange { .. })
    ));
    c.color = Some(ColorSpec::by_dim("NoSuchPalette", 0));
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::UnknownPalette { .. })
    ));
    c.color = None;
    c.grid = Some(GridSpec::new(2, 2));
    assert_eq!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::GridDimIsSpatial { dim: 2 })
    );
    c.grid = Some(GridSpec::new(5, 2));
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::GridDimOutOfRange { dim: 5, .. })
    ));
    c.grid = Some(GridSpec::new(0, 0));
    assert_eq!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::GridNoColumns)
    );
    c.grid = Some(GridSpec::new(0, 2));
    assert!(check_data_call(DataCallKind::Scatter, &c).is_ok());
}

#[test]
fn shape_must_match_values() {
    let v = [0.0; 5];
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &call(&[3, 2], &v, 1)),
        Err(CallError::ShapeMismatch {
            len: 5,
            expected: 6,
            ..
        })
    ));
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &call(&[2], &v[..2], 1)),
        Err(CallError::SpatialDimOutOfRange { .. })
    ));
}

#[test]
fn line_dims_are_checked() {
    let v = [0.0; 24];
    let shape = [3, 4, 2];
    let mut c = call(&shape, &v, 2);
    assert_eq!(
        check_data_call(DataCallKind::MultiLines, &c),
        Err(CallError::NoLineDims)
    );
    c.line_dims = vec![2];
    assert!(matches!(
        check_data_call(DataCallKind::MultiLines, &c),
        Err(CallError::BadLineDim { dim: 2, .. })
    ));
    c.line_dims = vec![0, 0];
    assert_eq!(
        check_data_call(DataCallKind::MultiLines, &c),
        Err(CallError::RepeatedLineDim { dim: 0 })
    );
    c.line_dims = vec![1, 0];
    assert!(check_data_call(DataCallKind::MultiLines, &c).is_ok());
}

#[test]
fn layout_and_membership() {
    let cells = vec![
        ("a".to_owned(), GridCell::new(0, 0, 1, 1)),
        ("b".to_owned(), GridCell::new(0, 1, 0, 1)),
    ];
    assert!(matches!(Layout::new(cells), Err(CallError::EmptyCell { .. })));
    let dup = vec![
        ("a".to_owned(), GridCell::new(0, 0, 1, 1)),
        ("a".to_owned(), GridCell::new(0, 1, 1, 1)),
    ];
    assert!(matches!(Layout::new(dup), Err(CallError::RepeatedPlot { .. })));
    let layout = Layout::new(vec![
        ("a".to_owned(), GridCell::new(0, 0, 1, 1)),
        ("b".to_owned(), GridCell::new(0, 1, 1, 1)),
    ])
    .unwrap();
    assert!(layout.check_contains("a").is_ok());
    assert_eq!(layout.cell("b"), Some(GridCell::new(0, 1, 1, 1)));
    let err = layout.check_contains("zz").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plot zz not in layout (the layout has: a, b); call set_layout first"
    );
}

#[test]
fn layouts_are_bounded() {
    let overflow = vec![("a".to_owned(), GridCell::new(u32::MAX - 1, 0, 5, 1))];
    assert!(matches!(Layout::new(overflow), Err(CallError::CellOutsideGrid { .. })));
    let wide = vec![("a".to_owned(), GridCell::new(0, MAX_GRID_SPAN, 1, 1))];
    assert!(matches!(Layout::new(wide), Err(CallError::CellOutsideGrid { .. })));
    let edge = vec![("a".to_owned(), GridCell::new(0, MAX_GRID_SPAN - 1, 1, 1))];
    assert!(Layout::new(edge).is_ok());
    let many = |n: usize| {
        (0..n)
            .map(|i| (format!("p{i}"), GridCell::new(i as u32 / 100, i as u32 % 100, 1, 1)))
            .collect::<Vec<_>>()
    };
    let layout = Layout::new(many(MAX_LAYOUT_PLOTS)).unwrap();
    let err = layout.check_contains("zz").unwrap_err().to_string();
    assert!(err.contains("and 9980 more"), "{err}");
    assert!(matches!(
        Layout::new(many(MAX_LAYOUT_PLOTS + 1)),
        Err(CallError::TooLarge { value: 10_001, .. })
    ));
}

#[test]
fn tandem_needs_values_and_a_known_palette() {
    assert_eq!(check_tandem_call(None, 0), Err(CallError::NoYs));
    assert!(check_tandem_call(Some("Turbo256"), 2).is_ok());
    assert!(check_tandem_call(Some("turbo"), 2).is_err());
}

#[test]
fn rank_and_sizes_must_fit_the_format() {
    let v = [0.0; 2];
    let shape = [1usize; 17];
    let mut shape = shape.to_vec();
    shape[16] = 2;
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &call(&shape, &v, 16)),
        Err(CallError::RankTooLarge { rank: 17, .. })
    ));
    let mut c = call(&[1, 2], &v, 1);
    c.grid = Some(GridSpec::new(0, u32::MAX as usize + 1));
    assert!(matches!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::TooLarge { .. })
    ));
}

#[test]
fn control_characters_are_escaped() {
    assert_eq!(printable("loss"), "loss");
    assert_eq!(printable("a\nb\u{7}"), "a\\nb\\u{7}");
}

#[test]
fn a_scatter_with_line_dims_is_refused() {
    let values = [0.0f32; 12];
    let mut c = call(&[3, 2, 2], &values, 2);
    assert!(check_data_call(DataCallKind::Scatter, &c).is_ok());
    c.line_dims = vec![0];
    assert_eq!(
        check_data_call(DataCallKind::Scatter, &c),
        Err(CallError::LineDimsOnScatter)
    );
}

use super::*;

fn parse(args: &[&str]) -> anyhow::Result<Config> {
    let args = Args::try_parse_from(std::iter::once("streamvis-gpu").chain(args.iter().copied()))?;
    args.validate()
}

#[test]
fn a_file_opens_a_window_that_follows() {
    let config = parse(&["--file", "run.log"]).unwrap();
    assert_eq!(config.source, SourceConfig::File("run.log".into()));
    assert_eq!(config.follow, Follow::Yes { stop_after_idle: None });
    assert_eq!(config.output, Output::Window { record: None });
}

#[test]
fn export_follows_unless_told_not_to() {
    let config = parse(&["--file", "a.log", "--no-follow", "--export", "out.json"]).unwrap();
    assert_eq!(config.follow, Follow::No);
    assert_eq!(config.output, Output::Export("out.json".into()));
    let config = parse(&["--file", "a.log", "--export", "out.json", "--stop-after-idle", "0.5"]).unwrap();
    assert_eq!(
        config.follow,
        Follow::Yes {
            stop_after_idle: Some(Duration::from_millis(500))
        }
    );
    assert!(
        parse(&[
            "--file",
            "a.log",
            "--no-follow",
            "--export",
            "o.json",
            "--stop-after-idle",
            "1"
        ])
        .is_err()
    );
    assert!(parse(&["--file", "a.log", "--export", "o.json", "--stop-after-idle", "-1"]).is_err());
}

#[test]
fn screenshot_reads_to_the_current_end() {
    let config = parse(&["--file", "a.log", "--screenshot", "out.png", "--size", "640x480"]).unwrap();
    assert_eq!(config.follow, Follow::No);
    assert_eq!(
        config.output,
        Output::Screenshot {
            path: "out.png".into(),
            size: (640, 480)
        }
    );
    assert!(parse(&["--file", "a.log", "--screenshot", "a.png", "--export", "a.json"]).is_err());
    assert!(parse(&["--file", "a.log", "--screenshot", "a.png", "--size", "640"]).is_err());
    assert!(parse(&["--file", "a.log", "--screenshot", "a.png", "--size", "0x10"]).is_err());
}

#[test]
fn record_replays_unless_following() {
    let config = parse(&[
        "--file", "a.log", "--record", "out.mp4", "--fps", "24", "--steps", "3..9",
    ])
    .unwrap();
    assert_eq!(config.follow, Follow::No);
    let Output::Record(video) = &config.output else {
        panic!("{config:?}")
    };
    assert_eq!((video.fps, video.steps, video.size), (24, Some((3, 9)), (1280, 800)));
    assert_eq!(video.target, VideoTarget::Video("out.mp4".into()));
    let config = parse(&[
        "--file",
        "a.log",
        "--record",
        "frames/",
        "--follow",
        "--step-plot",
        "loss",
    ])
    .unwrap();
    assert_eq!(config.follow, Follow::Yes { stop_after_idle: None });
    let Output::Record(video) = &config.output else {
        panic!()
    };
    assert_eq!(video.rule, Some(StepRule::Plot("loss".into())));
    let config = parse(&["--file", "a.log", "--record", "v.mp4", "--window"]).unwrap();
    assert!(matches!(config.output, Output::Window { record: Some(_) }));
    assert!(
        parse(&["--file", "a.log", "--speed", "2"]).is_err(),
        "--speed needs --record"
    );
    assert!(parse(&["--file", "a.log", "--record", "v.mp4", "--speed", "0"]).is_err());
    assert!(parse(&["--file", "a.log", "--record", "v.mp4", "--steps", "9..3"]).is_err());
}

#[test]
fn gpu_memory_budget_in_mib() {
    let config = parse(&["--file", "a.log", "--gpu-memory-mb", "512"]).unwrap();
    assert_eq!(config.gpu_memory_budget, Some(512 << 20));
    assert_eq!(parse(&["--file", "a.log"]).unwrap().gpu_memory_budget, None);
    assert!(
        parse(&["--file", "a.log", "--gpu-memory-mb", "2"]).is_err(),
        "too small to hold anything"
    );
}

#[test]
fn demo_is_live() {
    let config = parse(&["--demo"]).unwrap();
    assert!(matches!(config.source, SourceConfig::Demo { .. }));
    assert!(parse(&["--demo", "--no-follow"]).is_err());
    assert!(parse(&["--demo", "--screenshot", "a.png"]).is_err());
    assert!(parse(&["--demo", "--file", "a.log"]).is_err());
}

#[test]
fn pubsub_follows_and_takes_its_own_flags() {
    let config = parse(&["--pubsub", "proj", "topic"]).unwrap();
    assert_eq!(
        config.source,
        SourceConfig::PubSub {
            project: "proj".into(),
            topic: "topic".into(),
            log_file: None,
            emulator: None
        }
    );
    assert_eq!(config.follow, Follow::Yes { stop_after_idle: None });
    assert_eq!(config.output, Output::Window { record: None });
    let config = parse(&[
        "--pubsub",
        "proj",
        "topic",
        "--log-file",
        "view.log",
        "--emulator",
        "127.0.0.1:8085",
        "--export",
        "out.json",
        "--stop-after-idle",
        "3",
    ])
    .unwrap();
    let SourceConfig::PubSub { log_file, emulator, .. } = &config.source else {
        panic!("{config:?}")
    };
    assert_eq!(log_file.as_deref(), Some(Path::new("view.log")));
    assert_eq!(emulator.as_deref(), Some("127.0.0.1:8085"));
    assert_eq!(
        config.follow,
        Follow::Yes {
            stop_after_idle: Some(Duration::from_secs(3))
        }
    );
    assert!(parse(&["--file", "a.log", "--log-file", "b.log"]).is_err());
    assert!(parse(&["--file", "a.log", "--emulator", "127.0.0.1:1"]).is_err());
    assert!(parse(&["--pubsub", "proj"]).is_err());
    assert!(parse(&["--pubsub", "proj", "topic", "--file", "a.log"]).is_err());
    assert!(parse(&["--pubsub", "proj", "topic", "--demo"]).is_err());
}

#[cfg(feature = "pubsub")]
#[test]
fn pubsub_names_are_checked() {
    assert!(parse(&["--pubsub", "proj", "ab"]).is_err());
    assert!(parse(&["--pubsub", "proj", "topic", "--emulator", "localhost"]).is_err());
}

#[test]
fn one_shot_outputs_read_pubsub_until_idle() {
    let idle = |secs| Follow::Yes {
        stop_after_idle: Some(Duration::from_secs(secs)),
    };
    let config = parse(&["--pubsub", "proj", "topic", "--screenshot", "a.png"]).unwrap();
    assert_eq!(config.follow, idle(5));
    let config = parse(&[
        "--pubsub",
        "proj",
        "topic",
        "--screenshot",
        "a.png",
        "--stop-after-idle",
        "2",
    ])
    .unwrap();
    assert_eq!(config.follow, idle(2));
    let config = parse(&["--pubsub", "proj", "topic", "--no-follow", "--export", "o.json"]).unwrap();
    assert_eq!(config.follow, idle(5));
    let config = parse(&["--pubsub", "proj", "topic", "--record", "v.mp4"]).unwrap();
    assert!(matches!(config.output, Output::Record(_)));
    assert_eq!(config.follow, idle(5));
    let config = parse(&["--pubsub", "proj", "topic", "--record", "v.mp4", "--follow"]).unwrap();
    assert_eq!(config.follow, Follow::Yes { stop_after_idle: None });
}

#[test]
fn numbers_out_of_range_are_clear_errors() {
    let err = parse(&["--file", "a.log", "--export", "o.json", "--stop-after-idle", "1e30"]).unwrap_err();
    assert!(err.to_string().contains("--stop-after-idle must be from 0 to"), "{err}");
    let config = parse(&["--file", "a.log", "--export", "o.json", "--stop-after-idle", "0"]).unwrap();
    assert_eq!(
        config.follow,
        Follow::Yes {
            stop_after_idle: Some(Duration::ZERO)
        }
    );
    for weight in ["1", "-0.1", "NaN", "x"] {
        let flag = format!("--smooth={weight}");
        let err = parse(&["--file", "a.log", "--screenshot", "o.png", &flag]).unwrap_err();
        assert!(err.to_string().contains("0 to below 1"), "{err}");
    }
    let config = parse(&["--file", "a.log", "--screenshot", "o.png", "--smooth", "0.95"]).unwrap();
    assert_eq!(config.smoothing, 0.95);
    let config = parse(&[
        "--file",
        "a.log",
        "--screenshot",
        "o.png",
        "--log-y",
        "loss",
        "--log-y",
        "acc",
        "--log-x",
        "all",
    ])
    .unwrap();
    assert_eq!(config.log_axes.of("loss"), [true, true]);
    assert_eq!(config.log_axes.of("acc"), [true, true]);
    assert_eq!(config.log_axes.of("cloud"), [true, false]);
    assert!(parse(&["--file", "a.log"]).unwrap().log_axes.is_none());
    for speed in ["1e-300", "0", "-1", "inf", "NaN", "1e7"] {
        let flag = format!("--speed={speed}");
        let err = parse(&["--file", "a.log", "--record", "v.mp4", &flag]).unwrap_err();
        assert!(
            err.to_string().contains("--speed must be from 0.001 to"),
            "{speed}: {err}"
        );
    }
    assert!(parse(&["--file", "a.log", "--record", "v.mp4", "--speed", "0.001"]).is_ok());
    let huge = (1u64 << 44).to_string();
    let err = parse(&["--file", "a.log", "--gpu-memory-mb", &huge]).unwrap_err();
    assert!(err.to_string().contains("16..=16777216"), "{err}");
    let config = parse(&["--file", "a.log", "--gpu-memory-mb", "16777216"]).unwrap();
    assert_eq!(config.gpu_memory_budget, Some(1 << 44));
}

#[test]
fn point_size_opacity_and_density() {
    let config = parse(&["--file", "a.log"]).unwrap();
    assert_eq!(config.points, PointOptions::default());
    let config = parse(&[
        "--file",
        "a.log",
        "--screenshot",
        "o.png",
        "--point-size",
        "1.5",
        "--opacity",
        "0.25",
        "--density",
        "samples",
        "--density",
        "noise",
    ])
    .unwrap();
    assert_eq!(config.points.size, Some(1.5));
    assert_eq!(config.points.opacity, 0.25);
    let density = &config.points.density;
    assert!(density.contains("samples") && density.contains("noise") && !density.contains("loss"));
    let all = parse(&["--file", "a.log", "--density", "all"]).unwrap().points.density;
    assert!(all.contains("loss") && all.contains("samples"));
    // Videos draw markers as screenshots do.
    let config = parse(&["--file", "a.log", "--record", "v.mp4", "--opacity", "0.5"]).unwrap();
    let Output::Record(video) = config.output else {
        panic!("{:?}", config.output)
    };
    assert_eq!(video.points.opacity, 0.5);
    for size in ["0", "0.4", "65", "-1", "NaN", "big"] {
        let flag = format!("--point-size={size}");
        let err = parse(&["--file", "a.log", &flag]).unwrap_err();
        assert!(err.to_string().contains("0.5 to 64"), "{size}: {err}");
    }
    for opacity in ["0", "-0.5", "1.01", "NaN", "half"] {
        let flag = format!("--opacity={opacity}");
        let err = parse(&["--file", "a.log", &flag]).unwrap_err();
        assert!(err.to_string().contains("above 0"), "{opacity}: {err}");
    }
}

#[test]
fn at_step_reads_the_log_as_it_is() {
    let config = parse(&["--file", "a.log", "--export", "o.json", "--at-step", "3"]).unwrap();
    assert_eq!(config.at_step, Some((AtStep::Index(3), None)));
    assert_eq!(config.follow, Follow::No);
    let config = parse(&[
        "--file",
        "a.log",
        "--screenshot",
        "a.png",
        "--at-step",
        "2",
        "--step-plot",
        "loss",
    ])
    .unwrap();
    assert_eq!(
        config.at_step,
        Some((AtStep::Index(2), Some(StepRule::Plot("loss".into()))))
    );
    let config = parse(&["--file", "a.log", "--screenshot", "a.png", "--at-step", "last"]).unwrap();
    assert_eq!(config.at_step, Some((AtStep::Last, None)));
    let last_by_plot = [
        "--file",
        "a.log",
        "--export",
        "o.json",
        "--at-step",
        "last",
        "--step-plot",
        "loss",
    ];
    assert!(parse(&last_by_plot).is_err());
    assert!(parse(&["--file", "a.log", "--at-step", "1"]).is_err(), "the window");
    assert!(parse(&["--file", "a.log", "--record", "v.mp4", "--at-step", "1"]).is_err());
    assert!(parse(&["--demo", "--export", "o.json", "--at-step", "1"]).is_err());
    assert!(parse(&["--file", "a.log", "--export", "o.json", "--at-step", "-1"]).is_err());
    assert!(parse(&["--file", "a.log", "--export", "o.json", "--at-step", "first"]).is_err());
    assert!(parse(&["--file", "a.log", "--export", "o.json", "--step-plot", "loss"]).is_err());
}

#[test]
fn needs_a_source() {
    let err = parse(&[]).unwrap_err();
    assert!(err.to_string().contains("--file"), "{err}");
}

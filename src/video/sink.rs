//! Where frames go: an ffmpeg process encoding H.264, or PNG files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use anyhow::{Context, bail};

use crate::render::RgbaImage;

/// A `--record` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VideoTarget {
    /// A video file, encoded by ffmpeg (H.264 in yuv420p for .mp4, .mkv, .mov).
    Video(PathBuf),
    /// A directory: frames are written as `DIR/00000.png`, `DIR/00001.png`, ...
    PngDir(PathBuf),
    /// A printf-style pattern with one `%d`, e.g. `frames/%05d.png`.
    PngPattern(String),
}

impl VideoTarget {
    /// A path ending in `/`, an existing directory or a path without an
    /// extension is a directory of PNGs; a path with `%` is a PNG pattern;
    /// anything else is a video file.
    pub fn parse(path: &Path) -> anyhow::Result<VideoTarget> {
        let text = path.to_string_lossy();
        if text.contains('%') {
            if !text.ends_with(".png") {
                bail!("a frame pattern must end in .png, got {text:?}");
            }
            format_frame(&text, 0)?;
            return Ok(VideoTarget::PngPattern(text.into_owned()));
        }
        if text.ends_with('/') || path.is_dir() || path.extension().is_none() {
            return Ok(VideoTarget::PngDir(path.to_owned()));
        }
        Ok(VideoTarget::Video(path.to_owned()))
    }
}

/// Expands the one `%d` / `%0Nd` in `pattern` with `index`.
pub fn format_frame(pattern: &str, index: u64) -> anyhow::Result<String> {
    let start = pattern.find('%').context("no % in the frame pattern")?;
    let rest = &pattern[start + 1..];
    let end = rest.find('d').context("the frame pattern needs a %d or %0Nd")?;
    let spec = &rest[..end];
    let width: usize = if spec.is_empty() {
        0
    } else if spec.starts_with('0') && spec[1..].bytes().all(|b| b.is_ascii_digit()) && spec.len() > 1 {
        spec[1..].parse()?
    } else {
        bail!("unsupported frame pattern {pattern:?}: use %d or %0Nd");
    };
    if rest[end + 1..].contains('%') {
        bail!("the frame pattern {pattern:?} has more than one %");
    }
    Ok(format!("{}{index:0width$}{}", &pattern[..start], &rest[end + 1..]))
}

/// Receives frames in order.
pub trait FrameSink {
    fn write(&mut self, image: &RgbaImage) -> anyhow::Result<()>;
    /// Completes the output (closes the video file properly).
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// Opens the sink for a target.
pub fn open_sink(target: &VideoTarget, size: (u32, u32), fps: u32) -> anyhow::Result<Box<dyn FrameSink>> {
    Ok(match target {
        VideoTarget::Video(path) => Box::new(FfmpegSink::spawn(path, size, fps)?),
        VideoTarget::PngDir(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {dir:?}"))?;
            let pattern = dir.join("%05d.png").to_string_lossy().into_owned();
            Box::new(PngSink { pattern, next: 0 })
        }
        VideoTarget::PngPattern(pattern) => {
            let first = PathBuf::from(format_frame(pattern, 0)?);
            if let Some(parent) = first.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {parent:?}"))?;
            }
            Box::new(PngSink {
                pattern: pattern.clone(),
                next: 0,
            })
        }
    })
}

/// PNG files, numbered from 0.
struct PngSink {
    pattern: String,
    next: u64,
}

impl FrameSink for PngSink {
    fn write(&mut self, image: &RgbaImage) -> anyhow::Result<()> {
        let path = PathBuf::from(format_frame(&self.pattern, self.next)?);
        image.save_png(&path).with_context(|| format!("writing {path:?}"))?;
        self.next += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Raw RGBA frames piped into ffmpeg.
struct FfmpegSink {
    child: Child,
    stdin: Option<ChildStdin>,
    path: PathBuf,
    size: (u32, u32),
}

impl FfmpegSink {
    fn spawn(path: &Path, (width, height): (u32, u32), fps: u32) -> anyhow::Result<Self> {
        let h264 = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "mp4" | "mkv" | "mov" | "m4v"));
        let mut command = Command::new("ffmpeg");
        command.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
        command.args([
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgba",
            "-s",
            &format!("{width}x{height}"),
            "-r",
            &fps.to_string(),
        ]);
        command.args(["-i", "pipe:0", "-an"]);
        if h264 {
            // yuv420p plays everywhere; it needs even sides, so odd sizes
            // get one row or column of padding.
            command.args(["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]);
            command.args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-movflags", "+faststart"]);
        }
        command.arg(path);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Its own process group: Ctrl-C reaches only us, and we close the
        // file properly.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
                "ffmpeg is not installed (needed to encode {path:?}); install it (apt-get install ffmpeg), \
                 or write PNG frames instead: --record frames/ or --record 'frames/%05d.png'"
            ),
            Err(err) => return Err(err).context("starting ffmpeg"),
        };
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            path: path.to_owned(),
            size: (width, height),
        })
    }

    /// ffmpeg's error output, for a failure message.
    fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut text);
        }
        text.trim().to_owned()
    }
}

impl FrameSink for FfmpegSink {
    fn write(&mut self, image: &RgbaImage) -> anyhow::Result<()> {
        anyhow::ensure!((image.width, image.height) == self.size, "frame size changed mid-video");
        let stdin = self.stdin.as_mut().context("ffmpeg's input is closed")?;
        if let Err(err) = stdin.write_all(&image.pixels) {
            let detail = self.stderr();
            return Err(err).with_context(|| format!("ffmpeg stopped while encoding {:?}: {detail}", self.path));
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        // Closing its input tells ffmpeg to write the file's index and exit.
        drop(self.stdin.take());
        let status = self.child.wait().context("waiting for ffmpeg")?;
        if !status.success() {
            let detail = self.stderr();
            bail!("ffmpeg failed ({status}) writing {:?}: {detail}", self.path);
        }
        Ok(())
    }
}

impl Drop for FfmpegSink {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_path() {
        assert_eq!(
            VideoTarget::parse(Path::new("run.mp4")).unwrap(),
            VideoTarget::Video("run.mp4".into())
        );
        assert_eq!(
            VideoTarget::parse(Path::new("frames/")).unwrap(),
            VideoTarget::PngDir("frames/".into())
        );
        assert_eq!(
            VideoTarget::parse(Path::new("frames")).unwrap(),
            VideoTarget::PngDir("frames".into())
        );
        assert_eq!(
            VideoTarget::parse(Path::new("f/%05d.png")).unwrap(),
            VideoTarget::PngPattern("f/%05d.png".into())
        );
        assert!(VideoTarget::parse(Path::new("f/%05d.jpg")).is_err());
        assert!(VideoTarget::parse(Path::new("f/%s.png")).is_err());
    }

    #[test]
    fn patterns_expand() {
        assert_eq!(format_frame("a/%05d.png", 42).unwrap(), "a/00042.png");
        assert_eq!(format_frame("%d.png", 7).unwrap(), "7.png");
        assert!(format_frame("%d-%d.png", 1).is_err());
    }
}

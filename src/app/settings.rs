//! What the user set in the window (log axes, smoothing, zoom, and how
//! scatters are drawn), kept for the next window on the same logs or run
//! name.
//!
//! The settings live in a small JSON file in the user's configuration
//! directory (`$STREAMVIS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/streamvis-gpu`,
//! else `~/.config/streamvis-gpu`), never in the log. Only the window reads
//! them: screenshots, videos and exports depend on their flags alone. A
//! window's settings are saved when it closes, under its source (the logs'
//! paths, or the Pub/Sub topic) and under the run name of its first run; a
//! new window takes its source's settings, or else its first run's. Flags
//! given on the command line win over what was saved.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::layout::{DataRect, LogAxes, PointOptions};

/// The most sources and run names remembered; the least recently saved go
/// first.
const MAX_ENTRIES: usize = 200;

/// The settings file's name in the configuration directory.
const FILE_NAME: &str = "views.json";

/// One window's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewSettings {
    /// Line plots' smoothing weight.
    pub smoothing: f32,
    pub log_axes: LogAxes,
    /// Marker size and opacity, and the plots drawn as density images.
    #[serde(default)]
    pub points: PointOptions,
    /// Zoomed plots: the rectangle of plot space shown, `[x0, y0, x1, y1]`.
    pub zoom: BTreeMap<String, [f64; 4]>,
    /// When these were saved (seconds since the Unix epoch).
    #[serde(default)]
    pub saved_at: u64,
}

impl ViewSettings {
    pub fn new(smoothing: f32, log_axes: &LogAxes, points: &PointOptions, zoom: &HashMap<String, DataRect>) -> Self {
        Self {
            smoothing,
            log_axes: log_axes.clone(),
            points: points.clone(),
            zoom: zoom
                .iter()
                .map(|(name, r)| (name.clone(), [r.min[0], r.min[1], r.max[0], r.max[1]]))
                .collect(),
            saved_at: 0,
        }
    }

    /// The zoomed plots' views; a saved rectangle that is not a proper one
    /// (hand-edited, say) is left out.
    pub fn zoom(&self) -> HashMap<String, DataRect> {
        self.zoom
            .iter()
            .filter(|(_, r)| r.iter().all(|v| v.is_finite()) && r[0] < r[2] && r[1] < r[3])
            .map(|(name, r)| {
                let rect = DataRect {
                    min: [r[0], r[1]],
                    max: [r[2], r[3]],
                };
                (name.clone(), rect)
            })
            .collect()
    }

    /// Whether the smoothing weight, marker size and opacity are ones the
    /// flags would accept.
    fn is_valid(&self) -> bool {
        let size = self.points.size.is_none_or(|s| (0.5..=64.0).contains(&s));
        (0.0..1.0).contains(&self.smoothing) && size && self.points.opacity > 0.0 && self.points.opacity <= 1.0
    }
}

/// The settings file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SettingsFile {
    /// By key: `source:...` for logs or a topic, `run:NAME` for a run name.
    entries: BTreeMap<String, ViewSettings>,
}

/// The settings file of a configuration directory.
#[derive(Clone, Debug)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    /// The user's settings file, if there is a configuration directory.
    pub fn for_user() -> Option<Self> {
        let dir = match std::env::var_os("STREAMVIS_CONFIG_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
                Some(config) => PathBuf::from(config).join("streamvis-gpu"),
                None => PathBuf::from(std::env::var_os("HOME")?).join(".config/streamvis-gpu"),
            },
        };
        Some(Self::in_dir(&dir))
    }

    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
        }
    }

    /// The settings saved under `key`. A missing or unreadable file reads
    /// as empty (an unreadable one with a warning): settings are a
    /// convenience, never a reason not to open.
    pub fn load(&self, key: &str) -> Option<ViewSettings> {
        self.read().entries.remove(key).filter(ViewSettings::is_valid)
    }

    /// Saves `settings` under every key in `keys`.
    pub fn save(&self, keys: &[String], settings: &ViewSettings) -> std::io::Result<()> {
        let mut file = self.read();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for key in keys {
            let saved = ViewSettings {
                saved_at: now,
                ..settings.clone()
            };
            file.entries.insert(key.clone(), saved);
        }
        while file.entries.len() > MAX_ENTRIES {
            let oldest = file
                .entries
                .iter()
                .min_by_key(|(_, s)| s.saved_at)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => file.entries.remove(&key),
                None => break,
            };
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Written whole, then renamed: a crash leaves the old file.
        let json = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        let temp = self.path.with_extension(format!("json.{}", std::process::id()));
        std::fs::write(&temp, json)?;
        std::fs::rename(&temp, &self.path)
    }

    fn read(&self) -> SettingsFile {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                log::warn!("ignoring the settings in {:?}: {err}", self.path);
                SettingsFile::default()
            }),
            Err(_) => SettingsFile::default(),
        }
    }
}

/// The key of a window's source: its logs' absolute paths (a log that does
/// not exist yet by its directory's), or its Pub/Sub topic.
pub fn source_key(describe: &SourceKeyInput) -> String {
    match describe {
        SourceKeyInput::Files(paths) => {
            let mut paths: Vec<String> = paths.iter().map(|p| absolute(p).display().to_string()).collect();
            paths.sort();
            format!("source:{}", paths.join("\n"))
        }
        SourceKeyInput::PubSub { project, topic } => format!("source:pubsub:{project}/{topic}"),
    }
}

/// The key of a run name.
pub fn run_key(run_name: &str) -> String {
    format!("run:{run_name}")
}

/// What a source key is made of.
#[derive(Clone, Debug)]
pub enum SourceKeyInput {
    Files(Vec<PathBuf>),
    PubSub { project: String, topic: String },
}

fn absolute(path: &Path) -> PathBuf {
    if let Ok(path) = path.canonicalize() {
        return path;
    }
    // Not there yet: its directory's path and its name.
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.canonicalize().unwrap_or_else(|_| dir.to_owned()).join(name)
}

/// The settings kept between windows (see this module).
#[derive(Debug, Default)]
pub(super) struct SavedSettings {
    pub(super) store: Option<SettingsStore>,
    pub(super) source_key: Option<String>,
    /// Set by flags: not taken from the saved settings.
    pub(super) keep_smoothing: bool,
    pub(super) keep_log_axes: bool,
    pub(super) keep_points: bool,
    /// Whether the settings were looked up (by source, or by the first
    /// run's name).
    pub(super) restored: bool,
}

impl super::App {
    /// Takes the settings saved under `key`, if any, except what flags set.
    pub(super) fn restore_settings(&mut self, key: &str) {
        let Some(saved) = self.saved.store.as_ref().and_then(|store| store.load(key)) else {
            return;
        };
        log::info!("restoring the view settings saved for {key:?}");
        self.saved.restored = true;
        if !self.saved.keep_smoothing {
            self.smoothing = saved.smoothing;
        }
        if !self.saved.keep_log_axes {
            self.log_axes = saved.log_axes.clone();
        }
        if !self.saved.keep_points {
            self.points = saved.points.clone();
        }
        // Zoomed views are in plot space: only with the log axes they were
        // saved with.
        if self.log_axes == saved.log_axes {
            self.views.fixed = saved.zoom();
        }
    }

    /// Saves the window's settings under its source and its first run's name.
    pub(super) fn save_settings(&self) {
        let Some(store) = &self.saved.store else { return };
        let keys: Vec<String> = self
            .saved
            .source_key
            .iter()
            .cloned()
            .chain(self.runs.runs().first().map(|run| run_key(&run.name)))
            .collect();
        if keys.is_empty() {
            return;
        }
        let settings = ViewSettings::new(self.smoothing, &self.log_axes, &self.points, &self.views.fixed);
        match store.save(&keys, &settings) {
            Ok(()) => log::debug!("saved the view settings for {keys:?}"),
            Err(err) => log::warn!("could not save the view settings: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(smoothing: f32) -> ViewSettings {
        let mut log_axes = LogAxes::from_names(&[], &["all".to_owned()]);
        log_axes.toggle("acc", 1);
        log_axes.toggle("cloud", 0);
        let zoom = HashMap::from([(
            "loss".to_owned(),
            DataRect {
                min: [10.0, -3.0],
                max: [90.0, 1.5],
            },
        )]);
        let points = PointOptions {
            size: Some(3.0),
            opacity: 0.5,
            density: crate::layout::PlotSet::from_names(&["cloud".to_owned()]),
        };
        ViewSettings::new(smoothing, &log_axes, &points, &zoom)
    }

    #[test]
    fn settings_come_back_as_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(&dir.path().join("new"));
        assert_eq!(store.load("run:a"), None, "nothing saved yet");
        let saved = settings(0.9);
        store.save(&["source:/x.log".into(), "run:a".into()], &saved).unwrap();
        let loaded = store.load("run:a").unwrap();
        assert_eq!(loaded.log_axes, saved.log_axes);
        assert_eq!(loaded.log_axes.of("acc"), [false, false]);
        assert_eq!(loaded.log_axes.of("cloud"), [true, true]);
        assert_eq!(loaded.log_axes.of("loss"), [false, true]);
        assert_eq!(loaded.points, saved.points);
        assert!(loaded.points.density.contains("cloud"));
        assert_eq!(loaded.smoothing, 0.9);
        assert_eq!(loaded.zoom(), saved.zoom());
        assert_eq!(store.load("source:/x.log").unwrap().zoom(), saved.zoom());
        // Saving another key keeps the first.
        store.save(&["run:b".into()], &settings(0.0)).unwrap();
        assert_eq!(store.load("run:a").unwrap().smoothing, 0.9);
        assert_eq!(store.load("run:b").unwrap().smoothing, 0.0);
    }

    #[test]
    fn a_damaged_file_reads_as_empty_and_bad_values_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(dir.path());
        std::fs::write(dir.path().join(FILE_NAME), b"{ not json").unwrap();
        assert_eq!(store.load("run:a"), None);
        store.save(&["run:a".into()], &settings(0.5)).unwrap();
        let mut text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        text = text.replace("\"smoothing\": 0.5", "\"smoothing\": 1.5");
        std::fs::write(dir.path().join(FILE_NAME), text).unwrap();
        assert_eq!(store.load("run:a"), None, "a smoothing weight of 1.5 is refused");
        let upside_down = ViewSettings {
            zoom: BTreeMap::from([("p".to_owned(), [1.0, 0.0, 0.0, 1.0])]),
            ..ViewSettings::default()
        };
        assert!(upside_down.zoom().is_empty());
    }

    #[test]
    fn the_oldest_entries_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = SettingsStore::in_dir(dir.path());
        let mut file = SettingsFile::default();
        for i in 0..MAX_ENTRIES {
            let old = ViewSettings {
                saved_at: i as u64 + 1,
                ..ViewSettings::default()
            };
            file.entries.insert(format!("run:{i}"), old);
        }
        std::fs::write(dir.path().join(FILE_NAME), serde_json::to_vec(&file).unwrap()).unwrap();
        store.save(&["run:new".into()], &settings(0.3)).unwrap();
        assert!(store.load("run:0").is_none(), "the oldest is forgotten");
        assert!(store.load("run:1").is_some() && store.load("run:new").is_some());
    }

    #[test]
    fn source_keys_are_absolute_and_order_free() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.log");
        std::fs::write(&a, b"").unwrap();
        let b = dir.path().join("not-yet.log");
        let key = source_key(&SourceKeyInput::Files(vec![b.clone(), a.clone()]));
        assert_eq!(key, source_key(&SourceKeyInput::Files(vec![a.clone(), b.clone()])));
        assert!(key.contains(&a.canonicalize().unwrap().display().to_string()), "{key}");
        assert!(key.ends_with("not-yet.log"), "{key}");
        let topic = SourceKeyInput::PubSub {
            project: "p".into(),
            topic: "t".into(),
        };
        assert_eq!(source_key(&topic), "source:pubsub:p/t");
    }
}

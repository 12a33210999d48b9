//! The wgpu instance, adapter, device and queue.

use std::sync::Arc;

/// Why the renderer could not start or draw.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no GPU adapter found ({backends}). Install a Vulkan driver; without a GPU, Mesa's \
         software renderer works: `apt-get install libvulkan1 mesa-vulkan-drivers` on \
         Debian/Ubuntu"
    )]
    NoAdapter { backends: String },

    #[error("the adapter {adapter} refused a device")]
    Device {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },

    #[error("a {width}x{height} image exceeds the GPU's largest texture side of {max_side} pixels")]
    TargetTooLarge { width: u32, height: u32, max_side: u32 },

    #[error(
        "reading back a {width}x{height} image needs {len_bytes} bytes, over the GPU's largest buffer of {max_bytes} bytes"
    )]
    ReadbackTooLarge {
        width: u32,
        height: u32,
        len_bytes: u64,
        max_bytes: u64,
    },

    #[error("reading back the rendered image failed: {0}")]
    Readback(String),

    #[error("the GPU reported an error: {0}")]
    Gpu(String),
}

/// Points `XDG_RUNTIME_DIR` at a private directory when it is unset, which
/// silences two harmless errors the Vulkan and X11 libraries print.
///
/// Call it at the start of `main`, before any thread is started.
pub fn ensure_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("streamvis-gpu-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if std::fs::metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == uid) {
        // SAFETY: called at start-up, before other threads exist.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

/// Everything needed to talk to one GPU.
pub struct GpuContext {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The last error the device reported outside an error scope.
    pub last_error: Arc<std::sync::Mutex<Option<String>>>,
}

impl GpuContext {
    /// A context for offscreen rendering.
    pub fn headless() -> Result<Self, RenderError> {
        let instance = wgpu::Instance::new(instance_descriptor(None));
        Self::with_instance(instance, None)
    }

    /// The instance options: Vulkan and GL, overridable with `WGPU_BACKEND`.
    pub fn instance_descriptor(display: Option<Box<dyn wgpu::wgt::WgpuHasDisplayHandle>>) -> wgpu::InstanceDescriptor {
        instance_descriptor(display)
    }

    /// Picks an adapter (one that can present to `surface`, if given) and
    /// opens a device with the adapter's own limits, so large buffers fit.
    pub fn with_instance(instance: wgpu::Instance, surface: Option<&wgpu::Surface<'_>>) -> Result<Self, RenderError> {
        let adapter = pick_adapter(&instance, surface)?;
        let info = adapter.get_info();
        log::info!(
            "GPU adapter: {} ({:?}, {:?})",
            info.name,
            info.backend,
            info.device_type
        );
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("streamvis-gpu"),
            required_features: wgpu::Features::empty(),
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|source| RenderError::Device {
            adapter: info.name.clone(),
            source,
        })?;
        let last_error = Arc::new(std::sync::Mutex::new(None));
        let sink = last_error.clone();
        // The default handler panics; report instead, and let the caller ask.
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            log::error!("GPU error: {error}");
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert(error.to_string());
            }
        }));
        Ok(Self {
            instance,
            adapter,
            device,
            queue,
            last_error,
        })
    }

    /// "name (backend, device type)" of the adapter.
    pub fn adapter_summary(&self) -> String {
        let info = self.adapter.get_info();
        format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
    }

    /// Returns (and clears) an error the device reported since the last call.
    pub fn take_error(&self) -> Result<(), RenderError> {
        match self.last_error.lock().ok().and_then(|mut e| e.take()) {
            Some(error) => Err(RenderError::Gpu(error)),
            None => Ok(()),
        }
    }
}

fn instance_descriptor(display: Option<Box<dyn wgpu::wgt::WgpuHasDisplayHandle>>) -> wgpu::InstanceDescriptor {
    let mut desc = match display {
        Some(display) => wgpu::InstanceDescriptor::new_with_display_handle(display),
        None => wgpu::InstanceDescriptor::new_without_display_handle(),
    };
    desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
    // Validation layers are for development; WGPU_DEBUG=1 turns them on.
    desc.flags = wgpu::InstanceFlags::empty();
    desc.with_env()
}

/// Prefers a real GPU over a software one, and Vulkan over GL (GL on
/// llvmpipe cannot render to every format the renderer uses).
fn pick_adapter(instance: &wgpu::Instance, surface: Option<&wgpu::Surface<'_>>) -> Result<wgpu::Adapter, RenderError> {
    let backends = wgpu::Backends::VULKAN | wgpu::Backends::GL;
    let mut adapters: Vec<wgpu::Adapter> = pollster::block_on(instance.enumerate_adapters(backends))
        .into_iter()
        .filter(|a| surface.is_none_or(|s| a.is_surface_supported(s)))
        .collect();
    let rank = |a: &wgpu::Adapter| {
        let info = a.get_info();
        let device = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        (device, info.backend != wgpu::Backend::Vulkan)
    };
    adapters.sort_by_key(rank);
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let wanted = wanted.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&wanted));
    }
    adapters.into_iter().next().ok_or_else(|| RenderError::NoAdapter {
        backends: format!("{backends:?}"),
    })
}

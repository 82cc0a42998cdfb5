//! Finding an adapter: Vulkan first, OpenGL only when Vulkan has none, and without asking any
//! window system for anything, since projecting never presents to a window.

use crate::project::{Backend, ProjectError};
use std::ffi::CStr;

/// The instance extensions that connect to a window system. Mesa's implicit Vulkan layer
/// `VK_LAYER_MESA_device_select` sees `VK_KHR_wayland_surface` enabled and, in every
/// `vkEnumeratePhysicalDevices`, calls `wl_display_connect` to find the compositor's GPU; on a
/// machine without a display libwayland then prints "error: XDG_RUNTIME_DIR is invalid or not
/// set in the environment." (twice per instance). The xcb/xlib ones make it try an X server.
const WINDOW_SYSTEM_EXTENSIONS: [&CStr; 3] = [
    c"VK_KHR_wayland_surface",
    c"VK_KHR_xcb_surface",
    c"VK_KHR_xlib_surface",
];

/// No debug or validation layers unless asked for (`WGPU_DEBUG=1`, `WGPU_VALIDATION=1`): in
/// debug builds wgpu's default turns them on, and their messengers log every failed probe (the
/// Vulkan loader's "Found no drivers!", EGL's "DRI2: failed to load driver") as errors.
fn quiet_flags() -> wgpu::InstanceFlags {
    wgpu::InstanceFlags::empty().with_env()
}

/// A Vulkan instance without the window-system extensions, or `None` without a Vulkan loader.
fn vulkan_instance() -> Option<wgpu::Instance> {
    let desc = wgpu::hal::InstanceDescriptor {
        name: "calip3d",
        flags: quiet_flags(),
        memory_budget_thresholds: Default::default(),
        backend_options: Default::default(),
        telemetry: None,
        display: None,
    };
    let without_window_system: Box<wgpu::hal::vulkan::CreateInstanceCallback> = Box::new(|args| {
        args.extensions
            .retain(|e| !WINDOW_SYSTEM_EXTENSIONS.contains(e));
    });
    // SAFETY: the callback only drops the window-system surface extensions. wgpu-hal records the
    // list it enables and checks it before it creates a surface of each kind
    // (`create_surface_from_wayland` & co. return an error without theirs); calip3d creates no
    // surface. Nothing else in wgpu-hal 30 uses these extensions.
    let hal = unsafe {
        wgpu::hal::vulkan::Instance::init_with_callback(&desc, Some(without_window_system))
    };
    match hal {
        // SAFETY: a valid Vulkan instance, handed over whole.
        Ok(hal) => Some(unsafe { wgpu::Instance::from_hal::<wgpu::hal::api::Vulkan>(hal) }),
        Err(e) => {
            log::debug!("no Vulkan: {e}");
            None
        }
    }
}

fn adapters() -> Vec<wgpu::Adapter> {
    let vulkan = vulkan_instance()
        .map(|i| pollster::block_on(i.enumerate_adapters(wgpu::Backends::VULKAN)))
        .unwrap_or_default();
    if !vulkan.is_empty() {
        return vulkan;
    }
    // OpenGL (EGL, surfaceless without a display handle) only for machines without Vulkan.
    let gl = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::GL,
        flags: quiet_flags(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    pollster::block_on(gl.enumerate_adapters(wgpu::Backends::GL))
}

/// The best adapter (a discrete GPU before an integrated one …); a software rasteriser (Mesa's
/// lavapipe or llvmpipe) only with `allow_software`.
pub(crate) fn best(allow_software: bool) -> Result<wgpu::Adapter, ProjectError> {
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let software = |a: &wgpu::Adapter| a.get_info().device_type == wgpu::DeviceType::Cpu;
    let (usable, skipped): (Vec<_>, Vec<_>) = adapters()
        .into_iter()
        .partition(|a| allow_software || !software(a));
    usable
        .into_iter()
        .min_by_key(rank)
        .ok_or_else(|| ProjectError::NoGpu {
            skipped_software: skipped.iter().map(|a| a.get_info().name).collect(),
        })
}

/// What the adapter is, for [`Backend::Gpu`].
pub(crate) fn describe(adapter: &wgpu::Adapter) -> Backend {
    let info = adapter.get_info();
    Backend::Gpu {
        adapter: info.name,
        api: format!("{:?}", info.backend),
        driver: [info.driver, info.driver_info]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        software: info.device_type == wgpu::DeviceType::Cpu,
    }
}
